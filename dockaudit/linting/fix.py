"""Apply fixes: non-overlapping edits, re-parse, re-lint, repeat to a fixed point.

A fix is only kept when the file still parses afterwards and its instruction
sequence is unchanged, unless the fix declares that it reshapes instructions
(MAINTAINER → LABEL, an added SHELL line).  A fix that breaks either promise is
dropped, reported as an internal error (DA000) and never written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dockaudit.context import Options
from dockaudit.linting.engine import INTERNAL_ERROR, lint_tree
from dockaudit.model import Edit, Finding, Fix, Severity
from dockaudit.plugin import Rule
from dockaudit.records import field, record
from dockaudit.syntax.nodes import Dockerfile
from dockaudit.syntax.parser import DockerfileSyntaxError, parse

MAX_PASSES = 10  # fixes that enable other fixes converge in two or three passes
MAX_RESTARTS = 3  # each restart leaves out fixes that did not remove their own finding


@record(frozen=False, slots=False)
class FixOutcome:
    original: str
    text: str  # the fixed text (== original when nothing applied)
    applied: list[Finding] = field(default_factory=list)  # findings whose fix was applied
    remaining: list[Finding] = field(default_factory=list)  # findings of the final text
    dropped: list[Finding] = field(default_factory=list)  # DA000 reports for fixes that broke the file
    passes: int = 0
    fixed_keys: set[tuple] = field(default_factory=set)  # the findings the last pass fixed
    tree: Dockerfile | None = None  # the fixed text's tree (Dockerfiles only)

    @property
    def changed(self) -> bool:
        return self.text != self.original


def _usable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and bool(finding.fix.edits) and (finding.fix.safe or unsafe)


def _fix_key(finding: Finding) -> tuple:
    fix = finding.fix
    assert fix is not None
    return (finding.rule, tuple((e.span.start, e.span.end, e.replacement) for e in fix.edits))


def _choose(findings: Sequence[Finding], unsafe: bool, refused: set[tuple]) -> list[Finding]:
    """Fixes whose edits overlap no edit already chosen (whole fixes only: all edits or none)."""
    chosen: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for finding in findings:
        if not _usable(finding, unsafe) or _fix_key(finding) in refused:
            continue
        spans = [(e.span.start, e.span.end) for e in finding.fix.edits]  # type: ignore[union-attr]
        if any(_overlaps(s, t) for s in spans for t in taken):
            continue
        chosen.append(finding)
        taken.extend(spans)
    return chosen


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if a[0] == a[1] or b[0] == b[1]:  # insertions collide only at the same point or inside the other
        point, other = (a, b) if a[0] == a[1] else (b, a)
        return other[0] < point[0] < other[1] or point == other
    return a[0] < b[1] and b[0] < a[1]


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits bottom-up; newlines in replacements follow the file's style."""
    crlf = "\r\n" in text and text.count("\r\n") * 2 >= text.count("\n")
    out = text
    for edit in sorted(edits, key=lambda e: (e.span.start, e.span.end), reverse=True):
        replacement = edit.replacement
        if crlf:
            replacement = replacement.replace("\r\n", "\n").replace("\n", "\r\n")
        out = out[: edit.span.start] + replacement + out[edit.span.end :]
    return out


def _shape(tree: Dockerfile) -> list[str]:
    return [i.name for i in tree.instructions]


FindingsFilter = Callable[[list[Finding]], list[Finding]]


def _lint(tree: Dockerfile, rules: Sequence[Rule], options: Options | None, keep: FindingsFilter | None) -> list[Finding]:
    """The report's own lint of ``tree`` (``lint_tree``), through the run's findings filter."""
    kept, _suppressed = lint_tree(tree, rules, options)
    return keep(kept) if keep else kept


def _valid(original: Dockerfile, text: str, fix: Fix, path: str | None) -> Dockerfile | None:
    try:
        tree = parse(text, path)
    except DockerfileSyntaxError:
        return None
    if not fix.reshapes and _shape(tree) != _shape(original):
        return None
    return tree


def _undeclared_keep_shape(original: Dockerfile, text: str, chosen: Sequence[Finding], path: str | None) -> bool:
    """The fixes of a pass that declare no reshape keep the instruction sequence on their own: a pass
    that also inserts a SHELL line may not let another fix add, drop or rename an instruction unnoticed."""
    strict = [f for f in chosen if not f.fix.reshapes]  # type: ignore[union-attr]
    if not strict or len(strict) == len(chosen):
        return True  # all strict: the pass was checked strictly already
    candidate = apply_edits(text, [e for f in strict for e in f.fix.edits])  # type: ignore[union-attr]
    return _valid(original, candidate, Fix("", ()), path) is not None


