"""SARIF 2.1.0 for GitHub code scanning: rule metadata, %SRCROOT%-relative locations, fixes.
Image findings sit on the Dockerfile line that made their layer (``--dockerfile``), else at a logical
location naming the image, layer and file.

An artifact's ``uri`` is a URI reference: the bytes of its path, percent-encoded, so any file name
(a newline, a byte that is not UTF-8, ``#`` or ``%``) round-trips.  Messages and fix descriptions go
through ``safe_text``, a fix's inserted text through ``safe_data``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from dockaudit import __version__
from dockaudit.linting.catalogue import DOCS_URL, docs_url
from dockaudit.linting.engine import load_rules
from dockaudit.model import FileResult
from dockaudit.linting.fingerprint import fingerprints
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_data, safe_text
from dockaudit.report.image_places import ImagePlace, image_place, image_results

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.STYLE: "note"}


def _location(path: str, root: Path) -> dict:
    if path == "-":
        return {"uri": "stdin"}
    absolute = Path(path).resolve()
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(os.fsencode(relative.as_posix()), safe="/"), "uriBaseId": "%SRCROOT%"}


def _rule(rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.docs.what},
        "help": {"text": f"{rule.docs.what}\n\n{rule.docs.why}", "markdown": rule.docs.markdown()},
        "helpUri": docs_url(rule),
        "defaultConfiguration": {"level": _LEVEL[rule.severity], "enabled": rule.enabled},
        "properties": {"tags": [rule.family, *rule.aliases]},
    }


def _image_locations(place: ImagePlace, root: Path) -> list[dict]:
    """Where an image finding goes: the Dockerfile line that made its layer when ``--dockerfile`` was
    given and the layer maps to one, else a logical location (the image, its layer, its file)."""
    if place.dockerfile and place.line:
        region = {"startLine": place.line}
        return [{"physicalLocation": {"artifactLocation": _location(place.dockerfile, root), "region": region}}]
    return [{"logicalLocations": [{"fullyQualifiedName": place.logical_name, "kind": "module"}]}]


def _result(finding: Finding, index: dict[str, int], root: Path, fingerprint: str, place: ImagePlace | None) -> dict:
    location = _location(finding.path, root)
    region = {
        "startLine": finding.line,
        "startColumn": finding.column,
        "endLine": finding.end_line,
        "endColumn": max(finding.end_column, 1),
    }
    locations = (_image_locations(place, root) if place is not None
                 else [{"physicalLocation": {"artifactLocation": location, "region": region}}])  # fmt: skip
    result = {
        "ruleId": finding.rule,
        "level": _LEVEL[finding.severity],
        "message": {"text": safe_text(finding.message)},
        "locations": locations,
        "partialFingerprints": {"dockaudit/v1": fingerprint},
    }
    if finding.rule in index:
        result["ruleIndex"] = index[finding.rule]
    if finding.fix is not None and finding.fix.edits:
        result["fixes"] = [
            {
                "description": {
                    "text": safe_text(finding.fix.description) + ("" if finding.fix.safe else " (unsafe: review)")
                },
                "artifactChanges": [
                    {
                        "artifactLocation": location,
                        "replacements": [
                            {
                                "deletedRegion": {"charOffset": e.span.start, "charLength": e.span.end - e.span.start},
                                "insertedContent": {"text": safe_data(e.replacement)},
                            }
                            for e in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def render(results: list[FileResult], findings: list[Finding], root: Path | None = None) -> str:
    root = (root or Path(os.getcwd())).resolve()
    rules = [r for r in load_rules()]
    index = {r.id: i for i, r in enumerate(rules)}
    prints = fingerprints(results)
    images = image_results(results)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dockaudit",
                        "version": __version__,
                        "informationUri": DOCS_URL,
                        "rules": [_rule(r) for r in rules],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri() + "/"}},
                "results": [_result(f, index, root, prints.get(id(f), ""), image_place(f, images)) for f in findings],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
