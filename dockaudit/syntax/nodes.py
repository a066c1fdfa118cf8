"""The Dockerfile tree.

Top-level nodes tile the file: every byte belongs to exactly one
``Directive``, ``Comment``, ``Blank`` or ``Instruction`` (each covering whole
lines, line endings included), so ``Dockerfile.to_source()`` rebuilds the input
from the tree.  Instructions keep BuildKit's view (keyword, flags, argument
words, JSON form, heredocs, the joined ``original`` line) and, for every
piece, the exact source span.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from functools import cached_property

from dockaudit.records import field, record, set_field
from dockaudit.syntax.source import Source, Span

KNOWN_INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip


@record
class Arg:
    """One argument word as BuildKit's AST holds it (quotes and escapes not processed)."""

    value: str
    span: Span

    def __init__(self, value: str, span: Span) -> None:  # written out: ~23,000 a corpus run
        set_field(self, "value", value)
        set_field(self, "span", span)


@record
class Flag:
    name: str  # "mount", "from", "chown" …
    value: str | None  # None for a bare flag such as ``--link``
    text: str  # "--from=build", quotes processed as BuildKit does
    span: Span


@record
class Heredoc:
    name: str
    fd: int
    expand: bool
    chomp: bool
    content: str  # raw body, line endings kept; ``<<-`` tab stripping is not applied
    body_span: Span
    terminator_span: Span

    @property
    def text(self) -> str:
        """The body as the build sees it (leading tabs removed for ``<<-``)."""
        if not self.chomp:
            return self.content
        return "".join(line.lstrip("\t") for line in self.content.splitlines(keepends=True))


@record
class Directive:
    name: str  # lower case: syntax, escape, check
    value: str
    span: Span  # the whole line, line ending included
    line: int


@record
class Comment:
    text: str  # after "#", stripped
    span: Span
    line: int

    def __init__(self, text: str, span: Span, line: int) -> None:  # written out: ~9,000 a corpus run
        set_field(self, "text", text)
        set_field(self, "span", span)
        set_field(self, "line", line)


@record
class Blank:
    span: Span
    line: int

    def __init__(self, span: Span, line: int) -> None:  # written out: ~7,000 a corpus run
        set_field(self, "span", span)
        set_field(self, "line", line)


