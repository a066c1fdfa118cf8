"""Baselines: record today's findings, then report only new ones (how a team gates an old repository).

A finding is identified by rule, file and the fingerprint of its instruction's text (see
``dockaudit.linting.fingerprint``), not by line numbers, so edits elsewhere in the file keep it matched.

Writing replaces the file atomically (``dockaudit.atomic``): a full disk or a crash leaves the old
baseline as it was.  Reading takes any file and either returns a :class:`Baseline` or raises
one :class:`BaselineError` line.  Paths are stored as reports show them (``safe_text``: a byte that
was not UTF-8 as ``\\xNN``), so the file is plain UTF-8 JSON whatever the file names hold.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dockaudit import __version__
from dockaudit.atomic import write_atomically
from dockaudit.model import FileResult
from dockaudit.files import InputError, read_regular_file
from dockaudit.linting.fingerprint import fingerprints
from dockaudit.records import record, replace
from dockaudit.report import safe_text

VERSION = 1
MAX_BASELINE_BYTES = 64 * 1024 * 1024  # some 300,000 findings; bounds memory and time on a planted file


class BaselineError(ValueError):
    """A baseline that cannot be used; ``str()`` is the one line shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self):  # rebuild from both fields, as InputError does
        return (type(self), (self.path, self.reason))


def _normal_path(path: str, base: Path) -> str:
    if path == "-":
        return path
    try:
        normal = Path(os.path.relpath(Path(path).resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        normal = Path(path).resolve().as_posix()
    return safe_text(normal)


def write_baseline(results: list[FileResult], path: Path) -> int:
    """Record the findings of ``results`` in the baseline ``path`` (atomically, see
    :func:`dockaudit.atomic.write_atomically`); returns how many.  Raises ``OSError`` when it cannot write, and
    the old baseline, if any, is then unchanged."""
    prints = fingerprints(results)
    entries = sorted(
        (
            {
                "rule": f.rule,
                "path": _normal_path(f.path, path.parent),
                "fingerprint": prints[id(f)],
                "message": safe_text(f.message),
            }
            for r in results
            for f in r.findings
        ),
        key=lambda e: (e["path"], e["rule"], e["fingerprint"]),
    )
    document = {"version": VERSION, "tool": {"name": "dockaudit", "version": __version__}, "findings": entries}
    write_atomically(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    return len(entries)


@record(slots=False)
class Baseline:
    folder: Path  # paths in the file are relative to it
    entries: frozenset[tuple[str, str, str]]  # (rule, path, fingerprint)


def read_baseline(path: Path) -> Baseline:
    """The baseline at ``path``, or ``BaselineError`` for anything else: a file that cannot be read,
    is not a regular file (a FIFO is refused without blocking) or is over ``MAX_BASELINE_BYTES``; not
    UTF-8 JSON (a UTF-8 BOM is allowed); nested too deeply to parse; or not of the shape
    ``write_baseline`` writes."""
    shown = safe_text(os.fsdecode(path))
    try:
        data = read_regular_file(path, MAX_BASELINE_BYTES, label=shown)
    except InputError as exc:
        raise BaselineError(shown, f"cannot read the baseline: {exc.reason}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BaselineError(shown, f"not a dockaudit baseline (not UTF-8 at byte {exc.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(shown, f"not a dockaudit baseline (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise BaselineError(shown, "not a dockaudit baseline (JSON nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        raise BaselineError(shown, f"not a dockaudit baseline ({exc})") from None
    return Baseline(path.parent.resolve(), _entries(document, shown))


def _entries(document: object, shown: str) -> frozenset[tuple[str, str, str]]:
    wrong_shape = BaselineError(shown, f"not a version {VERSION} dockaudit baseline")
    if not isinstance(document, dict):
        raise wrong_shape
    version, findings = document.get("version"), document.get("findings")
    if type(version) is not int or version != VERSION or not isinstance(findings, list):  # (True == 1)
        raise wrong_shape
    entries: set[tuple[str, str, str]] = set()
    for number, entry in enumerate(findings, start=1):
        fields = entry if isinstance(entry, dict) else {}
        rule, where, fingerprint = fields.get("rule"), fields.get("path"), fields.get("fingerprint")
        if not (isinstance(rule, str) and isinstance(where, str) and isinstance(fingerprint, str)):
            raise BaselineError(shown, f"finding {number}: needs rule, path and fingerprint, each a string")
        entries.add((rule, where, fingerprint))
    return frozenset(entries)


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
