"""Image sources by skopeo's transport names: ``docker-archive:PATH``, ``oci:DIR[:REF]``,
``oci-archive:PATH[:REF]``.  Each yields ``ImageRef``s: a config, a manifest, and layer blobs opened as
streams on demand (nothing is extracted to disk)."""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

MAX_JSON_BYTES = 16 * 1024 * 1024  # manifests and configs are small; a huge one is hostile
MAX_BLOB_BYTES = 64 * 1024**3  # a layer that declares no size may still not be larger than this
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


class ImageSourceError(ValueError):
    """A source that cannot be read; the message names the source and what is wrong."""


class VerifyingStream:
    """A blob stream that hashes what it returns, refuses more than ``cap`` bytes, and fails at the end
    if the content does not match its digest (readers drain the stream to get there).

    Large chunks are hashed on a helper thread (hashlib releases the GIL), so SHA-256 runs beside the
    inflating and the tar parsing instead of taking turns with them; at most a few chunks wait."""

    _THREADED_CHUNK = 64 * 1024  # smaller reads are hashed at once: a thread hop would cost more
    _MAX_WAITING = 4

    def __init__(self, raw: IO[bytes], digest: str, cap: int, label: str) -> None:
        self.raw, self.digest, self.cap, self.label = raw, digest, cap, label
        self.hash, self.seen = hashlib.sha256(), 0
        self.waiting: list = []  # futures of chunks handed to the hashing thread, in order
        self.hasher = None

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size and size > 0 else 1024 * 1024)
        self.seen += len(data)
        if self.seen > self.cap:
            self._stop()
            raise ImageSourceError(f"{self.label}: more than the {self.cap} bytes declared; refused")
        if len(data) >= self._THREADED_CHUNK:
            if self.hasher is None:
                from concurrent.futures import ThreadPoolExecutor

                self.hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
            self.waiting.append(self.hasher.submit(self.hash.update, data))
            if len(self.waiting) > self._MAX_WAITING:
                self.waiting.pop(0).result()
        else:
            self._wait()  # keep the order: everything handed over is hashed before this chunk
            self.hash.update(data)
        if not data:
            self._stop()
            if f"sha256:{self.hash.hexdigest()}" != self.digest:
                raise ImageSourceError(f"{self.label}: content does not match its digest {self.digest}")
        return data

    def _wait(self) -> None:
        for future in self.waiting:
            future.result()
        self.waiting.clear()

    def _stop(self) -> None:
        self._wait()
        if self.hasher is not None:
            self.hasher.shutdown(wait=True)
            self.hasher = None

    def readable(self) -> bool:
        return True


def _verified_json(data: bytes, digest: str, where: str) -> dict | list:
    """A manifest or config read by digest: the bytes must hash to it (content addressing is the integrity check)."""
    if digest.startswith("sha256:") and f"sha256:{hashlib.sha256(data).hexdigest()}" != digest:
        raise ImageSourceError(f"{where}: content does not match its digest {digest}")
    return _json(data, where)


@dataclass
class Layer:
    digest: str  # "sha256:…" (the blob's, or the archive member's name when it has none)
    media_type: str
    size: int  # bytes as stored (compressed)
    open: Callable[[], IO[bytes]]


@dataclass
class ImageRef:
    name: str  # what the report calls it: "docker-archive:x.tar", "oci:dir:ref (linux/amd64)"
    config: dict
    layers: list[Layer]
    platform: str | None = None
    manifest: dict = field(default_factory=dict)

    @property
    def history(self) -> list[dict]:
        return list(self.config.get("history", []))

    @property
    def container_config(self) -> dict:
        return self.config.get("config") or {}


def _json(data: bytes, where: str) -> dict | list:
    if len(data) > MAX_JSON_BYTES:
        raise ImageSourceError(f"{where}: too large for a manifest or config")
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImageSourceError(f"{where}: not valid JSON ({exc})") from None


def _platform_of(descriptor: dict) -> str:
    platform = descriptor.get("platform") or {}
    text = f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"
    return text + (f"/{platform['variant']}" if platform.get("variant") else "")


def _matches(platform: str, wanted: str) -> bool:
    return platform == wanted or platform.split("/")[:2] == wanted.split("/")[:2] and wanted.count("/") == 1


