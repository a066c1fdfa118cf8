"""hadolint's own spec cases, run against the dockaudit rule that aliases each DL id.

Issue 3 drives this to ≥ 97 %; until then the test holds the floor reached so far so
that no change makes agreement worse.  Cases whose `.hadolint.yaml` config maps onto
dockaudit options (trustedRegistries, label-schema, strict-labels) run with them;
the others (ignored) are counted, not run.  Run with ``-s`` to see the figure.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

import dockaudit
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules
from tests.conftest import CORPUS, REPO

SPEC = CORPUS / "hadolint-spec" / "cases.json"
AGREEMENT_FLOOR = 0.97  # issue 3 target; disagreements that stay are explained in docs/hadolint.md


def _aliases() -> dict[str, str]:
    return {alias: r.id for r in load_rules() for alias in r.aliases if alias.startswith("DL")}


def _options(config: dict | None) -> Options | None:
    """The .hadolint.yaml keys a case runs with, as dockaudit options; None for keys not mapped yet."""
    if not config:
        return Options()
    if set(config) - {"trustedRegistries", "label-schema", "strict-labels"}:
        return None
    return Options(
        trusted_registries=tuple(config.get("trustedRegistries", ())),
        label_schema=dict(config.get("label-schema", {})),
        strict_labels=bool(config.get("strict-labels", False)),
    )


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
        options = _options(case["config"])
        if options is None:
            counts["needs config"] += 1
            continue
        findings = dockaudit.lint(case["dockerfile"], options, select=[rule_id])
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


def test_docs_map_every_hadolint_rule():
    """docs/hadolint.md has a row for every DL id a rule aliases and every DL id hadolint's suite tests."""
    table = (REPO / "docs" / "hadolint.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| DL")}
    aliases = _aliases()
    tested = set()
    if SPEC.exists():
        tested = {c["rule"] for c in json.loads(SPEC.read_text(encoding="utf-8")) if c["rule"].startswith("DL")}
    for dl in sorted(set(aliases) | tested):
        assert dl in rows, f"docs/hadolint.md has no row for {dl}"
        assert aliases.get(dl, "-") in rows[dl], f"{dl}: the row should name {aliases.get(dl)}"
