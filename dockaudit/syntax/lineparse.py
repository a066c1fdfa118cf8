"""BuildKit's per-instruction argument parsers, with the position of every word.

Each parser takes the argument text of one logical line (after the keyword
and the ``--flags``) and returns ``Word``s: the value BuildKit's AST holds and
the ``[start, end)`` offsets of that text inside the logical line, so rules
and fixes can point at the exact characters.
"""

from __future__ import annotations

import json
import re

from dockaudit.records import record, set_field
from dockaudit.syntax.gotext import is_space
from dockaudit.patterns import lazy_pattern

WHITESPACE = lazy_pattern(r"[\t\v\f\r ]+")


class LineParseError(ValueError):
    """BuildKit rejects the line (bad JSON array, ENV without a value …)."""


@record
class Word:
    value: str
    start: int  # offsets in the logical line
    end: int

    def __init__(self, value: str, start: int, end: int) -> None:  # written out: ~27,000 a corpus run
        set_field(self, "value", value)
        set_field(self, "start", start)
        set_field(self, "end", end)


@record
class FlagWord:
    name: str  # without the leading "--"
    value: str | None  # None for a bare ``--link``
    text: str  # the processed flag as BuildKit reports it ("--from=build")
    start: int
    end: int


def split_whitespace(rest: str, base: int) -> list[Word]:
    """``parseStringsWhitespaceDelimited``: split on ``[\\t\\v\\f\\r ]+``."""
    if rest == "":
        return []
    words: list[Word] = []
    pos = 0
    for match in WHITESPACE.finditer(rest):
        words.append(Word(rest[pos : match.start()], base + pos, base + match.start()))
        pos = match.end()
    words.append(Word(rest[pos:], base + pos, base + len(rest)))
    return words


def parse_words(rest: str, escape: str, base: int) -> list[Word]:
    """``parseWords``: split on white space, keeping quotes and escapes in the words."""
    words: list[Word] = []
    word: list[str] = []
    start = 0
    in_word = in_quote = False
    quote = ""
    blank_ok = False
    n = len(rest)
    pos = 0
    while pos <= n:
        if pos == n:
            if (in_word or in_quote) and (blank_ok or word):
                words.append(Word("".join(word), base + start, base + n))
            break
        ch = rest[pos]
        if not in_word and not in_quote:
            if is_space(ch):
                pos += 1
                continue
            in_word = True
            start = pos
        if in_word:
            if is_space(ch):
                in_word = False
                if blank_ok or word:
                    words.append(Word("".join(word), base + start, base + pos))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                in_word, in_quote = False, True
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue  # an escape at the very end is dropped
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        # inside quotes
        if ch == quote:
            in_word, in_quote = True, False
        if ch == escape and quote != "'":
            if pos + 1 == n:
                in_word, in_quote = True, False
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def extract_flags(line: str) -> tuple[int, list[FlagWord]]:
    """``extractBuilderFlags``: leading ``--name[=value]`` words.

    Returns the offset where the arguments start and the flags.  Quotes and
    backslashes in flag values are processed, as BuildKit does.
    """
    flags: list[FlagWord] = []
    n = len(line)
    pos = 0
    while True:
        while pos < n and is_space(line[pos]):
            pos += 1
        if pos == n:
            return n, flags
        if not line.startswith("--", pos):
            return pos, flags
        start = pos
        word: list[str] = []
        blank_ok = False
        quote = ""
        while pos < n:
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == "\\":
                    if pos + 1 == n:
                        quote = ""
                    else:
                        pos += 1
                        word.append(line[pos])
                else:
                    word.append(ch)
                pos += 1
                continue
            if is_space(ch):
                break
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
            elif ch == "\\":
                if pos + 1 < n:
                    pos += 1
                    word.append(line[pos])
            else:
                word.append(ch)
            pos += 1
        text = "".join(word)
        if text == "--":
            return (pos if pos < n else n), flags  # "--" ends the flags and is dropped
        if blank_ok or text:
            name, eq, value = text[2:].partition("=")
            flags.append(FlagWord(name, value if eq else None, text, start, pos))


def parse_json_array(rest: str, base: int) -> list[Word] | None:
    """``parseJSON``: the strings of a JSON array, or None when ``rest`` is not one.

    Raises ``LineParseError`` for a valid array holding something other than
    strings: BuildKit rejects that instead of falling back to shell form.
    """
    stripped_at = 0
    while stripped_at < len(rest) and is_space(rest[stripped_at]):
        stripped_at += 1
    text = rest[stripped_at:]
    if not text.startswith("["):
        return None
    try:
        values = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(values, list):
        return None
    if not all(isinstance(v, str) for v in values):
        raise LineParseError("when using JSON array syntax, arrays must be comprised of strings only")
    return [
        Word(v, base + stripped_at + s, base + stripped_at + e) for v, (s, e) in zip(values, _json_string_spans(text))
    ]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Go's decoder rejects NaN/Infinity


_JSON_STRING = lazy_pattern(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _json_string_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _JSON_STRING.finditer(text)]


def parse_name_values(rest: str, keyword: str, escape: str, base: int) -> list[tuple[Word, Word, str]]:
    """``parseNameVal`` for ENV and LABEL: ``(key, value, separator)`` triples.

    The separator is ``"="`` for ``k=v`` words and ``""`` for the legacy
    ``KEY value words…`` form, which yields exactly one pair.
    """
    words = parse_words(rest, escape, base)
    if not words:
        return []
    if "=" not in words[0].value:
        parts = WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise LineParseError(f"{keyword} must have two arguments")
        key_end = len(parts[0])
        value_start = len(rest) - len(parts[1])
        return [
            (
                Word(parts[0], base, base + key_end),
                Word(parts[1], base + value_start, base + len(rest)),
                "",
            )
        ]
    pairs = []
    for word in words:
        if "=" not in word.value:
            raise LineParseError(
                f"Syntax error - can't find = in {json.dumps(word.value, ensure_ascii=False)}. "
                "Must be of the form: name=value"
            )
        key, _, value = word.value.partition("=")
        # Quotes and escapes are kept, so the raw text's first "=" is the one BuildKit split on.
        eq = word.start + len(key)
        pairs.append((Word(key, word.start, eq), Word(value, eq + 1, word.end), "="))
    return pairs
