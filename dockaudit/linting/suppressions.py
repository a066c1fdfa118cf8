"""Inline suppressions: dockaudit's own comments, hadolint's, and BuildKit's ``check=skip``.

* ``# dockaudit: ignore=DA401,DA403 -- reason`` on the comment line(s) right before an
  instruction; ``# dockaudit: ignore`` (no list) silences every rule there.
* ``# dockaudit: ignore-file`` / ``# dockaudit: ignore-file=DA101`` anywhere.
* ``# hadolint ignore=DL3008`` (next instruction), ``# hadolint global ignore=…`` and
  ``# hadolint stage ignore=…`` (up to the end of the stage that follows the comment).
* ``# check=skip=JSONArgsRecommended`` (BuildKit's directive; ``skip=all``).

A code is a selector of ``dockaudit.linting.selectors`` (ids, prefixes, names, aliases, ALL, presets),
matched by its one matcher; a finding tagged with one specific alias is matched only by that alias.
A malformed comment or an unknown code suppresses nothing and is reported (DA026).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from dockaudit.model import Finding, Violation
from dockaudit.plugin import Rule
from dockaudit.linting.selectors import is_hadolint_code, is_known, matches
from dockaudit.records import record
from dockaudit.syntax.nodes import Blank, Comment, Directive, Dockerfile, Instruction
from dockaudit.syntax.source import Source, Span
from dockaudit.patterns import lazy_pattern

# Any comment that starts "dockaudit:" is meant as a directive; one that does not parse is reported.
_DOCKAUDIT_HEAD = lazy_pattern(r"^dockaudit\s*:", re.IGNORECASE)
# Codes run up to "--" or "#" (single dashes allowed); _codes strips the spaces around them.
_DOCKAUDIT = lazy_pattern(r"^dockaudit:\s*(ignore-file|ignore)\s*(?:=([^#-]*(?:-(?!-)[^#-]*)*))?(?:--\s*(.*))?$",
                        re.IGNORECASE)
_HADOLINT_HEAD = lazy_pattern(r"^hadolint\s+(?:(?:global|stage)\s+)?ignore\b", re.IGNORECASE)
_HADOLINT = lazy_pattern(r"^hadolint\s+(global\s+|stage\s+)?ignore\s*=\s*([^#\s,]+(?:\s*,\s*[^#\s,]+)*)", re.IGNORECASE)
_BUILDKIT_SKIP = lazy_pattern(r"skip\s*=\s*([^;]+)")
_DOCKAUDIT_FORM = "`# dockaudit: ignore=ID[,ID...] [-- reason]` or `# dockaudit: ignore-file[=ID,...]`"


@record
class Suppression:
    line: int  # where the comment is
    codes: frozenset[str] | None  # None: every rule
    first_line: int  # the lines it covers (the next instruction, or the whole file)
    last_line: int
    origin: str  # "dockaudit", "hadolint", "buildkit"
    reason: str = ""

    def covers(self, finding: Finding, rule: Rule | None) -> bool:
        if not (self.first_line <= finding.line <= self.last_line):
            return False
        if self.codes is None:
            return True
        return any(matches(code, finding.rule, rule, finding.alias) for code in self.codes)


@record
class _Read:
    """One ignore comment as written: whom it is for, how far it reaches, and what it names."""

    origin: str  # "dockaudit", "hadolint", "buildkit"
    reach: str  # "next" instruction, whole "file", or the "stage" after it
    codes: frozenset[str] | None  # None: every rule
    reason: str = ""
    problem: str = ""  # why it is malformed (then it suppresses nothing)


@record
class CommentProblem:
    """An ignore comment that does not do what it says: malformed, or naming a rule that does not exist.
    ``foreign``: it names another tool's rule dockaudit does not map (advice, not a mistake)."""

    span: Span
    line: int
    message: str
    foreign: bool = False


def _codes(text: str | None) -> frozenset[str] | None:
    if text is None or not text.strip():
        return None
    return frozenset(c.strip() for c in text.split(",") if c.strip())


def _list_problem(text: str) -> str:
    """What is wrong with a list of codes written after '=' ("" when nothing): empty, or not separated
    by commas (``ignore=DA204 DA205``, or a reason without '--')."""
    if not text.replace(",", " ").strip():
        return "the list of rules after '=' is empty: name the rules, or drop '=' to mean every rule"
    spaced = next((c.strip() for c in text.split(",") if len(c.split()) > 1), None)
    if spaced:
        return f"'{spaced}': separate rules with commas and put a reason after '--'"
    return ""


def _read_comment(text: str) -> _Read | None:
    """The ignore comment in ``text`` (a comment's text after "#"), or None when it is none."""
    dockaudit = _DOCKAUDIT.match(text)
    if dockaudit:
        written = dockaudit.group(2)
        reach = "file" if dockaudit.group(1).lower() == "ignore-file" else "next"
        problem = "" if written is None else _list_problem(written)
        return _Read("dockaudit", reach, _codes(written), dockaudit.group(3) or "", problem)
    if _DOCKAUDIT_HEAD.match(text):
        return _Read("dockaudit", "next", None, problem=f"expected {_DOCKAUDIT_FORM}")
    hadolint = _HADOLINT.match(text)
    if hadolint:
        where = (hadolint.group(1) or "").strip().lower()
        reach = {"global": "file", "stage": "stage"}.get(where, "next")
        return _Read("hadolint", reach, _codes(hadolint.group(2)))
    if _HADOLINT_HEAD.match(text):
        return _Read("hadolint", "next", None, problem="a hadolint ignore needs '=' and a list: "
                     "`# hadolint ignore=DL3008[,DL3009]`")  # fmt: skip
    return None


