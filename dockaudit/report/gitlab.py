"""GitLab Code Quality (Code Climate JSON): shown in merge requests, matched across runs by fingerprint.

Paths and messages go through ``safe_text`` (GitLab shows them in the merge request page).  An image
finding's description names the image and its config or layer, which no path of the repository does."""

from __future__ import annotations

import json

from dockaudit.model import FileResult
from dockaudit.linting.fingerprint import fingerprints
from dockaudit.model import Finding, Severity
from dockaudit.report import safe_text
from dockaudit.report.image_places import ImagePlace, image_place, image_results

_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "minor", Severity.STYLE: "info"}


def _location(f: Finding, place: ImagePlace | None) -> dict:
    """Code Quality wants a path and a line. An image finding takes its ``--dockerfile`` line when its
    layer maps to one (the merge request shows it on that line), else the image reference and line 1."""
    if place is None:
        return {"path": safe_text(f.path), "lines": {"begin": f.line, "end": f.end_line}}
    if place.dockerfile:
        return {"path": safe_text(place.dockerfile), "lines": {"begin": place.line, "end": place.line}}
    return {"path": place.reference, "lines": {"begin": 1, "end": 1}}


def _description(f: Finding, place: ImagePlace | None) -> str:
    text = f"{f.rule}: {safe_text(f.message)}"
    return text if place is None else f"{text} [{place.reference} {place.part}]"


def render(results: list[FileResult], findings: list[Finding]) -> str:
    prints = fingerprints(results)
    images = image_results(results)
    issues = []
    for f in findings:
        place = image_place(f, images)
        issues.append({
            "type": "issue",
            "check_name": f"{f.rule} {f.name}",
            "description": _description(f, place),
            "categories": ["Style" if f.severity is Severity.STYLE else "Bug Risk"],
            "severity": _SEVERITY[f.severity],
            "fingerprint": prints.get(id(f), ""),
            "location": _location(f, place),
        })  # fmt: skip
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
