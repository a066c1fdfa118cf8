"""Layers read as streams in one sequential pass: compression detected from the first bytes, tar entries
listed without extracting, and the final filesystem built by applying whiteouts, with wasted bytes
(content a later layer removes or replaces) counted once per hidden copy."""

from __future__ import annotations

import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from dockaudit.image.sources import GuardedTarInfo, ImageSourceError, Layer
from dockaudit.records import field, record

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
SMALL_FILE = 64 * 1024  # files rules may read (version.json, METADATA, env files): bounded
MAX_PATH = 4096  # Linux's PATH_MAX: a longer entry name cannot be a real file; every entry is kept in memory


@record(frozen=False)
class Entry:
    path: str  # normalised: no leading "./" or "/"
    size: int
    mode: int
    kind: str  # "file", "dir", "symlink", "hardlink", "other"
    layer: int
    linkname: str = ""

    @property
    def setuid(self) -> bool:
        return self.kind == "file" and bool(self.mode & (stat.S_ISUID | stat.S_ISGID))


@record(frozen=False, slots=False)
class Waste:
    path: str
    size: int
    layer: int  # the layer whose bytes are hidden
    by_layer: int  # the layer that removed or replaced them


@record(frozen=False, slots=False)
class Filesystem:
    """The final view of an image's layers, built by ``apply_entry`` and ``end_layer``.

    An entry waits in ``pending`` until its layer ends: a whiteout hides lower layers only (OCI image
    spec, layer.md), so whiteouts only ever meet entries they remove, and ``children`` (folder → the
    paths directly under it) finds those without scanning the view.  Each entry is added and removed
    at most once: applying a layer costs its entries plus what it removes, whatever the whiteouts."""

    files: dict[str, Entry] = field(default_factory=dict)  # the final view
    layer_sizes: list[int] = field(default_factory=list)  # uncompressed file bytes per layer
    waste: list[Waste] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)  # every file a later layer deleted (secrets stay readable)
    pending: dict[str, Entry] = field(default_factory=dict)  # the current layer's entries
    children: dict[str, set[str]] = field(default_factory=dict)  # folder ("" for the root) → paths in the view


def _normal(name: str) -> str:
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ImageSourceError(f"layer entry {name!r} climbs out of the root")
    return "/".join(parts)


@record(frozen=False, slots=False)
class UnpackBudget:
    """How many bytes an image's compressed layers may inflate to, per layer and in all.

    Reading never holds the bytes, so a decompression bomb cannot exhaust memory; these limits
    stop it from running for hours.  Defaults are far above real ML images (a 70B-parameter model
    in one layer is ~140 GB)."""

    per_layer: int = 256 * 1024**3
    total: int = 1024 * 1024**3
    used: int = 0


class _Bounded:
    """Counts what a layer inflates to and stops at the budget; seeks forward (for tarfile, which skips
    a file's contents with ``seek``) by reading on and dropping what it reads."""

    def __init__(self, stream: IO[bytes], budget: UnpackBudget, label: str) -> None:
        self.stream, self.budget, self.label, self.count, self.reads_past_end = stream, budget, label, 0, 0

    def tell(self) -> int:
        return self.count

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset + (self.count if whence == 1 else 0)
        if whence not in (0, 1) or target < self.count:
            raise OSError(f"{self.label}: a layer stream seeks forward only")
        wanted = target - self.count
        # Never inflate more than one byte past the budgets: a header may claim a terabyte of zeros.
        allowed = min(wanted, self.budget.per_layer - self.count + 1, self.budget.total - self.budget.used + 1)
        skip = getattr(self.stream, "skip", None)
        if skip is not None:
            skipped = skip(max(allowed, 0))
        else:
            skipped = 0
            while skipped < allowed and (data := self.stream.read(min(allowed - skipped, STREAM_CHUNK))):
                skipped += len(data)
        self._counted(skipped)
        if skipped < wanted:  # reported as an unreadable tar stream, as tarfile reports a truncated file
            raise EOFError("ends inside a file: truncated, or a header claims more bytes than the layer holds")
        return self.count

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        if not data and size:
            # A reader past the end (tarfile looking for the next header): a damaged layer, not a loop.
            self.reads_past_end += 1
            if self.reads_past_end > 16:
                raise ImageSourceError(f"{self.label}: ends inside a file (truncated, or a header claims more "
                                       "bytes than the layer holds)")  # fmt: skip
        self._counted(len(data))
        return data

    def _counted(self, size: int) -> None:
        self.count += size
        self.budget.used += size
        if self.count > self.budget.per_layer:
            raise ImageSourceError(f"{self.label}: inflates to more than {_gib(self.budget.per_layer)} "
                                   "(--max-layer-unpacked); refused as a decompression bomb")  # fmt: skip
        if self.budget.used > self.budget.total:
            raise ImageSourceError(f"{self.label}: the image inflates to more than {_gib(self.budget.total)} "
                                   "(--max-unpacked); refused as a decompression bomb")  # fmt: skip

    def readable(self) -> bool:
        return True


