"""Replacing a file so that it holds either its old bytes or all of the new ones — whatever happens.

One writer for everything dockaudit writes in place: fixed Dockerfiles and Compose files, baselines,
``dockaudit init``'s config, report files.  A full disk, a crash, a power loss, SIGINT/SIGTERM, or
another dockaudit run fixing the same file never leaves a partial file, a lost edit or a temp file.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".dockaudit"  # temp files are ``.<name>.<random>.dockaudit`` beside the target
_TEMP_NAME_TRIES = 100


class ChangedSinceRead(Exception):
    """The file on disk is no longer what dockaudit read: someone edited it while dockaudit ran."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: changed since it was read; not rewritten"


def write_atomically(path: Path, data: bytes, expected: bytes | None = None) -> None:
    """Make ``path`` hold ``data``: afterwards it holds either its old content or all of ``data``.

    ``data`` goes to a new temp file in the same folder (created exclusively: nothing is overwritten
    or followed), is fsynced, given the old file's mode (and owner, where allowed; a new file gets
    0o666 less the umask) and renamed over ``path``; the folder is fsynced so the rename survives a
    crash.  A symlink at ``path`` is replaced, not followed (callers that mean to follow it resolve
    it first).  SIGINT and SIGTERM are held until the call returns, so a temp file never outlives it;
    on any error it is removed and the ``OSError`` raised.

    With ``expected`` (the bytes a fix was computed from), ``path`` is replaced only while it still
    holds exactly those bytes, else ``ChangedSinceRead`` and the file is left alone.  Check and rename
    run under an exclusive ``flock`` on the file, so two dockaudit runs take turns and the second sees
    the first's result instead of overwriting it.  (An editor that does not lock can still save in the
    microseconds between check and rename; nothing closes that window short of its cooperation.)"""
    folder = path.parent
    with _signals_deferred():
        try:
            old = os.lstat(path)
        except OSError:  # no file yet (or none we may look at)
            old = None
        descriptor, temp = _create_temp(folder, path.name)
        try:
            _fill(descriptor, data)
            if old is not None and stat.S_ISREG(old.st_mode):
                os.chmod(temp, stat.S_IMODE(old.st_mode))
                _keep_owner(temp, old)
            if expected is None:
                os.replace(temp, path)
            else:
                _replace_if_unchanged(temp, path, expected)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _sync_folder(folder)


def create_atomically(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``, never replacing a file of that name, even one created a
    moment ago (``FileExistsError`` then).  The data goes to a temp file first and is hard-linked into
    place, so the file appears whole or not at all; on a file system without hard links it is created
    exclusively (``O_EXCL``) and removed again if writing fails."""
    with _signals_deferred():
        descriptor, temp = _create_temp(path.parent, path.name)
        try:
            _fill(descriptor, data)
            try:
                os.link(temp, path)
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:  # EEXIST among the others: never overwrite
                    raise
                _create_exclusively(path, data)
        finally:
            temp.unlink(missing_ok=True)
        _sync_folder(path.parent)


_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}  # FAT, some FUSE mounts


def _create_exclusively(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        _fill(descriptor, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_TEMP_NAME_TRIES):
        temp = folder / f".{name}.{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary file name after {_TEMP_NAME_TRIES} tries")


def _fill(descriptor: int, data: bytes) -> None:
    """Write all of ``data``, fsync (a full disk may only say so here) and close ``descriptor``."""
    try:
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            if written <= 0:  # a regular file never does this; refuse to spin if one does
                raise OSError(f"write returned {written}")
            view = view[written:]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _keep_owner(temp: Path, old: os.stat_result) -> None:
    if hasattr(os, "chown") and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(temp, old.st_uid, old.st_gid)
        except PermissionError:
            pass  # not ours to give away: the file keeps the writer's ownership


def _replace_if_unchanged(temp: Path, path: Path, expected: bytes) -> None:
    import fcntl

    from dockaudit.files import InputError, read_regular_file

    locked = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # non-blocking: the name may be a FIFO by now
    try:
        fcntl.flock(locked, fcntl.LOCK_EX)
        # Read by name, not through the locked descriptor: another run may have replaced the file
        # (a new inode) while this one waited for the lock.
        try:
            now = read_regular_file(path, len(expected))
        except InputError:  # larger, or no longer a regular file
            now = None
        if now != expected:
            raise ChangedSinceRead(str(path))
        os.replace(temp, path)
    finally:
        os.close(locked)  # releases the lock


def _sync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; the rename is atomic without it
        return
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems refuse to fsync a folder; the file itself is synced
        pass
    finally:
        os.close(descriptor)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done: a signal landing inside ``_create_temp`` or
    before the ``try`` that removes the temp file would leave it behind.  The block is one file's
    write, so the wait is an fsync at most."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
