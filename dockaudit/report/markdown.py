"""A Markdown summary for pull-request comments: counts, then the findings (capped)."""

from __future__ import annotations

from dockaudit.engine import FileResult
from dockaudit.model import Finding
from dockaudit.report import summarize

MAX_ROWS = 200  # a PR comment stays readable; the rest is counted


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
                f"| `{_cell(f.path)}:{f.line}` | {f.rule} `{f.name}` | {f.severity.label} | {_cell(f.message)} |"
            )
        if len(findings) > MAX_ROWS:
            lines += ["", f"… and {len(findings) - MAX_ROWS} more."]
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "**Not checked:**", *(f"- `{_cell(r.path)}`: {_cell(r.error or '')}" for r in errors)]
    return "\n".join(lines) + "\n"
