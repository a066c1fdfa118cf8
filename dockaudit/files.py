"""Reading Dockerfiles and other planted files, with one-line errors instead of tracebacks; which names
are Dockerfiles (directory scans: ``dockaudit.discovery``)."""

from __future__ import annotations

import os
import stat
import sys
from fnmatch import fnmatch
from typing import BinaryIO

MAX_FILE_BYTES = 16 * 1024 * 1024  # far above any real Dockerfile; bounds time and memory
DOCKERFILE_PATTERNS = ("dockerfile", "containerfile", "*.dockerfile", "dockerfile.*", "containerfile.*")
COMPOSE_FILE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


class InputError(Exception):
    """A path that cannot be linted; ``str()`` is the one line shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):  # crosses from --jobs workers to the parent: rebuild from both fields
        return (type(self), (self.path, self.reason))


def is_compose_file(path: str) -> bool:
    """compose.yaml and the other names Compose looks for, or any *compose*.yml/.yaml (``-f`` overrides)."""
    name = os.path.basename(path).lower()
    return name in COMPOSE_FILE_NAMES or (name.endswith((".yml", ".yaml")) and "compose" in name)


def is_dockerfile_name(name: str) -> bool:
    lower = name.lower()
    return any(fnmatch(lower, pattern) for pattern in DOCKERFILE_PATTERNS)


def resolves_inside(path: str | os.PathLike, folder: str | os.PathLike) -> bool:
    """Whether ``path``, symlinks resolved, is ``folder`` (also resolved) or lies below it."""
    real, folder_real = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([real, folder_real]) == folder_real


def open_regular_file(path: str | os.PathLike, *, label: str | None = None) -> BinaryIO:
    """A binary handle on the regular file at ``path``, or ``InputError``.

    Every reader of a file a pull request can plant goes through here.  The file is opened
    non-blocking and checked *after* opening (``fstat``), so a FIFO, a device (``/dev/zero``), a
    socket or a directory is refused without blocking or reading, and a file swapped for one
    between a check and the open cannot slip through.  ``label`` names the file in the error
    (defaults to ``path``)."""
    shown = label if label is not None else os.fspath(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise InputError(shown, "is a directory") from None
    except PermissionError:
        raise InputError(shown, "permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputError(shown, getattr(exc, "strerror", None) or str(exc)) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        if stat.S_ISDIR(mode):
            raise InputError(shown, "is a directory")
        raise InputError(shown, "not a regular file (a FIFO, device or socket); not read")
    os.set_blocking(descriptor, True)
    return open(descriptor, "rb")


def read_regular_file(path: str | os.PathLike, limit: int, *, label: str | None = None) -> bytes:
    """The bytes of the regular file at ``path`` (opened by ``open_regular_file``), at most ``limit``
    of them, or ``InputError``.  Reading stops at ``limit + 1`` bytes: a larger file is refused,
    never truncated silently."""
    shown = label if label is not None else os.fspath(path)
    with open_regular_file(path, label=label) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(shown, exc.strerror or str(exc)) from None
    if len(data) > limit:
        raise InputError(shown, f"file too large (over {_size(limit)})")
    return data


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def read_dockerfile(path: str) -> bytes:
    """The bytes of a Dockerfile (``-``: standard input), checked by ``check_dockerfile_bytes``."""
    if path == "-":
        return check_dockerfile_bytes(path, sys.stdin.buffer.read(MAX_FILE_BYTES + 1))
    return check_dockerfile_bytes(path, read_regular_file(path, MAX_FILE_BYTES))


def check_dockerfile_bytes(path: str, data: bytes) -> bytes:
    """``data`` if it can be a Dockerfile: at most ``MAX_FILE_BYTES``, no NUL byte near the start."""
    if len(data) > MAX_FILE_BYTES:
        raise InputError(path, f"file too large (over {_size(MAX_FILE_BYTES)})")
    if b"\0" in data[:8192]:
        raise InputError(path, "binary file (contains NUL bytes), not a Dockerfile")
    return data
