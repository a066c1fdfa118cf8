"""The rule-pack interface.  The built-in pack and third-party packs use it alike.

A pack is a module (or any object) with a ``RULES`` sequence of ``Rule``s,
announced through the entry-point group ``dockaudit.rules``::

    [project.entry-points."dockaudit.rules"]
    mypack = "mypack"

A rule is a plain function decorated with ``@rule``; its docstring holds the
docs in four sections (What it does / Why is this bad? / Example / Use instead),
and it yields ``Violation``s for a ``LintContext``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

from dockaudit.model import Severity, Violation
from dockaudit.patterns import lazy_pattern
from dockaudit.records import record

if TYPE_CHECKING:
    from dockaudit.context import LintContext

RULE_ID = lazy_pattern(r"^[A-Z]{2,5}\d{3,4}$")
RULE_NAME = lazy_pattern(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
FIX_KINDS = ("none", "safe", "unsafe")
DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


class RuleDefinitionError(ValueError):
    pass


class RuleDocs:
    """A rule's four doc sections.  A plain class: docs are parsed only by the commands that show
    them, and a generated dataclass would cost every run's start-up ~1 ms."""

    __slots__ = ("what", "why", "example", "use_instead")

    def __init__(self, what: str, why: str, example: str, use_instead: str) -> None:
        self.what = what
        self.why = why
        self.example = example  # a Dockerfile that fires the rule
        self.use_instead = use_instead  # a Dockerfile that does not

    def markdown(self) -> str:
        return (
            f"## What it does\n{self.what}\n\n## Why is this bad?\n{self.why}\n\n"
            f"## Example\n```dockerfile\n{self.example}```\n\n## Use instead\n```dockerfile\n{self.use_instead}```\n"
        )


@record
class Rule:
    id: str
    name: str
    family: str
    severity: Severity
    summary: str
    check: Callable[[LintContext], Iterable[Violation]]  # its docstring holds the docs
    aliases: tuple[str, ...] = ()
    fix: str = "none"
    enabled: bool = True  # off-by-default rules run only when selected
    pack: str = ""
    target: str = "dockerfile"  # what the check reads: a Dockerfile (LintContext) or a Compose project

    @property
    def docs(self) -> RuleDocs:
        """The docs, parsed from the check's docstring when first asked for: a lint run never shows
        them, and parsing 130 docstrings was a tenth of a one-file run's start-up."""
        return parse_docs(self.id, self.check.__doc__ or "")


def rule(
    id: str,
    name: str,
    *,
    family: str,
    severity: str,
    summary: str,
    aliases: Iterable[str] = (),
    fix: str = "none",
    enabled: bool = True,
    target: str = "dockerfile",
) -> Callable[[Callable[[LintContext], Iterable[Violation]]], Rule]:
    """Turn a check function into a ``Rule``; its docstring supplies the docs."""

    def make(check: Callable[[LintContext], Iterable[Violation]]) -> Rule:
        if not RULE_ID.match(id):
            raise RuleDefinitionError(f"{id}: rule ids look like DA401")
        if not RULE_NAME.match(name):
            raise RuleDefinitionError(f"{id}: rule names are kebab-case, got {name!r}")
        if fix not in FIX_KINDS:
            raise RuleDefinitionError(f"{id}: fix must be one of {FIX_KINDS}")
        _require_sections(id, check.__doc__ or "")
        return Rule(
            id=id,
            name=name,
            family=family,
            severity=Severity.parse(severity),
            summary=summary,
            check=check,
            aliases=tuple(aliases),
            fix=fix,
            enabled=enabled,
            pack=check.__module__.split(".")[0],
            target=target,
        )

    return make


# Compiled on first use (by re's cache): only the commands that show docs parse them.
_SECTION = r"^## (.+)$"  # re.MULTILINE; headings and bodies are stripped by the caller
_FENCE = r"```(?:dockerfile|Dockerfile|yaml)?\n(.*?)```"  # re.DOTALL


def _require_sections(rule_id: str, docstring: str) -> None:
    """The cheap part of ``parse_docs``, run when a rule is defined: every section heading is there."""
    missing = [s for s in DOC_SECTIONS if f"## {s}" not in docstring]
    if missing:
        raise RuleDefinitionError(f"{rule_id}: docs lack section(s) {', '.join(missing)}")


@lru_cache(maxsize=None)  # one entry per rule: the docstrings of the installed packs
def parse_docs(rule_id: str, docstring: str) -> RuleDocs:
    """The four sections of a rule's docstring; ``RuleDefinitionError`` when one is missing or an
    example has no fenced block."""
    from inspect import cleandoc  # inspect (with ast, dis, tokenize) is ~3 ms of start-up a lint run skips

    text = cleandoc(docstring)
    parts = re.split(_SECTION, text, flags=re.MULTILINE)
    sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    missing = [s for s in DOC_SECTIONS if s not in sections]
    if missing:
        raise RuleDefinitionError(f"{rule_id}: docs lack section(s) {', '.join(missing)}")

    def code(section: str) -> str:
        match = re.search(_FENCE, sections[section], flags=re.DOTALL)
        if not match:
            raise RuleDefinitionError(f"{rule_id}: '{section}' needs a ```dockerfile block")
        return match.group(1)

    return RuleDocs(sections["What it does"], sections["Why is this bad?"], code("Example"), code("Use instead"))


def rules_in(module: ModuleType) -> list[Rule]:
    """The ``Rule`` objects defined at module level, in definition order."""
    return [value for value in vars(module).values() if isinstance(value, Rule)]
