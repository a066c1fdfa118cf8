"""Coverage-guided fuzzing of parse → lint → fix with atheris (libFuzzer for Python).

    pip install -e ".[fuzz]"               # atheris: a tool, not a dependency of dockaudit
    python fuzz/make_seeds.py              # fuzz/seeds: rule fixtures and small real-corpus files
    python fuzz/fuzz_dockerfile.py -max_total_time=900 -timeout=30 -artifact_prefix=fuzz/ fuzz/corpus fuzz/seeds

libFuzzer keeps what widens coverage in ``fuzz/corpus`` (make the folder first) and writes a failing
input to ``fuzz/crash-<sha1>``: copy it into tests/fuzz_crashes/ with a name saying what it found,
and tests/test_fuzz_regressions.py replays it forever.  The invariants are in fuzz/invariants.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["dockaudit", "dockaudit_rules"]):
    from fuzz.invariants import check_one_input


def main() -> None:
    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
