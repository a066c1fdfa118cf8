"""dockaudit's cache folder, ``$XDG_CACHE_HOME/dockaudit`` (``~/.cache/dockaudit``).

It holds what is slow to recompute and safe to lose: registry answers for ``--online`` and the
parsed knowledge tables.  Any file may be deleted at any time; a missing, unreadable or
unwritable cache only means recomputing.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dockaudit"


def read_cache_file(name: str) -> bytes | None:
    try:
        return (cache_dir() / name).read_bytes()
    except OSError:
        return None


def write_cache_file(name: str, data: bytes) -> None:
    """Replace the file atomically, so parallel runs never read half of one; failures are ignored."""
    import tempfile  # only on a cache miss: importing it costs a pre-commit run ~5 ms

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, folder / name)
        except OSError:
            os.unlink(temporary)
            raise
    except OSError:
        pass
