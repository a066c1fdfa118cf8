"""Go's notions of white space and string quoting, which BuildKit's parser uses.

Python's ``str.isspace`` also accepts the ASCII separators U+001C–U+001F;
Go's ``unicode.IsSpace`` does not.  ``go_quote`` reproduces ``strconv.Quote``
so that ``dockaudit parse --format dump`` is byte-identical to BuildKit's dump.
"""

from __future__ import annotations

_NOT_GO_SPACE = frozenset("\x1c\x1d\x1e\x1f")


def is_space(ch: str) -> bool:
    return ch.isspace() and ch not in _NOT_GO_SPACE


def trim_left_space(s: str) -> str:
    start, end = 0, len(s)
    while start < end and s[start].isspace() and s[start] not in _NOT_GO_SPACE:  # is_space, inlined: hot
        start += 1
    return s[start:]


_SIMPLE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(s: str) -> str:
    """``strconv.Quote``: surrogate-escaped bytes print as ``\\xNN`` like invalid UTF-8."""
    out = ['"']
    for ch in s:
        esc = _SIMPLE_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
            continue
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)
