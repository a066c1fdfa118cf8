"""Every regular expression in dockaudit and its rule pack, checked statically for catastrophic backtracking.

Dockerfiles and images come from untrusted pull requests; a pattern with catastrophic
backtracking would let one line hang CI.  The patterns are found in the source (calls to
``re.compile``/``re.search``/… with a literal pattern), so a new one is covered without
registering it.  Each is parsed with the standard library's own parser (what the engine runs:
it already turns ``(\\w|\\d)`` into ``[\\w\\d]`` and ``(a|a)`` into ``a(?:|)``) and the tree is
searched for the shapes that make a backtracking engine super-linear:

* exponential: a repeat (upper bound > 1) whose body holds an unbounded repeat that can take
  the characters the rest of the body must take, so one text splits across iterations in
  exponentially many ways — ``(a+)+``, ``(\\w+\\s?)+``, ``(.*a){12}``;
* exponential: alternatives under such a repeat that can begin with the same character, or
  both match nothing — ``(?:\\w|\\d\\d)+``, ``(a|a)*``;
* polynomial: two unbounded repeats that can hand characters to each other, with nothing
  between them that must take a character outside what both accept — ``\\s*\\s*x``, ``.*.*=``,
  ``(.*?)\\s*$``; on a 64 KiB line (BuildKit's limit) a quadratic pattern costs seconds to minutes.
  Such a pair is harmless when nothing after the second repeat can fail (``\\s*(.*)``): the first
  split that lets it match ends the search.  ``re.fullmatch`` counts as a final ``\\Z``.

The analysis is deterministic (no timing) and errs towards reporting: character sets are
over-approximated.  A polynomial pair that only a newline inside the subject can make fail
(``\\s*(.*)$`` on ``"  x\\ny"``) is reported as a warning, not failed: the subjects here are lines
and words.  Possessive repeats and atomic groups never give characters back and count as safe.
Not covered: the quadratic cost of ``re.search`` retrying at every offset of a long run
(``\\s+$`` on spaces then ``x``), which every unanchored pattern with a leading repeat has.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pytest

from tests.conftest import REPO

if sys.version_info >= (3, 11):
    from re import _constants as sre
    from re import _parser as sre_parse
else:  # 3.10: the same parser under its old public names
    import sre_constants as sre
    import sre_parse

_CALLS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}


def _function(node: ast.Call) -> str | None:
    """The ``re`` function a call passes its pattern to: ``re.search(...)`` is "search", and
    ``lazy_pattern(...)`` (dockaudit.patterns: compiled on first use) is "compile"."""
    if isinstance(node.func, ast.Name) and node.func.id == "lazy_pattern":
        return "compile"
    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and node.func.value.id == "re":
        return node.func.attr if node.func.attr in _CALLS else None
    return None


def _flags(node: ast.Call) -> int:
    candidates = [*node.args[1:2]] if _function(node) == "compile" else []
    candidates += [k.value for k in node.keywords if k.arg == "flags"]
    flags = 0
    for expression in candidates:
        names = {n.attr for n in ast.walk(expression) if isinstance(n, ast.Attribute)}
        for name in names:
            flags |= int(getattr(re, name, 0))
    return flags


def literal_patterns() -> list[tuple[str, str | bytes, int, str]]:
    """Each literal pattern with where it is, its flags and the ``re`` function it is passed to."""
    found = []
    for folder in ("dockaudit", "rules"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and node.args and _function(node)):
                    continue
                try:
                    pattern = ast.literal_eval(node.args[0])
                except ValueError:
                    continue  # built at run time (an f-string): not checkable here
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                found.append((where, pattern, _flags(node), _function(node)))
    return found


PATTERNS = literal_patterns()


# --- The pattern as a small tree of character sets -------------------------------------------

# The characters a set is evaluated on: ASCII plus non-ASCII that \w, \d, \s or IGNORECASE treat
# specially (letters, an Arabic-Indic digit, no-break and line separators, Kelvin sign, long s).
_ALPHABET = tuple(range(128)) + tuple(map(ord, "\xa0\xdf\xe9\xff\u017f\u0663\u2028\u212a\u4e2d"))
_EVERYTHING = frozenset(_ALPHABET)


@dataclass(frozen=True, eq=False)
class Char:
    """One character out of ``chars``."""

    chars: frozenset[int]


@dataclass(frozen=True, eq=False)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Alt:
    branches: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Repeat:
    """``body`` between ``low`` and ``high`` times; ``high`` None is unbounded."""

    body: Node
    low: int
    high: int | None
    lazy: bool
    possessive: bool

    @property
    def unbounded(self) -> bool:
        return self.high is None


@dataclass(frozen=True, eq=False)
class ZeroWidth:
    """An anchor (``body`` None) or a lookaround: consumes nothing."""

    text: str
    body: Node | None
    multiline: bool = False  # for ``$``: also matches before any newline


@dataclass(frozen=True, eq=False)
class Atomic:
    body: Node


@dataclass(frozen=True, eq=False)
class BackRef:
    """Whatever a group matched: any characters, possibly none."""

    group: int


Node = Char | Seq | Alt | Repeat | ZeroWidth | Atomic | BackRef

_POSSESSIVE_REPEAT = getattr(sre, "POSSESSIVE_REPEAT", None)  # 3.11+
_ATOMIC_GROUP = getattr(sre, "ATOMIC_GROUP", None)  # 3.11+
_ANCHORS = {sre.AT_BEGINNING: "^", sre.AT_BEGINNING_STRING: r"\A", sre.AT_END: "$", sre.AT_END_STRING: r"\Z",
            sre.AT_BOUNDARY: r"\b", sre.AT_NON_BOUNDARY: r"\B"}


def _case_forms(code: int, flags: int) -> set[int]:
    if not flags & sre.SRE_FLAG_IGNORECASE:
        return {code}
    char = chr(code)
    forms = {char, char.lower(), char.upper(), char.lower().upper(), char.upper().lower()}
    return {ord(form) for form in forms if len(form) == 1}


def _in_category(category: object, code: int, flags: int) -> bool:
    char = chr(code)
    wide = bool(flags & (sre.SRE_FLAG_UNICODE | sre.SRE_FLAG_LOCALE))  # LOCALE: over-approximated as Unicode
    digit = char.isdecimal() if wide else "0" <= char <= "9"
    space = char.isspace() if wide else char in " \t\n\r\f\v"
    word = (char.isalnum() or char == "_") if wide else (char.isascii() and (char.isalnum() or char == "_"))
    verdicts = {sre.CATEGORY_DIGIT: digit, sre.CATEGORY_NOT_DIGIT: not digit, sre.CATEGORY_SPACE: space,
                sre.CATEGORY_NOT_SPACE: not space, sre.CATEGORY_WORD: word, sre.CATEGORY_NOT_WORD: not word}
    if category not in verdicts:
        raise AssertionError(f"the analyser does not know the category {category}")
    return verdicts[category]


def _in_class(items: list, code: int, flags: int) -> bool:
    """Whether ``code`` is in a ``[...]`` class (an IN operand), IGNORECASE honoured."""
    negated = any(op is sre.NEGATE for op, _ in items)
    for form in _case_forms(code, flags):
        for op, operand in items:
            if (op is sre.LITERAL and operand == form) or (op is sre.RANGE and operand[0] <= form <= operand[1]):
                return not negated
            if op is sre.CATEGORY and _in_category(operand, form, flags):
                return not negated
    return negated


def _char_set(op: object, operand: object, flags: int) -> frozenset[int]:
    if op is sre.LITERAL:
        return frozenset(c for c in _ALPHABET if operand in _case_forms(c, flags))
    if op is sre.NOT_LITERAL:
        return frozenset(c for c in _ALPHABET if operand not in _case_forms(c, flags))
    if op is sre.ANY:
        return _EVERYTHING if flags & sre.SRE_FLAG_DOTALL else _EVERYTHING - {ord("\n")}
    if op is sre.IN:
        return frozenset(c for c in _ALPHABET if _in_class(operand, c, flags))
    return frozenset(c for c in _ALPHABET if _in_category(operand, c, flags))  # a bare CATEGORY


def _convert(parsed: sre_parse.SubPattern | list, flags: int) -> Seq:
    return Seq(tuple(_convert_item(op, operand, flags) for op, operand in parsed))


def _convert_item(op: object, operand, flags: int) -> Node:  # noqa: PLR0911 - one case per opcode
    if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN, sre.CATEGORY):
        return Char(_char_set(op, operand, flags))
    if op is sre.SUBPATTERN:
        _group, add_flags, del_flags, body = operand
        return _convert(body, (flags | add_flags) & ~del_flags)
    if op is sre.BRANCH:
        return Alt(tuple(_convert(branch, flags) for branch in operand[1]))
    if op is sre.GROUPREF_EXISTS:
        _group, yes, no = operand
        return Alt((_convert(yes, flags), _convert(no or [], flags)))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, _POSSESSIVE_REPEAT):
        low, high, body = operand
        return Repeat(_convert(body, flags), low, None if high == sre.MAXREPEAT else high,
                      lazy=op is sre.MIN_REPEAT, possessive=op is _POSSESSIVE_REPEAT)
    if op is sre.AT:
        return ZeroWidth(_ANCHORS.get(operand, str(operand)), None, bool(flags & sre.SRE_FLAG_MULTILINE))
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        direction, body = operand
        opener = ("(?=" if op is sre.ASSERT else "(?!") if direction > 0 else ("(?<=" if op is sre.ASSERT else "(?<!")
        return ZeroWidth(opener, _convert(body, flags))
    if op is _ATOMIC_GROUP:
        return Atomic(_convert(operand, flags))
    if op is sre.GROUPREF:
        return BackRef(operand)
    raise AssertionError(f"the analyser does not know the opcode {op}; teach it before relying on it")


def parse(pattern: str | bytes, flags: int = 0, call: str = "search") -> Seq:
    """The pattern as a tree; ``re.fullmatch`` adds an implicit ``\\Z``."""
    parsed = sre_parse.parse(pattern, flags)
    root = _convert(parsed, parsed.state.flags)
    return Seq((*root.items, ZeroWidth(r"\Z", None))) if call == "fullmatch" else root


# --- Properties of a node ---------------------------------------------------------------------


@cache
def nullable(node: Node) -> bool:
    """Whether the node can match the empty string."""
    match node:
        case Char():
            return False
        case Seq(items):
            return all(nullable(item) for item in items)
        case Alt(branches):
            return any(nullable(branch) for branch in branches)
        case Repeat():
            return node.low == 0 or nullable(node.body)
        case Atomic(body):
            return nullable(body)
    return True  # ZeroWidth, BackRef


@cache
def chars(node: Node) -> frozenset[int]:
    """Every character the node can consume."""
    match node:
        case Char(found):
            return found
        case Seq(parts) | Alt(parts):
            return frozenset().union(*(chars(part) for part in parts))
        case Repeat() | Atomic():
            return frozenset() if isinstance(node, Repeat) and node.high == 0 else chars(node.body)
        case BackRef():
            return _EVERYTHING
    return frozenset()  # ZeroWidth


@cache
def edge_chars(node: Node, at_end: bool) -> frozenset[int]:
    """The characters the node's match can begin with (``at_end`` False) or end with."""
    match node:
        case Seq(items):
            found: frozenset[int] = frozenset()
            for item in reversed(items) if at_end else items:
                found |= edge_chars(item, at_end)
                if not nullable(item):
                    break
            return found
        case Alt(branches):
            return frozenset().union(*(edge_chars(branch, at_end) for branch in branches))
        case Repeat() | Atomic():
            return frozenset() if isinstance(node, Repeat) and node.high == 0 else edge_chars(node.body, at_end)
    return chars(node)


