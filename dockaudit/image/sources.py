"""Image sources by skopeo's transport names: ``docker-archive:PATH``, ``oci:DIR[:REF]``,
``oci-archive:PATH[:REF]``.  Each yields ``SourceImage``s: a config, a manifest, and layer blobs opened as
streams on demand (nothing is extracted to disk).

Everything read is hostile until checked: a digest must be one dockaudit can verify before it names a
file, every blob (index, manifest, config, layer) must hash to its digest, every document must have the
shape the spec gives it, and every list, nesting and header has a bound."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol

from dockaudit.files import InputError, open_regular_file, read_regular_file
from dockaudit.patterns import lazy_pattern
from dockaudit.records import field, record

MAX_JSON_BYTES = 16 * 1024 * 1024  # manifests and configs are small; a huge one is hostile
MAX_BLOB_BYTES = 64 * 1024**3  # a layer that declares no size may still not be larger than this
MAX_INDEX_DEPTH = 16  # an index of indexes: real ones nest once or twice (a tag's index, then per platform)
MAX_IMAGES = 256  # images one source may name (--all-platforms, multi-image archives): real ones have a dozen
MAX_ARCHIVE_MEMBERS = 1_000_000  # files in a docker-archive or oci-archive: a few per layer in real ones
MAX_TAR_HEADER_BYTES = 1024 * 1024  # one PAX or GNU long-name header (Go's archive/tar has the same limit)
MAX_TAR_HEADER_CHAIN = 8  # extended headers before one member (a global PAX, a PAX, GNU long name and link)
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


class ImageSourceError(ValueError):
    """A source that cannot be read; the message names the source and what is wrong (one line)."""


# --- digests ---------------------------------------------------------------------------------------

# The OCI grammar (image-spec descriptor.md), ``algorithm:encoded``, each part matched whole (``$`` would let a
# trailing newline through); matched apart, neither pattern can backtrack over the other's characters.
_ALGORITHM = lazy_pattern(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*")
_ENCODING = lazy_pattern(r"[a-zA-Z0-9=_-]+")
_ENCODED = {"sha256": lazy_pattern(r"[a-f0-9]{64}"), "sha512": lazy_pattern(r"[a-f0-9]{128}")}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def checked_digest(value: object, where: str) -> str:
    """``value`` when it is a digest dockaudit can verify (sha256 or sha512 in lowercase hex), else
    ``ImageSourceError``.  Digests become file names and URLs: nothing else may reach either."""
    if value is None:
        raise ImageSourceError(f"{where}: no digest")
    algorithm, colon, encoded = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not colon or not _ALGORITHM.fullmatch(algorithm) or not _ENCODING.fullmatch(encoded):
        raise ImageSourceError(f"{where}: {_shown(value)} is not a digest")
    pattern = _ENCODED.get(algorithm)
    if pattern is None:
        raise ImageSourceError(f"{where}: digest algorithm {algorithm!r} is not supported (sha256, sha512)")
    if not pattern.fullmatch(encoded):
        raise ImageSourceError(f"{where}: {_shown(value)} is not a valid {algorithm} digest")
    return value


def content_digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verified(data: bytes, digest: str, where: str) -> bytes:
    """``data`` when it hashes to ``digest`` (already checked): content addressing is the integrity check."""
    if content_digest(data, digest.partition(":")[0]) != digest:
        raise ImageSourceError(f"{where}: content does not match its digest {digest}")
    return data


class VerifyingStream:
    """A blob stream that hashes what it returns, refuses more than ``cap`` bytes, and fails at the end
    if the content does not match its digest (readers drain the stream to get there).

    Large chunks are hashed on a helper thread (hashlib releases the GIL), so the hash runs beside the
    inflating and the tar parsing instead of taking turns with them; at most a few chunks wait."""

    _THREADED_CHUNK = 64 * 1024  # smaller reads are hashed at once: a thread hop would cost more
    _MAX_WAITING = 4

    def __init__(self, raw: IO[bytes], digest: str, cap: int, label: str) -> None:
        self.raw, self.digest, self.cap, self.label = raw, checked_digest(digest, label), cap, label
        self.hash, self.seen = hashlib.new(digest.partition(":")[0]), 0
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

                self.hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-hash")
            self.waiting.append(self.hasher.submit(self.hash.update, data))
            if len(self.waiting) > self._MAX_WAITING:
                self.waiting.pop(0).result()
        else:
            self._wait()  # keep the order: everything handed over is hashed before this chunk
            self.hash.update(data)
        if not data:
            self._stop()
            if f"{self.hash.name}:{self.hash.hexdigest()}" != self.digest:
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


# --- tar headers -----------------------------------------------------------------------------------

_EXTENDED_HEADERS = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                     tarfile.GNUTYPE_LONGLINK)  # fmt: skip


class GuardedTarInfo(tarfile.TarInfo):
    """tarfile's member header, with bounds tarfile lacks.

    tarfile reads a PAX or GNU long-name header whole, whatever size it declares (a 3 MB gzip layer
    declaring a multi-GB header took 6 GB), follows a chain of them by recursion (a few hundred give a
    RecursionError), and reads GNU sparse maps (old GNU and PAX 1.0) of any length.  Here a header over
    ``MAX_TAR_HEADER_BYTES``, a chain over ``MAX_TAR_HEADER_CHAIN`` and those sparse members are refused
    before their data is read (PAX 0.x sparse maps live in the capped header); Go's archive/tar, which
    writes the layers of docker, BuildKit and buildah, never writes sparse files.  ``tarfile.ReadError``
    is raised, so readers report it like any unreadable tar."""

    def _proc_member(self, archive):  # the hook tarfile calls for every header it reads
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise tarfile.ReadError(f"{self.name!r} is a GNU sparse member; refused")
        if self.type not in _EXTENDED_HEADERS:
            return super()._proc_member(archive)
        if self.size > MAX_TAR_HEADER_BYTES:
            raise tarfile.ReadError(
                f"an extended tar header of {self.size} bytes (over {MAX_TAR_HEADER_BYTES}); refused"
            )
        # tarfile processes a chain of extended headers by recursion through this method; the depth
        # is counted on the archive, the one object the recursion shares.
        depth = getattr(archive, "_dockaudit_header_depth", 0)
        if depth >= MAX_TAR_HEADER_CHAIN:
            raise tarfile.ReadError(f"more than {MAX_TAR_HEADER_CHAIN} extended tar headers in a row; refused")
        archive._dockaudit_header_depth = depth + 1
        try:
            return super()._proc_member(archive)
        finally:
            archive._dockaudit_header_depth = depth

    def _proc_gnusparse_10(self, next, pax_headers, archive):
        raise tarfile.ReadError(f"{next.name!r} is a GNU sparse member; refused")


# --- documents -------------------------------------------------------------------------------------


@record(frozen=False, slots=False)
class Layer:
    digest: str  # "sha256:…" (the blob's, or the archive member's name when it has none)
    media_type: str
    size: int  # bytes as stored (compressed)
    open: Callable[[], IO[bytes]]


@record(frozen=False, slots=False)
class SourceImage:
    """One image as its source holds it: its config, its layers (opened on demand), where it came from.
    (Not ``facts.imageref.ImageRef``, which is a reference written in a Dockerfile.)"""

    name: str  # what the report calls it: "docker-archive:x.tar", "oci:dir:ref (linux/amd64)"
    config: dict
    layers: list[Layer]
    platform: str | None = None
    manifest: dict = field(default_factory=dict)
    digest: str | None = None  # the image id: the digest of its config blob, where the source gives it

    @property
    def history(self) -> list[dict]:
        history = self.config.get("history")
        return [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []

    @property
    def container_config(self) -> dict:
        config = self.config.get("config")
        return config if isinstance(config, dict) else {}


@record(slots=False)
class Descriptor:
    """An OCI descriptor whose fields have been checked (digest verifiable, size a byte count)."""

    digest: str
    media_type: str
    size: int | None
    platform: str  # "os/architecture[/variant]", "?/?" when none is given
    ref_name: str | None  # the org.opencontainers.image.ref.name annotation


def parse_descriptor(value: object, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ImageSourceError(f"{where}: not a descriptor (a JSON object with a digest)")
    digest = checked_digest(value.get("digest"), where)
    size = value.get("size")
    if size is not None and (type(size) is not int or size < 0):
        raise ImageSourceError(f"{where}: size {_shown(size)} is not a byte count")
    media_type = value.get("mediaType") or ""
    platform = value.get("platform") or {}
    annotations = value.get("annotations") or {}
    if not isinstance(media_type, str) or not isinstance(platform, dict) or not isinstance(annotations, dict):
        raise ImageSourceError(f"{where}: mediaType, platform or annotations has the wrong type")
    parts = [platform.get("os", "?"), platform.get("architecture", "?"), platform.get("variant") or ""]
    if not all(isinstance(part, str) for part in parts):
        raise ImageSourceError(f"{where}: platform fields must be strings")
    ref_name = annotations.get("org.opencontainers.image.ref.name")
    ref_name = ref_name if isinstance(ref_name, str) else None
    return Descriptor(digest, media_type, size, "/".join(p for p in parts if p), ref_name)


def parse_json(data: bytes, where: str) -> object:
    """JSON of at most ``MAX_JSON_BYTES`` (manifests, indexes, configs are small; a huge one is hostile)."""
    if len(data) > MAX_JSON_BYTES:
        raise ImageSourceError(f"{where}: too large for a manifest or config")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # ValueError covers JSON and UTF-8 errors
        raise ImageSourceError(f"{where}: not valid JSON ({str(exc).splitlines()[0][:200]})") from None


def json_object(data: bytes, where: str) -> dict:
    """A manifest, index or config: small JSON, and an object."""
    document = parse_json(data, where)
    if not isinstance(document, dict):
        raise ImageSourceError(f"{where}: not a JSON object")
    return document


def _listed(document: dict, key: str, where: str) -> list:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise ImageSourceError(f"{where}: {key} is not a list")
    return value


def _matches(platform: str, wanted: str) -> bool:
    return platform == wanted or platform.split("/")[:2] == wanted.split("/")[:2] and wanted.count("/") == 1


class ImageStore(Protocol):
    """Where the documents and layers a manifest names come from (an OCI layout, a registry)."""

    def manifest(self, descriptor: Descriptor, where: str) -> tuple[dict, str]:
        """The verified manifest or index, and the media type the transport gave it ("" if none)."""

    def config(self, descriptor: Descriptor, where: str) -> dict:
        """The verified image config."""

    def layer(self, descriptor: Descriptor, label: str) -> Callable[[], IO[bytes]]:
        """Opens the layer as a verifying stream."""


def resolve_images(store: ImageStore, document: dict, media_type: str, name: str, platform: str,
                   all_platforms: bool, depth: int = 0) -> list[SourceImage]:  # fmt: skip
    """The images a manifest or index names: an index picks ``platform`` (or every member for
    ``all_platforms``) and is followed at most ``MAX_INDEX_DEPTH`` deep; a manifest gives one image."""
    media_type = document.get("mediaType") if isinstance(document.get("mediaType"), str) else media_type
    if media_type in INDEX_TYPES or "manifests" in document:
        if depth >= MAX_INDEX_DEPTH:
            raise ImageSourceError(f"{name}: indexes nested more than {MAX_INDEX_DEPTH} deep; refused")
        listed = _listed(document, "manifests", name)
        members = [parse_descriptor(m, f"{name}: manifests[{i}]") for i, m in enumerate(listed)]
        chosen = members if all_platforms else [m for m in members if _matches(m.platform, platform)][:1]
        if not chosen:
            found = ", ".join(m.platform for m in members[:20])
            raise ImageSourceError(f"{name}: no {platform} image in the index (it has {found}); use --platform")
        if len(chosen) > MAX_IMAGES:
            raise ImageSourceError(f"{name}: more than {MAX_IMAGES} images in the index; name one with --platform")
        images = []
        for member in chosen:
            inner, inner_type = store.manifest(member, f"{name}: {member.digest}")
            found = resolve_images(store, inner, member.media_type or inner_type, name, platform, False, depth + 1)
            for image in found:
                image.platform, image.name = member.platform, f"{name} ({member.platform})"
            images.extend(found)
        return images
    config_descriptor = parse_descriptor(document.get("config"), f"{name}: config")
    config = store.config(config_descriptor, f"{name}: config")
    layers = []
    for position, value in enumerate(_listed(document, "layers", name)):
        layer = parse_descriptor(value, f"{name}: layers[{position}]")
        opener = store.layer(layer, f"{name}: layer {layer.digest[:19]}")
        layers.append(Layer(layer.digest, layer.media_type, layer.size or 0, opener))
    return [SourceImage(name, config, layers, None, document, config_descriptor.digest)]


# --- OCI layouts and docker archives --------------------------------------------------------------


class _BlobStore:
    """Blobs of an OCI layout, in a directory or inside a tar: ``read`` returns at most
    ``MAX_JSON_BYTES + 1`` bytes of a file, ``opener`` a stream, ``size`` its size."""

    def __init__(self, read: Callable[[str], bytes], opener: Callable[[str], IO[bytes]], size: Callable[[str], int]):
        self.read, self.opener, self.size = read, opener, size

    @staticmethod
    def blob_path(digest: str) -> str:
        algorithm, _, encoded = digest.partition(":")  # a checked digest: no "/", no ".."
        return f"blobs/{algorithm}/{encoded}"

    def manifest(self, descriptor: Descriptor, where: str) -> tuple[dict, str]:
        return self.config(descriptor, where), ""

    def config(self, descriptor: Descriptor, where: str) -> dict:
        return json_object(verified(self.read(self.blob_path(descriptor.digest)), descriptor.digest, where), where)

    def layer(self, descriptor: Descriptor, label: str) -> Callable[[], IO[bytes]]:
        path, cap = self.blob_path(descriptor.digest), descriptor.size or MAX_BLOB_BYTES

        def opened() -> IO[bytes]:
            return VerifyingStream(self.opener(path), descriptor.digest, cap, label)  # type: ignore[return-value]

        return opened


def _oci_images(store: _BlobStore, name: str, ref: str | None, platform: str, all_platforms: bool) -> list[SourceImage]:
    index = json_object(store.read("index.json"), f"{name}: index.json")
    manifests = [
        parse_descriptor(m, f"{name}: index.json manifests[{i}]")
        for i, m in enumerate(_listed(index, "manifests", f"{name}: index.json"))
    ]
    if ref:
        manifests = [m for m in manifests if m.ref_name == ref]
        if not manifests:
            raise ImageSourceError(f"{name}: no image named {ref!r} in index.json")
    if not manifests:
        raise ImageSourceError(f"{name}: index.json lists no images")
    if len(manifests) > 1 and not ref:
        refs = ", ".join(m.ref_name or m.digest for m in manifests[:20])
        raise ImageSourceError(f"{name}: several images ({refs}); name one with {name}:REF")
    name += f":{ref}" if ref else ""
    top = manifests[0]
    document, _ = store.manifest(top, f"{name}: {top.digest}")
    return resolve_images(store, document, top.media_type, name, platform, all_platforms)


def _oci_directory(folder: Path) -> _BlobStore:
    if not (folder / "oci-layout").is_file():
        raise ImageSourceError(f"oci:{folder}: not an OCI image layout (no oci-layout file)")

    def unreadable(relative: str, what: str, error: InputError) -> ImageSourceError:
        state = "cannot read" if os.path.lexists(folder / relative) else "missing"
        return ImageSourceError(f"oci:{folder}: {state} {what}{relative} ({error.reason})")

    def read(relative: str) -> bytes:
        try:
            return read_regular_file(folder / relative, MAX_JSON_BYTES + 1)  # json_object refuses the + 1
        except InputError as exc:
            raise unreadable(relative, "", exc) from None

    def opener(relative: str) -> IO[bytes]:
        try:
            return open_regular_file(folder / relative)
        except InputError as exc:
            raise unreadable(relative, "blob ", exc) from None

    return _BlobStore(read, opener, lambda relative: (folder / relative).stat().st_size)


def _members(archive: tarfile.TarFile, label: str) -> dict[str, tarfile.TarInfo]:
    members: dict[str, tarfile.TarInfo] = {}
    while (info := archive.next()) is not None:
        if len(members) >= MAX_ARCHIVE_MEMBERS:
            raise ImageSourceError(f"{label}: more than {MAX_ARCHIVE_MEMBERS} files in the archive; refused")
        members[info.name.lstrip("./")] = info
    return members


def _tar_store(archive: tarfile.TarFile, label: str) -> _BlobStore:
    try:
        members = _members(archive, label)
    except (tarfile.TarError, OSError) as exc:
        raise ImageSourceError(f"{label}: not a readable archive ({exc})") from None

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

    def opener(relative: str) -> IO[bytes]:
        handle = archive.extractfile(member(relative))
        assert handle is not None  # member() returns regular files only
        return handle

    return _BlobStore(lambda relative: opener(relative).read(MAX_JSON_BYTES + 1), opener,
                      lambda relative: member(relative).size)  # fmt: skip


def _archive_path(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ImageSourceError(f"{where}: {_shown(value)} is not a path in the archive")
    return value.lstrip("./")


# A config named by its digest (docker save: "<hex>.json", or "blobs/sha256/<hex>" since Docker 25)
_ADDRESSED = lazy_pattern(r"(?:blobs/sha256/)?([a-f0-9]{64})(?:\.json)?")


def _docker_archive(archive: tarfile.TarFile, label: str) -> list[SourceImage]:
    store = _tar_store(archive, label)
    try:
        data = store.read("manifest.json")
    except ImageSourceError:
        try:
            store.size("index.json")
        except ImageSourceError:
            raise ImageSourceError(f"{label}: missing manifest.json") from None
        return _oci_images(store, label, None, "linux/amd64", False)  # an OCI archive given as docker
    manifest = parse_json(data, f"{label}: manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise ImageSourceError(f"{label}: manifest.json lists no images")
    if len(manifest) > MAX_IMAGES:
        raise ImageSourceError(f"{label}: manifest.json lists more than {MAX_IMAGES} images; refused")
    images = []
    for position, entry in enumerate(manifest):
        where = f"{label}: manifest.json[{position}]"
        if not isinstance(entry, dict):
            raise ImageSourceError(f"{where}: not a JSON object")
        if "Config" not in entry:
            raise ImageSourceError(f"{where}: no Config")
        config_path = _archive_path(entry["Config"], f"{where}: Config")
        data = store.read(config_path)
        if addressed := _ADDRESSED.fullmatch(config_path):
            data = verified(data, f"sha256:{addressed.group(1)}", f"{label}: {config_path}")
        config = json_object(data, f"{label}: {config_path}")
        layers = []
        for index, path in enumerate(_listed(entry, "Layers", where)):
            relative = _archive_path(path, f"{where}: Layers[{index}]")
            layers.append(Layer(relative, "", store.size(relative), lambda relative=relative: store.opener(relative)))
        tags = entry.get("RepoTags")
        tag = tags[0] if isinstance(tags, list) and tags and isinstance(tags[0], str) else None
        digest = "sha256:" + hashlib.sha256(data).hexdigest()  # the image id, by definition
        images.append(SourceImage(label + (f" ({tag})" if tag else ""), config, layers, None, entry, digest))
    return images


TRANSPORTS = ("docker-archive", "oci", "oci-archive", "docker", "docker-daemon")


def _transport_hint(source: str) -> str:
    """What the user most likely meant by a bare local path: a tar is what ``docker save`` writes (an
    OCI archive is named ``*.oci.tar`` by convention), a folder with an ``oci-layout`` file a layout."""
    lower = source.lower()
    if os.path.isdir(source):
        return f"; did you mean oci:{source}?" if os.path.isfile(os.path.join(source, "oci-layout")) else ""
    if lower.endswith((".oci.tar", ".oci")):
        return f"; did you mean oci-archive:{source}?"
    if lower.endswith((".tar", ".tar.gz", ".tgz")):
        return f"; did you mean docker-archive:{source} (docker save output)?"
    return ""


@contextmanager
def open_source(
    source: str, platform: str = "linux/amd64", all_platforms: bool = False, insecure: bool = False
) -> Iterator[list[SourceImage]]:
    """The images a source names (several for ``--all-platforms`` indexes or multi-image archives);
    archives stay open for the ``with`` block, so layers can be streamed from them.  A source with no
    known transport (``python:3.12-slim``) is a registry reference, as docker reads it."""
    transport, colon, rest = source.partition(":")
    if transport not in TRANSPORTS and os.path.exists(source):  # a local file, not a registry reference
        raise ImageSourceError(f"{source}: a local path; name its transport: docker-archive:PATH, oci:DIR[:REF], "
                               f"oci-archive:PATH[:REF]{_transport_hint(source)}")  # fmt: skip
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
            + _transport_hint(source)
        )
    location, _, ref = rest.partition(":")
    if transport == "oci":
        yield _oci_images(_oci_directory(Path(location)), f"oci:{location}", ref or None, platform, all_platforms)
        return
    if transport not in ("docker-archive", "oci-archive"):
        raise ImageSourceError(f"{source}: unknown transport {transport!r} (docker-archive, oci, oci-archive)")
    try:
        handle = open_regular_file(Path(location))
    except InputError as exc:
        raise ImageSourceError(f"{source}: cannot open the archive ({exc.reason})") from None
    try:
        archive = tarfile.open(fileobj=handle, mode="r:", tarinfo=GuardedTarInfo)
    except (OSError, tarfile.TarError) as exc:
        handle.close()
        raise ImageSourceError(f"{source}: cannot open the archive ({exc})") from None
    with handle, archive:
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