def _read_check_directive(value: str) -> _Read | None:
    """BuildKit's ``# check=skip=A,B`` (``skip=all``: every check) as an ignore of the whole file."""
    skip = _BUILDKIT_SKIP.search(value)
    if not skip:
        return None
    codes = _codes(skip.group(1))
    everything = codes is not None and any(c.lower() == "all" for c in codes)
    return _Read("buildkit", "file", None if everything else codes)


def _ignore_comments(dockerfile: Dockerfile):
    """``(node, _Read)`` for every ignore comment and ``check`` directive, and every other node with None."""
    for node in dockerfile.nodes:
        if isinstance(node, Directive) and node.name.lower() == "check":
            yield node, _read_check_directive(node.value)
        elif isinstance(node, Comment):
            yield node, _read_comment(node.text)
        else:
            yield node, None


def find_suppressions(dockerfile: Dockerfile) -> list[Suppression]:
    """The suppressions the file's comments make; malformed ones make none (``comment_problems`` says so)."""
    found: list[Suppression] = []
    last_line = dockerfile.source.line_count or 1
    pending: list[tuple[int, _Read]] = []
    for node, read in _ignore_comments(dockerfile):
        if read is not None and not read.problem:
            if read.reach == "file":
                found.append(Suppression(node.line, read.codes, 1, last_line, read.origin, read.reason))
            elif read.reach == "stage":
                found.append(Suppression(node.line, read.codes, node.line, _stage_end(dockerfile, node.line),
                                         read.origin))  # fmt: skip
            else:
                pending.append((node.line, read))
        elif isinstance(node, Instruction):
            for line, waiting in pending:
                found.append(Suppression(line, waiting.codes, node.start_line, node.end_line, waiting.origin,
                                         waiting.reason))  # fmt: skip
            pending = []
        elif isinstance(node, Blank):
            pending = []  # a blank line detaches the comment from the instruction below
    return found


def comment_problems(dockerfile: Dockerfile, rules: Sequence[Rule]) -> list[CommentProblem]:
    """Ignore comments that are malformed or name a code no rule of ``rules`` answers to.  A hadolint
    id or a BuildKit check name dockaudit does not map is ``foreign``: the comment may be meant for
    hadolint or BuildKit, which will read it; dockaudit says only that it does not apply here."""
    problems: list[CommentProblem] = []
    for node, read in _ignore_comments(dockerfile):
        if read is None:
            continue
        if read.problem:
            problems.append(CommentProblem(node.span, node.line, f"malformed {read.origin} comment: {read.problem}"))
            continue
        for code in sorted(read.codes or ()):
            if is_known(code, rules):
                continue
            if read.origin == "buildkit" or is_hadolint_code(code):
                owner = "BuildKit check" if read.origin == "buildkit" else "hadolint rule"
                problems.append(CommentProblem(node.span, node.line, f"{owner} '{code}' has no dockaudit "
                                               "counterpart: dockaudit suppresses nothing for it", foreign=True))  # fmt: skip
            else:
                problems.append(CommentProblem(node.span, node.line, f"unknown rule '{code}' in this "
                                               f"{read.origin} comment: it suppresses nothing (see `dockaudit rules`)"))  # fmt: skip
    return problems


def _stage_end(dockerfile: Dockerfile, after_line: int) -> int:
    """The last line of the stage that starts at the first FROM after ``after_line``."""
    froms = [i.start_line for i in dockerfile.instructions if i.name == "FROM"]
    later = [line for line in froms if line > after_line]
    if len(later) >= 2:
        return later[1] - 1
    return dockerfile.source.line_count or after_line


def apply_suppressions(
    findings: Iterable[Finding], suppressions: Sequence[Suppression], rules: Sequence[Rule]
) -> tuple[list[Finding], list[tuple[Finding, Suppression]]]:
    """Split findings into those kept and those suppressed (with the suppression that did it)."""
    by_id = {r.id: r for r in rules}
    kept: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    for finding in findings:
        rule = by_id.get(finding.rule)
        hit = next((s for s in suppressions if s.covers(finding, rule)), None)
        if hit is None:
            kept.append(finding)
        else:
            suppressed.append((finding, hit))
    return kept, suppressed


def unused_suppressions(suppressions: list[Suppression], suppressed: list[tuple[Finding, Suppression]],
                        rules: Sequence[Rule], source: Source) -> list[Violation]:  # fmt: skip
    """DA025's violations: each dockaudit or hadolint comment that suppressed nothing although it names
    a rule of this run (BuildKit's ``check=skip`` names BuildKit's checks, most of which we lack)."""
    used = {id(s) for _f, s in suppressed}
    found = []
    for suppression in suppressions:
        judged = suppression.codes is None or any(matches(code, r.id, r) for code in suppression.codes for r in rules)
        if id(suppression) not in used and suppression.origin != "buildkit" and judged:
            codes = ",".join(sorted(suppression.codes)) if suppression.codes else "all rules"
            line = source.line_start(suppression.line)
            found.append(Violation(Span(line, line + 1), f"this {suppression.origin} comment suppresses nothing "
                                                         f"({codes}): remove it"))  # fmt: skip
    return found