def _gib(size: int) -> str:
    return f"{size / 1024**3:g} GiB"


def _seekable(raw: IO[bytes]) -> bool:
    try:
        return raw.seekable()
    except (AttributeError, OSError, ValueError):
        return False


def _open_tar(raw: IO[bytes], budget: UnpackBudget, label: str) -> tarfile.TarFile:
    """A tar reader for the layer: seeking over file contents when the layer is a plain tar in a file
    (a docker-archive or an uncompressed OCI blob: only the headers are read), else one pass over the
    decompressed stream."""
    if _seekable(raw):
        start = raw.tell()
        head = raw.read(4)
        raw.seek(start)
        if head[:2] != b"\x1f\x8b" and head != b"\x28\xb5\x2f\xfd":
            return tarfile.open(fileobj=raw, mode="r:", tarinfo=GuardedTarInfo)
    # Not tarfile's stream mode ("r|"): it skips a file's contents by reading them 10 KiB at a time through
    # its own buffer (~130,000 Python reads per GiB, a third of a gzip layer's time); _Bounded seeks forward
    # by discarding what it inflates, so tarfile reads the headers only, as from a file.
    return tarfile.open(fileobj=_Bounded(_decompressed(raw), budget, label), mode="r:", tarinfo=GuardedTarInfo)


def _decompressed(raw: IO[bytes]) -> IO[bytes]:
    head = raw.read(4)
    rest = _Prefixed(head, raw)
    if head[:2] == b"\x1f\x8b":
        return _Inflating(rest)  # type: ignore[return-value]
    if head == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError:
            raise ImageSourceError("a tar+zstd layer needs the zstandard package (pip install zstandard)") from None
        reader = zstandard.ZstdDecompressor().stream_reader(rest)
        return _Unzstd(reader, zstandard.ZstdError)  # type: ignore[return-value]
    return rest  # type: ignore[return-value]


class _Unzstd:
    """zstandard's stream reader, whose errors (a damaged frame) become ``OSError``: reported as an
    unreadable layer, as zlib's are, instead of escaping as zstandard's own exception type."""

    def __init__(self, reader, error: type[Exception]) -> None:
        self.reader, self.error = reader, error

    def read(self, size: int = -1) -> bytes:
        try:
            return self.reader.read(size)
        except self.error as exc:
            raise OSError(f"zstd: {exc}") from None

    def readable(self) -> bool:
        return True


STREAM_CHUNK = 1 << 20  # bytes per read along the layer pipeline: fewer, larger calls cost less Python


class _Inflating:
    """gzip members inflated by zlib a STREAM_CHUNK at a time (zlib checks each member's CRC), served in
    the small reads tarfile makes.

    gzip.GzipFile reads its input 8 KiB at a time, and those Python calls cost more than the inflating;
    the bound on each step's output keeps a decompression bomb from ever being held in memory."""

    def __init__(self, raw) -> None:
        self.raw, self.inflater, self.pending = raw, zlib.decompressobj(31), b""
        self.out, self.offset = b"", 0

    def read(self, size: int = -1) -> bytes:
        if self.offset >= len(self.out):
            self.out, self.offset = self._inflate(), 0
        end = len(self.out) if size is None or size < 0 else self.offset + size
        data = self.out[self.offset : end]
        self.offset += len(data)
        return data

    def skip(self, size: int) -> int:
        """Inflate and drop ``size`` bytes without copying them; fewer at the end of the stream."""
        skipped = 0
        while skipped < size:
            if self.offset >= len(self.out):
                self.out, self.offset = self._inflate(), 0
                if not self.out:
                    break
            step = min(len(self.out) - self.offset, size - skipped)
            self.offset += step
            skipped += step
        return skipped

    def _inflate(self) -> bytes:
        while True:
            if self.inflater is None:  # between members; gzip allows zero padding there
                self.pending = self.pending.lstrip(b"\0")
                if not self.pending:
                    self.pending = self.raw.read(STREAM_CHUNK)
                    if not self.pending:
                        return b""
                    continue
                self.inflater = zlib.decompressobj(31)
            inflater = self.inflater
            source = inflater.unconsumed_tail or self.pending or self.raw.read(STREAM_CHUNK)
            self.pending = b""
            if not source:
                raise EOFError("the gzip stream ends before its member does")
            data = inflater.decompress(source, STREAM_CHUNK)
            if inflater.eof:
                self.pending, self.inflater = inflater.unused_data, None
            if data:
                return data

    def readable(self) -> bool:
        return True


