"""Pathological Dockerfiles finish: a report or a one-line error, exit 0/1/2, never a traceback or a hang.

Each runs in a child process with a generous timeout: a hang guard, not a speed test (speed is
benchmarks/run.py's job).  The figures for the largest ones are in the reliability closing note.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HANG_GUARD_SECONDS = 120


def _continuation(lines: int) -> str:
    body = "".join(f"    && echo part{i} \\\n" for i in range(lines))
    return f"FROM alpine:3.20\nRUN echo start \\\n{body}    && echo end\n"


CASES = {
    "100k-line continuation": lambda: _continuation(100_000),
    "10k heredocs": lambda: "FROM alpine:3.20\n" + "".join(f"RUN <<EOF{i}\necho {i}\nEOF{i}\n" for i in range(10_000)),
    "5k nested $(": lambda: "FROM alpine:3.20\nRUN echo " + "$(" * 5000 + "x" + ")" * 5000 + "\n",
    "5k nested ${": lambda: "FROM alpine:3.20\nARG A=1\nENV B=" + "${A:-" * 5000 + "x" + "}" * 5000 + "\n",
    "5k unclosed ${": lambda: "FROM alpine:3.20\nENV B=" + "${A:-" * 5000 + "\n",
    "5k nested quotes in sh -c": lambda: "FROM alpine:3.20\nRUN sh -c " + "'\"" * 5000 + "\n",
    "unterminated heredoc at the end": lambda: "FROM alpine:3.20\nRUN <<EOF\n" + "echo x\n" * 50_000,
    "unterminated JSON": lambda: 'FROM alpine:3.20\nCMD ["a", "b' + "\\" * 30_000 + "\n",
    "60k-char word": lambda: "FROM alpine:3.20\nRUN echo " + "x" * 60_000 + "\n",
    "line over the 64 KiB limit": lambda: "FROM alpine:3.20\nRUN echo " + "\\" * 100_001 + "\n",
    "10k stages": lambda: "".join(
        f"FROM alpine:3.20 AS s{i}\nCOPY --from=s{max(i - 1, 0)} /a /a\n" for i in range(10_000)
    ),
    "NUL bytes everywhere": lambda: "FROM alpine\0:3.20\nRUN \0echo\0 \\\n\0\n" * 2000,
}


BIG = {"100k-line continuation", "10k heredocs", "10k stages"}  # 5-15 s each: with the slow tests


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in CASES], ids=list(CASES)
)
def test_pathological_input_finishes_cleanly(tmp_path: Path, name: str):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(CASES[name](), encoding="utf-8", newline="")
    for args in (["--exit-zero", "-q"], ["--fix", "--unsafe-fixes", "-q"]):
        done = subprocess.run([sys.executable, "-m", "dockaudit", *args, str(dockerfile)], capture_output=True,
                              text=True, timeout=HANG_GUARD_SECONDS, check=False)  # fmt: skip
        assert done.returncode in (0, 1, 2), done.stderr[-2000:]
        assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr[-2000:]
        if done.returncode == 2:  # one line naming the file (then --fix's count line)
            assert done.stderr.startswith(f"dockaudit: {dockerfile}: ") or done.stderr.startswith(f"{dockerfile}:")


def test_a_50_megabyte_file_is_refused_at_once(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\n" + ("RUN echo " + "x" * 1000 + "\n") * 50_000)
    done = subprocess.run([sys.executable, "-m", "dockaudit", str(dockerfile)], capture_output=True, text=True,
                          timeout=HANG_GUARD_SECONDS, check=False)  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip() == f"dockaudit: {dockerfile}: file too large (over 16 MiB)"
