"""Baselines: record today's findings, then report only new ones (how a team gates an old repository).

A finding is identified by rule, file and the fingerprint of its instruction's text (see
``dockaudit.fingerprint``), not by line numbers, so edits elsewhere in the file keep it matched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from dockaudit import __version__
from dockaudit.engine import FileResult
from dockaudit.fingerprint import fingerprints

VERSION = 1


class BaselineError(ValueError):
    pass


def _normal_path(path: str, base: Path) -> str:
    if path == "-":
        return path
    try:
        return Path(os.path.relpath(Path(path).resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return Path(path).resolve().as_posix()


def write_baseline(results: list[FileResult], path: Path) -> int:
    prints = fingerprints(results)
    entries = sorted(
        (
            {
                "rule": f.rule,
                "path": _normal_path(f.path, path.parent),
                "fingerprint": prints[id(f)],
                "message": f.message,
            }
            for r in results
            for f in r.findings
        ),
        key=lambda e: (e["path"], e["rule"], e["fingerprint"]),
    )
    document = {"version": VERSION, "tool": {"name": "dockaudit", "version": __version__}, "findings": entries}
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return len(entries)


@dataclass(frozen=True)
class Baseline:
    folder: Path  # paths in the file are relative to it
    entries: frozenset[tuple[str, str, str]]  # (rule, path, fingerprint)


def read_baseline(path: Path) -> Baseline:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}: not a dockaudit baseline (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict) or document.get("version") != VERSION or not isinstance(
        document.get("findings"), list
    ):  # fmt: skip
        raise BaselineError(f"{path}: not a version {VERSION} dockaudit baseline")
    try:
        entries = frozenset((e["rule"], e["path"], e["fingerprint"]) for e in document["findings"])
    except (KeyError, TypeError):
        raise BaselineError(f"{path}: every baseline entry needs rule, path and fingerprint") from None
    return Baseline(path.parent.resolve(), entries)


def filter_results(results: list[FileResult], baseline: Baseline) -> list[FileResult]:
    """The results with the findings the baseline knows removed."""
    prints = fingerprints(results)
    filtered = []
    for result in results:
        kept = [
            f for f in result.findings
            if (f.rule, _normal_path(f.path, baseline.folder), prints[id(f)]) not in baseline.entries
        ]  # fmt: skip
        filtered.append(replace(result, findings=kept))
    return filtered
