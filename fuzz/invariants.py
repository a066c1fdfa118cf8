"""What must hold for any input: shared by the atheris harness and the regression tests of its finds."""

from __future__ import annotations

from dockaudit.context import LintContext, Options
from dockaudit.linting.engine import load_rules, check_dockerfile
from dockaudit.linting.fix import fix_text
from dockaudit.syntax import parse
from dockaudit.syntax.parser import DockerfileSyntaxError
from dockaudit.syntax.source import Source

RULES = [r for r in load_rules() if r.target == "dockerfile" and r.id != "DA703"]  # DA703 spawns shellcheck
OPTIONS = Options(use_context=False)


def check_one_input(data: bytes) -> None:
    """Anything that parses re-serialises to the same text, no rule crashes, and ``--fix`` output
    parses, drops no fix, and is a fixed point.  Raises AssertionError otherwise."""
    try:
        tree = parse(data)
    except DockerfileSyntaxError:
        return
    text = Source.from_bytes(data, None).text
    if tree.to_source() != text:
        raise AssertionError("the tree does not re-serialise to the input")
    crashed = [f.message for f in check_dockerfile(LintContext(tree, OPTIONS), RULES) if f.rule == "DA000"]
    if crashed:
        raise AssertionError(f"a rule crashed: {crashed[0]}")
    outcome = fix_text(text, None, RULES, OPTIONS, unsafe=True)
    if outcome.dropped:
        raise AssertionError(f"a fix was dropped: {outcome.dropped[0].message}")
    parse(outcome.text)
    if fix_text(outcome.text, None, RULES, OPTIONS, unsafe=True).text != outcome.text:
        raise AssertionError("--fix is not idempotent")
