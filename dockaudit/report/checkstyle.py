"""Checkstyle XML, which many CI plugins (Jenkins warnings-ng, reviewdog) read.

Paths and messages go through ``safe_text``, which also removes what XML 1.0 cannot hold (most C0
characters, U+FFFE, U+FFFF, lone surrogates), so the document parses whatever the input was."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from dockaudit.model import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text
from dockaudit.report.image_places import ImagePlace, image_place, image_results

_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info", Severity.STYLE: "info"}


def _position(f: Finding, place: ImagePlace | None) -> tuple[str, dict[str, str]]:
    """The ``file`` an error goes under and its line and column. An image finding is on its
    ``--dockerfile`` line when its layer maps to one (its message then names the image); else its file
    is the image's config or layer by name ("REF/layer 2/app/.env") and its line 0, which Checkstyle
    readers take as no line."""
    if place is None:
        return safe_text(f.path), {"line": str(f.line), "column": str(f.column)}
    if place.dockerfile:
        return safe_text(place.dockerfile), {"line": str(place.line)}
    return place.logical_name, {"line": "0"}


def render(results: list[FileResult], findings: list[Finding]) -> str:
    root = ET.Element("checkstyle", version="4.3")
    files = {safe_text(r.path): ET.SubElement(root, "file", name=safe_text(r.path)) for r in results}
    images = image_results(results)
    for f in findings:
        place = image_place(f, images)
        name, position = _position(f, place)
        message = safe_text(f.message)
        if place is not None and place.dockerfile:
            message += f" [{place.reference} {place.part}]"
        if name not in files:  # (an Element with no children is falsy: test membership, not truth)
            files[name] = ET.SubElement(root, "file", name=name)
        ET.SubElement(files[name], "error", **position, severity=_SEVERITY[f.severity],
                      message=message, source=f"dockaudit.{f.rule}.{f.name}")  # fmt: skip
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
