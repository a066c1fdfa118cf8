"""Source text and positions.

A Dockerfile is decoded with ``surrogateescape`` so that any byte sequence
(invalid UTF-8 included) survives a round trip: ``Source.to_bytes()`` returns
exactly the bytes that were read.  Positions inside the tree are character
offsets into ``Source.text``; this module turns them into 1-based lines,
1-based columns and byte offsets.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

ENCODING_ERRORS = "surrogateescape"


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range ``[start, end)`` of character offsets in the source text."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based, in characters
    offset: int  # byte offset from the start of the file


class Source:
    """The text of one file plus a line table for offset → position lookups."""

    __slots__ = ("text", "path", "_line_starts", "_ascii")

    def __init__(self, text: str, path: str | None = None) -> None:
        self.text = text
        self.path = path
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self._line_starts = starts
        self._ascii = text.isascii()

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
        if self._ascii:
            byte_offset = offset
        else:
            byte_offset = len(self.text[:offset].encode("utf-8", ENCODING_ERRORS))
        return Position(line, offset - start + 1, byte_offset)
