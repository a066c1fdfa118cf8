"""GitHub Actions workflow commands: annotations on the pull request's changed lines.

Each finding is exactly one ``::command props::message`` line.  Input text first goes through
``safe_text`` (no newline, CR or control sequence survives it), then through the workflow-command
escaping GitHub's runner undoes: ``%``, CR and LF in the message; those and ``:`` and ``,`` in a
property.  So a file name or message cannot end the command early, add properties, or start a new
command (``::add-mask::``, ``::stop-commands::``).  An image finding is on its ``--dockerfile`` line,
or on no file at all (see ``_where``).
"""

from __future__ import annotations

from dockaudit.model import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text
from dockaudit.report.image_places import ImagePlace, image_place, image_results, is_image_result

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice", Severity.STYLE: "notice"}


def _data(text: str) -> str:
    text = safe_text(text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _where(f: Finding, place: ImagePlace | None) -> str:
    """The annotation's properties. GitHub attaches ``file`` to a file of the repository: an image
    finding has one only when ``--dockerfile`` maps its layer to a line; otherwise it has none (the
    annotation is on the run) and its title names the image and the part of it."""
    title = f"{f.rule} {f.name}"
    if place is None:
        return (f"file={_property(f.path)},line={f.line},col={f.column},endLine={f.end_line},"
                f"endColumn={f.end_column},title={_property(title)}")  # fmt: skip
    title = _property(f"{title} in {place.reference} {place.part}")
    if place.dockerfile:
        return f"file={_property(place.dockerfile)},line={place.line},title={title}"
    return f"title={title}"


def render(results: list[FileResult], findings: list[Finding]) -> str:
    images = image_results(results)
    lines = [f"::{_COMMAND[f.severity]} {_where(f, image_place(f, images))}::{_data(f.message)}" for f in findings]
    for r in results:
        if r.error:
            where = "" if is_image_result(r) else f"file={_property(r.path)},"
            lines.append(f"::error {where}title=dockaudit::{_data(r.error)}")
    return "".join(line + "\n" for line in lines)
