"""JSON report, schema version 1 (README "JSON report"; what may change: docs/stability.md).

Paths, messages, errors and fix descriptions go through ``safe_text``; a fix's replacement text,
which a tool applies, through ``safe_data`` (exact but for bytes that were not UTF-8)."""

from __future__ import annotations

import json

from dockaudit import __version__
from dockaudit.model import FileResult
from dockaudit.model import Finding
from dockaudit.report import finding_url, image_of, safe_data, safe_text, summarize

SCHEMA_VERSION = 1


def image_fields(f: Finding, image) -> dict:
    """What an image finding adds: the image (reference, id), its platform, the layer (1-based, as the
    layer table numbers them; None: the image config) and the file in the image, where known."""
    return {
        "image": {"reference": safe_text(image.reference), "digest": image.digest},
        "platform": safe_text(image.platform),
        "layer": None if f.layer is None else f.layer + 1,
        "file": None if f.file is None else safe_text(f.file),
    }


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


def _with_image(f: Finding, image) -> dict:
    entry = finding_to_dict(f)
    if image is not None:
        entry.update(image_fields(f, image))
    return entry


def render(results: list[FileResult], findings: list[Finding]) -> str:
    summary = summarize(results, findings)
    images = {r.path: image_of(r) for r in results if image_of(r) is not None}
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "dockaudit", "version": __version__},
        "files": [
            {"path": safe_text(r.path), "error": r.error and safe_text(r.error), "findings": len(r.findings)}
            for r in results
        ],
        "findings": [_with_image(f, images.get(f.path)) for f in findings],
        "summary": {
            "files": summary.files,
            "findings": summary.findings,
            "by_severity": summary.by_severity,
            "by_rule": {rule: n for rule, _name, n in summary.by_rule},
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
