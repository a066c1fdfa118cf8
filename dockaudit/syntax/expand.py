"""BuildKit's word lexer: quote removal, word splitting and variable expansion.

BuildKit expands ``$a``, ``${a}``, ``${a:-b}``, ``${a:+b}``, ``${a-b}``,
``${a+b}``, ``${a?err}``, ``${a#p}``, ``${a##p}``, ``${a%p}``, ``${a%%p}``,
``${a/p/r}`` and ``${a//p/r}`` in the instructions that take variables
(FROM, COPY, ADD, ENV, ARG, LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL
and the flags of RUN/COPY/ADD).  The behaviour here follows its lexer case
for case; ``tests/test_expand.py`` runs BuildKit's own tables against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dockaudit.records import field, record
from dockaudit.syntax.gotext import is_space

_EOF = ""
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class ExpansionError(ValueError):
    """The word is not valid for BuildKit (unterminated quote, bad substitution …)."""


@record(frozen=False)
class Expansion:
    result: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


@record
class LexOptions:
    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_unset: bool = False
    skip_quotes: bool = False


class _Words:
    __slots__ = ("word", "words", "in_word")

    def __init__(self) -> None:
        self.word = ""
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if is_space(ch):
            if self.in_word and self.word:
                self.words.append(self.word)
                self.word = ""
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, s: str) -> None:
        self.word += s
        self.in_word = True

    def add_string(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    def finish(self) -> list[str]:
        if self.word:
            self.words.append(self.word)
            self.word = ""
            self.in_word = False
        return self.words


class _Lexer:
    __slots__ = ("text", "pos", "env", "opts", "raw_escapes", "matched", "unmatched", "depth")

    def __init__(self, text: str, env: Mapping[str, str], opts: LexOptions) -> None:
        self.text = text
        self.pos = 0
        self.env = env
        self.opts = opts
        self.raw_escapes = opts.raw_escapes
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()
        self.depth = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        if self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            return ch
        return _EOF

    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        self.depth += 1
        if self.depth > 200:  # ${a:-${b:-${c…}}} nested beyond reason: refuse, never recurse forever
            raise ExpansionError("substitution nested too deeply")
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._process_stop_on(stop)
        finally:
            self.raw_escapes = saved
            self.depth -= 1

    def _process_stop_on(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        escape = self.opts.escape
        quotes = not self.opts.skip_quotes
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if stop and ch == stop:
                self.pos += 1
                return "".join(result), words.finish()
            if ch == "$":
                tmp = self.process_dollar()
                result.append(tmp)
                words.add_string(tmp)
            elif quotes and ch == "'":
                tmp = self.process_single_quote()
                result.append(tmp)
                words.add_raw(tmp)
            elif quotes and ch == '"':
                tmp = self.process_double_quote()
                result.append(tmp)
                words.add_raw(tmp)
            else:
                self.pos += 1
                if ch == escape:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = self.next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop:
            raise ExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def process_single_quote(self) -> str:
        result: list[str] = []
        ch = self.next()
        if self.opts.raw_quotes:
            result.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ExpansionError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.opts.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def process_double_quote(self) -> str:
        result: list[str] = []
        ch = self.next()
        if self.opts.raw_quotes:
            result.append(ch)
        escape = self.opts.escape
        while True:
            nxt = self.peek()
            if nxt == _EOF:
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if nxt == '"':
                ch = self.next()
                if self.opts.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if nxt == "$":
                result.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == escape:
                if self.raw_escapes:
                    result.append(ch)
                after = self.peek()
                if after == _EOF:
                    continue
                if after in ('"', "$", escape):
                    ch = self.next()
            result.append(ch)

    def process_name(self) -> str:
        name: list[str] = []
        while True:
            ch = self.peek()
            if ch == _EOF:
                break
            if not name and ch.isdigit():
                while self.peek() != _EOF and self.peek().isdigit():
                    name.append(self.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (ch.isalpha() or ch.isdigit() or ch == "_"):
                break
            name.append(self.next())
        return "".join(name)

    def process_dollar(self) -> str:
        self.next()
        if self.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.opts.skip_unset:
                return "$" + name
            return value

        self.next()
        first = self.peek()
        if first == _EOF:
            raise ExpansionError("syntax error: missing '}'")
        if first in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        modifier = ch
        null_is_unset = False
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.opts.skip_unset:
                return "${" + name + "}"
            return value
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
            return self._modifier(name, ch, modifier, null_is_unset)
        if ch != _EOF and ch in "+-?#%":
            return self._modifier(name, ch, modifier, null_is_unset)
        if ch == "/":
            return self._replace(name)
        raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")

    def read_until(self, stop: str, raw_escapes: bool, missing: str) -> str:
        """The text up to ``stop``; running out of input is BuildKit's ``missing`` error."""
        try:
            return self.process_stop_on(stop, raw_escapes)[0]
        except ExpansionError:
            if self.peek() == _EOF:
                raise ExpansionError(missing) from None
            raise

    def _modifier(self, name: str, ch: str, modifier: str, null_is_unset: bool) -> str:
        word = self.read_until("}", ch in "#%" and ch != "", "syntax error: missing '}'")
        value, found = self.get_env(name)
        if self.opts.skip_unset and not found:
            return "${" + name + modifier + word + "}"
        if ch == "-":
            return word if not found or (null_is_unset and value == "") else value
        if ch == "+":
            return "" if not found or (null_is_unset and value == "") else word
        if ch == "?":
            if not found:
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if ch in ("%", "#") and ch != "":
            greedy = bool(word) and word[0] == ch
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise ExpansionError(f"unsupported modifier ({modifier}) in substitution")

    def _replace(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        pattern = self.read_until("/", True, "syntax error: missing '/' in ${}")
        replacement = self.read_until("}", True, "syntax error: missing '}'")
        value, found = self.get_env(name)
        if self.opts.skip_unset and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _shell_pattern_to_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda _m: replacement, value)
        match = regex.search(value)
        if match:
            return value[: match.start()] + replacement + value[match.end() :]
        return value


def _shell_pattern_to_regex(pattern: str, greedy: bool, anchored: bool) -> re.Pattern[str]:
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
        elif tok == "?":
            out.append(".")
        elif tok == "\\":
            nxt = pattern[i] if i < len(pattern) else ""
            if nxt in ("}", "/"):
                continue
            if nxt not in ("*", "?", "\\"):
                raise ExpansionError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{nxt}'")
            out.append(re.escape(nxt))
            i += 1
        else:
            out.append(re.escape(tok))
    return re.compile("".join(out), re.DOTALL)


def _reverse_pattern(pattern: str) -> str:
    # Reverse the pattern but keep each escape in front of the char it escapes.
    units: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            units.append(pattern[i : i + 2])
            i += 2
        else:
            units.append(pattern[i])
            i += 1
    return "".join(reversed(units))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _shell_pattern_to_regex(pattern, greedy, anchored=True).search(value)
    return value[match.end() :] if match else value


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # The shortest rightmost match is the shortest leftmost match of the reversed strings.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


DEFAULT_OPTIONS = LexOptions()  # BuildKit's defaults


def process(text: str, env: Mapping[str, str] | None = None, options: LexOptions = DEFAULT_OPTIONS) -> Expansion:
    """Expand ``text`` as BuildKit's ``ProcessWord``/``ProcessWords`` do."""
    lexer = _Lexer(text, env or {}, options)
    try:
        result, words = lexer.process_stop_on(_EOF, options.raw_escapes)
    except RecursionError:
        raise ExpansionError("substitution nested too deeply") from None
    return Expansion(result, words, lexer.matched, lexer.unmatched)
