"""JSON report, schema version 1 (README "JSON report"; what may change: docs/stability.md).

Paths, messages, errors and fix descriptions go through ``safe_text``; a fix's replacement text,
which a tool applies, through ``safe_data`` (exact but for bytes that were not UTF-8)."""

from __future__ import annotations

import json

from dockaudit import __version__
from dockaudit.engine import FileResult
from dockaudit.model import Finding
from dockaudit.report import finding_url, safe_data, safe_text, summarize

SCHEMA_VERSION = 1


def finding_to_dict(f: Finding) -> dict:
    return {
        "rule": f.rule,
        "name": f.name,
        "severity": f.severity.label,
        "message": safe_text(f.message),
        "path": safe_text(f.path),
        "line": f.line,
        "column": f.column,
        "end_line": f.end_line,
        "end_column": f.end_column,
        "stage": f.stage,
        "alias": f.alias,
        "url": finding_url(f),
        "fix": None
        if f.fix is None
        else {
            "description": safe_text(f.fix.description),
            "applicability": f.fix.applicability,
            "edits": [
                {"start": e.span.start, "end": e.span.end, "replacement": safe_data(e.replacement)} for e in f.fix.edits
            ],
        },
    }


def render(results: list[FileResult], findings: list[Finding]) -> str:
    summary = summarize(results, findings)
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "dockaudit", "version": __version__},
        "files": [
            {"path": safe_text(r.path), "error": r.error and safe_text(r.error), "findings": len(r.findings)}
            for r in results
        ],
        "findings": [finding_to_dict(f) for f in findings],
        "summary": {
            "files": summary.files,
            "findings": summary.findings,
            "by_severity": summary.by_severity,
            "by_rule": {rule: n for rule, _name, n in summary.by_rule},
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
