"""Rule discovery and execution (selection is ``dockaudit.linting.selectors``; its names are re-exported here).

Findings flow one way: tree → rules → findings.  A rule that raises does not
stop the others: it becomes a DA000 internal-error finding naming the rule.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import import_module
from pathlib import Path

from dockaudit.context import LintContext, Options
from dockaudit.model import Finding, Severity, Violation
from dockaudit.plugin import Rule
from dockaudit.linting.selectors import matches, rule_named, select_rules, unknown_selectors  # noqa: F401 - API as before
from dockaudit.linting.suppressions import Suppression, apply_suppressions, find_suppressions
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


UNUSED_SUPPRESSION = "DA025"  # computed here, after the suppressions are applied


@dataclass(frozen=True, slots=True)
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


def run_rules(ctx: LintContext, rules: Sequence[Rule]) -> list[Finding]:
    """Run the Dockerfile rules of ``rules`` (Compose rules run in ``compose_lint``)."""
    source = ctx.dockerfile.source
    path = ctx.path or "-"
    findings: list[Finding] = []
    line_texts: dict[int, str] = {}
    for r in rules:
        if r.target != "dockerfile":
            continue
        try:
            for violation in r.check(ctx):
                findings.append(to_finding(r, violation, source, path, line_texts))
        except Exception as exc:  # a broken rule must not hide the others' findings
            import traceback  # only for a crash: it pulls in linecache, tokenize and textwrap

            where = traceback.extract_tb(exc.__traceback__)[-1]
            findings.append(
                Finding(
                    rule=INTERNAL_ERROR[0],
                    name=INTERNAL_ERROR[1],
                    severity=Severity.ERROR,
                    message=f"rule {r.id} ({r.name}) crashed: {type(exc).__name__}: {exc} "
                    f"[{where.filename.rsplit('/', 1)[-1]}:{where.lineno}]",
                    path=path,
                    line=1,
                    column=1,
                    end_line=1,
                    end_column=1,
                )
            )
    findings.sort(key=Finding.sort_key)
    return findings


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


@dataclass(slots=True)
class FileResult:
    """One file's findings and what later stages (fixes, fingerprints, reports) need of the file.

    ``dockerfile`` (the tree) is for callers in the same process; ``slim()`` drops it, so what a
    ``--jobs`` worker sends back is findings and text, not trees (a tree pickles to ~15 KB a file).
    ``source`` is the text that was linted and ``instruction_spans`` where its instructions are:
    None and () for a file that was not read or not parsed, and for Compose files."""

    path: str
    findings: list[Finding]
    dockerfile: Dockerfile | None  # None when the file did not parse, and in a slim result
    error: str | None = None  # I/O or parse error summary (exit code 2)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)  # silenced by inline comments
    fixed: int = 0  # findings whose fix --fix applied
    source: Source | None = None
    instruction_spans: tuple[tuple[int, int], ...] = ()

    def slim(self) -> FileResult:
        return FileResult(self.path, self.findings, None, self.error, self.suppressed, self.fixed, self.source,
                          self.instruction_spans)  # fmt: skip


def tree_result(path: str, findings: list[Finding], tree: Dockerfile, **rest) -> FileResult:
    """The result of a parsed file: its tree, text and instruction spans."""
    spans = tuple((i.span.start, i.span.end) for i in tree.instructions)
    return FileResult(path, findings, tree, source=tree.source, instruction_spans=spans, **rest)


def lint_source(
    data: str | bytes, path: str | None, rules: Sequence[Rule], options: Options | None = None
) -> FileResult:
    shown = path or "-"
    try:
        dockerfile = parse(data, path)
    except DockerfileSyntaxError as exc:
        source = Source.from_bytes(data, path) if isinstance(data, bytes) else Source(data, path)
        finding = parse_error_finding(exc, source, shown)
        return FileResult(shown, [finding], None, f"line {finding.line}: {exc.message}")
    ctx = LintContext(dockerfile, options)
    suppressions = find_suppressions(dockerfile)
    findings, suppressed = apply_suppressions(run_rules(ctx, rules), suppressions, rules)
    unused_rule = next((r for r in rules if r.id == UNUSED_SUPPRESSION), None)
    if unused_rule is not None:
        used = {id(s) for _f, s in suppressed}
        for suppression in suppressions:
            judged = suppression.codes is None or any(matches(code, r.id, r) for code in suppression.codes for r in rules)
            if id(suppression) not in used and suppression.origin != "buildkit" and judged:
                codes = ",".join(sorted(suppression.codes)) if suppression.codes else "all rules"
                line = dockerfile.source.line_start(suppression.line)
                violation = Violation(Span(line, line + 1), f"this {suppression.origin} comment suppresses nothing "
                                      f"({codes}): remove it")  # fmt: skip
                findings.append(to_finding(unused_rule, violation, dockerfile.source, shown))
        findings.sort(key=Finding.sort_key)
    return tree_result(shown, findings, dockerfile, suppressed=suppressed)
