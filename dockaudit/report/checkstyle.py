"""Checkstyle XML, which many CI plugins (Jenkins warnings-ng, reviewdog) read.

Paths and messages go through ``safe_text``, which also removes what XML 1.0 cannot hold (most C0
characters, U+FFFE, U+FFFF, lone surrogates), so the document parses whatever the input was."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from dockaudit.model import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text

_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "info", Severity.STYLE: "info"}


def render(results: list[FileResult], findings: list[Finding]) -> str:
    root = ET.Element("checkstyle", version="4.3")
    files = {r.path: ET.SubElement(root, "file", name=safe_text(r.path)) for r in results}
    for f in findings:
        if f.path not in files:  # (an Element with no children is falsy: test membership, not truth)
            files[f.path] = ET.SubElement(root, "file", name=safe_text(f.path))
        element = files[f.path]
        ET.SubElement(element, "error", line=str(f.line), column=str(f.column), severity=_SEVERITY[f.severity],
                      message=safe_text(f.message), source=f"dockaudit.{f.rule}.{f.name}")  # fmt: skip
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
