""".dockerignore matching as BuildKit does it (moby/patternmatcher).

Patterns are cleaned like Go's ``filepath.Clean`` with the leading ``/`` removed;
``*`` and ``?`` never cross ``/``, ``**`` matches any number of directories, a
leading ``!`` re-includes.  A pattern that matches a directory excludes
everything under it; the last matching pattern decides.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from pathlib import Path

from dockaudit.files import InputError, read_regular_file, resolves_inside
from dockaudit.records import record

MAX_DOCKERIGNORE_BYTES = 1024 * 1024  # real ignore files are a few hundred bytes


@record
class IgnorePattern:
    text: str
    exclusion: bool  # "!pattern"
    regex: re.Pattern[str]


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath(pattern.strip().replace("\\", "/")).lstrip("/")
    return "" if cleaned == "." else cleaned


def _translate(pattern: str) -> re.Pattern[str]:
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):
                    i += 1
                    out.append("(?:.*/)?")  # "**/" : zero or more directories
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("(?:/.*)?$")  # a match on a directory covers what is under it
    return re.compile("".join(out))


def parse_dockerignore(text: str) -> list[IgnorePattern]:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        cleaned = _clean(line[1:] if exclusion else line)
        if not cleaned:
            continue
        patterns.append(IgnorePattern(line, exclusion, _translate(cleaned)))
    return patterns


def is_ignored(path: str, patterns: list[IgnorePattern]) -> bool:
    """``path`` is relative to the context root, with ``/`` separators."""
    path = _clean(path)
    ignored = False
    for pattern in patterns:
        if pattern.regex.match(path):
            ignored = not pattern.exclusion
    return ignored


def read_dockerignore(context: Path, dockerfile: Path | None = None) -> list[IgnorePattern] | None:
    """The context's ignore patterns; ``<Dockerfile>.dockerignore`` next to the Dockerfile wins
    (BuildKit's per-Dockerfile ignore file).  None when there is no ignore file at all.

    An ignore file is read only when it is a regular file of at most ``MAX_DOCKERIGNORE_BYTES`` that
    resolves inside its folder (the context, or the Dockerfile's folder): a link to ``/dev/zero`` or a
    FIFO must neither fill memory nor block, and BuildKit does not follow a link out of the context
    either.  Such a file counts as absent; ``dockerignore_problems`` says why."""
    for candidate, folder in _candidates(context, dockerfile):
        if not os.path.lexists(candidate) or _problem(candidate, folder):
            continue
        try:
            data = read_regular_file(os.path.realpath(candidate), MAX_DOCKERIGNORE_BYTES)
        except InputError:  # swapped since the check: still absent
            continue
        return parse_dockerignore(data.decode("utf-8", errors="replace"))
    return None


def dockerignore_problems(context: Path, dockerfile: Path | None = None) -> list[InputError]:
    """An ``InputError`` for each ignore file that exists but that ``read_dockerignore`` does not read."""
    problems = []
    for candidate, folder in _candidates(context, dockerfile):
        problem = _problem(candidate, folder) if os.path.lexists(candidate) else None
        if problem:
            problems.append(InputError(str(candidate), f"{problem}; not read (as if there were no ignore file)"))
    return problems


def _candidates(context: Path, dockerfile: Path | None) -> list[tuple[Path, Path]]:
    """(ignore file, folder it must resolve inside), the one that wins first."""
    candidates = []
    if dockerfile is not None:
        candidates.append((dockerfile.parent / f"{dockerfile.name}.dockerignore", dockerfile.parent))
    candidates.append((context / ".dockerignore", context))
    return candidates


def _problem(candidate: Path, folder: Path) -> str | None:
    """Why the ignore file is not read (checked without opening it), or None when it may be."""
    if not resolves_inside(candidate, folder):
        return "a symlink that leads outside the build context"
    try:
        status = os.stat(candidate)
    except OSError as error:
        return error.strerror or str(error)
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a FIFO, device or socket)"
    if status.st_size > MAX_DOCKERIGNORE_BYTES:
        return f"file too large (over {MAX_DOCKERIGNORE_BYTES // (1024 * 1024)} MiB)"
    return None
