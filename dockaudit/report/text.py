"""Human report, in ruff's three layouts (``--output-format``):

* ``full`` (the default): one line per finding, a code frame marking the span, the fix, a summary;
* ``concise``: one line per finding, then the summary;
* ``grouped``: the findings under a heading per file (``line:col  ID  severity  message``), then the summary.

``--statistics`` prints only a table of counts per rule (with how many a fix exists for);
``--show-fixes`` shows each fix as a small diff under its finding; ``quiet`` keeps only the finding
lines.  On a terminal each rule id is a hyperlink to its documentation; without a terminal (or with
``--no-color``) the output is plain, stable text, and rich is imported only to colour a terminal's.
Paths, messages and source lines go through ``safe_text``: whatever a Dockerfile or its name holds, a
finding is one line and nothing reaches the terminal as a control sequence.  "All clear" is said only
of a run in which every file was read and checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockaudit.model import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.records import record
from dockaudit.report import finding_url, human_size, image_of, safe_text, summarize

Styled = list[tuple[str, str]]  # (text, rich style) runs making up one line

OUTPUT_FORMATS = ("full", "concise", "grouped")

_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.STYLE: "dim",
}


FRAME_WIDTH = 160  # longer source lines are shown as a window around the finding
FIX_DIFF_LINES = 8  # a --show-fixes diff shows at most this many lines on each side


@record(slots=False)
class Layout:
    """How the text report is laid out (the command line's say)."""

    output_format: str = "full"
    quiet: bool = False
    statistics: bool = False
    show_fixes: bool = False
    links: bool = False  # rule ids as terminal hyperlinks (only when printing to a terminal)


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


def fix_diff(text: str, finding: Finding) -> tuple[list[str], list[str]]:
    """The whole lines a finding's fix touches in ``text``, before and after its edits (each side at
    most ``FIX_DIFF_LINES`` lines; a longer side ends with "…")."""
    edits = sorted(finding.fix.edits, key=lambda e: (e.span.start, e.span.end)) if finding.fix else []
    if not edits or edits[-1].span.end > len(text):
        return [], []
    start = text.rfind("\n", 0, edits[0].span.start) + 1
    end = text.find("\n", edits[-1].span.end)
    end = len(text) if end == -1 else end
    pieces, cursor = [], start
    for edit in edits:
        pieces += [text[cursor : edit.span.start], edit.replacement]
        cursor = max(cursor, edit.span.end)
    after = "".join(pieces) + text[cursor:end]

    def lines(block: str) -> list[str]:
        shown = block.split("\n") if block else []
        return shown[:FIX_DIFF_LINES] + (["…"] if len(shown) > FIX_DIFF_LINES else [])

    return lines(text[start:end]), lines(after)


def _fix_lines(finding: Finding, text: str | None, show_fixes: bool) -> Iterator[Styled]:
    if finding.fix is None:
        return
    tag = "fix" if finding.fix.safe else "unsafe fix"
    yield [("      = ", "blue"), (f"{tag}: ", "green"), (safe_text(finding.fix.description), "")]
    if not show_fixes or text is None:
        return
    before, after = fix_diff(text, finding)
    yield from ([("      - ", "red"), (safe_text(line.expandtabs(1)), "red")] for line in before)
    yield from ([("      + ", "green"), (safe_text(line.expandtabs(1)), "green")] for line in after)


def _rule_run(finding: Finding, links: bool) -> tuple[str, str]:
    url = finding_url(finding) if links else None
    return (finding.rule, f"bold magenta link {url}" if url else "bold magenta")


def _finding_line(f: Finding, layout: Layout, where: str) -> Styled:
    return [
        (where, "bold"),
        ("  ", ""),
        _rule_run(f, layout.links),
        ("  ", ""),
        (f.severity.label, _SEVERITY_STYLE[f.severity]),
        ("  ", ""),
        (safe_text(f.message), ""),
    ]


def image_heading(image) -> list[Styled]:
    """An image's heading: its reference, then id, platform and size (instead of a pseudo-path and a
    meaningless line number on every finding)."""
    digest = f"id {image.digest[:19]}…" if image.digest else "id unknown"
    facts = f"  {digest}  {safe_text(image.platform)}  {human_size(image.size)} in {image.layers} layers"
    return [[("Image ", "bold"), (safe_text(image.reference), "bold underline")], [(facts, "dim")]]


def _image_findings(result: FileResult, findings: list[Finding], layout: Layout) -> Iterator[Styled]:
    yield from image_heading(image_of(result))
    for f in findings:
        where = f"  layer {f.layer + 1}" if f.layer is not None else "  config"
        if f.file:
            where += f" /{safe_text(f.file.lstrip('/'))}"
        yield _finding_line(f, layout, where)
    if not findings and not layout.quiet:
        yield [("  no findings", "green")]


def _findings(results: list[FileResult], findings: list[Finding], layout: Layout) -> Iterator[Styled]:
    images = {r.path: r for r in results if image_of(r) is not None}
    for index, result in enumerate(images.values()):
        if index:
            yield [("", "")]
        yield from _image_findings(result, [f for f in findings if f.path == result.path], layout)
    if images and any(f.path not in images for f in findings):
        yield [("", "")]
    texts = {r.path: r.source.text for r in results if r.source is not None}
    grouped = layout.output_format == "grouped"
    current = None
    for f in findings:
        if f.path in images:
            continue
        if grouped and f.path != current:
            if current is not None:
                yield [("", "")]
            current = f.path
            yield [(safe_text(f.path), "bold underline")]
        where = f"  {f.line}:{f.column}" if grouped else f"{safe_text(f.path)}:{f.line}:{f.column}"
        yield _finding_line(f, layout, where)
        if layout.quiet:
            continue
        if layout.output_format == "full":
            yield from _frame(f)
        if layout.output_format == "full" or layout.show_fixes:
            yield from _fix_lines(f, texts.get(f.path), layout.show_fixes)


def _statistics(findings: list[Finding], summary) -> Iterator[Styled]:
    """The table ``--statistics`` prints: count, rule, how many of them a fix exists for, name."""
    fixable: dict[str, int] = {}
    for f in findings:
        if f.fix is not None and f.fix.edits:
            fixable[f.rule] = fixable.get(f.rule, 0) + 1
    yield [(f"{'count':>6}  {'rule':<8} {'fixable':>7}  name", "bold")]
    for rule, name, count in summary.by_rule:
        yield [(f"{count:>6}  ", "bold"), (f"{rule:<8}", "magenta"), (f" {fixable.get(rule, 0) or '-':>7}  {name}", "")]


def _summary(results: list[FileResult], findings: list[Finding], summary) -> Iterator[Styled]:
    parts = [
        f"{n} {label}{'s' if n != 1 and label != 'style' else ''}" for label, n in summary.by_severity.items() if n
    ]
    images = sum(1 for r in results if image_of(r) is not None)
    counted = [(images, "image"), (summary.files - images, "file")] if images else [(summary.files, "file")]
    files = " and ".join(f"{n} {noun}{'s' if n != 1 else ''}" for n, noun in counted if n or not images)
    if findings:
        fixable = sum(1 for f in findings if f.fix is not None and f.fix.safe)
        text = f"Found {summary.findings} finding{'s' if summary.findings != 1 else ''} in {files}: {', '.join(parts)}."
        if fixable:
            text += f" {fixable} fixable with --fix."
        yield [("", "")]
        yield [(text, "bold")]
    elif not summary.errors:
        yield [(f"All clear: no findings in {files}.", "bold green")]
    else:
        unchecked = f"{summary.errors} file{'s' if summary.errors != 1 else ''}"
        yield [(f"No findings in the files that were checked; {unchecked} could not be checked.", "bold red")]


def _lines(results: list[FileResult], findings: list[Finding], layout: Layout) -> Iterator[Styled]:
    summary = summarize(results, findings)
    if layout.statistics:
        if summary.by_rule:
            yield from _statistics(findings, summary)
        return
    yield from _findings(results, findings, layout)
    if not layout.quiet:
        yield from _summary(results, findings, summary)


def render(results: list[FileResult], findings: list[Finding], layout: Layout | None = None) -> str:
    lines = _lines(results, findings, layout or Layout())
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def print_colored(results: list[FileResult], findings: list[Finding], layout: Layout | None = None) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    for line in _lines(results, findings, layout or Layout()):
        styled = Text()
        for text, style in line:
            styled.append(text, style=style or None)
        console.print(styled)
