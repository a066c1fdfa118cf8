"""GitHub Actions workflow commands: annotations on the pull request's changed lines.

Each finding is exactly one ``::command props::message`` line.  Input text first goes through
``safe_text`` (no newline, CR or control sequence survives it), then through the workflow-command
escaping GitHub's runner undoes: ``%``, CR and LF in the message; those and ``:`` and ``,`` in a
property.  So a file name or message cannot end the command early, add properties, or start a new
command (``::add-mask::``, ``::stop-commands::``).
"""

from __future__ import annotations

from dockaudit.model import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice", Severity.STYLE: "notice"}


def _data(text: str) -> str:
    text = safe_text(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(results: list[FileResult], findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        where = (
            f"file={_property(f.path)},line={f.line},col={f.column},endLine={f.end_line},"
            f"endColumn={f.end_column},title={_property(f'{f.rule} {f.name}')}"
        )
        lines.append(f"::{_COMMAND[f.severity]} {where}::{_data(f.message)}")
    for r in results:
        if r.error:
            lines.append(f"::error file={_property(r.path)},title=dockaudit::{_data(r.error)}")
    return "".join(line + "\n" for line in lines)
