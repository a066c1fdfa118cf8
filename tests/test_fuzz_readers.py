"""The readers of planted files (config, baseline, Compose, OCI, docker-archive) on damaged input.

Replays what the reader fuzzer (fuzz/fuzz_readers.py) or a hostile-input hunt found — one file per
find in tests/fuzz_crashes/readers/, named ``<reader>-<what it found>`` — and runs the same
invariants (fuzz/readers.py) over real-shaped seeds damaged by hypothesis.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.readers import READERS, check_reader_input
from tests.conftest import FIXTURES

FINDS = sorted((Path(__file__).parent / "fuzz_crashes" / "readers").iterdir())


def _kind(path: Path) -> str:
    return next(k for k in sorted(READERS, key=len, reverse=True) if path.name.startswith(k + "-"))


@pytest.mark.parametrize("path", FINDS, ids=[p.name for p in FINDS])
def test_reader_find_stays_fixed(path: Path):
    check_reader_input(_kind(path), path.read_bytes())


def test_every_reader_has_a_replayed_find():
    assert {_kind(p) for p in FINDS} == set(READERS)


SEEDS = {
    "dockaudit-toml": b'select = ["DA1", "DA2"]\nignore = ["DA204"]\n[severity]\nDA401 = "info"\n'
    b'[per-file-ignores]\n"svc/*" = ["DA101"]\n',
    "pyproject": b'[project]\nname = "x"\n[tool.dockaudit]\nfail-on = "error"\nextend-select = ["DA703"]\n',
    "hadolint-yaml": b"ignored: [DL3008, SC2086]\ntrustedRegistries: [docker.io]\noverride:\n  info: [DL3013]\n"
    b"label-schema:\n  maintainer: text\nfailure-threshold: warning\n",
    "baseline": json.dumps({"version": 1, "tool": {"name": "dockaudit"}, "findings": [
        {"rule": "DA201", "path": "Dockerfile", "fingerprint": "0" * 32, "message": "m"}]}).encode(),
    "compose": (FIXTURES / "compose" / "docker__awesome-compose__react-express-mysql__compose.yaml").read_bytes(),
    "oci-index": json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1"
        "+json", "digest": "sha256:" + "a" * 64, "size": 100, "platform": {"os": "linux", "architecture": "amd64"}}]
    }).encode(),
    "docker-archive": json.dumps([{"Config": "config.json", "RepoTags": ["x:1"], "Layers": ["layer.tar"]}]).encode(),
}  # fmt: skip

HOSTILE = [b"\0", b"\xff\xfe", b"!!python/object/apply:os.system ['true']", b"&a [*a, *a]", b"*a", b"[" * 2000,
           b"{" * 2000, b"9" * 5000, b"\x1b]8;;x\x07", b"\n" * 3, b'"', b"''", b"${", b"../../", b"/proc/self/environ",
           "é".encode(), b"\r", b"\t", b"null", b"[]", b"{}", b"5"]  # fmt: skip


def _damaged(seed: bytes, steps: list[tuple[int, int, int]]) -> bytes:
    data = seed
    for kind, at, value in steps:
        at %= len(data) + 1
        if kind == 0:
            data = data[:at] + bytes([value]) + data[at + 1 :]
        elif kind == 1:
            data = data[:at]
        else:
            data = data[:at] + HOSTILE[value % len(HOSTILE)] + data[at:]
    return data


STEPS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4)


def test_the_seeds_are_accepted_as_they_are():
    for kind, seed in SEEDS.items():
        check_reader_input(kind, seed)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SEEDS)), STEPS)
def test_damaged_inputs_end_in_the_readers_own_one_line_errors(kind: str, steps):
    check_reader_input(kind, _damaged(SEEDS[kind], steps))


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SEEDS)), STEPS)
def test_damaged_inputs_thoroughly(kind: str, steps):
    check_reader_input(kind, _damaged(SEEDS[kind], steps))
