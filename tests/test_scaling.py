"""Work per finding and per instruction stays bounded as files grow (the "Scaling" issue).

No test here is timed: each counts or measures the work itself (characters encoded per byte offset,
texts rebuilt per install, scope objects per stage), so the quadratic versions fail on any machine.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from dockaudit.context import LintContext
from dockaudit.engine import load_rules, run_rules, select_rules
from dockaudit.syntax import parse
from dockaudit.syntax.nodes import Dockerfile
from dockaudit.syntax.source import CHECKPOINT_CHARS, Source
from dockaudit.syntax.stages import PLATFORM_ARGS, Stage, Variable, arg_declarations, env_pairs
from dockaudit.syntax.stages import _expand_or_raw as expand_or_raw

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"


# --- byte offsets ---------------------------------------------------------------------------------


def _peak_bytes_of(call) -> int:
    """Peak bytes allocated while ``call()`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("where", ["first line", "last line"])
def test_a_byte_offset_deep_in_a_non_ascii_file_does_not_encode_the_text_before_it(where):
    # One "©" made every offset re-encode the whole prefix: 16x slower lint of a 100k-line file.
    lines = ["RUN echo " + "x" * 70] * 20_000
    lines[0 if where == "first line" else -1] = "# © 2026"
    source = Source("\n".join(lines) + "\n")
    offset = len(source.text) - 5
    source.position(0)  # the one pass that builds the checkpoints
    peak = _peak_bytes_of(lambda: source.position(offset))
    assert peak < 16 * CHECKPOINT_CHARS < len(source.text) // 50  # the prefix is 1.5 MB; a lookup sees 1 KiB


@pytest.mark.parametrize(
    "text",
    [
        "",
        "©",
        "a©b\n\n€😀\n",
        "x" * (CHECKPOINT_CHARS - 1) + "©" + "y" * (3 * CHECKPOINT_CHARS) + "\n€",
        "\udc80\udcff" * CHECKPOINT_CHARS + "é",  # undecodable bytes kept by surrogateescape: one byte each
        ("é" * 7 + "\n") * 1000,
    ],
)
def test_byte_offsets_equal_the_length_of_the_encoded_prefix(text):
    source = Source(text)
    encoded = len(text.encode("utf-8", "surrogateescape"))
    for offset in [*range(0, len(text), max(1, len(text) // 97)), len(text), min(CHECKPOINT_CHARS, len(text))]:
        assert source.position(offset).offset == len(text[:offset].encode("utf-8", "surrogateescape"))
    assert source.position(len(text)).offset == encoded


# --- DA308 ----------------------------------------------------------------------------------------


def test_da308_does_not_rebuild_the_file_for_each_install(monkeypatch):
    rebuilt = []
    original = Dockerfile.to_source
    monkeypatch.setattr(Dockerfile, "to_source", lambda self: rebuilt.append(1) or original(self))
    installs = "".join(f"RUN pip install pkg{n}==1.0\n" for n in range(200))
    text = f"FROM python:3.12\n{installs}RUN rm -rf /root/.cache/pip\n"
    findings = run_rules(LintContext(parse(text)), select_rules(load_rules(), select=["DA308"]))
    assert [f.rule for f in findings] == ["DA308"]
    assert rebuilt == []


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("FROM python:3.12\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n", True),
        ("FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n", False),
        ("FROM python:3.12\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n# PIP_NO_CACHE_DIR\n", False),
        ("FROM python:3.12\nRUN uv pip install a==1\nRUN rm -rf /root/.cache/uv\n", True),
        ("FROM python:3.12\nARG UV_NO_CACHE=1\nRUN uv pip install a==1\nRUN rm -rf /root/.cache/uv\n", False),
        ("FROM python:3.12\nENV UV_NO_CACHE=1\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n", True),
    ],
)
def test_da308_still_trusts_a_no_cache_variable_named_anywhere_in_the_file(text, fires):
    findings = run_rules(LintContext(parse(text)), select_rules(load_rules(), select=["DA308"]))
    assert bool(findings) == fires
