"""hadolint's own spec cases, run against the dockaudit rule that aliases each DL id.

Issue 3 drives this to ≥ 97 %; until then the test holds the floor reached so far so
that no change makes agreement worse.  Cases with a `.hadolint.yaml` config wait for the
config mapping (issue 6) and are counted, not run.  Run with ``-s`` to see the figure.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

import dockaudit
from dockaudit.engine import load_rules
from tests.conftest import CORPUS

SPEC = CORPUS / "hadolint-spec" / "cases.json"
AGREEMENT_FLOOR = 210 / 244  # reached with the DA0xx family; raise it as rules improve


def _aliases() -> dict[str, str]:
    return {alias: r.id for r in load_rules() for alias in r.aliases if alias.startswith("DL")}


def test_agreement_with_hadolint_on_covered_rules():
    if not SPEC.exists():
        pytest.skip("hadolint spec corpus not available")
    aliases = _aliases()
    counts: Counter[str] = Counter()
    disagreements: Counter[str] = Counter()
    for case in json.loads(SPEC.read_text(encoding="utf-8")):
        rule_id = aliases.get(case["rule"])
        if rule_id is None:
            counts["not covered"] += 1
            continue
        if case["config"]:
            counts["needs config"] += 1
            continue
        findings = dockaudit.lint(case["dockerfile"], select=[rule_id])
        # A rule covering several DL ids tags each finding with the one it matches.
        fired = any(f.rule == rule_id and f.alias in (None, case["rule"]) for f in findings)
        if fired == (case["expect"] == "catches"):
            counts["agree"] += 1
        else:
            counts["disagree"] += 1
            disagreements[case["rule"]] += 1
    run = counts["agree"] + counts["disagree"]
    print(f"\nhadolint spec: {counts['agree']}/{run} agree ({counts['agree'] / run:.1%}); "
          f"{counts['needs config']} need config; {counts['not covered']} not covered yet")  # fmt: skip
    print("disagreements by DL id:", dict(sorted(disagreements.items())))
    assert counts["agree"] / run >= AGREEMENT_FLOOR - 1e-9
