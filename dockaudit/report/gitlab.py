"""GitLab Code Quality (Code Climate JSON): shown in merge requests, matched across runs by fingerprint.

Paths and messages go through ``safe_text`` (GitLab shows them in the merge request page)."""

from __future__ import annotations

import json

from dockaudit.model import FileResult
from dockaudit.linting.fingerprint import fingerprints
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text

_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "minor", Severity.STYLE: "info"}


def render(results: list[FileResult], findings: list[Finding]) -> str:
    prints = fingerprints(results)
    issues = [
        {
            "type": "issue",
            "check_name": f"{f.rule} {f.name}",
            "description": f"{f.rule}: {safe_text(f.message)}",
            "categories": ["Style" if f.severity is Severity.STYLE else "Bug Risk"],
            "severity": _SEVERITY[f.severity],
            "fingerprint": prints.get(id(f), ""),
            "location": {"path": safe_text(f.path), "lines": {"begin": f.line, "end": f.end_line}},
        }
        for f in findings
    ]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
