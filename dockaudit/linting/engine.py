"""Rule discovery and execution (selection is ``dockaudit.linting.selectors``; its names are re-exported here).

Findings flow one way: tree → rules → findings.  A rule that raises does not
stop the others: it becomes a DA000 internal-error finding naming the rule.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import import_module
from pathlib import Path

from dockaudit.context import LintContext, Options
from dockaudit.model import FileResult, Finding, Severity, Violation, tree_result
from dockaudit.plugin import Rule
from dockaudit.linting.selectors import matches, rule_named, select_rules, unknown_selectors  # noqa: F401 - API as before
from dockaudit.facts.resources import Resources
from dockaudit.linting.suppressions import Suppression, apply_suppressions, find_suppressions, unused_suppressions
from dockaudit.records import record
from dockaudit.syntax.nodes import Dockerfile
from dockaudit.syntax.parser import DockerfileSyntaxError, parse
from dockaudit.syntax.source import Source, Span

ENTRY_POINT_GROUP = "dockaudit.rules"
BUILTIN_PACK = "dockaudit_rules"
INTERNAL_ERROR = ("DA000", "internal-error")
PARSE_ERROR = ("DA001", "parse-error")


class RulePackError(RuntimeError):
    pass


def rules_of_pack(pack: object, pack_name: str) -> list[Rule]:
    rules = getattr(pack, "RULES", None)
    if rules is None:
        raise RulePackError(f"rule pack {pack_name!r} has no RULES")
    rules = list(rules)
    for r in rules:
        if not isinstance(r, Rule):
            raise RulePackError(f"rule pack {pack_name!r}: {r!r} is not a dockaudit Rule")
    return rules


def announced_packs() -> list[tuple[str, str]]:
    """``(name, "module[:attribute]")`` of every ``dockaudit.rules`` entry point installed on sys.path.

    Read straight from the distributions' ``entry_points.txt``: importing and scanning with
    importlib.metadata costs ~20 ms, a fifth of a pre-commit run, to answer this one question.
    As importlib.metadata does, the first distribution of a name on sys.path wins.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for folder in sys.path:
        try:
            names = sorted(e.name for e in os.scandir(folder or ".") if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue  # zip files and missing folders hold no plugin distributions we can read cheaply
        for name in names:
            distribution = name.rsplit(".", 1)[0].split("-")[0].lower().replace("_", "-")
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                text = Path(folder or ".", name, "entry_points.txt").read_text(encoding="utf-8")
            except OSError:
                continue
            if ENTRY_POINT_GROUP in text:
                found.extend(_entry_points(text, ENTRY_POINT_GROUP))
    return found


def _entry_points(text: str, group: str) -> list[tuple[str, str]]:
    """The ``name = value`` lines of one ``[group]`` section of an entry_points.txt (an INI file)."""
    entries, current = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            current = line.strip("[]").strip()
        elif current == group and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            entries.append((name.strip(), value.strip()))
    return entries


@lru_cache(maxsize=1)
def load_rules() -> tuple[Rule, ...]:
    """The built-in pack, then every pack announced under the ``dockaudit.rules`` entry points."""
    packs: list[tuple[str, object]] = [(BUILTIN_PACK, import_module(BUILTIN_PACK))]
    for name, target in announced_packs():
        module, _, attribute = target.partition(":")
        if module.strip() == BUILTIN_PACK:
            continue  # the built-in pack announces itself too
        pack = import_module(module.strip())
        for part in filter(None, attribute.strip().split(".")):
            pack = getattr(pack, part)
        packs.append((name, pack))
    seen: dict[str, str] = {}
    rules: list[Rule] = []
    for pack_name, pack in packs:
        for r in rules_of_pack(pack, pack_name):
            if r.id in seen:
                raise RulePackError(f"rule {r.id} of pack {pack_name!r} is already defined by {seen[r.id]!r}")
            seen[r.id] = pack_name
            rules.append(r)
    return tuple(rules)


def rule_by_id(rule_id: str) -> Rule | None:
    """The rule ``rule_id`` names exactly: its id, name or an alias."""
    return rule_named(load_rules(), rule_id)


UNUSED_SUPPRESSION = "DA025"  # known only once the suppressions are applied (lint_tree)


@record
class _Placed:
    line: int
    column: int
    end_line: int
    end_column: int


def _place(source: Source, span: Span | None) -> _Placed:
    if span is None:
        return _Placed(1, 1, 1, 1)
    start = source.position(span.start)
    end = source.position(max(span.end, span.start))
    return _Placed(start.line, start.column, end.line, end.column)


def to_finding(r: Rule, violation: Violation, source: Source, path: str,
               line_texts: dict[int, str] | None = None) -> Finding:  # fmt: skip
    """``violation`` as a finding of ``r``; ``line_texts`` (line → text), when given, lets the findings
    of one line share one copy of its text (a 100k-line file has ~40k findings)."""
    placed = _place(source, violation.span)
    line_text = line_texts.get(placed.line) if line_texts is not None else None
    if line_text is None:
        line_text = source.line_text(placed.line) if placed.line <= source.line_count else ""
        if line_texts is not None:
            line_texts[placed.line] = line_text
    return Finding(
        rule=r.id,
        name=r.name,
        severity=violation.severity if violation.severity is not None else r.severity,
        message=violation.message,
        path=path,
        line=placed.line,
        column=placed.column,
        end_line=placed.end_line,
        end_column=placed.end_column,
        stage=violation.stage,
        fix=violation.fix,
        alias=violation.alias,
        span=violation.span,
        source_line=line_text,
    )


Place = Callable[[Rule, Violation], Finding]  # a violation of a rule as a finding of one input


def run_rules(rules: Sequence[Rule], target: str, ctx: object, place: Place, path: str) -> list[Finding]:
    """The one runner: every rule of ``rules`` that checks ``target`` inputs (``dockerfile``, ``compose``
    or ``image``) over ``ctx``, each violation placed by the input's ``place``; sorted findings.

    A rule that raises keeps the findings it yielded before, and adds a DA000 finding on ``path`` that
    names it; the other rules still run."""
    findings: list[Finding] = []
    for r in rules:
        if r.target != target:
            continue
        try:
            findings.extend(place(r, violation) for violation in r.check(ctx))
        except Exception as exc:  # a broken rule must not hide the others' findings
            findings.append(crash_finding(r, exc, path))
    findings.sort(key=Finding.sort_key)
    return findings


def crash_finding(r: Rule, exc: BaseException, path: str) -> Finding:
    """The DA000 finding for rule ``r`` raising ``exc``: the rule, the exception and where it was raised."""
    import traceback  # only for a crash: it pulls in linecache, tokenize and textwrap

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" [{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}]" if frames else ""
    message = f"rule {r.id} ({r.name}) crashed: {type(exc).__name__}: {exc}{where}"
    return Finding(INTERNAL_ERROR[0], INTERNAL_ERROR[1], Severity.ERROR, message, path, 1, 1, 1, 1)


def in_source(source: Source, path: str) -> Place:
    """Placement in a text file (a Dockerfile, a Compose file): the span's lines and columns; the
    findings of one line share one copy of its text (a 100k-line file has ~40k findings)."""
    line_texts: dict[int, str] = {}
    return lambda r, violation: to_finding(r, violation, source, path, line_texts)


def parse_error_finding(error: DockerfileSyntaxError, source: Source, path: str) -> Finding:
    line = min(error.line, max(source.line_count, 1))
    text = source.line_text(line) if source.text else ""
    return Finding(
        rule=PARSE_ERROR[0],
        name=PARSE_ERROR[1],
        severity=Severity.ERROR,
        message=error.message,
        path=path,
        line=line,
        column=1,
        end_line=max(min(error.end_line, source.line_count), line),
        end_column=len(text) + 1,
        source_line=text,
    )


def check_dockerfile(ctx: LintContext, rules: Sequence[Rule]) -> list[Finding]:
    """The Dockerfile rules of ``rules`` over ``ctx``, before any suppression (``lint_tree`` applies them)."""
    path = ctx.path or "-"
    return run_rules(rules, "dockerfile", ctx, in_source(ctx.dockerfile.source, path), path)


def lint_tree(dockerfile: Dockerfile, rules: Sequence[Rule], options: Options | None = None,
              resources: Resources | None = None) -> tuple[list[Finding], list[tuple[Finding, Suppression]]]:  # fmt: skip
    """A parsed file's findings after its inline suppressions, and what they suppressed: what the report
    shows and what every pass of the fix loop judges (``dockaudit.linting.fix``) are this one function.

    DA025 (a suppression that suppresses nothing), when selected, can only be known here, after them."""
    path = dockerfile.path or "-"
    suppressions = find_suppressions(dockerfile)
    found = check_dockerfile(LintContext(dockerfile, options, resources), rules)
    findings, suppressed = apply_suppressions(found, suppressions, rules)
    unused_rule = next((r for r in rules if r.id == UNUSED_SUPPRESSION), None)
    if unused_rule is not None:
        place = in_source(dockerfile.source, path)
        findings += [place(unused_rule, v) for v in unused_suppressions(suppressions, suppressed, rules, dockerfile.source)]
        findings.sort(key=Finding.sort_key)
    return findings, suppressed


def lint_source(data: str | bytes, path: str | None, rules: Sequence[Rule], options: Options | None = None,
                resources: Resources | None = None) -> FileResult:  # fmt: skip
    """Parse and lint one Dockerfile's text; a parse error is the DA001 finding of an errored result."""
    shown = path or "-"
    try:
        dockerfile = parse(data, path)
    except DockerfileSyntaxError as exc:
        source = Source.from_bytes(data, path) if isinstance(data, bytes) else Source(data, path)
        finding = parse_error_finding(exc, source, shown)
        return FileResult(shown, [finding], None, f"line {finding.line}: {exc.message}")
    findings, suppressed = lint_tree(dockerfile, rules, options, resources)
    return tree_result(shown, findings, dockerfile, suppressed=suppressed)
