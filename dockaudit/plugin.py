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
from dataclasses import dataclass
from inspect import cleandoc
from types import ModuleType
from typing import TYPE_CHECKING

from dockaudit.model import Severity, Violation

if TYPE_CHECKING:
    from dockaudit.context import LintContext

RULE_ID = re.compile(r"^[A-Z]{2,5}\d{3,4}$")
RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
FIX_KINDS = ("none", "safe", "unsafe")
DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


class RuleDefinitionError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RuleDocs:
    what: str
    why: str
    example: str  # a Dockerfile that fires the rule
    use_instead: str  # a Dockerfile that does not

    def markdown(self) -> str:
        return (
            f"## What it does\n{self.what}\n\n## Why is this bad?\n{self.why}\n\n"
            f"## Example\n```dockerfile\n{self.example}```\n\n## Use instead\n```dockerfile\n{self.use_instead}```\n"
        )


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    family: str
    severity: Severity
    summary: str
    docs: RuleDocs
    check: Callable[[LintContext], Iterable[Violation]]
    aliases: tuple[str, ...] = ()
    fix: str = "none"
    enabled: bool = True  # off-by-default rules run only when selected
    pack: str = ""
    target: str = "dockerfile"  # what the check reads: a Dockerfile (LintContext) or a Compose project


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
        return Rule(
            id=id,
            name=name,
            family=family,
            severity=Severity.parse(severity),
            summary=summary,
            docs=parse_docs(id, check.__doc__ or ""),
            check=check,
            aliases=tuple(aliases),
            fix=fix,
            enabled=enabled,
            pack=check.__module__.split(".")[0],
            target=target,
        )

    return make


_SECTION = re.compile(r"^## (.+)$", re.MULTILINE)  # headings and bodies are stripped by the caller
_FENCE = re.compile(r"```(?:dockerfile|Dockerfile|yaml)?\n(.*?)```", re.DOTALL)


def parse_docs(rule_id: str, docstring: str) -> RuleDocs:
    text = cleandoc(docstring)
    parts = _SECTION.split(text)
    sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    missing = [s for s in DOC_SECTIONS if s not in sections]
    if missing:
        raise RuleDefinitionError(f"{rule_id}: docs lack section(s) {', '.join(missing)}")

    def code(section: str) -> str:
        match = _FENCE.search(sections[section])
        if not match:
            raise RuleDefinitionError(f"{rule_id}: '{section}' needs a ```dockerfile block")
        return match.group(1)

    return RuleDocs(sections["What it does"], sections["Why is this bad?"], code("Example"), code("Use instead"))


def rules_in(module: ModuleType) -> list[Rule]:
    """The ``Rule`` objects defined at module level, in definition order."""
    return [value for value in vars(module).values() if isinstance(value, Rule)]