def _internal_error(finding: Finding, why: str) -> Finding:
    return Finding(
        rule=INTERNAL_ERROR[0], name=INTERNAL_ERROR[1], severity=Severity.ERROR,
        message=f"fix of {finding.rule} dropped: {why}", path=finding.path, line=finding.line,
        column=finding.column, end_line=finding.end_line, end_column=finding.end_column,
    )  # fmt: skip


def fix_text(
    text: str,
    path: str | None,
    rules: Sequence[Rule],
    options: Options | None = None,
    unsafe: bool = False,
    keep: FindingsFilter | None = None,
) -> FixOutcome:
    """Fix ``text`` to a fixed point; raises ``DockerfileSyntaxError`` only if the input itself does not parse.

    ``keep`` is the run's findings filter (per-file ignores, severity overrides): applied on every
    pass, so a finding the configuration turned off is neither fixed nor reported afterwards."""
    stuck: set[tuple] = set()
    dropped: list[Finding] = []
    for _attempt in range(MAX_RESTARTS):
        outcome = _fix_passes(text, path, rules, options, unsafe, stuck, keep)
        outcome.dropped[:0] = dropped
        again = [f for f in outcome.remaining if _usable(f, unsafe) and f.sort_key() in outcome.fixed_keys]
        if not again:
            break
        # A fix that leaves its own finding in place would be applied on every pass (text appended
        # inside an unclosed quote, say): start again without it, and report it.
        stuck.update(f.sort_key() for f in again)
        dropped += [_internal_error(f, "its result still has the finding it fixes") for f in again]
    return outcome


def _fix_passes(
    text: str,
    path: str | None,
    rules: Sequence[Rule],
    options: Options | None,
    unsafe: bool,
    stuck: set[tuple],
    keep: FindingsFilter | None,
) -> FixOutcome:
    tree = parse(text, path)
    outcome = FixOutcome(original=text, text=text)
    refused: set[tuple] = set()
    findings = _lint(tree, rules, options, keep)
    for _pass in range(MAX_PASSES):
        chosen = _choose([f for f in findings if f.sort_key() not in stuck], unsafe, refused)
        if not chosen:
            break
        outcome.passes += 1
        candidate = apply_edits(outcome.text, [e for f in chosen for e in f.fix.edits])  # type: ignore[union-attr]
        merged = Fix("", (), reshapes=any(f.fix.reshapes for f in chosen))  # type: ignore[union-attr]
        new_tree = _valid(tree, candidate, merged, path)
        if new_tree is not None and not _undeclared_keep_shape(tree, outcome.text, chosen, path):
            new_tree = None  # a fix that declared no reshape changed the sequence beside one that did
        if new_tree is None:
            # Find the culprits one fix at a time; the others go ahead in the next pass.
            for finding in chosen:
                single = apply_edits(outcome.text, finding.fix.edits)  # type: ignore[union-attr]
                if _valid(tree, single, finding.fix, path) is None:  # type: ignore[arg-type]
                    refused.add(_fix_key(finding))
                    outcome.dropped.append(_internal_error(finding, "its result does not parse or changes the "
                                                                    "instruction sequence"))  # fmt: skip
            if all(_fix_key(f) in refused for f in chosen):
                continue
            chosen = [f for f in chosen if _fix_key(f) not in refused]
            candidate = apply_edits(outcome.text, [e for f in chosen for e in f.fix.edits])  # type: ignore[union-attr]
            new_tree = _valid(tree, candidate, Fix("", (), reshapes=True), path)
            if new_tree is None:
                break  # the combination breaks although each fix alone does not: stop rather than guess
        outcome.applied.extend(chosen)
        outcome.fixed_keys = {f.sort_key() for f in chosen}
        outcome.text, tree = candidate, new_tree
        findings = _lint(tree, rules, options, keep)
    outcome.remaining, outcome.tree = findings, tree
    return outcome


def fix_compose_text(text: str, findings: Sequence[Finding], unsafe: bool = False) -> FixOutcome:
    """One pass of the compose rules' fixes (they do not enable each other); kept only if the YAML still
    parses to the same services."""
    import yaml

    outcome = FixOutcome(original=text, text=text, remaining=list(findings))
    chosen = _choose(findings, unsafe, set())
    if not chosen:
        return outcome
    candidate = apply_edits(text, [e for f in chosen for e in f.fix.edits])  # type: ignore[union-attr]
    try:
        before, after = yaml.safe_load(text) or {}, yaml.safe_load(candidate) or {}
    except yaml.YAMLError:
        outcome.dropped = [_internal_error(f, "the fixed file is not valid YAML") for f in chosen]
        return outcome
    if sorted(before.get("services") or {}) != sorted(after.get("services") or {}):
        outcome.dropped = [_internal_error(f, "the fix changed the services") for f in chosen]
        return outcome
    outcome.text, outcome.applied, outcome.passes = candidate, list(chosen), 1
    outcome.remaining = [f for f in findings if all(f is not c for c in chosen)]
    return outcome
