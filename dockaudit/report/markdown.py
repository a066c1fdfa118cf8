"""A Markdown summary for pull-request comments: counts, then the findings (capped).

Text from the input goes through ``safe_text`` first (no newline or control character can break a
table row or reach a terminal showing the file).  Then it is shown as written, not as Markdown: a
message escapes the characters that make links, images, HTML, entities and emphasis, and a path is a
code span whose backtick fence is longer than any run of backticks in it.  ``|`` is escaped in both
(GitHub splits table cells on it before anything else)."""

from __future__ import annotations

import re

from dockaudit.model import FileResult
from dockaudit.model import Finding
from dockaudit.report import safe_text, summarize

MAX_ROWS = 200  # a PR comment stays readable; the rest is counted


_MARKUP = re.compile(r"([\\`*_~\[\]<>&|])")


def _cell(text: str) -> str:
    return _MARKUP.sub(r"\\\1", safe_text(text))


def _code(text: str) -> str:
    text = safe_text(text).replace("|", "\\|")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{text}{pad}{fence}"


def render(results: list[FileResult], findings: list[Finding]) -> str:
    summary = summarize(results, findings)
    counts = ", ".join(f"{n} {label}" for label, n in summary.by_severity.items() if n)
    lines = ["## dockaudit", ""]
    if not findings:
        lines.append(f"No findings in {summary.files} file{'s' if summary.files != 1 else ''}. :white_check_mark:")
    else:
        lines.append(f"**{summary.findings} finding{'s' if summary.findings != 1 else ''}** in {summary.files} "
                     f"file{'s' if summary.files != 1 else ''}: {counts}.")  # fmt: skip
        lines += ["", "| location | rule | severity | message |", "|---|---|---|---|"]
        for f in findings[:MAX_ROWS]:
            lines.append(
                f"| {_code(f'{f.path}:{f.line}')} | {f.rule} `{f.name}` | {f.severity.label} | {_cell(f.message)} |"
            )
        if len(findings) > MAX_ROWS:
            lines += ["", f"… and {len(findings) - MAX_ROWS} more."]
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "**Not checked:**", *(f"- {_code(r.path)}: {_cell(r.error or '')}" for r in errors)]
    return "\n".join(lines) + "\n"
