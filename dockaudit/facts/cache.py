"""dockaudit's cache folder, ``$XDG_CACHE_HOME/dockaudit`` (``~/.cache/dockaudit``).

It holds what is slow to recompute and safe to lose: registry answers for ``--online`` and the
knowledge tables.  Any file may be deleted at any time; a missing, unreadable, unwritable or
untrusted cache only means recomputing.

The folder can come from elsewhere (a CI cache restored from another branch), so what is read
from it is data, never code, and is only read when it is plainly ours: the folder is not a
symlink and belongs to us, and the file is a regular file that belongs to us and that neither
our group nor others may write.  Descriptors, not paths, carry those checks to the read
(``dir_fd``), so a folder or file swapped between the check and the open is not followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_CACHE_FILE_BYTES = 16 * 1024 * 1024  # a cache file larger than this is not ours: a miss
_WRITABLE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
# The checks need descriptor-relative opens and file owners (POSIX); elsewhere there is no cache.
_CAN_CHECK = (
    hasattr(os, "geteuid")
    and hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
    and os.open in os.supports_dir_fd
)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dockaudit``, or ``~/.cache/dockaudit`` when it is unset or relative (as the XDG
    spec says: a relative one would put the cache inside whatever folder dockaudit runs in)."""
    configured = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(configured) if os.path.isabs(configured) else Path.home() / ".cache"
    return base / "dockaudit"


def _open_cache_dir(create: bool) -> int | None:
    """A descriptor of the cache folder, or None when it is missing (and not ``create``d), is a
    symlink, is not a directory, or belongs to another user."""
    if not _CAN_CHECK:
        return None
    try:
        folder = cache_dir()
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (OSError, RuntimeError):  # RuntimeError: no home directory to put it in
        return None
    if os.fstat(descriptor).st_uid != os.geteuid():
        os.close(descriptor)
        return None
    return descriptor


def _trusted(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & _WRITABLE_BY_OTHERS


def read_cache_file(name: str, limit: int = MAX_CACHE_FILE_BYTES) -> bytes | None:
    """The bytes of cache file ``name``, or None when it is missing, larger than ``limit``, or not
    plainly ours (see the module docstring); never raises ``OSError``."""
    folder = _open_cache_dir(create=False)
    if folder is None:
        return None
    try:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a planted FIFO
        descriptor = os.open(name, flags, dir_fd=folder)
    except OSError:
        return None
    finally:
        os.close(folder)
    with os.fdopen(descriptor, "rb") as handle:
        try:
            if not _trusted(os.fstat(descriptor)):
                return None
            data = handle.read(limit + 1)
        except OSError:
            return None
    return data if len(data) <= limit else None


def write_cache_file(name: str, data: bytes) -> None:
    """Replace cache file ``name`` atomically (a private temporary file, then a rename), so parallel
    runs never read half of one; any failure only leaves the cache as it was."""
    folder = _open_cache_dir(create=True)
    if folder is None:
        return
    temporary = f".{name}.{os.getpid()}.{os.urandom(4).hex()}"  # not tempfile: importing it costs ~10 ms
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(temporary, flags, 0o600, dir_fd=folder)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except OSError:
            os.unlink(temporary, dir_fd=folder)
            raise
    except OSError:
        pass
    finally:
        os.close(folder)
