"""What ``make GOAL`` runs, read from a Makefile's text: the recipe lines of the goal and of the
prerequisites it depends on, with the variables the Makefile assigns expanded.

Enough of GNU make to answer "does this target download something": explicit rules, ``VAR = value``
assignments (``:=``, ``::=``, ``?=``, ``+=``), ``$(VAR)``/``${VAR}``/``$@``. Pattern rules, functions,
conditionals and included files are not read: what they do stays unknown.
"""

from __future__ import annotations

import re
from dockaudit.patterns import lazy_pattern
from dockaudit.records import field, record

_ASSIGNMENT = lazy_pattern(r"^(?:export\s+|override\s+)?([A-Za-z_][\w.-]*)\s*(::?=|\?=|\+=|=)(.*)$")
_RULE = lazy_pattern(r"^([^\t:#=][^:#=]*)::?(?!=)(.*)$")  # targets: prerequisites (split on whitespace later)
_REFERENCE = lazy_pattern(r"\$[({]([A-Za-z_][\w.-]*)[)}]")
_TARGET_LIMIT = 64  # goals and prerequisites followed: a Makefile is read, not run


@record(frozen=False, slots=False)
class Makefile:
    variables: dict[str, str] = field(default_factory=dict)
    prerequisites: dict[str, list[str]] = field(default_factory=dict)
    recipes: dict[str, list[str]] = field(default_factory=dict)
    default_goal: str | None = None


def _logical_lines(text: str) -> list[str]:
    """Lines with backslash-newline continuations joined (a recipe line keeps its leading tab)."""
    return re.sub(r"[ \t]*\\\r?\n[ \t]*", " ", text).splitlines()


def parse_makefile(text: str) -> Makefile:
    parsed = Makefile()
    current: list[list[str]] = []  # the recipes of the rule being read (one per target it names)
    for line in _logical_lines(text):
        if line.startswith("\t"):
            for recipe in current:
                recipe.append(line.strip().lstrip("@-+"))
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        current = []  # a recipe ends at the next rule, assignment or directive
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            name, operator, value = assignment.groups()
            old = parsed.variables.get(name)
            if operator != "?=" or old is None:
                parsed.variables[name] = f"{old} {value.strip()}" if operator == "+=" and old else value.strip()
            continue
        rule = _RULE.match(line.split("#", 1)[0])
        if rule is None:
            continue
        prerequisites, _, inline = expand(rule.group(2), parsed.variables).partition(";")
        for target in expand(rule.group(1), parsed.variables).split():  # make expands both when it reads them
            if "%" in target:
                continue  # a pattern rule: which files it makes is not read
            parsed.prerequisites.setdefault(target, []).extend(prerequisites.replace("|", " ").split())
            recipe = parsed.recipes.setdefault(target, [])
            if inline.strip():
                recipe.append(inline.strip())
            current.append(recipe)
            if parsed.default_goal is None and not target.startswith("."):
                parsed.default_goal = target
    return parsed


def expand(text: str, variables: dict[str, str], target: str = "") -> str:
    """``$(VAR)`` and ``${VAR}`` replaced by the Makefile's values (nested ones too, a few levels deep)."""
    text = text.replace("$@", target).replace("$$", "$")
    for _ in range(5):
        expanded = _REFERENCE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
        if expanded == text:
            break
        text = expanded
    return text


def goal_recipes(text: str, goals: list[str]) -> list[str]:
    """The expanded recipe lines ``make GOALS`` runs, its prerequisites' included (the default goal when
    none is named); a target the Makefile does not define gives nothing."""
    parsed = parse_makefile(text)
    pending = list(goals) or ([parsed.default_goal] if parsed.default_goal else [])
    seen: set[str] = set()
    lines: list[str] = []
    while pending and len(seen) < _TARGET_LIMIT:
        target = pending.pop(0)
        if target in seen:
            continue
        seen.add(target)
        pending = parsed.prerequisites.get(target, []) + pending
        lines += [expand(line, parsed.variables, target) for line in parsed.recipes.get(target, [])]
    return lines