class _Prefixed:
    """A stream that first returns bytes already read (to sniff the compression)."""

    def __init__(self, prefix: bytes, stream: IO[bytes]) -> None:
        self.prefix, self.stream = prefix, stream

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size < 0:
                data, self.prefix = self.prefix + self.stream.read(), b""
                return data
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            if len(data) < size:
                data += self.stream.read(size - len(data))
            return data
        return self.stream.read(size)

    def readable(self) -> bool:
        return True


def layer_entries(
    layer: Layer, index: int, keep: Callable[[str], bool], budget: UnpackBudget | None = None
) -> Iterator[tuple[Entry, bytes | None]]:
    """Each tar entry of a layer, with the content of small files ``keep`` asks for."""
    try:
        raw = layer.open()
        with _open_tar(raw, budget or UnpackBudget(), f"layer {index + 1} ({layer.digest[:19]})") as archive:
            while (member := archive.next()) is not None:
                archive.members.clear()  # tarfile remembers every member; memory must not grow with the layer
                if len(member.name) > MAX_PATH or len(member.linkname) > MAX_PATH:
                    raise ImageSourceError(f"layer {index + 1} ({layer.digest[:19]}): an entry name or link over "
                                           f"{MAX_PATH} characters; refused")  # fmt: skip
                path = _normal(member.name)
                kind = ("file" if member.isreg() else "dir" if member.isdir() else "symlink" if member.issym()
                        else "hardlink" if member.islnk() else "other")  # fmt: skip
                entry = Entry(path, member.size if member.isreg() else 0, member.mode, kind, index, member.linkname)
                content = None
                if kind == "file" and keep(path):  # small files whole; big ones only their head (ELF header)
                    handle = archive.extractfile(member)
                    content = handle.read(SMALL_FILE) if handle else None
                yield entry, content
        if not _seekable(raw):
            while raw.read(1 << 20):  # read to the end, so a registry blob's digest is checked
                pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ImageSourceError(f"layer {index + 1} ({layer.digest}): not a readable tar stream ({exc})") from None


def apply_entry(fs: Filesystem, entry: Entry) -> None:
    """Apply one entry of the current layer: a whiteout at once, anything else when the layer ends."""
    directory, _, base = entry.path.rpartition("/")
    if base == OPAQUE:
        _remove_under(fs, directory, entry.layer)
    elif base.startswith(WHITEOUT):
        target = f"{directory}/{base[len(WHITEOUT) :]}" if directory else base[len(WHITEOUT) :]
        _remove_under(fs, target, entry.layer)
        _remove_path(fs, target, entry.layer)
    else:
        fs.pending[entry.path] = entry


def end_layer(fs: Filesystem) -> None:
    """Add the layer's entries to the view; what they replace is wasted."""
    for path, entry in fs.pending.items():
        previous = fs.files.get(path)
        if previous is not None and previous.size:
            fs.waste.append(Waste(previous.path, previous.size, previous.layer, entry.layer))
        fs.files[path] = entry
        while path:  # link the path into its folders, up to the first folder that already holds it
            parent = path.rpartition("/")[0]
            listed = fs.children.setdefault(parent, set())
            if path in listed:
                break
            listed.add(path)
            path = parent
    fs.pending.clear()


def _remove_path(fs: Filesystem, path: str, layer: int) -> None:
    old = fs.files.pop(path, None)
    fs.children.get(path.rpartition("/")[0], set()).discard(path)
    if old is not None:
        fs.removed.append(old)
        if old.size:
            fs.waste.append(Waste(old.path, old.size, old.layer, layer))


def _remove_under(fs: Filesystem, folder: str, layer: int) -> None:
    """Remove everything under ``folder`` (not the folder itself) from the view."""
    stack = [folder]
    while stack:
        for path in fs.children.pop(stack.pop(), ()):
            stack.append(path)
            old = fs.files.pop(path, None)
            if old is not None:
                fs.removed.append(old)
                if old.size:
                    fs.waste.append(Waste(old.path, old.size, old.layer, layer))
