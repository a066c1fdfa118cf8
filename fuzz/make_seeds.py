"""Build fuzz/seeds from the rule fixtures and ../shared/corpus/real (small files only: fast inputs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = [REPO / "fixtures" / "rules", REPO.parent / "shared" / "corpus" / "real"]
MAX_SEED_BYTES = 4096


def main() -> None:
    seeds = REPO / "fuzz" / "seeds"
    seeds.mkdir(exist_ok=True)
    count = 0
    for source in SOURCES:
        for path in sorted(source.rglob("*")):
            if path.is_file() and ("Dockerfile" in path.name or source.name == "real"):
                data = path.read_bytes()
                if 0 < len(data) <= MAX_SEED_BYTES:
                    (seeds / hashlib.sha1(data).hexdigest()).write_bytes(data)
                    count += 1
    print(f"{count} seeds in {seeds}")


if __name__ == "__main__":
    main()
