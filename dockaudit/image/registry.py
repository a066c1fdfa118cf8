"""Registries (``docker://[HOST/]NAME[:TAG|@DIGEST]``) over the v2 API with ``requests``.

Manifest lists and OCI indexes pick ``--platform``; the bearer-token flow follows ``WWW-Authenticate``
(anonymous, or credentials from ``~/.docker/config.json`` ``auths``, which go only where they are safe:
see ``may_send_credentials``); ``--insecure`` allows plain HTTP.  Every request has a deadline for its
whole answer (not only between two bytes) and a size cap, every client a deadline for all it does, and
every manifest and blob is checked against its digest.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import os
import re
import time
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from dockaudit.files import InputError, read_regular_file
from dockaudit.image.sources import (
    MAX_BLOB_BYTES, MAX_JSON_BYTES, Descriptor, SourceImage, ImageSourceError, VerifyingStream, checked_digest,
    content_digest, json_object, parse_json, resolve_images, verified,
)  # fmt: skip
from dockaudit.patterns import lazy_pattern
from dockaudit.records import record

TIMEOUT = (10, 60)  # connect, read (seconds between bytes); the deadlines below bound a whole answer
REQUEST_SECONDS = 120.0  # one manifest, config, token or tag list, from connecting to its last byte
OPERATION_SECONDS = 4 * 3600.0  # all a client does, blob streams included (an ML image can be 50 GB)
MAX_TOKEN_BYTES = 1024 * 1024  # a token answer (real ones are a few KB; a huge one is hostile)
MAX_DOCKER_CONFIG_BYTES = 4 * 1024 * 1024
CHUNK = 64 * 1024

ACCEPT = ", ".join(
    ["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
     "application/vnd.docker.distribution.manifest.list.v2+json",
     "application/vnd.docker.distribution.manifest.v2+json"]
)  # fmt: skip
_TAG = lazy_pattern(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the distribution spec's tag grammar


@record(slots=False)
class RegistryRef:
    host: str  # "registry-1.docker.io", "127.0.0.1:5000"
    name: str  # "library/python"
    reference: str  # tag or "sha256:…"

    @property
    def shown(self) -> str:
        separator = "@" if ":" in self.reference else ":"  # a tag has no colon, a digest always has one
        return f"docker://{self.host}/{self.name}{separator}{self.reference}"


def parse_reference(text: str) -> RegistryRef:
    """``docker://host/name:tag``, ``name@sha256:…``; a bare ``name:tag`` means Docker Hub, as docker does.
    Tags and digests become URL paths, so both must match their grammar."""
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
    if not re.fullmatch(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?", host):
        raise ImageSourceError(f"docker://{text}: not a valid registry host")
    if tag and not _TAG.fullmatch(tag):
        raise ImageSourceError(f"docker://{text}: not a valid tag")
    if digest:
        checked_digest(digest, f"docker://{text}")
    return RegistryRef(host, path, digest or tag or "latest")


def may_send_credentials(realm: str, host: str, insecure: bool) -> bool:
    """Whether the credentials stored for registry ``host`` may go to the token ``realm`` it names.

    Only over https, or over http to that same host (host and port) when ``insecure`` allows plain
    HTTP for it: a registry must not be able to send a user's password to another server in clear."""
    parts = urlsplit(realm)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and insecure and parts.netloc.lower() == host.lower()


