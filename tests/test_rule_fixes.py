"""Every fixable rule's fixes, applied by the fix engine to its bad fixtures.

The result must equal the reviewed after-file (``fixtures/rules/<ID>/fixed/``), parse, no
longer carry a fixable finding of that rule, and be unchanged by a second ``--fix``.
Regenerate after-files with ``DOCKAUDIT_UPDATE_FIXTURES=1`` and review the diff.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

import dockaudit
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules
from dockaudit.compose.lint import lint_compose
from dockaudit.linting.fix import fix_compose_text, fix_text
from dockaudit.syntax import parse
from tests.conftest import FIXTURES

NEEDS_REGISTRY = {"DA201", "DA202", "DA203"}  # their fixes ask a registry (--online): tests/test_online.py
FIXABLE = [r for r in load_rules() if r.fix in ("safe", "unsafe") and r.id not in NEEDS_REGISTRY]
FIX_OPTIONS = Options(trusted_registries=("registry.example.com",), min_driver="535.104.05", as_of=date(2026, 11, 23))


def _apply_fixes(text: str, rule_id: str) -> str:
    edits = [
        edit for f in dockaudit.lint(text, select=[rule_id]) if f.rule == rule_id and f.fix for edit in f.fix.edits
    ]
    out = text
    last_start = len(text) + 1
    for edit in sorted(edits, key=lambda e: (e.span.start, e.span.end), reverse=True):
        if edit.span.end > last_start:
            continue  # overlapping edits wait for the next round
        out = out[: edit.span.start] + edit.replacement + out[edit.span.end :]
        last_start = edit.span.start
    return out


def _fix(rule, target, text: str):
    """The fix engine for the rule's kind of file: Dockerfiles to a fixed point, compose files in one pass."""
    if rule.target == "compose":
        scratch = target.parent / f".fixing-{target.name}"  # lint the text under a compose file name, beside it
        scratch.write_text(text, encoding="utf-8")
        try:
            findings = [f for r in lint_compose([scratch], [rule], FIX_OPTIONS) for f in r.findings]
        finally:
            scratch.unlink()
        return fix_compose_text(text, findings, unsafe=True)
    return fix_text(text, str(target), [rule], FIX_OPTIONS, unsafe=True)


@pytest.mark.parametrize("rule", FIXABLE, ids=lambda r: r.id)
def test_fix_round_trip(rule):
    """Each fixable rule: its bad fixtures fixed by the fix engine equal the reviewed after-files in fixed/."""
    changed = 0
    for path in sorted((FIXTURES / "rules" / rule.id).glob("bad*")):
        target = path / "Dockerfile" if path.is_dir() else path
        text = target.read_text(encoding="utf-8")
        outcome = _fix(rule, target, text)
        if not outcome.changed:
            continue
        changed += 1
        expected = target.parent / "fixed" / target.name if not path.is_dir() else path / "fixed.Dockerfile"
        if os.environ.get("DOCKAUDIT_UPDATE_FIXTURES"):
            expected.parent.mkdir(exist_ok=True)
            expected.write_text(outcome.text, encoding="utf-8")
        assert outcome.text == expected.read_text(encoding="utf-8"), expected
        if rule.target == "dockerfile":
            parse(outcome.text)
        again = _fix(rule, target, outcome.text)
        assert not [f for f in again.remaining if f.rule == rule.id and f.fix], outcome.text
        assert again.text == outcome.text
    assert changed, f"{rule.id}: no bad fixture gets a fix"


def test_fix_keeps_every_other_byte():
    text = "# keep me\r\nFROM alpine:3.20\r\nMAINTAINER Jane\r\nRUN echo hi   \r\n"
    fixed = _apply_fixes(text, "DA012")
    assert (
        fixed == '# keep me\r\nFROM alpine:3.20\r\nLABEL org.opencontainers.image.authors="Jane"\r\nRUN echo hi   \r\n'
    )
