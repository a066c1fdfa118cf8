"""Coverage-guided fuzzing of the readers of planted files (config, baseline, Compose, OCI, docker-archive).

    pip install -e ".[fuzz]"
    python fuzz/fuzz_readers.py -max_total_time=900 -timeout=30 -artifact_prefix=fuzz/ fuzz/readers-corpus

The first byte of an input picks the reader (``sorted(READERS)``), the rest is the file.  A failing
input lands in ``fuzz/crash-<sha1>``: copy it to tests/fuzz_crashes/readers/<reader>-<what it found>
(without the first byte), and tests/test_fuzz_readers.py replays it forever.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports(include=["dockaudit", "dockaudit_rules"]):
    from fuzz.readers import READERS, check_reader_input

KINDS = sorted(READERS)


def one_input(data: bytes) -> None:
    if data:
        check_reader_input(KINDS[data[0] % len(KINDS)], data[1:])


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
