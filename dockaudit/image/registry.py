"""Registries (``docker://[HOST/]NAME[:TAG|@DIGEST]``) over the v2 API with ``requests``.

Manifest lists and OCI indexes pick ``--platform``; the bearer-token flow follows ``WWW-Authenticate``
(anonymous, or credentials from ``~/.docker/config.json`` ``auths``); ``--insecure`` allows plain HTTP.
Every request has a timeout and a size cap, and every manifest and blob is checked against its digest.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dockaudit.image.sources import (
    INDEX_TYPES, MAX_BLOB_BYTES, MAX_JSON_BYTES, ImageRef, ImageSourceError, Layer, VerifyingStream, _platform_of,
)  # fmt: skip

TIMEOUT = (10, 60)  # connect, read (seconds between bytes)

ACCEPT = ", ".join(
    ["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
     "application/vnd.docker.distribution.manifest.list.v2+json",
     "application/vnd.docker.distribution.manifest.v2+json"]
)  # fmt: skip


@dataclass(frozen=True)
class RegistryRef:
    host: str  # "registry-1.docker.io", "127.0.0.1:5000"
    name: str  # "library/python"
    reference: str  # tag or "sha256:…"

    @property
    def shown(self) -> str:
        separator = "@" if self.reference.startswith("sha256:") else ":"
        return f"docker://{self.host}/{self.name}{separator}{self.reference}"


def parse_reference(text: str) -> RegistryRef:
    """``docker://host/name:tag``, ``name@sha256:…``; a bare ``name:tag`` means Docker Hub, as docker does."""
    text = text.removeprefix("docker://").removeprefix("//")
    name, digest = (text.split("@", 1) + [""])[:2]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "registry-1.docker.io", name
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
    if host in ("docker.io", "index.docker.io"):
        host = "registry-1.docker.io"
    if host == "registry-1.docker.io" and "/" not in path:
        path = f"library/{path}"
    if not re.fullmatch(r"[a-z0-9]+(?:[._/-][a-z0-9]+)*", path):
        raise ImageSourceError(f"docker://{text}: not a valid repository name")
    return RegistryRef(host, path, digest or tag or "latest")


def _docker_credentials(host: str) -> tuple[str, str] | None:
    config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    try:
        auths = json.loads(config.read_text(encoding="utf-8")).get("auths", {})
    except (OSError, ValueError):
        return None
    for key in (host, f"https://{host}", "https://index.docker.io/v1/" if "docker.io" in host else ""):
        entry = auths.get(key) if key else None
        if entry and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode("utf-8", "replace").partition(":")
            return user, password
    return None


