"""725 real-world Dockerfiles: exact round trip, no crash, no rule crash."""

from __future__ import annotations

import pytest

from dockaudit.engine import lint_source, load_rules, select_rules
from dockaudit.syntax import DockerfileSyntaxError, parse
from tests.conftest import CORPUS

REAL = CORPUS / "real"


def _files():
    return sorted(p for p in REAL.iterdir() if p.is_file()) if REAL.exists() else []


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
