"""Human report: one line per finding, a code frame marking the span, a fix hint, a summary.

Without a terminal (or with ``--no-color``) the output is plain, stable text;
rich is imported only to colour output for a terminal.  Paths, messages and source lines go
through ``safe_text``: whatever a Dockerfile or its name holds, a finding is one line and nothing
reaches the terminal as a control sequence.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockaudit.engine import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text, summarize

Styled = list[tuple[str, str]]  # (text, rich style) runs making up one line

_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.STYLE: "dim",
}


FRAME_WIDTH = 160  # longer source lines are shown as a window around the finding


def _frame(finding: Finding) -> Iterator[Styled]:
    text = finding.source_line.expandtabs(1)
    if not text.strip():
        return
    gutter = f"{finding.line:>5} | "
    start = max(finding.column - 1, 0)
    if finding.end_line == finding.line:
        width = max(finding.end_column - finding.column, 1)
    else:
        width = max(len(text) - start, 1)
    if len(text) > FRAME_WIDTH:
        left = max(0, min(start - 20, len(text) - FRAME_WIDTH))
        shown = text[left : left + FRAME_WIDTH]
        text = ("…" if left else "") + shown + ("…" if left + FRAME_WIDTH < len(text) else "")
        start = start - left + (1 if left else 0)
        width = max(1, min(width, FRAME_WIDTH - (start - (1 if left else 0))))
    # escaping widens characters (ESC shows as \x1b): place the carets under the escaped span
    start, width = len(safe_text(text[:start])), max(len(safe_text(text[start : start + width])), 1)
    text = safe_text(text)
    yield [(gutter, "blue"), (text, "")]
    yield [(" " * (len(gutter) - 2) + "| ", "blue"), (" " * start + "^" * width, _SEVERITY_STYLE[finding.severity])]


def _lines(results: list[FileResult], findings: list[Finding], quiet: bool, statistics: bool) -> Iterator[Styled]:
    for f in findings:
        yield [
            (f"{safe_text(f.path)}:{f.line}:{f.column}", "bold"),
            ("  ", ""),
            (f.rule, "bold magenta"),
            ("  ", ""),
            (f.severity.label, _SEVERITY_STYLE[f.severity]),
            ("  ", ""),
            (safe_text(f.message), ""),
        ]
        if quiet:
            continue
        yield from _frame(f)
        if f.fix is not None:
            tag = "fix" if f.fix.safe else "unsafe fix"
            yield [("      = ", "blue"), (f"{tag}: ", "green"), (safe_text(f.fix.description), "")]
    if quiet:
        return
    summary = summarize(results, findings)
    if statistics and summary.by_rule:
        yield [("", "")]
        for rule, name, count in summary.by_rule:
            yield [(f"{count:>6}  ", "bold"), (rule, "magenta"), (f"  {name}", "")]
    parts = [
        f"{n} {label}{'s' if n != 1 and label != 'style' else ''}" for label, n in summary.by_severity.items() if n
    ]
    files = f"{summary.files} file{'s' if summary.files != 1 else ''}"
    if findings:
        fixable = sum(1 for f in findings if f.fix is not None and f.fix.safe)
        text = f"Found {summary.findings} finding{'s' if summary.findings != 1 else ''} in {files}: {', '.join(parts)}."
        if fixable:
            text += f" {fixable} fixable with --fix."
        yield [("", "")] if not statistics else [("", "")]
        yield [(text, "bold")]
    elif not summary.errors:
        yield [(f"All clear: no findings in {files}.", "bold green")]


def render(results: list[FileResult], findings: list[Finding], quiet: bool = False, statistics: bool = False) -> str:
    return "".join("".join(text for text, _ in line) + "\n" for line in _lines(results, findings, quiet, statistics))


def print_colored(
    results: list[FileResult], findings: list[Finding], quiet: bool = False, statistics: bool = False
) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    for line in _lines(results, findings, quiet, statistics):
        styled = Text()
        for text, style in line:
            styled.append(text, style=style or None)
        console.print(styled)
