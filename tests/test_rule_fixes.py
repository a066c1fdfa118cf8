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
from dockaudit.engine import load_rules
from dockaudit.fix import fix_text
from dockaudit.syntax import parse
from tests.conftest import FIXTURES

FIXABLE = [r for r in load_rules() if r.fix in ("safe", "unsafe")]
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


@pytest.mark.parametrize("rule", FIXABLE, ids=lambda r: r.id)
def test_fix_round_trip(rule):
    """Each fixable rule: its bad fixtures fixed by the fix engine equal the reviewed after-files in fixed/."""
    changed = 0
    for path in sorted((FIXTURES / "rules" / rule.id).glob("bad*")):
        target = path / "Dockerfile" if path.is_dir() else path
        text = target.read_text(encoding="utf-8")
        outcome = fix_text(text, str(target), [rule], FIX_OPTIONS, unsafe=True)
        if not outcome.changed:
            continue
        changed += 1
        expected = target.parent / "fixed" / target.name if not path.is_dir() else path / "fixed.Dockerfile"
        if os.environ.get("DOCKAUDIT_UPDATE_FIXTURES"):
            expected.parent.mkdir(exist_ok=True)
            expected.write_text(outcome.text, encoding="utf-8")
        assert outcome.text == expected.read_text(encoding="utf-8"), expected
        parse(outcome.text)
        assert not [f for f in outcome.remaining if f.rule == rule.id and f.fix], outcome.text
        assert fix_text(outcome.text, str(target), [rule], FIX_OPTIONS, unsafe=True).text == outcome.text
    assert changed, f"{rule.id}: no bad fixture gets a fix"


def test_fix_keeps_every_other_byte():
    text = "# keep me\r\nFROM alpine:3.20\r\nMAINTAINER Jane\r\nRUN echo hi   \r\n"
    fixed = _apply_fixes(text, "DA012")
    assert (
        fixed == '# keep me\r\nFROM alpine:3.20\r\nLABEL org.opencontainers.image.authors="Jane"\r\nRUN echo hi   \r\n'
    )
