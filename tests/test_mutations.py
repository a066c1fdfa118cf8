"""Property tests: real Dockerfiles from the corpus, damaged the ways files get damaged.

Mutations: byte flips, truncation, inserted backslash-newlines, unterminated heredocs and JSON,
NUL bytes, Latin-1 and UTF-16 fragments, lone CRs, deleted lines.  Whatever comes out:
- the CLI exits 0, 1 or 2 and never crashes, and no rule crashes (no DA000);
- what parses re-serialises to the same bytes;
- ``--fix`` output parses, is a fixed point, and no fix is dropped as broken.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockaudit.cli import cli
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules
from dockaudit.linting.fix import fix_text
from dockaudit.syntax import parse
from dockaudit.syntax.parser import DockerfileSyntaxError
from dockaudit.syntax.source import Source
from tests.conftest import CORPUS, FIXTURES



def _seed_files() -> list[Path]:
    """Every tenth real-world file when ../shared is beside the checkout; the project's own rule
    fixtures otherwise, so a fresh clone still runs these properties on real-shaped Dockerfiles."""
    real = CORPUS / "real"
    if real.is_dir():
        return sorted(p for p in real.iterdir() if p.is_file() and p.name != "README.md")[::10]
    return sorted((FIXTURES / "rules").glob("*/*.Dockerfile")) + [FIXTURES.parent / "examples" / "Dockerfile"]


FILES = _seed_files()
RULES = [r for r in load_rules() if r.target == "dockerfile" and r.id != "DA703"]  # DA703 spawns shellcheck
OPTIONS = Options(use_context=False)


def _flip(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + bytes([value]) + data[at + 1 :] if data else bytes([value])


MUTATIONS = {
    "flip": _flip,
    "truncate": lambda data, at, value: data[:at],
    "backslash": lambda data, at, value: data[:at] + b"\\\n" + data[at:],
    "heredoc": lambda data, at, value: data[:at] + b"\nRUN <<EOF\necho open\n" + data[at:],
    "json": lambda data, at, value: data[:at] + b'\nCMD ["a", "b\n' + data[at:],
    "nul": lambda data, at, value: data[:at] + b"\0" + data[at:],
    "latin1": lambda data, at, value: data[:at] + "é ü ß".encode("latin-1") + data[at:],
    "utf16": lambda data, at, value: data[:at] + "RUN échec".encode("utf-16") + data[at:],
    "lone-cr": lambda data, at, value: data[:at].replace(b"\n", b"\r", value % 4) + data[at:],
    "delete-line": lambda data, at, value: b"\n".join(
        line for i, line in enumerate(data.split(b"\n")) if i != value % max(data.count(b"\n"), 1)
    ),
}


def _mutated(path: Path, steps: list[tuple[str, int, int]]) -> bytes:
    data = path.read_bytes()
    for name, at, value in steps:
        data = MUTATIONS[name](data, at % (len(data) + 1), value)
    return data


STEPS = st.lists(st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 1 << 20), st.integers(0, 255)),
                 min_size=1, max_size=3)  # fmt: skip


def _check(path: Path, steps) -> None:
    data = _mutated(path, steps)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "Dockerfile"
        target.write_bytes(data)
        result = CliRunner().invoke(cli, [str(target), "--isolated", "--no-context", "--format", "json"])
        assert result.exception is None or isinstance(result.exception, SystemExit), (steps, result.exception)
        assert result.exit_code in (0, 1, 2), (steps, result.output[-500:])
        assert '"DA000"' not in result.output, (steps, result.output[-2000:])
    text = Source.from_bytes(data, None).text
    try:
        tree = parse(data)
    except DockerfileSyntaxError:
        return
    assert tree.to_source() == text
    outcome = fix_text(text, None, RULES, OPTIONS, unsafe=True)
    assert outcome.dropped == [], (steps, [f.message for f in outcome.dropped])
    parse(outcome.text)
    assert fix_text(outcome.text, None, RULES, OPTIONS, unsafe=True).text == outcome.text, steps


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.sampled_from(FILES), STEPS)
def test_mutated_corpus_files_never_crash_and_round_trip(path: Path, steps):
    _check(path, steps)


@pytest.mark.slow
@THOROUGH
@given(st.sampled_from(FILES), STEPS)
def test_mutated_corpus_files_thoroughly(path: Path, steps):
    _check(path, steps)