class RegistryClient:
    def __init__(self, ref: RegistryRef, insecure: bool = False) -> None:
        import requests  # only when a registry is read

        self.requests = requests
        self.ref = ref
        self.base = f"{'http' if insecure else 'https'}://{ref.host}/v2/{ref.name}"
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "dockaudit"
        self.token: str | None = None

    def _get(self, url: str, accept: str | None = None, stream: bool = False):
        headers = {"Accept": accept} if accept else {}
        for _attempt in range(2):
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                response = self.session.get(url, headers=headers, timeout=TIMEOUT, stream=stream, allow_redirects=True)
            except self.requests.RequestException as exc:
                raise ImageSourceError(f"{self.ref.shown}: {type(exc).__name__}: {exc}") from None
            if response.status_code == 401 and self.token is None and self._authenticate(response):
                continue
            if response.status_code != 200:
                raise ImageSourceError(
                    f"{self.ref.shown}: {url.rsplit('/', 2)[-2]} answered HTTP {response.status_code}"
                )
            return response
        raise ImageSourceError(f"{self.ref.shown}: unauthorized")

    def _authenticate(self, response) -> bool:
        challenge = response.headers.get("WWW-Authenticate", "")
        if not challenge.lower().startswith("bearer"):
            return False
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if "realm" not in fields:
            return False
        params = {k: v for k, v in fields.items() if k in ("service", "scope")}
        params.setdefault("scope", f"repository:{self.ref.name}:pull")
        credentials = _docker_credentials(self.ref.host)
        try:
            answer = self.session.get(fields["realm"], params=params, auth=credentials, timeout=TIMEOUT)
            token = answer.json().get("token") or answer.json().get("access_token")
        except (self.requests.RequestException, ValueError):
            return False
        self.token = token
        return bool(token)

    def _json(self, url: str, digest: str | None, accept: str | None = None) -> tuple[dict, str]:
        response = self._get(url, accept, stream=True)
        body = response.raw.read(MAX_JSON_BYTES + 1, decode_content=True)
        if len(body) > MAX_JSON_BYTES:
            raise ImageSourceError(f"{self.ref.shown}: a manifest over {MAX_JSON_BYTES} bytes; refused")
        actual = f"sha256:{hashlib.sha256(body).hexdigest()}"
        if digest and actual != digest:
            raise ImageSourceError(f"{self.ref.shown}: {url.rsplit('/', 1)[-1]} does not match its digest")
        try:
            return json.loads(body), response.headers.get("Content-Type", "")
        except ValueError:
            raise ImageSourceError(f"{self.ref.shown}: not JSON at {url.rsplit('/', 2)[-2]}") from None

    def open_blob(self, digest: str, size: int = 0) -> IO[bytes]:
        """The blob as a stream: hashed, and cut off past its declared size (a registry sending endless data)."""
        response = self._get(f"{self.base}/blobs/{digest}", stream=True)
        label = f"{self.ref.shown} blob {digest[:19]}"
        return VerifyingStream(response.raw, digest, size or MAX_BLOB_BYTES, label)  # type: ignore[return-value]

    def images(self, platform: str, all_platforms: bool) -> list[ImageRef]:
        reference = self.ref.reference
        digest = reference if reference.startswith("sha256:") else None
        document, media_type = self._json(f"{self.base}/manifests/{reference}", digest, ACCEPT)
        return self._resolve(document, media_type, platform, all_platforms)

    def _resolve(self, document: dict, media_type: str, platform: str, all_platforms: bool) -> list[ImageRef]:
        media_type = document.get("mediaType") or media_type.split(";")[0]
        if media_type in INDEX_TYPES or "manifests" in document:
            members = document.get("manifests", [])
            chosen = members if all_platforms else [m for m in members if _platform_of(m) == platform or
                                                     _platform_of(m).split("/")[:2] == platform.split("/")[:2]][:1]  # fmt: skip
            if not chosen:
                found = ", ".join(_platform_of(m) for m in members)
                raise ImageSourceError(f"{self.ref.shown}: no {platform} image (it has {found}); use --platform")
            images = []
            for member in chosen:
                inner, inner_type = self._json(f"{self.base}/manifests/{member['digest']}", member["digest"], ACCEPT)
                (image,) = self._resolve(inner, inner_type, platform, False)
                image.platform = _platform_of(member)
                image.name = f"{self.ref.shown} ({image.platform})"
                images.append(image)
            return images
        config_digest = document["config"]["digest"]
        config, _ = self._json(f"{self.base}/blobs/{config_digest}", config_digest)
        layers = [
            Layer(layer["digest"], layer.get("mediaType", ""), int(layer.get("size", 0)),
                  lambda digest=layer["digest"], size=int(layer.get("size", 0)): self.open_blob(digest, size))
            for layer in document.get("layers", [])
        ]  # fmt: skip
        return [ImageRef(self.ref.shown, config, layers, None, document)]

    def digest_of(self, reference: str) -> str:
        """The manifest digest a tag points at (what ``FROM name:tag@digest`` pins)."""
        response = self._get(f"{self.base}/manifests/{reference}", ACCEPT, stream=True)
        header = response.headers.get("Docker-Content-Digest", "")
        body = response.raw.read(MAX_JSON_BYTES + 1, decode_content=True)
        actual = f"sha256:{hashlib.sha256(body).hexdigest()}"
        if header and header != actual:
            raise ImageSourceError(f"{self.ref.shown}: Docker-Content-Digest does not match the manifest")
        return actual

    def tags(self, limit: int = 10_000) -> list[str]:
        response = self._get(f"{self.base}/tags/list?n={limit}")
        try:
            return list(response.json().get("tags") or [])
        except ValueError:
            raise ImageSourceError(f"{self.ref.shown}: tags/list is not JSON") from None