def forces_outside(node: Node, allowed: frozenset[int]) -> bool:
    """Whether every match of the node consumes at least one character not in ``allowed``."""
    match node:
        case Char(found):
            return found.isdisjoint(allowed)
        case Seq(items):
            return any(forces_outside(item, allowed) for item in items)
        case Alt(branches):
            return all(forces_outside(branch, allowed) for branch in branches)
        case Repeat():
            return node.low >= 1 and forces_outside(node.body, allowed)
        case Atomic(body):
            return forces_outside(body, allowed)
    return False  # ZeroWidth, BackRef


def children(node: Node) -> tuple[Node, ...]:
    match node:
        case Seq(parts) | Alt(parts):
            return parts
        case Repeat() | Atomic():
            return (node.body,)
        case ZeroWidth(_, body) if body is not None:
            return (body,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in children(node):
        yield from walk(child)


def backtracks(node: Node) -> Iterator[Node]:
    """The node and its descendants that a later failure can backtrack into (not past atomic,
    possessive or lookaround boundaries, whose insides are checked as patterns of their own)."""
    yield node
    if isinstance(node, (Atomic, ZeroWidth)) or (isinstance(node, Repeat) and node.possessive):
        return
    for child in children(node):
        yield from backtracks(child)


def render(node: Node) -> str:
    """The node as regex-like text, for messages (character sets written out from their members)."""
    match node:
        case Char(found):
            return _render_set(found)
        case Seq(items):
            return "".join(render(item) for item in items)
        case Alt(branches):
            return "(?:" + "|".join(render(branch) for branch in branches) + ")"
        case Repeat():
            body = render(node.body)
            if not (isinstance(node.body, Char) or (isinstance(node.body, Seq) and len(node.body.items) == 1
                                                     and isinstance(node.body.items[0], (Char, Alt)))):
                body = f"(?:{body})"
            counts = {(0, None): "*", (1, None): "+", (0, 1): "?"}
            quantifier = counts.get((node.low, node.high), f"{{{node.low},{'' if node.high is None else node.high}}}")
            return body + quantifier + ("?" if node.lazy else "+" if node.possessive else "")
        case ZeroWidth(text, body):
            return text if body is None else f"{text}{render(body)})"
        case Atomic(body):
            return f"(?>{render(body)})"
        case BackRef(group):
            return f"\\{group}"
    raise AssertionError(node)


def _render_set(found: frozenset[int]) -> str:
    if found == _EVERYTHING - {ord("\n")}:
        return "."
    if len(found) == 1:
        return re.escape(chr(next(iter(found))))
    negated = len(found) > len(_ALPHABET) // 2
    members = sorted(_EVERYTHING - found if negated else found)
    runs: list[list[int]] = []
    for code in members:
        if runs and code == runs[-1][1] + 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    shown = "".join(_show(lo) if lo == hi else f"{_show(lo)}-{_show(hi)}" for lo, hi in runs)
    return f"[{'^' if negated else ''}{shown}]"


def _show(code: int) -> str:
    char = chr(code)
    if char.isalnum():
        return char
    return "\\" + char if char.isprintable() else repr(char)[1:-1]


# --- The three shapes ------------------------------------------------------------------------


def exponential_findings(root: Node) -> list[str]:
    """Repeats whose iterations can split the same text in exponentially many ways."""
    findings = []
    alternatives: dict[Alt, Repeat] = {}
    for outer in walk(root):
        if not (isinstance(outer, Repeat) and (outer.high is None or outer.high > 1) and not outer.possessive):
            continue
        for inner, rest in _inner_repeats(outer.body, ()):
            if not any(forces_outside(item, chars(inner)) for item in rest):
                findings.append(f"{render(outer)} repeats {render(inner)}, and nothing else its body must match "
                                "stops one iteration's characters from being taken by another's")
        for node in backtracks(outer.body):
            if isinstance(node, Alt):
                alternatives.setdefault(node, outer)
    for alternation, outer in alternatives.items():
        branches = alternation.branches
        for i, one in enumerate(branches):
            for other in branches[i + 1:]:
                if _may_match_alike(one, other):
                    findings.append(f"{render(outer)} repeats alternatives {render(one) or '(empty)'} and "
                                    f"{render(other) or '(empty)'} that can match the same text")
    return findings


def _may_match_alike(one: Node, other: Node) -> bool:
    """Whether two alternatives can begin with the same character, or both match nothing (the
    parser turns ``(a|a)`` into ``a(?:|)``: two empty alternatives, each retried)."""
    if nullable(one) and nullable(other):
        return True
    return not edge_chars(one, at_end=False).isdisjoint(edge_chars(other, at_end=False))


def _inner_repeats(node: Node, rest: tuple[Node, ...]) -> Iterator[tuple[Repeat, tuple[Node, ...]]]:
    """The unbounded repeats inside a repeat's body, each with what the body must match besides it."""
    match node:
        case Seq(items):
            for i, item in enumerate(items):
                yield from _inner_repeats(item, rest + items[:i] + items[i + 1:])
        case Alt(branches):
            for branch in branches:
                yield from _inner_repeats(branch, rest)
        case Repeat() if not node.possessive:
            if node.unbounded:
                yield node, rest
            yield from _inner_repeats(node.body, rest)


@dataclass
class _Follow:
    """Which atom can come right after which (Glushkov's construction), for one backtracking scope."""

    after: dict[Node, set[Node]]

    def link(self, ends: set[Node], starts: set[Node]) -> None:
        for end in ends:
            self.after.setdefault(end, set()).update(starts)

    def build(self, node: Node, scopes: list[tuple[Node, bool]]) -> tuple[set[Node], set[Node], bool]:
        """First atoms, last atoms and nullability of ``node``.  An unbounded repeat, an atomic
        group or a back reference is one opaque atom; its body goes to ``scopes``."""
        match node:
            case Seq(items):
                first: set[Node] = set()
                last: set[Node] = set()
                empty = True
                for item in items:
                    item_first, item_last, item_empty = self.build(item, scopes)
                    self.link(last, item_first)
                    first |= item_first if empty else set()
                    last = item_last | (last if item_empty else set())
                    empty = empty and item_empty
                return first, last, empty
            case Alt(branches):
                built = [self.build(branch, scopes) for branch in branches]
                return (set().union(*(b[0] for b in built)), set().union(*(b[1] for b in built)),
                        any(b[2] for b in built))
            case Repeat() if not node.unbounded:
                if node.high == 0:
                    return set(), set(), True
                first, last, empty = self.build(node.body, scopes)
                if node.high > 1:
                    self.link(last, first)  # one copy of the body stands for every iteration
                return first, last, empty or node.low == 0
            case ZeroWidth(_, body):
                if body is not None:
                    scopes.append((body, False))
                return set(), set(), True
        if isinstance(node, (Repeat, Atomic)):
            scopes.append((node.body, isinstance(node, Repeat)))
        return {node}, {node}, nullable(node)


def polynomial_findings(root: Node, lines: bool = False) -> list[str]:
    """Pairs of unbounded repeats that can pass characters between them (quadratic or worse).

    ``lines``: only for subjects without a newline (one line of a file), where ``.`` takes
    every character and ``$`` after a run of them cannot fail."""
    findings = []
    scopes: list[tuple[Node, bool]] = [(root, False)]
    while scopes:
        body, loops = scopes.pop()
        follow = _Follow({})
        first, last, _ = follow.build(body, scopes)
        if loops:
            follow.link(last, first)  # the body of an unbounded repeat follows itself
        atoms = set(follow.after).union(first, *follow.after.values())
        repeats = [atom for atom in atoms if isinstance(atom, Repeat) and atom.unbounded]
        for giver in repeats:
            if giver.possessive:
                continue  # gives nothing back
            for taker in repeats:
                if taker is not giver and _pass_characters(follow, giver, taker, lines) and _can_fail_after(
                    root, taker, lines
                ):
                    findings.append(f"{render(giver)} and {render(taker)} can trade characters: "
                                    "each way of splitting them is tried")
    return findings


def _pass_characters(follow: _Follow, giver: Repeat, taker: Repeat, lines: bool) -> bool:
    """Whether ``taker`` can re-match what ``giver`` gives back, with nothing mandatory between
    them that neither of them accepts."""
    subject = _LINE if lines else _EVERYTHING
    if edge_chars(giver, at_end=True).isdisjoint(edge_chars(taker, at_end=False) & subject):
        return False
    shared = chars(giver) & chars(taker) & subject
    seen: set[Node] = set()
    pending = list(follow.after.get(giver, ()))
    while pending:
        atom = pending.pop()
        if atom is taker:
            return True
        if atom in seen or forces_outside(atom, shared):
            continue
        seen.add(atom)
        pending.extend(follow.after.get(atom, ()))
    return False


_LINE = _EVERYTHING - {ord("\n")}
_CANNOT_MATCH = Char(frozenset())  # stands for a continuation that may fail


def _can_fail_after(root: Node, taker: Repeat, lines: bool) -> bool:
    """Whether the match can still fail once ``taker`` has matched.  If it cannot, the first
    split that lets ``taker`` match at all ends the search, so no split is retried: a taker of
    one character class either matches at once or fails at its first character."""
    if not (isinstance(taker.body, Seq) and len(taker.body.items) == 1 and isinstance(taker.body.items[0], Char)):
        return True
    reaches_end = _runs_to_end(taker, lines)
    continuation = _continuation(root, taker)
    for item in (_CANNOT_MATCH,) if continuation is None else continuation:
        if isinstance(item, ZeroWidth) and item.body is None and item.text in ("$", r"\Z"):
            if reaches_end or (item.text == "$" and item.multiline and _runs_to_end(taker, lines=True)):
                continue
            return True
        if not nullable(item) or any(isinstance(node, (ZeroWidth, BackRef)) for node in walk(item)):
            return True
        reaches_end = reaches_end or _ends_with_run_to_end(item, lines)
    return False


def _runs_to_end(repeat: Repeat, lines: bool) -> bool:
    """Whether the repeat takes every character the subject can hold, up to its end."""
    return repeat.unbounded and not repeat.possessive and chars(repeat) >= (_LINE if lines else _EVERYTHING)


def _ends_with_run_to_end(node: Node, lines: bool) -> bool:
    match node:
        case Repeat():
            return _runs_to_end(node, lines)
        case Seq(items):
            return bool(items) and _ends_with_run_to_end(items[-1], lines)
    return False


def _continuation(node: Node, target: Node) -> tuple[Node, ...] | None:
    """What the pattern must match after ``target`` (None if ``target`` is not in ``node``);
    inside a repeat of more than once, an atomic group or a lookaround this is not worked out:
    it may fail."""
    if node is target:
        return ()
    match node:
        case Seq(items):
            for i, item in enumerate(items):
                found = _continuation(item, target)
                if found is not None:
                    return found + items[i + 1:]
        case Alt(branches):
            for branch in branches:
                found = _continuation(branch, target)
                if found is not None:
                    return found
        case Repeat(body) if node.high == 1:  # an optional part: what follows it follows
            return _continuation(body, target)
        case _:
            if any(_continuation(child, target) is not None for child in children(node)):
                return (_CANNOT_MATCH,)
    return None


def findings(pattern: str | bytes, flags: int = 0, call: str = "search") -> list[str]:
    """What fails the test: exponential shapes, and polynomial ones that need no newline."""
    root = parse(pattern, flags, call)
    return exponential_findings(root) + polynomial_findings(root, lines=True)


def newline_findings(pattern: str | bytes, flags: int = 0, call: str = "search") -> list[str]:
    """Polynomial shapes that need a newline before the end of the subject (reported, not failed)."""
    root = parse(pattern, flags, call)
    on_lines = set(polynomial_findings(root, lines=True))
    return [finding for finding in polynomial_findings(root) if finding not in on_lines]


# --- The tests ---------------------------------------------------------------------------------


def test_the_patterns_are_found():
    assert len(PATTERNS) > 100  # the scan itself works (today: ~170 patterns)


@pytest.mark.parametrize(("where", "pattern", "flags", "call"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_no_catastrophic_backtracking(where: str, pattern: str | bytes, flags: int, call: str):
    assert findings(pattern, flags, call) == [], f"{where}: {pattern!r}"
    for finding in newline_findings(pattern, flags, call):  # subjects here are lines or words: reported only
        warnings.warn(f"{where}: {finding} if the subject holds a newline before its end", stacklevel=1)


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+$", r"(a|a)*$", r"(\w+\s?)+$", r"(a*)*b", r"([a-z]+)*[0-9]", r"(.*a){12}", r"(?:\w|\d\d)+$",
     r"(?i)(?:[a-z]+K)+", r"(?:a+?)+$", r"(?:x|(a+))+$", r"(?:(?:a+)?b?)*c", r"((?:ab)|a(?:b))*c"],
)
def test_the_analyser_flags_exponential_patterns(pattern: str):
    assert exponential_findings(parse(pattern))


@pytest.mark.parametrize(
    ("pattern", "flags", "call"),
    [(r"\s*\s*x", 0, "search"), (r"\d+\d+", 0, "fullmatch"), (r".*.*=", 0, "search"), (r"(.*?)\s*$", 0, "match"),
     (r".*x.*=", 0, "search"), (r"(?:x\d+)*\d*!", 0, "search"), (r"(?:\s*x\s*)+!", 0, "search"),
     (r"(?:\.\d+){0,2}\d*!", 0, "search"), (r"(?=.*.*=)", 0, "search"), (r"\d*\w*", 0, "fullmatch"),
     (r"^a\s*(?:--)?\s*x", 0, "match"), (r"\s*(?:x|\s*)$", re.MULTILINE, "search")],
)
def test_the_analyser_flags_polynomial_patterns(pattern: str, flags: int, call: str):
    assert polynomial_findings(parse(pattern, flags, call), lines=True)


@pytest.mark.parametrize(
    "pattern",
    [r"^[a-z]+(?:\.[a-z]+)*$", r"\s+$", r'[^"]*"', r"([ugoa]*)[+=]([rwxXst]*)", r'(?:\\.|[^\\"])*"',
     r"\d+\.\d+", r"\s*:\s*", r"[a-z0-9]+(?:[._/-][a-z0-9]+)*", r"(?:\d+x)*\d*", r"(?:a+b)+", r".*\d[a-z]*=",
     rb"#define\s+CUDNN_MAJOR\s+(\d+)", r"(?s)(\w+)=(?:.*?);", r"(a)\1", r"(\w|\d)+$", r"\d*\w*",
     r"^(\w+)\s*=?\s*([\w.]*)", r"(?s)\s*(.*)$", r"(?m)^\s*(.*)$", r"(?:a\s*(?:=.*)?)?$"],
)
def test_the_analyser_passes_linear_patterns(pattern: str | bytes):
    assert findings(pattern) == []
    assert newline_findings(pattern) == []


@pytest.mark.parametrize("pattern", [r"^pip\s*:\s*(.*)$", r"^gcc[\w.-]*(?:=.*|-\d.*)?$", r"\s*(.*)\Z"])
def test_a_split_that_only_a_newline_makes_fail_is_reported_not_failed(pattern: str):
    assert findings(pattern, 0, "match") == []
    assert newline_findings(pattern, 0, "match")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="possessive repeats and atomic groups arrived in 3.11")
