"""JUnit XML: one testcase per file, one failure per finding (CI dashboards show them as tests).

Paths, messages and errors go through ``safe_text``, which also removes what XML 1.0 cannot hold
(most C0 characters, U+FFFE, U+FFFF, lone surrogates), so the document parses whatever the input was."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from dockaudit.engine import FileResult
from dockaudit.model import Finding
from dockaudit.report import safe_text


def render(results: list[FileResult], findings: list[Finding]) -> str:
    by_path: dict[str, list[Finding]] = {r.path: [] for r in results}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    failures = sum(len(v) for v in by_path.values())
    errors = sum(1 for r in results if r.error)
    suites = ET.Element("testsuites", name="dockaudit", tests=str(len(by_path)), failures=str(failures),
                        errors=str(errors))  # fmt: skip
    suite = ET.SubElement(suites, "testsuite", name="dockaudit", tests=str(len(by_path)), failures=str(failures),
                          errors=str(errors), skipped="0")  # fmt: skip
    errored = {r.path: r.error for r in results if r.error}
    for path, items in by_path.items():
        shown = safe_text(path)
        case = ET.SubElement(suite, "testcase", classname="dockaudit", name=shown, file=shown)
        if path in errored and not items:
            ET.SubElement(case, "error", message=safe_text(errored[path] or "error"), type="error")
        for f in items:
            message = safe_text(f.message)
            failure = ET.SubElement(case, "failure", message=f"{f.rule} {message}", type=f.severity.label)
            failure.text = f"{shown}:{f.line}:{f.column}: {f.rule} ({f.name}) {f.severity.label}: {message}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
