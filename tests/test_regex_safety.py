"""Every regular expression in dockaudit and its rule pack, run against adversarial strings.

Dockerfiles and images come from untrusted pull requests; a pattern with catastrophic
backtracking would let one line hang CI.  The patterns are found in the source (calls to
``re.compile``/``re.search``/… with a literal pattern), so a new one is covered without
registering it.  Each string is a long run of a character or a pair of characters the pattern
mentions, ended by a character that makes the match fail late — the shape that makes
backtracking engines go exponential or polynomial.
"""

from __future__ import annotations

import ast
import re
import signal

import pytest

from tests.conftest import REPO

_CALLS = {"compile", "search", "match", "fullmatch", "findall", "finditer", "sub", "subn", "split"}
_BUDGET_SECONDS = 3  # per pattern, for ~400 strings of 3,000 characters: linear patterns need ~0.05 s
_LENGTH = 3000


def _flags(node: ast.Call) -> int:
    candidates = [*node.args[1:2]] if node.func.attr == "compile" else []  # type: ignore[attr-defined]
    candidates += [k.value for k in node.keywords if k.arg == "flags"]
    flags = 0
    for expression in candidates:
        names = {n.attr for n in ast.walk(expression) if isinstance(n, ast.Attribute)}
        for name in names:
            flags |= int(getattr(re, name, 0))
    return flags


def literal_patterns() -> list[tuple[str, str | bytes, int]]:
    found = []
    for folder in ("dockaudit", "rules"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                    continue
                if node.func.attr not in _CALLS or not (
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                ):
                    continue
                try:
                    pattern = ast.literal_eval(node.args[0])
                except ValueError:
                    continue  # built at run time (an f-string): not checkable here
                found.append((f"{path.relative_to(REPO)}:{node.lineno}", pattern, _flags(node)))
    return found


PATTERNS = literal_patterns()


def _adversarial(pattern: str) -> list[str]:
    mentioned = sorted({c for c in pattern if c.isprintable()} | set(" \t\n\\/.-=:$a0"))
    singles = [c * _LENGTH for c in mentioned]
    common = [c for c in mentioned if c.isalnum() or c in " \t/.-=:_@\\"][:14]
    pairs = [(a + b) * (_LENGTH // 2) for a in common for b in common if a != b]
    return [s + end for s in singles + pairs for end in ("\x00", "!")]


class _TooSlow(Exception):
    pass


def _interrupt(_signum, _frame):
    raise _TooSlow


def test_the_patterns_are_found():
    assert len(PATTERNS) > 100  # the scan itself works (today: ~170 patterns)


@pytest.mark.parametrize(("where", "pattern", "flags"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_no_catastrophic_backtracking(where: str, pattern: str | bytes, flags: int):
    compiled = re.compile(pattern, flags)
    text_pattern = pattern if isinstance(pattern, str) else pattern.decode("latin-1")
    strings = _adversarial(text_pattern)
    previous = signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, _BUDGET_SECONDS)
    try:
        for text in strings:
            subject = text if isinstance(pattern, str) else text.encode("utf-8")
            compiled.search(subject)
    except _TooSlow:
        pytest.fail(f"{where}: {pattern!r} needs more than {_BUDGET_SECONDS} s for adversarial input")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_guard_interrupts_a_catastrophic_pattern():
    compiled = re.compile(r"^(a+)+$")
    previous = signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(_TooSlow):  # the alarm interrupts the regex engine mid-match
            compiled.search("a" * 40 + "!")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
