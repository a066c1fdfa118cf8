"""The public Python API: dockaudit.parse and dockaudit.lint."""

from __future__ import annotations

import dockaudit
from dockaudit.model import Finding, Severity


def test_parse_round_trips():
    text = "FROM alpine\r\nRUN echo hi \\\r\n  there\r\n"
    tree = dockaudit.parse(text)
    assert tree.to_source() == text
    assert [i.name for i in tree.instructions] == ["FROM", "RUN"]


def test_lint_text_and_path(tmp_path):
    text = "FROM scratch\nMAINTAINER me\nUSER 10001\n"
    select = ["recommended", "DA012"]  # the defaults plus DA012, which is off by default
    from_text = dockaudit.lint(text, select=select)
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    from_path = dockaudit.lint(str(path), select=select)
    assert [f.rule for f in from_text] == [f.rule for f in from_path] == ["DA012"]
    finding = from_path[0]
    assert isinstance(finding, Finding) and finding.severity is Severity.STYLE
    assert finding.path == str(path) and (finding.line, finding.column) == (2, 1)


def test_lint_reports_parse_errors_as_findings():
    findings = dockaudit.lint('FROM a\nCMD ["x", 1]\n')
    assert [(f.rule, f.line) for f in findings] == [("DA001", 2)]