def docker_credentials(host: str) -> tuple[str, str] | None:
    """The user and password ``~/.docker/config.json`` (or ``$DOCKER_CONFIG``) stores for ``host``;
    None when there is no config or no entry; ``ImageSourceError`` for a config that cannot be read."""
    config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    if not config.exists():
        return None
    try:
        data = read_regular_file(config, MAX_DOCKER_CONFIG_BYTES)
    except InputError as exc:
        raise ImageSourceError(str(exc)) from None
    document = parse_json(data, str(config))
    auths = document.get("auths", {}) if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        raise ImageSourceError(f"{config}: not a docker config (an object with an auths object)")
    for key in (host, f"https://{host}", "https://index.docker.io/v1/" if "docker.io" in host else ""):
        entry = auths.get(key) if key else None
        if isinstance(entry, dict) and entry.get("auth"):
            try:
                decoded = base64.b64decode(entry["auth"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise ImageSourceError(f"{config}: auths {key}: auth is not base64") from None
            user, _, password = decoded.decode("utf-8", "replace").partition(":")
            return user, password
    return None


class _Deadline:
    """A point in time (``time.monotonic``) after which reading stops with a one-line error."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds, self.what, self.end = seconds, what, time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self, label: str) -> None:
        if self.remaining() <= 0:
            raise ImageSourceError(f"{label}: not done within the {self.what} deadline of {self.seconds:g} s; gave up")

    def sooner(self, other: _Deadline) -> _Deadline:
        return self if self.end <= other.end else other


class _Body:
    """A response body read to a deadline: each read takes what one socket read gives (urllib3's
    ``read1``), so a server sending a byte a second meets the deadline instead of the per-byte timeout;
    connection failures (a short body, a timeout) become ``ImageSourceError``."""

    def __init__(self, response, deadline: _Deadline, label: str) -> None:
        import urllib3  # requests' transport, loaded with it

        self.raw, self.deadline, self.label = response.raw, deadline, label
        self._read = getattr(self.raw, "read1", self.raw.read)  # urllib3 1.x has no read1: 64 KiB at a time
        self._failures = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (a chunk when negative); fewer only at the end of the body."""
        wanted = size if size and size > 0 else CHUNK
        parts, count = [], 0
        while count < wanted:
            self.deadline.check(self.label)
            try:
                data = self._read(min(wanted - count, CHUNK), decode_content=False)
            except self._failures as exc:
                self.deadline.check(self.label)
                raise ImageSourceError(f"{self.label}: the connection failed ({type(exc).__name__}: "
                                       f"{str(exc)[:200]})") from None  # fmt: skip
            if not data:
                break
            parts.append(data)
            count += len(data)
        return b"".join(parts)

    def read_all(self, cap: int, what: str) -> bytes:
        """The whole body, refused past ``cap`` bytes."""
        parts, count = [], 0
        while data := self.read(CHUNK):
            count += len(data)
            if count > cap:
                raise ImageSourceError(f"{self.label}: {what} over {cap} bytes; refused")
            parts.append(data)
        return b"".join(parts)

    def readable(self) -> bool:
        return True


class RegistryClient:
    def __init__(self, ref: RegistryRef, insecure: bool = False, *, request_seconds: float = REQUEST_SECONDS,
                 operation_seconds: float = OPERATION_SECONDS) -> None:  # fmt: skip
        import requests  # only when a registry is read

        self.requests = requests
        self.ref, self.insecure, self.request_seconds = ref, insecure, request_seconds
        self.operation = _Deadline(operation_seconds, "operation")
        self.base = f"{'http' if insecure else 'https'}://{ref.host}/v2/{ref.name}"
        self.session = requests.Session()
        # Bodies are read raw (digests are of the bytes as stored), so none may come content-encoded.
        self.session.headers.update({"User-Agent": "dockaudit", "Accept-Encoding": "identity"})
        self.token: str | None = None

    def _request_deadline(self) -> _Deadline:
        return _Deadline(self.request_seconds, "request").sooner(self.operation)

    def _send(self, url: str, deadline: _Deadline, label: str, **kwargs):
        deadline.check(label)
        left = max(deadline.remaining(), 0.001)
        timeout = (min(TIMEOUT[0], left), min(TIMEOUT[1], left))
        try:
            return self.session.get(url, timeout=timeout, stream=True, allow_redirects=True, **kwargs)
        except self.requests.RequestException as exc:
            deadline.check(label)  # a timeout cut short by the deadline is the deadline's error
            raise ImageSourceError(f"{label}: {type(exc).__name__}: {str(exc)[:300]}") from None

    def _get(self, url: str, deadline: _Deadline, accept: str | None = None):
        headers = {"Accept": accept} if accept else {}
        label = f"{self.ref.shown}: {url.rsplit('/', 2)[-2]}"
        for _attempt in range(2):
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            response = self._send(url, deadline, label, headers=headers)
            if response.status_code == 401 and self.token is None and self._authenticate(response, deadline):
                response.close()
                continue
            if response.status_code != 200:
                response.close()
                raise ImageSourceError(f"{label} answered HTTP {response.status_code}")
            return response, _Body(response, deadline, label)
        raise ImageSourceError(f"{self.ref.shown}: unauthorized")

    def _authenticate(self, response, deadline: _Deadline) -> bool:
        challenge = response.headers.get("WWW-Authenticate", "")
        if not challenge.lower().startswith("bearer"):
            return False
        # \b: only a word's start may begin a match, so a hostile header cannot make the scan quadratic
        fields = dict(re.findall(r'\b(\w+)="([^"]*)"', challenge[:8192]))
        if "realm" not in fields:
            return False
        params = {k: v for k, v in fields.items() if k in ("service", "scope")}
        params.setdefault("scope", f"repository:{self.ref.name}:pull")
        credentials = None
        if may_send_credentials(fields["realm"], self.ref.host, self.insecure):
            credentials = docker_credentials(self.ref.host)
        label = f"{self.ref.shown}: token"
        answer = self._send(fields["realm"], deadline, label, params=params, auth=credentials)
        with answer:
            if answer.status_code != 200:
                return False
            document = json_object(_Body(answer, deadline, label).read_all(MAX_TOKEN_BYTES, "a token answer"), label)
        token = document.get("token") or document.get("access_token")
        if not isinstance(token, str) or not re.fullmatch(r"[\x21-\x7e]+", token):
            raise ImageSourceError(f"{label}: the answer holds no token")
        self.token = token
        return True

    def _document(self, url: str, digest: str | None, accept: str | None = None) -> tuple[bytes, str]:
        """The body at ``url``, checked against ``digest`` when one names it, and its Content-Type."""
        response, body = self._get(url, self._request_deadline(), accept)
        with response:
            data = body.read_all(MAX_JSON_BYTES, "a manifest or config")
        if digest:
            verified(data, digest, f"{self.ref.shown}: {url.rsplit('/', 1)[-1][:19]}")
        return data, response.headers.get("Content-Type", "")

    def manifest(self, descriptor: Descriptor, where: str) -> tuple[dict, str]:
        data, media_type = self._document(f"{self.base}/manifests/{descriptor.digest}", descriptor.digest, ACCEPT)
        return json_object(data, where), media_type.split(";")[0]

    def config(self, descriptor: Descriptor, where: str) -> dict:
        return json_object(self._document(f"{self.base}/blobs/{descriptor.digest}", descriptor.digest)[0], where)

    def layer(self, descriptor: Descriptor, label: str):
        return lambda: self.open_blob(descriptor.digest, descriptor.size or 0)

    def open_blob(self, digest: str, size: int = 0) -> IO[bytes]:
        """The blob as a stream: hashed, cut off past its declared size (a registry sending endless data),
        and stopped at the client's deadline (one sending a byte a second)."""
        checked_digest(digest, f"{self.ref.shown}: blob")
        _response, body = self._get(f"{self.base}/blobs/{digest}", self.operation)
        label = f"{self.ref.shown} blob {digest[:19]}"
        return VerifyingStream(body, digest, size or MAX_BLOB_BYTES, label)  # type: ignore[arg-type,return-value]

    def images(self, platform: str, all_platforms: bool) -> list[SourceImage]:
        reference = self.ref.reference
        digest = reference if ":" in reference else None
        data, media_type = self._document(f"{self.base}/manifests/{reference}", digest, ACCEPT)
        document = json_object(data, f"{self.ref.shown}: manifest")
        return resolve_images(self, document, media_type.split(";")[0], self.ref.shown, platform, all_platforms)

    def digest_of(self, reference: str) -> str:
        """The manifest digest a tag points at (what ``FROM name:tag@digest`` pins)."""
        if ":" in reference:
            checked_digest(reference, self.ref.shown)
        elif not _TAG.fullmatch(reference):
            raise ImageSourceError(f"{self.ref.shown}: {reference[:80]!r} is not a tag")
        response, body = self._get(f"{self.base}/manifests/{reference}", self._request_deadline(), ACCEPT)
        with response:
            data = body.read_all(MAX_JSON_BYTES, "a manifest")
        header = response.headers.get("Docker-Content-Digest", "")
        if header:
            checked_digest(header, f"{self.ref.shown}: Docker-Content-Digest")
            if content_digest(data, header.partition(":")[0]) != header:
                raise ImageSourceError(f"{self.ref.shown}: Docker-Content-Digest does not match the manifest")
        return content_digest(data)

    def tags(self, limit: int = 10_000) -> list[str]:
        response, body = self._get(f"{self.base}/tags/list?n={limit}", self._request_deadline())
        with response:
            document = json_object(body.read_all(MAX_JSON_BYTES, "a tag list"), f"{self.ref.shown}: tags/list")
        tags = document.get("tags") or []
        if not isinstance(tags, list):
            raise ImageSourceError(f"{self.ref.shown}: tags/list has no list of tags")
        return [t for t in tags if isinstance(t, str) and _TAG.fullmatch(t)]
