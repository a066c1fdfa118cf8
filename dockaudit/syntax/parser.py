"""The Dockerfile parser: BuildKit's line scanner, rebuilt to keep every byte.

The order of operations follows ``frontend/dockerfile/parser`` of BuildKit:
parser directives only at the top, comment and blank lines skipped, line
continuations joined (comment lines and empty lines inside them dropped, the
latter with a warning), instruction arguments split by the per-instruction
parsers, then heredoc bodies read after the line that opens them.
"""

from __future__ import annotations

import re

from dockaudit.syntax.gotext import is_space, trim_left_space
from dockaudit.syntax.heredoc import HeredocError, heredocs_in_line
from dockaudit.syntax.lineparse import (
    WHITESPACE,
    LineParseError,
    Word,
    extract_flags,
    parse_json_array,
    parse_name_values,
    parse_words,
    split_whitespace,
)
from dockaudit.syntax.nodes import (
    Arg,
    Blank,
    Comment,
    Directive,
    Dockerfile,
    Flag,
    Heredoc,
    Instruction,
    logical_to_source,
)
from dockaudit.syntax.source import Source, Span
from dockaudit.patterns import lazy_pattern

MAX_LINE_BYTES = 65535  # bufio.MaxScanTokenSize - 1: BuildKit rejects longer lines
# The value runs to its last non-blank (a blank-only value is its last blank, as with ".+?[ \t]*$").
_DIRECTIVE = lazy_pattern(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*([^ \t](?:.*[^ \t])?|[ \t])")
_VALID_DIRECTIVES = frozenset({"syntax", "escape", "check"})
# An escape at the end of a line continues it, unless the escape is itself escaped.
_CONTINUATION = {
    "\\": lazy_pattern(r"(?:^|[^\\])(\\)[ \t]*$"),
    "`": lazy_pattern(r"(?:^|[^`])(`)[ \t]*$"),
}
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


class DockerfileSyntaxError(ValueError):
    """Text BuildKit would reject.  ``line``/``end_line`` are 1-based."""

    def __init__(self, message: str, line: int, end_line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = max(line, 1)
        self.end_line = max(end_line or line, self.line)

    def __reduce__(self):  # crosses from --jobs workers: rebuild from every field
        return (type(self), (self.message, self.line, self.end_line))


class _Directives:
    __slots__ = ("done", "seen", "escape")

    def __init__(self) -> None:
        self.done = False
        self.seen: set[str] = set()
        self.escape = "\\"

    def feed(self, line: str, line_no: int) -> tuple[str, str] | None:
        """Look at one line while directives may still appear; return the directive it holds."""
        if self.done:
            return None
        match = _DIRECTIVE.match(line)
        if not match:
            self.done = True
            return None
        key = match.group(1).lower()
        if key not in _VALID_DIRECTIVES:
            self.done = True
            return None
        if key in self.seen:
            raise DockerfileSyntaxError(f"only one {key} parser directive can be used", line_no)
        self.seen.add(key)
        value = match.group(2)
        if key == "escape":
            if value not in ("\\", "`"):
                raise DockerfileSyntaxError(f"invalid escape token '{value}' does not match ` or \\", line_no)
            self.escape = value
        return key, value


def parse(data: str | bytes, path: str | None = None) -> Dockerfile:
    """Parse a Dockerfile; raise ``DockerfileSyntaxError`` where BuildKit would fail."""
    source = Source.from_bytes(data, path) if isinstance(data, bytes) else Source(data, path)
    return _Parser(source).run()


class _Parser:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.text = source.text
        self.starts = source._line_starts
        self.count = len(self.starts) if self.text and not self.text.endswith("\n") else len(self.starts) - 1
        self.directives = _Directives()
        self.nodes: list = []
        self.warnings: list[tuple[int, str]] = []

    def raw_line(self, index: int) -> tuple[int, str]:
        """Start offset and text (line ending stripped, BOM removed on line 1) of a 0-based line."""
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        content = self.text[start:end]
        if len(content) > MAX_LINE_BYTES // 4 and len(content.encode("utf-8", "surrogateescape")) > MAX_LINE_BYTES + 1:
            raise DockerfileSyntaxError(f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES}", index + 1)
        content = content.rstrip("\r\n")
        if index == 0 and content.startswith("\ufeff"):
            return start + 1, content[1:]
        return start, content

    def line_span(self, first: int, last: int) -> Span:
        """Whole 0-based lines ``first..last`` with their line endings."""
        end = self.starts[last + 1] if last + 1 < len(self.starts) else len(self.text)
        return Span(self.starts[first], end)

    def run(self) -> Dockerfile:
        index = 0
        while index < self.count:
            index = self.read_node(index)
        if not any(isinstance(n, Instruction) for n in self.nodes):
            raise DockerfileSyntaxError("file with no instructions", max(self.count, 1))
        return Dockerfile(self.source, self.nodes, self.directives.escape, self.warnings)

    def read_node(self, index: int) -> int:
        start, content = self.raw_line(index)
        line_no = index + 1
        stripped = trim_left_space(content)
        lead = len(content) - len(stripped)
        directive = self.directives.feed(stripped, line_no)
        is_comment = stripped.startswith("#")
        processed = "" if is_comment else stripped
        continuation = _CONTINUATION[self.directives.escape]
        match = continuation.search(processed)
        if match is None and processed == "":
            span = self.line_span(index, index)
            if directive is not None:
                self.nodes.append(Directive(directive[0], directive[1], span, line_no))
            elif is_comment:
                self.nodes.append(Comment(stripped[1:].strip(), span, line_no))
            else:
                self.nodes.append(Blank(span, line_no))
            return index + 1
        return self.read_instruction(index, start + lead, processed, match)

    def read_instruction(self, index: int, first_offset: int, processed: str, match: re.Match | None) -> int:
        continuation = _CONTINUATION[self.directives.escape]
        pieces = [processed[: match.start(1)] if match else processed]  # joined once: += would copy per line
        length = len(pieces[0])
        segments = [(0, first_offset)]
        comments: list[Comment] = []
        empty_lines: list[int] = []
        last = index
        end_offset = first_offset + len(processed)
        at_end = match is None
        j = index + 1
        while not at_end and j < self.count:
            start, content = self.raw_line(j)
            self.directives.feed(content, j + 1)
            last = j
            end_offset = start + len(content)
            stripped = trim_left_space(content)
            if stripped.startswith("#"):
                comments.append(Comment(stripped[1:].strip(), self.line_span(j, j), j + 1))
            elif stripped == "":
                empty_lines.append(j + 1)
            else:
                m = continuation.search(content)
                segments.append((length, start))
                pieces.append(content[: m.start(1)] if m else content)
                length += len(pieces[-1])
                at_end = m is None
            j += 1
        logical = "".join(pieces)

        if empty_lines:
            self.warnings.append((last + 1, "Empty continuation line found in: " + logical))
        try:
            keyword, keyword_range, flags, args, is_json, trigger, args_range = split_instruction(
                logical, self.directives.escape
            )
        except LineParseError as exc:
            raise DockerfileSyntaxError(str(exc), index + 1, last + 1) from None

        heredocs: list[Heredoc] = []
        target_name, target_json = (trigger[0], trigger[4]) if trigger else (keyword, is_json)
        if target_name.upper() in _HEREDOC_INSTRUCTIONS and not target_json and "<<" in logical:
            try:
                words = heredocs_in_line(logical)
            except HeredocError as exc:
                raise DockerfileSyntaxError(str(exc), index + 1, last + 1) from None
            for word in words:
                body_start = self.line_span(j, j).start if j < self.count else len(self.text)
                body: list[str] = []
                terminated = False
                while j < self.count:
                    start, content = self.raw_line(j)
                    line_span = self.line_span(j, j)
                    last = j
                    j += 1
                    candidate = content.lstrip("\t") if word.chomp else content
                    if candidate == word.name:
                        terminated = True
                        end_offset = start + len(content)
                        heredocs.append(
                            Heredoc(
                                word.name, word.fd, word.expand, word.chomp, "".join(body),
                                Span(body_start, line_span.start), Span(start, end_offset),
                            )
                        )  # fmt: skip
                        break
                    body.append(self.text[line_span.start : line_span.end])
                if not terminated:
                    raise DockerfileSyntaxError("unterminated heredoc", index + 1, last + 1)

        instruction = _make_instruction(
            logical, segments, keyword, keyword_range, flags, args, is_json, trigger, args_range,
            span=Span(first_offset, end_offset), line_span=self.line_span(index, last),
            start_line=index + 1, end_line=last + 1, heredocs=tuple(heredocs),
            comments=tuple(comments), empty_lines=tuple(empty_lines),
        )  # fmt: skip
        self.nodes.append(instruction)
        return last + 1


# The per-instruction argument parsers of BuildKit's dispatch table.
def _args_exec_or_shell(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    if rest == "":
        return [], False
    words = parse_json_array(rest, base)
    if words is not None:
        return words, True
    return [Word(rest, base, base + len(rest))], False


def _args_list(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    words = parse_json_array(rest, base)
    if words is not None:
        return words, True
    return split_whitespace(rest, base), False


def _args_whitespace(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    return split_whitespace(rest, base), False


def _args_string(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    return ([Word(rest, base, base + len(rest))] if rest else []), False


def _args_words(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    return parse_words(rest, escape, base), False


def _args_key_values(keyword: str):
    def parse_pairs(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
        words: list[Word] = []
        for key, value, sep in parse_name_values(rest, keyword, escape, base):
            sep_at = key.end if sep else value.start
            words += [key, value, Word(sep, sep_at, sep_at + len(sep))]
        return words, False

    return parse_pairs


def _args_healthcheck(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    sep = 0
    while sep < len(rest) and not is_space(rest[sep]):
        sep += 1
    if sep == 0:
        return [], False
    nxt = sep
    while nxt < len(rest) and is_space(rest[nxt]):
        nxt += 1
    words, is_json = _args_exec_or_shell(rest[nxt:], base + nxt, escape)
    return [Word(rest[:sep], base, base + sep), *words], is_json


def _args_ignored(rest: str, base: int, escape: str) -> tuple[list[Word], bool]:
    return [], False


_ARG_PARSERS = {
    "add": _args_list,
    "arg": _args_words,
    "cmd": _args_exec_or_shell,
    "copy": _args_list,
    "entrypoint": _args_exec_or_shell,
    "env": _args_key_values("ENV"),
    "expose": _args_whitespace,
    "from": _args_whitespace,
    "healthcheck": _args_healthcheck,
    "label": _args_key_values("LABEL"),
    "maintainer": _args_string,
    "run": _args_exec_or_shell,
    "shell": _args_exec_or_shell,
    "stopsignal": _args_string,
    "user": _args_string,
    "volume": _args_list,
    "workdir": _args_string,
}


def split_instruction(line: str, escape: str, base: int = 0):
    """``newNodeFromLine``: keyword, flags and arguments of one logical line (offsets in ``line``)."""
    text = line[base:]
    left = 0
    while left < len(text) and is_space(text[left]):
        left += 1
    right = len(text)
    while right > left and is_space(text[right - 1]):
        right -= 1
    trimmed = text[left:right]
    parts = WHITESPACE.split(trimmed, maxsplit=1)
    keyword = parts[0]
    keyword_start = base + left
    keyword_range = (keyword_start, keyword_start + len(keyword))
    flags = []
    rest = ""
    rest_start = keyword_range[1]
    if len(parts) == 2:
        after_keyword = keyword_start + len(trimmed) - len(parts[1])
        flag_text = parts[1]
        args_at, flags = extract_flags(flag_text)
        args_raw = flag_text[args_at:]
        lead = 0
        while lead < len(args_raw) and is_space(args_raw[lead]):
            lead += 1
        tail = len(args_raw)
        while tail > lead and is_space(args_raw[tail - 1]):
            tail -= 1
        rest = args_raw[lead:tail]
        rest_start = after_keyword + args_at + lead
        flags = [(f.name, f.value, f.text, after_keyword + f.start, after_keyword + f.end) for f in flags]
    lower = keyword.lower()
    trigger = None
    if lower == "onbuild":
        if rest:
            trigger = split_instruction(line[: rest_start + len(rest)], escape, rest_start)
        words, is_json = [], False
    else:
        words, is_json = _ARG_PARSERS.get(lower, _args_ignored)(rest, rest_start, escape)
    return keyword, keyword_range, flags, words, is_json, trigger, (rest_start, rest_start + len(rest))


def _make_instruction(
    logical, segments, keyword, keyword_range, flags, words, is_json, trigger, args_range, **placement
) -> Instruction:
    pieces = tuple(segments)

    def to_source(start: int, end: int) -> Span:
        return logical_to_source(pieces, start, end)

    trigger_node = None
    if trigger is not None:
        t_keyword, t_range, t_flags, t_words, t_json, t_trigger, t_args = trigger
        trigger_node = _make_instruction(
            logical, segments, t_keyword, t_range, t_flags, t_words, t_json, t_trigger, t_args,
            span=to_source(t_range[0], args_range[1]), line_span=placement["line_span"],
            start_line=placement["start_line"], end_line=placement["end_line"], heredocs=placement["heredocs"],
            comments=(), empty_lines=(),
        )  # fmt: skip
    return Instruction(
        keyword=keyword,
        keyword_span=to_source(*keyword_range),
        span=placement["span"],
        line_span=placement["line_span"],
        start_line=placement["start_line"],
        end_line=placement["end_line"],
        original=logical,
        flags=tuple(Flag(name, value, text, to_source(s, e)) for name, value, text, s, e in flags),
        args=tuple(Arg(w.value, to_source(w.start, w.end)) for w in words),
        json=is_json,
        heredocs=placement["heredocs"],
        trigger=trigger_node,
        args_range=args_range,
        comments=placement["comments"],
        empty_continuation_lines=placement["empty_lines"],
        _segments=tuple(segments),
    )
