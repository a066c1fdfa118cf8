"""gitignore-style globs, as git matches them (gitignore(5)), without regular expressions.

A pattern list is read from a ``.gitignore`` file (or given as the ``exclude`` settings) and applies to
paths relative to its folder, ``/``-separated:

* blank lines and lines starting with ``#`` are skipped; ``\\#`` and ``\\!`` start a literal ``#``/``!``;
  trailing spaces are dropped unless escaped with a backslash;
* ``!`` re-includes what an earlier pattern excluded; the last matching pattern decides;
* a trailing ``/`` matches only directories;
* a pattern with a ``/`` at its start or in its middle is anchored at the folder; one without matches a
  name at any depth;
* ``*`` matches any run of characters but ``/``, ``?`` one character but ``/``, ``[a-z]``/``[!a-z]`` a
  class; ``**`` as a whole segment matches any number of directories (``**/x``, ``a/**/b``, ``a/**``).

Matching is bounded whatever the pattern: a segment is matched by the two-pointer wildcard algorithm
(at most length(pattern) × length(name) steps, no backtracking over several stars) and ``**`` by a
table over segments, so no pattern a pull request writes into a ``.gitignore`` can make a scan hang.
"""

from __future__ import annotations

from typing import Union

from dockaudit.records import record

MAX_PATTERNS = 10_000  # per list; a real .gitignore has tens
MAX_PATTERN_LENGTH = 4096  # git's own limit for a path

_STAR, _ANY = "*", "?"  # the wildcard tokens; characters are _Literal, bracket expressions _Class


@record
class _Class:
    """A bracket expression: ranges of characters, possibly negated."""

    ranges: tuple[tuple[str, str], ...]
    negated: bool

    def matches(self, char: str) -> bool:
        inside = any(low <= char <= high for low, high in self.ranges)
        return inside != self.negated and char != "/"


@record
class _Literal:
    char: str


_Token = Union[str, _Literal, _Class]  # _STAR, _ANY, a _Literal or a _Class


def _bracket(segment: str, start: int) -> tuple[_Class, int] | None:
    """The class starting at ``segment[start] == "["`` and the index after it, or None when unclosed
    (git then takes ``[`` literally)."""
    i = start + 1
    negated = i < len(segment) and segment[i] in "!^"
    if negated:
        i += 1
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(segment):
        char = segment[i]
        if char == "]" and not first:
            return _Class(tuple(ranges), negated), i + 1
        if char == "\\" and i + 1 < len(segment):
            i += 1
            char = segment[i]
        if i + 2 < len(segment) and segment[i + 1] == "-" and segment[i + 2] != "]":
            ranges.append((char, segment[i + 2]))
            i += 3
        else:
            ranges.append((char, char))
            i += 1
        first = False
    return None


def _tokens(segment: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            if not tokens or tokens[-1] is not _STAR:  # ** inside a segment is *
                tokens.append(_STAR)
            i += 1
        elif char == "?":
            tokens.append(_ANY)
            i += 1
        elif char == "[" and (found := _bracket(segment, i)) is not None:
            tokens.append(found[0])
            i = found[1]
        elif char == "\\" and i + 1 < len(segment):
            tokens.append(_Literal(segment[i + 1]))
            i += 2
        else:
            tokens.append(_Literal(char))
            i += 1
    return tuple(tokens)


def _one(token: _Token, char: str) -> bool:
    if token is _ANY:
        return True
    if isinstance(token, _Literal):
        return token.char == char
    return token.matches(char)  # type: ignore[union-attr]


def _segment_matches(tokens: tuple[_Token, ...], name: str) -> bool:
    """Wildcard match of one path segment: greedy, resuming after the last star on a mismatch."""
    t = n = 0
    star_t, star_n = -1, 0
    while n < len(name):
        if t < len(tokens) and tokens[t] is not _STAR and _one(tokens[t], name[n]):
            t += 1
            n += 1
        elif t < len(tokens) and tokens[t] is _STAR:
            star_t, star_n = t, n
            t += 1
        elif star_t >= 0:
            star_n += 1
            t, n = star_t + 1, star_n
        else:
            return False
    while t < len(tokens) and tokens[t] is _STAR:
        t += 1
    return t == len(tokens)


_GLOBSTAR = None  # a ``**`` segment


@record
class Pattern:
    """One gitignore line, compiled."""

    text: str
    negated: bool
    directory_only: bool
    segments: tuple[tuple[_Token, ...] | None, ...]  # None: ``**``

    def matches(self, path: str, is_dir: bool) -> bool:
        """Whether ``path`` (relative, ``/``-separated, no leading ``/``) matches this pattern itself
        (what is under a matching directory is the caller's business: it does not walk into it)."""
        if self.directory_only and not is_dir:
            return False
        parts = tuple(path.split("/"))
        return _segments_match(self.segments, parts)


def _segments_match(segments: tuple, parts: tuple[str, ...]) -> bool:
    """``segments`` against ``parts``, ``**`` matching zero or more parts: a table of
    len(segments) × len(parts) cells filled row by row from the end (no recursion, so no depth limit
    a long pattern could reach)."""
    count = len(parts)
    rest = [False] * count + [True]  # rest[p]: segments[s + 1:] match parts[p:]; below the last: only the end
    for segment in reversed(segments):
        here = [False] * (count + 1)
        if segment is _GLOBSTAR:
            here[count] = rest[count]
            for p in range(count - 1, -1, -1):
                here[p] = rest[p] or here[p + 1]
        else:
            for p in range(count - 1, -1, -1):
                here[p] = rest[p + 1] and _segment_matches(segment, parts[p])
        rest = here
    return rest[0]


def _strip_trailing_spaces(line: str) -> str:
    end = len(line)
    while end > 0 and line[end - 1] == " " and not (end > 1 and line[end - 2] == "\\"):
        end -= 1
    return line[:end]


def compile_pattern(line: str) -> Pattern | None:
    """One gitignore line as a ``Pattern`` (None for a blank line, a comment or a line too long)."""
    line = _strip_trailing_spaces(line.rstrip("\r\n"))
    if not line or line.startswith("#") or len(line) > MAX_PATTERN_LENGTH:
        return None
    negated = line.startswith("!")
    if negated:
        line = line[1:]
    elif line.startswith(("\\#", "\\!")):
        line = line[1:]
    directory_only = line.endswith("/")
    body = line.rstrip("/")
    if not body:
        return None
    anchored = "/" in body
    body = body.lstrip("/")
    parts = [part for part in body.split("/") if part]
    segments = tuple(_GLOBSTAR if part == "**" else _tokens(part) for part in parts)
    if not anchored and segments:
        segments = (_GLOBSTAR, *segments)
    return Pattern(line, negated, directory_only, segments)


def compile_patterns(lines: list[str] | tuple[str, ...]) -> tuple[Pattern, ...]:
    """The patterns of ``lines`` (at most ``MAX_PATTERNS`` of them)."""
    compiled = (compile_pattern(line) for line in lines[: MAX_PATTERNS * 4])
    return tuple(p for p in compiled if p is not None)[:MAX_PATTERNS]


def decide(patterns: tuple[Pattern, ...], path: str, is_dir: bool) -> bool | None:
    """True when the last pattern matching ``path`` excludes it, False when it re-includes it, None
    when none matches."""
    verdict = None
    for pattern in patterns:
        if pattern.matches(path, is_dir):
            verdict = not pattern.negated
    return verdict
