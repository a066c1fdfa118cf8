"""Text from the input made safe for every report format: one rule, used by all of them.

A Dockerfile, its file name or an image's history is chosen by whoever wrote it, so a report must
not pass its characters through raw:

* a byte that was not UTF-8 (kept while linting as a surrogate escape, ``\\udcNN``) cannot be
  encoded at all, so it would crash a writer;
* ESC, BEL, CSI and the other C0/C1 control characters drive the terminal the text report or a CI log
  is shown on (clear the screen, fake hyperlinks, rewrite earlier lines);
* a newline or carriage return splits a one-line-per-finding format (text, GitHub workflow commands);
* XML 1.0 forbids most C0 characters and U+FFFE/U+FFFF even as character references;
* bidirectional overrides (U+202E …) and line/paragraph separators make the shown text differ from
  what it is ("Trojan Source").

The one rendering, in every format: a byte that was not UTF-8 is shown as ``\\xNN`` (its value, as
``dockaudit parse --format dump`` and Go's ``strconv.Quote`` show it), newline and carriage return as
``\\n`` and ``\\r``, any other control character as ``\\xNN`` and the other characters above as
``\\uNNNN``.  Tab and every other character are kept.  A backslash is not doubled: this is a way to
show text, not an encoding to be reversed.
"""

from __future__ import annotations

import re
from dockaudit.patterns import lazy_pattern

_SURROGATES = "\ud800-\udfff"
_CONTROLS = "\x00-\x08\x0a-\x1f\x7f-\x9f"  # all of C0 but tab, DEL, all of C1
_INVISIBLE = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufffe\uffff"
_UNSAFE = lazy_pattern(f"[{_SURROGATES}{_CONTROLS}{_INVISIBLE}]")
_UNENCODABLE = lazy_pattern(f"[{_SURROGATES}]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if char in _NAMED:
        return _NAMED[char]
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with every character listed in the module docstring escaped: valid UTF-8, valid in
    XML 1.0, one line, inert on a terminal.  Escaping is character by character, so
    ``safe_text(a + b) == safe_text(a) + safe_text(b)`` (the text report relies on it to place its
    carets)."""
    if _UNSAFE.search(text) is None:  # the common case: nothing to do, no copy
        return text
    return _UNSAFE.sub(_escape, text)


def safe_data(text: str) -> str:
    """``text`` that a tool applies rather than shows (a fix's replacement text in JSON and SARIF):
    kept exact but for the surrogates, which no UTF-8 document can hold and which are escaped as
    :func:`safe_text` does.  JSON's own escaping takes care of control characters."""
    if _UNENCODABLE.search(text) is None:
        return text
    return _UNENCODABLE.sub(_escape, text)
