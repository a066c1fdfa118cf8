"""725 real-world Dockerfiles: exact round trip, no crash, no rule crash."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from dockaudit.linting.engine import lint_source, load_rules, select_rules
from dockaudit.syntax import DockerfileSyntaxError, parse
from tests.conftest import CORPUS
from tests.precision_ledger import lint_corpus

REAL = CORPUS / "real"


def _files():
    if not REAL.exists():
        pytest.skip("../shared/corpus/real is not available")
    return sorted(p for p in REAL.iterdir() if p.is_file())


def test_corpus_present():
    if not REAL.exists():
        pytest.skip("../shared/corpus/real is not available")
    assert len(_files()) >= 725


def test_every_real_file_round_trips_exactly():
    parsed = rejected = 0
    for path in _files():
        data = path.read_bytes()
        try:
            tree = parse(data, str(path))
        except DockerfileSyntaxError as error:
            # Only the empty file is rejected, exactly as BuildKit rejects it.
            assert error.message == "file with no instructions", path
            rejected += 1
            continue
        assert tree.to_bytes() == data, path
        parsed += 1
    assert parsed >= 724 and rejected <= 1


def test_no_rule_crashes_on_real_files():
    rules = select_rules(load_rules(), select=["ALL"])
    crashed = []
    for path in _files():
        result = lint_source(path.read_bytes(), str(path), rules)
        crashed += [f.message for f in result.findings if f.rule == "DA000"]
    assert crashed == []


SNAPSHOT = Path(__file__).parent / "snapshots" / "real_corpus_counts.json"


def _corpus_counts() -> dict[str, int]:
    # The run the precision ledger judges (every rule but DA703, no build context), made once per session.
    counts: Counter[str] = Counter(f.rule for _path, result in lint_corpus(REAL) for f in result.findings)
    return dict(sorted(counts.items()))


def test_finding_counts_per_rule_match_the_reviewed_snapshot():
    """A change in what rules report on real files shows up here, in review.

    After checking that a change is intended, regenerate with
    ``DOCKAUDIT_UPDATE_SNAPSHOT=1 python -m pytest tests/test_real_corpus.py``.
    """
    if not REAL.exists():
        pytest.skip("../shared/corpus/real is not available")
    counts = _corpus_counts()
    if os.environ.get("DOCKAUDIT_UPDATE_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(counts, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = {r: (expected.get(r, 0), counts.get(r, 0)) for r in set(expected) | set(counts)}
    changed = {r: v for r, v in sorted(changed.items()) if v[0] != v[1]}
    assert changed == {}, f"finding counts changed (snapshot, now): {changed}"
