"""The fixes rules attach today are correct edits (applying them is issue 5's --fix).

For every fixable rule: apply its fixes to the bad fixture, and the result must parse,
no longer carry a fixable finding of that rule, and be unchanged by a second round.
"""

from __future__ import annotations

import pytest

import dockaudit
from dockaudit.engine import load_rules
from dockaudit.syntax import parse
from tests.conftest import FIXTURES

FIXABLE = [r for r in load_rules() if r.fix in ("safe", "unsafe")]


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
    for path in sorted((FIXTURES / "rules" / rule.id).glob("bad*")):
        text = path.read_text(encoding="utf-8")
        fixed = text
        for _round in range(5):
            after = _apply_fixes(fixed, rule.id)
            if after == fixed:
                break
            fixed = after
        assert fixed != text, f"{rule.id}: no fix applied to {path.name}"
        parse(fixed)  # still a valid Dockerfile
        remaining = [f for f in dockaudit.lint(fixed, select=[rule.id]) if f.rule == rule.id and f.fix]
        assert remaining == [], fixed
        assert _apply_fixes(fixed, rule.id) == fixed


def test_fix_keeps_every_other_byte():
    text = "# keep me\r\nFROM alpine:3.20\r\nMAINTAINER Jane\r\nRUN echo hi   \r\n"
    fixed = _apply_fixes(text, "DA012")
    assert (
        fixed == '# keep me\r\nFROM alpine:3.20\r\nLABEL org.opencontainers.image.authors="Jane"\r\nRUN echo hi   \r\n'
    )
