"""What rules produce and reports consume: severities, edits and fixes, violations, findings, and one
input's results (``FileResult``)."""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from dockaudit.records import field, record
from dockaudit.syntax.source import Source, Span

if TYPE_CHECKING:
    from dockaudit.linting.suppressions import Suppression
    from dockaudit.syntax.nodes import Dockerfile

# What a run's findings mean to the shell (docs/stability.md): nothing at or above --fail-on; findings at
# or above it; a usage, I/O or parse error, or a crash (never 1: that would pass for "findings").
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Severity(IntEnum):
    STYLE = 0
    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, name: str) -> Severity:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {name!r} (choose from {choices})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@record
class Edit:
    """Replace the source text in ``span`` with ``replacement`` (an insertion when the span is empty)."""

    span: Span
    replacement: str


@record
class Fix:
    description: str
    edits: tuple[Edit, ...]
    safe: bool = True  # unsafe fixes change behaviour and need --unsafe-fixes
    reshapes: bool = False  # adds, removes or renames instructions (the fix engine checks the rest do not)

    @property
    def applicability(self) -> str:
        return "safe" if self.safe else "unsafe"


@record
class Violation:
    """What a rule's check yields: where, what, and optionally how to fix it."""

    span: Span | None
    message: str
    fix: Fix | None = None
    severity: Severity | None = None  # overrides the rule's default for this one finding
    stage: int | None = None
    # The one peer id (DL3033 …) this finding matches when the rule covers several; "" when no peer
    # reports this case (DA101's missing USER, which hadolint's DL3002 does not check).
    alias: str | None = None
    path: str | None = None  # another file than the one linted (a Compose project spans several)
    layer: int | None = None  # image findings: the layer (0-based) the finding is about


@record
class Finding:
    rule: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    stage: int | None = None
    fix: Fix | None = None
    alias: str | None = None
    span: Span | None = field(default=None, compare=False)
    source_line: str = field(default="", compare=False)  # the line's text, for code frames
    layer: int | None = field(default=None, compare=False)  # image findings: the layer (0-based) it is about
    file: str | None = field(default=None, compare=False)  # image findings: the file in the image it is about

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.rule)


@record(frozen=False)
class FileResult:
    """One file's findings and what later stages (fixes, fingerprints, reports) need of the file.

    ``dockerfile`` (the tree) is for callers in the same process; ``slim()`` drops it, so what a
    ``--jobs`` worker sends back is findings and text, not trees (a tree pickles to ~15 KB a file).
    ``source`` is the text that was linted and ``instruction_spans`` where its instructions are:
    None and () for a file that was not read or not parsed, and for Compose files."""

    path: str
    findings: list[Finding]
    dockerfile: Dockerfile | None  # None when the file did not parse, and in a slim result
    error: str | None = None  # I/O or parse error summary (exit code 2)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)  # silenced by inline comments
    fixed: int = 0  # findings whose fix --fix applied
    source: Source | None = None
    instruction_spans: tuple[tuple[int, int], ...] = ()

    def slim(self) -> FileResult:
        return FileResult(self.path, self.findings, None, self.error, self.suppressed, self.fixed, self.source,
                          self.instruction_spans)  # fmt: skip


def tree_result(path: str, findings: list[Finding], tree: Dockerfile, **rest) -> FileResult:
    """The result of a parsed file: its tree, text and instruction spans."""
    spans = tuple((i.span.start, i.span.end) for i in tree.instructions)
    return FileResult(path, findings, tree, source=tree.source, instruction_spans=spans, **rest)