class _BlobStore:
    """Blobs of an OCI layout, in a directory or inside a tar."""

    def __init__(self, read: Callable[[str], bytes], opener: Callable[[str], IO[bytes]], size: Callable[[str], int]):
        self.read, self.opener, self.size = read, opener, size

    def blob_path(self, digest: str) -> str:
        algorithm, _, hexdigest = digest.partition(":")
        if not hexdigest or "/" in hexdigest or ".." in hexdigest:
            raise ImageSourceError(f"bad digest {digest!r}")
        return f"blobs/{algorithm}/{hexdigest}"


def _oci_images(store: _BlobStore, name: str, ref: str | None, platform: str, all_platforms: bool) -> list[ImageRef]:
    index = _json(store.read("index.json"), f"{name}: index.json")
    manifests = index.get("manifests", []) if isinstance(index, dict) else []
    if ref:
        manifests = [
            m for m in manifests if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == ref
        ]
        if not manifests:
            raise ImageSourceError(f"{name}: no image named {ref!r} in index.json")
    if not manifests:
        raise ImageSourceError(f"{name}: index.json lists no images")
    if len(manifests) > 1 and not ref:
        refs = [
            (m.get("annotations") or {}).get("org.opencontainers.image.ref.name", m.get("digest")) for m in manifests
        ]
        raise ImageSourceError(f"{name}: several images ({', '.join(map(str, refs))}); name one with {name}:REF")
    return _resolve(store, manifests[0], name + (f":{ref}" if ref else ""), platform, all_platforms)


def _resolve(store: _BlobStore, descriptor: dict, name: str, platform: str, all_platforms: bool) -> list[ImageRef]:
    path = store.blob_path(descriptor["digest"])
    document = _verified_json(store.read(path), descriptor["digest"], f"{name}: {descriptor['digest']}")
    media_type = descriptor.get("mediaType") or (document.get("mediaType") if isinstance(document, dict) else "")
    if media_type in INDEX_TYPES or (isinstance(document, dict) and "manifests" in document):
        members = document.get("manifests", [])
        chosen = members if all_platforms else [m for m in members if _matches(_platform_of(m), platform)][:1]
        if not chosen:
            found = ", ".join(_platform_of(m) for m in members)
            raise ImageSourceError(f"{name}: no {platform} image in the index (it has {found}); use --platform")
        images = []
        for member in chosen:
            images.extend(_resolve(store, member, name, platform, False))
            images[-1].platform = _platform_of(member)
            images[-1].name = f"{name} ({images[-1].platform})"
        return images
    config_descriptor = document.get("config") or {}
    config_digest = config_descriptor.get("digest", "")
    config = _verified_json(store.read(store.blob_path(config_digest)), config_digest, f"{name}: config")
    layers = []
    for layer in document.get("layers", []):
        digest, size = layer["digest"], int(layer.get("size") or MAX_BLOB_BYTES)

        def verified(blob=store.blob_path(digest), digest=digest, size=size) -> IO[bytes]:
            return VerifyingStream(store.opener(blob), digest, size, f"{name}: layer {digest[:19]}")  # type: ignore[return-value]

        layers.append(Layer(digest, layer.get("mediaType", ""), size, verified))
    return [ImageRef(name, config, layers, None, document)]


def _oci_directory(folder: Path) -> _BlobStore:
    if not (folder / "oci-layout").is_file():
        raise ImageSourceError(f"oci:{folder}: not an OCI image layout (no oci-layout file)")

    def read(relative: str) -> bytes:
        try:
            with (folder / relative).open("rb") as handle:
                return handle.read(MAX_JSON_BYTES + 1)
        except OSError as exc:
            raise ImageSourceError(f"oci:{folder}: missing {relative} ({exc.strerror or exc})") from None

    def opener(relative: str) -> IO[bytes]:
        try:
            return (folder / relative).open("rb")
        except OSError as exc:
            raise ImageSourceError(f"oci:{folder}: missing blob {relative} ({exc.strerror or exc})") from None

    return _BlobStore(read, opener, lambda relative: (folder / relative).stat().st_size)


def _tar_store(archive: tarfile.TarFile, label: str) -> _BlobStore:
    members = {}
    for member in archive.getmembers():
        name = member.name.lstrip("./")
        members[name] = member

    def member(relative: str) -> tarfile.TarInfo:
        info, hops = members.get(relative), 0
        while info is not None and (info.issym() or info.islnk()):  # docker save links legacy layer paths
            hops += 1
            if hops > 40:  # as the kernel's ELOOP: a link cycle in a hostile archive
                raise ImageSourceError(f"{label}: {relative} is a loop of links")
            target = info.linkname if info.islnk() else str(Path(relative).parent / info.linkname)
            relative = posixpath.normpath(target).lstrip("./")
            info = members.get(relative)
        if info is None or not info.isfile():
            raise ImageSourceError(f"{label}: missing {relative}")
        return info

    def read(relative: str) -> bytes:
        handle = archive.extractfile(member(relative))
        assert handle is not None
        return handle.read(MAX_JSON_BYTES + 1)

    def opener(relative: str) -> IO[bytes]:
        handle = archive.extractfile(member(relative))
        assert handle is not None
        return handle

    return _BlobStore(read, opener, lambda relative: member(relative).size)