@record(frozen=False, eq=False)
class Instruction:
    keyword: str  # as written: "run", "Run", "RUN"
    keyword_span: Span
    span: Span  # first keyword character to the end of the last line (heredoc terminator included)
    line_span: Span  # whole lines, line ending included
    start_line: int
    end_line: int
    original: str  # the logical line, continuations joined, heredoc bodies excluded
    flags: tuple[Flag, ...]
    args: tuple[Arg, ...]
    json: bool  # exec form
    heredocs: tuple[Heredoc, ...] = ()
    trigger: Instruction | None = None  # the instruction an ONBUILD wraps
    args_range: tuple[int, int] = (0, 0)  # offsets in ``original`` of the text after keyword and flags
    comments: tuple[Comment, ...] = ()  # comment lines inside a continuation
    empty_continuation_lines: tuple[int, ...] = ()
    _segments: tuple[tuple[int, int], ...] = field(default=(), repr=False)
    # ``keyword`` upper-cased, set once: rules ask for it thousands of times per file.
    name: str = field(init=False, repr=False)

    def __init__(
        self, keyword: str, keyword_span: Span, span: Span, line_span: Span, start_line: int, end_line: int,
        original: str, flags: tuple[Flag, ...], args: tuple[Arg, ...], json: bool, heredocs: tuple[Heredoc, ...] = (),
        trigger: Instruction | None = None, args_range: tuple[int, int] = (0, 0), comments: tuple[Comment, ...] = (),
        empty_continuation_lines: tuple[int, ...] = (), _segments: tuple[tuple[int, int], ...] = (),
    ) -> None:  # written out: ~14,000 a corpus run, each with keywords (the generic one binds them slowly)
        self.keyword = keyword
        self.keyword_span = keyword_span
        self.span = span
        self.line_span = line_span
        self.start_line = start_line
        self.end_line = end_line
        self.original = original
        self.flags = flags
        self.args = args
        self.json = json
        self.heredocs = heredocs
        self.trigger = trigger
        self.args_range = args_range
        self.comments = comments
        self.empty_continuation_lines = empty_continuation_lines
        self._segments = _segments
        self.name = sys.intern(keyword.upper())  # one "RUN" string for all the file's RUNs

    @property
    def is_known(self) -> bool:
        return self.name in KNOWN_INSTRUCTIONS

    def flag(self, name: str) -> Flag | None:
        """The last ``--name`` flag (BuildKit keeps the last of repeated single flags)."""
        found = None
        for flag in self.flags:
            if flag.name == name:
                found = flag
        return found

    @property
    def values(self) -> list[str]:
        return [a.value for a in self.args]

    @property
    def args_text(self) -> str:
        """The argument text of the logical line, after keyword and flags."""
        return self.original[self.args_range[0] : self.args_range[1]]

    def source_span(self, start: int, end: int) -> Span:
        """Map ``[start, end)`` offsets in ``original`` to source offsets."""
        return Span(
            self._map(start, at_end=False),
            self._map(end, at_end=True) if end > start else self._map(start, at_end=False),
        )

    def _map(self, logical: int, at_end: bool) -> int:
        segments = self._segments
        if not segments:
            return self.span.start + logical
        if at_end:
            index = max(bisect_right(segments, (logical - 1, 1 << 62)) - 1, 0)
        else:
            index = max(bisect_right(segments, (logical, 1 << 62)) - 1, 0)
        logical_start, source_start = segments[index]
        return source_start + (logical - logical_start)


def logical_to_source(segments: tuple[tuple[int, int], ...], start: int, end: int) -> Span:
    """Map offsets in a joined logical line to the source.

    ``segments`` holds ``(logical offset, source offset)`` for each physical line's
    piece; an end offset on a piece boundary belongs to the piece before it.
    """

    if len(segments) == 1:  # one physical line (most instructions): every offset is in the one piece
        shift = segments[0][1] - segments[0][0]
        return Span(start + shift, (end if end > start else start) + shift)

    def place(logical: int, at_end: bool) -> int:
        key = logical - 1 if at_end else logical
        index = max(bisect_right(segments, (key, 1 << 62)) - 1, 0)
        logical_start, source_start = segments[index]
        return source_start + (logical - logical_start)

    first = place(start, at_end=False)
    return Span(first, place(end, at_end=True) if end > start else first)


Node = Directive | Comment | Blank | Instruction


@record(frozen=False, slots=False, eq=False)
class Dockerfile:
    source: Source
    nodes: list[Node]
    escape: str = "\\"
    warnings: list[tuple[int, str]] = field(default_factory=list)  # (line, message)

    @property
    def path(self) -> str | None:
        return self.source.path

    @cached_property
    def instructions(self) -> list[Instruction]:
        return [n for n in self.nodes if isinstance(n, Instruction)]

    @cached_property
    def directives(self) -> dict[str, Directive]:
        return {n.name: n for n in self.nodes if isinstance(n, Directive)}

    @cached_property
    def comments(self) -> list[Comment]:
        return [n for n in self.nodes if isinstance(n, Comment)]

    def text(self, span: Span) -> str:
        return self.source.text[span.start : span.end]

    def to_source(self) -> str:
        """Rebuild the text from the tree; equal to the input for every file that parses."""
        text = self.source.text
        return "".join(
            text[n.line_span.start : n.line_span.end] if isinstance(n, Instruction) else text[n.span.start : n.span.end]
            for n in self.nodes
        )

    def to_bytes(self) -> bytes:
        return Source(self.to_source()).to_bytes()
