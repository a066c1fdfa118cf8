"""JUnit XML: a testsuite per file, a testcase per finding (CI dashboards show them as tests).

CI systems (GitLab, Jenkins, GitHub test reporters) show only the first failure of a testcase, so each
finding is its own failing testcase, named after its rule and line; a file with no findings is one
passing testcase, a file that could not be read or parsed one testcase with an ``error``.

Paths, messages and errors go through ``safe_text``, which also removes what XML 1.0 cannot hold
(most C0 characters, U+FFFE, U+FFFF, lone surrogates), so the document parses whatever the input was."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from dockaudit.model import FileResult
from dockaudit.model import Finding
from dockaudit.report import image_of, safe_text


def _findings_by_path(results: list[FileResult], findings: list[Finding]) -> dict[str, list[Finding]]:
    by_path: dict[str, list[Finding]] = {r.path: [] for r in results}
    for finding in findings:
        by_path.setdefault(finding.path, []).append(finding)
    return by_path


def _finding_case(suite: ET.Element, shown: str, f: Finding, in_image: bool) -> None:
    """A failing testcase for one finding: at a line of a file, or (an image's) in its config or a layer."""
    message = safe_text(f.message)
    if in_image:
        where = "in the config" if f.layer is None else f"in layer {f.layer + 1}"
        if f.file:
            where += f" at /{safe_text(f.file.lstrip('/'))}"
        case = ET.SubElement(suite, "testcase", classname=shown, name=f"{f.rule} {f.name} {where}")
        text = f"{shown} {where}: {f.rule} ({f.name}) {f.severity.label}: {message}"
    else:
        case = ET.SubElement(suite, "testcase", classname=shown, name=f"{f.rule} {f.name} at line {f.line}:{f.column}",
                             file=shown, line=str(f.line))  # fmt: skip
        text = f"{shown}:{f.line}:{f.column}: {f.rule} ({f.name}) {f.severity.label}: {message}"
    failure = ET.SubElement(case, "failure", message=f"{f.rule} {message}", type=f.severity.label)
    failure.text = text


def render(results: list[FileResult], findings: list[Finding]) -> str:
    by_path = _findings_by_path(results, findings)
    errored = {r.path: r.error for r in results if r.error}
    images = {r.path for r in results if image_of(r) is not None}
    total = {"tests": 0, "failures": 0, "errors": 0}
    suites = ET.Element("testsuites", name="dockaudit")
    for path, items in by_path.items():
        shown = safe_text(path)
        in_image = path in images
        suite = ET.SubElement(suites, "testsuite", name=shown) if in_image else ET.SubElement(
            suites, "testsuite", name=shown, file=shown)  # fmt: skip
        for f in items:
            _finding_case(suite, shown, f, in_image)
        error = errored.get(path)
        if error is not None:
            case = ET.SubElement(suite, "testcase", classname=shown, name="read and parse", file=shown)
            ET.SubElement(case, "error", message=safe_text(error or "error"), type="error")
        elif not items:
            ET.SubElement(suite, "testcase", classname=shown, name="no findings", file=shown)
        counts = {"tests": len(suite), "failures": len(items), "errors": int(error is not None)}
        for key, value in counts.items():
            suite.set(key, str(value))
            total[key] += value
        suite.set("skipped", "0")
    for key, value in total.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