def _docker_archive(archive: tarfile.TarFile, label: str) -> list[ImageRef]:
    store = _tar_store(archive, label)
    try:
        manifest = _json(store.read("manifest.json"), f"{label}: manifest.json")
    except ImageSourceError:
        if "index.json" in {m.name.lstrip("./") for m in archive.getmembers()}:  # an OCI archive given as docker
            return _oci_images(store, label, None, "linux/amd64", False)
        raise
    if not isinstance(manifest, list) or not manifest:
        raise ImageSourceError(f"{label}: manifest.json lists no images")
    images = []
    for entry in manifest:
        config = _json(store.read(entry["Config"]), f"{label}: {entry['Config']}")
        layers = []
        for path in entry.get("Layers", []):
            relative = path.lstrip("./")
            layers.append(Layer(relative, "", store.size(relative), lambda relative=relative: store.opener(relative)))
        tags = entry.get("RepoTags") or []
        images.append(ImageRef(f"{label}" + (f" ({tags[0]})" if tags else ""), config, layers, None, entry))
    return images


TRANSPORTS = ("docker-archive", "oci", "oci-archive", "docker", "docker-daemon")


@contextmanager
def open_source(
    source: str, platform: str = "linux/amd64", all_platforms: bool = False, insecure: bool = False
) -> Iterator[list[ImageRef]]:
    """The images a source names (several for ``--all-platforms`` indexes or multi-image archives);
    archives stay open for the ``with`` block, so layers can be streamed from them.  A source with no
    known transport (``python:3.12-slim``) is a registry reference, as docker reads it."""
    transport, colon, rest = source.partition(":")
    if transport == "docker" or (transport not in TRANSPORTS and ("/" in source or colon or "@" in source)):
        from dockaudit.image.registry import RegistryClient, parse_reference

        yield RegistryClient(parse_reference(source), insecure).images(platform, all_platforms)
        return
    if transport == "docker-daemon":
        with _daemon_archive(rest) as path, open_source(f"docker-archive:{path}") as images:
            yield images
        return
    if not colon:
        raise ImageSourceError(
            f"{source}: name a transport: docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF]"
        )
    location, _, ref = rest.partition(":")
    if transport == "oci":
        yield _oci_images(_oci_directory(Path(location)), f"oci:{location}", ref or None, platform, all_platforms)
        return
    if transport not in ("docker-archive", "oci-archive"):
        raise ImageSourceError(f"{source}: unknown transport {transport!r} (docker-archive, oci, oci-archive)")
    try:
        archive = tarfile.open(Path(location), "r:")
    except (OSError, tarfile.TarError) as exc:
        raise ImageSourceError(f"{source}: cannot open the archive ({exc})") from None
    with archive:
        if transport == "docker-archive":
            yield _docker_archive(archive, f"docker-archive:{location}")
        else:
            yield _oci_images(
                _tar_store(archive, source), f"oci-archive:{location}", ref or None, platform, all_platforms
            )


@contextmanager
def _daemon_archive(name: str) -> Iterator[Path]:
    """``docker save`` into a temporary archive; a clear error when no daemon answers."""
    import shutil
    import subprocess
    import tempfile

    docker = shutil.which("docker")
    if docker is None:
        raise ImageSourceError(f"docker-daemon:{name}: no docker CLI on PATH; use docker-archive: with docker save")
    with tempfile.TemporaryDirectory(prefix="dockaudit-") as folder:
        target = Path(folder) / "image.tar"
        try:
            completed = subprocess.run([docker, "save", "-o", str(target), name], capture_output=True, text=True,
                                       timeout=3600, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ImageSourceError(f"docker-daemon:{name}: docker save failed ({exc})") from None
        if completed.returncode != 0:
            reason = (completed.stderr.strip().splitlines() or ["no answer from the daemon"])[-1]
            raise ImageSourceError(f"docker-daemon:{name}: {reason}")
        yield target
