"""Source text and positions.

A Dockerfile is decoded with ``surrogateescape`` so that any byte sequence
(invalid UTF-8 included) survives a round trip: ``Source.to_bytes()`` returns
exactly the bytes that were read.  Positions inside the tree are character
offsets into ``Source.text``; this module turns them into 1-based lines,
1-based columns and byte offsets.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

from dockaudit.records import record, set_field

ENCODING_ERRORS = "surrogateescape"
# Characters between two byte-offset checkpoints of a non-ASCII text: a byte offset encodes at most
# this many characters, whatever the file's size or line lengths.
CHECKPOINT_CHARS = 1024


@record
class Span:
    """A half-open range ``[start, end)`` of character offsets in the source text."""

    start: int
    end: int

    def __init__(self, start: int, end: int) -> None:  # written out: ~170,000 a corpus run
        set_field(self, "start", start)
        set_field(self, "end", end)

    def __len__(self) -> int:
        return self.end - self.start


@record
class Position:
    line: int  # 1-based
    column: int  # 1-based, in characters
    offset: int  # byte offset from the start of the file

    def __init__(self, line: int, column: int, offset: int) -> None:  # written out: two a finding
        set_field(self, "line", line)
        set_field(self, "column", column)
        set_field(self, "offset", offset)


class Source:
    """The text of one file plus a line table for offset → position lookups.

    ``position`` costs O(log lines) for any text: ASCII offsets are byte offsets, and a non-ASCII
    text keeps the byte offset of every ``CHECKPOINT_CHARS``-th character (built on the first
    non-ASCII lookup, one pass over the text), so one lookup encodes at most that many characters.
    """

    __slots__ = ("text", "path", "_line_starts", "_ascii", "_byte_checkpoints")

    def __init__(self, text: str, path: str | None = None) -> None:
        self.text = text
        self.path = path
        starts = array("q", [0])  # 8 bytes a line (a list of ints held ~36)
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self._line_starts = starts
        self._ascii = text.isascii()
        self._byte_checkpoints: list[int] | None = None

    @classmethod
    def from_bytes(cls, data: bytes, path: str | None = None) -> Source:
        return cls(data.decode("utf-8", ENCODING_ERRORS), path)

    def to_bytes(self) -> bytes:
        return self.text.encode("utf-8", ENCODING_ERRORS)

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def line_start(self, line: int) -> int:
        """Character offset where 1-based ``line`` starts."""
        return self._line_starts[line - 1]

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` without its line ending."""
        start = self._line_starts[line - 1]
        end = self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def position(self, offset: int) -> Position:
        line = bisect_right(self._line_starts, offset)
        start = self._line_starts[line - 1]
        return Position(line, offset - start + 1, offset if self._ascii else self._byte_offset(offset))

    def _byte_offset(self, offset: int) -> int:
        """The UTF-8 byte offset of character ``offset`` (clamped to the text, as slicing is)."""
        checkpoints = self._byte_checkpoints
        if checkpoints is None:
            checkpoints = self._byte_checkpoints = _byte_checkpoints(self.text)
        offset = slice(None, offset).indices(len(self.text))[1]  # where ``text[:offset]`` would end
        block = offset // CHECKPOINT_CHARS
        return checkpoints[block] + _utf8_length(self.text[block * CHECKPOINT_CHARS : offset])


def _utf8_length(text: str) -> int:
    """Bytes of ``text`` in the file's encoding (UTF-8, undecodable bytes kept as they were read)."""
    return len(text.encode("utf-8", ENCODING_ERRORS))


def _byte_checkpoints(text: str) -> list[int]:
    """Byte offsets of characters 0, CHECKPOINT_CHARS, 2·CHECKPOINT_CHARS … (UTF-8 encodes each
    code point on its own, so the blocks' lengths add up to the prefix's)."""
    checkpoints = [0]
    for block in range(0, len(text), CHECKPOINT_CHARS):
        checkpoints.append(checkpoints[-1] + _utf8_length(text[block : block + CHECKPOINT_CHARS]))
    return checkpoints
