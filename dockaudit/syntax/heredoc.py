"""Heredoc words (``<<EOF``, ``<<-'EOF'``, ``3<<EOF`` …) as BuildKit reads them."""

from __future__ import annotations

import re

from dockaudit.records import record
from dockaudit.syntax.expand import ExpansionError, LexOptions, process

# Compiled on first use (by re's cache): most files have no heredoc.
_HEREDOC = r"^(\d*)<<(-?)([^<]*)$"
_BARE_OPERATOR = r"^\d*<<-?$"


class HeredocError(ValueError):
    pass


@record
class HeredocWord:
    name: str
    fd: int
    expand: bool  # False when any part of the delimiter was quoted
    chomp: bool  # ``<<-``: leading tabs are stripped from the body and terminator


def parse_heredoc_word(src: str) -> HeredocWord | None:
    match = re.match(_HEREDOC, src)
    if not match:
        return None
    fd_text, dash, rest = match.groups()
    if rest == "":
        return None
    try:
        plain = process(rest, None, LexOptions(skip_unset=True)).words
        if len(plain) != 1:
            return None
        raw = process(rest, None, LexOptions(skip_unset=True, raw_quotes=True)).words
    except ExpansionError as exc:
        raise HeredocError(str(exc)) from None
    name = plain[0]
    quotes_plain = name.count("'") + name.count('"')
    quotes_raw = raw[0].count("'") + raw[0].count('"') if raw else 0
    return HeredocWord(name, int(fd_text or 0), quotes_plain == quotes_raw, dash == "-")


def heredocs_in_line(line: str) -> list[HeredocWord]:
    """Every heredoc a logical line opens, in order."""
    try:
        words = process(line, None, LexOptions(raw_quotes=True, raw_escapes=True, skip_unset=True)).words
    except ExpansionError:
        words = []
    found: list[HeredocWord] = []
    i = 0
    while i < len(words):
        word = words[i]
        # "<< EOF" and "<<- EOF": the operator and its delimiter are separate words.
        if re.match(_BARE_OPERATOR, word) and i + 1 < len(words):
            word = word + " " + words[i + 1]
            i += 1
        heredoc = parse_heredoc_word(word)
        if heredoc is not None:
            found.append(heredoc)
        i += 1
    return found
