"""Every input the fuzzer (fuzz/fuzz_dockerfile.py) ever broke dockaudit with, replayed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzz.invariants import check_one_input

CRASHES = sorted(p for p in (Path(__file__).parent / "fuzz_crashes").iterdir() if p.is_file())  # readers/: see test_fuzz_readers


@pytest.mark.parametrize("path", CRASHES, ids=[p.name for p in CRASHES])
def test_fuzzer_find_stays_fixed(path: Path):
    check_one_input(path.read_bytes())
