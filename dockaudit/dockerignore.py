""".dockerignore matching as BuildKit does it (moby/patternmatcher).

Patterns are cleaned like Go's ``filepath.Clean`` with the leading ``/`` removed;
``*`` and ``?`` never cross ``/``, ``**`` matches any number of directories, a
leading ``!`` re-includes.  A pattern that matches a directory excludes
everything under it; the last matching pattern decides.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
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
    (BuildKit's per-Dockerfile ignore file).  None when there is no ignore file at all."""
    candidates = []
    if dockerfile is not None:
        candidates.append(dockerfile.parent / f"{dockerfile.name}.dockerignore")
    candidates.append(context / ".dockerignore")
    for candidate in candidates:
        try:
            return parse_dockerignore(candidate.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return None
