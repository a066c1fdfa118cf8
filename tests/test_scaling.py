"""Work per finding and per instruction stays bounded as files grow (the "Scaling" issue).

No test here is timed: each counts or measures the work itself (characters encoded per byte offset,
texts rebuilt per install, scope objects per stage), so the quadratic versions fail on any machine.
"""

from __future__ import annotations

import tracemalloc
import pytest

from dockaudit.syntax.source import CHECKPOINT_CHARS, Source

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