@pytest.mark.parametrize("pattern", [r"(a++)+$", r"(?>a+)+$", r"(a+)++$", r"\s*+\s*x", r"(?>.*).*="])
def test_possessive_and_atomic_give_nothing_back(pattern: str):
    assert findings(pattern) == []


@pytest.mark.parametrize(
    ("pattern", "flags", "inside", "outside"),
    [(r".", 0, "a", "\n"), (r".", re.DOTALL, "\n", ""), (r"a", re.IGNORECASE, "A", "b"),
     (r"(?i:k)", 0, "\u212a", "j"), (r"[^a-z]", re.IGNORECASE, "1", "Q"), (r"\d", 0, "\u0663", "a"),
     (r"\d", re.ASCII, "7", "\u0663"), (r"\w", 0, "\xe9", "-"), (r"\s", 0, "\xa0", "x"), (r"[^\S\n]", 0, " ", "\n"),
     (r"[-z]", 0, "-", "a"), (rb"\w", 0, "a", "\xe9"), (r"[^a]", 0, "\u4e2d", "a")],
)
def test_character_sets(pattern: str | bytes, flags: int, inside: str, outside: str):
    (char,) = [node for node in walk(parse(pattern, flags)) if isinstance(node, Char)]
    assert ord(inside) in char.chars
    assert not outside or ord(outside) not in char.chars
