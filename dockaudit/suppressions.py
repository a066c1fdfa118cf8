"""Inline suppressions: dockaudit's own comments, hadolint's, and BuildKit's ``check=skip``.

* ``# dockaudit: ignore=DA401,DA403 -- reason`` on the comment line(s) right before an
  instruction; ``# dockaudit: ignore`` (no list) silences every rule there.
* ``# dockaudit: ignore-file`` / ``# dockaudit: ignore-file=DA101`` anywhere.
* ``# hadolint ignore=DL3008`` (next instruction), ``# hadolint global ignore=…`` and
  ``# hadolint stage ignore=…`` (up to the end of the stage that follows the comment).
* ``# check=skip=JSONArgsRecommended`` (BuildKit's directive; ``skip=all``).

A code matches a finding by rule id, id prefix, rule name, or an alias the rule
carries; a finding tagged with one specific alias is matched only by that alias.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dockaudit.model import Finding
from dockaudit.plugin import Rule
from dockaudit.syntax.nodes import Blank, Comment, Directive, Dockerfile, Instruction

# Codes run up to "--" or "#" (single dashes allowed); _codes strips the spaces around them.
_DOCKAUDIT = re.compile(r"^dockaudit:\s*(ignore-file|ignore)\s*(?:=([^#-]*(?:-(?!-)[^#-]*)*))?(?:--\s*(.*))?$",
                        re.IGNORECASE)
_HADOLINT = re.compile(r"^hadolint\s+(global\s+|stage\s+)?ignore\s*=\s*([^#\s,]+(?:\s*,\s*[^#\s,]+)*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
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
        return any(code_matches(code, finding, rule) for code in self.codes)


def code_matches(code: str, finding: Finding, rule: Rule | None) -> bool:
    upper = code.upper()
    if upper == finding.rule or (finding.rule.startswith(upper) and upper[:2] == finding.rule[:2]):
        return True
    if finding.alias and finding.alias.upper() == upper:
        return True  # "SC2086" for a ShellCheck finding, "DL3033" for the yum part of DA210
    if rule is None:
        return False
    if code.lower() == rule.name:
        return True
    aliases = {a.upper() for a in rule.aliases}
    if upper not in aliases:
        return False
    return finding.alias is None or finding.alias.upper() == upper


def _codes(text: str | None) -> frozenset[str] | None:
    if text is None or not text.strip():
        return None
    return frozenset(c.strip() for c in text.split(",") if c.strip())


def find_suppressions(dockerfile: Dockerfile) -> list[Suppression]:
    found: list[Suppression] = []
    last_line = dockerfile.source.line_count or 1
    pending: list[tuple[Comment, re.Match, str]] = []
    for node in dockerfile.nodes:
        if isinstance(node, Directive) and node.name.lower() == "check":
            skip = re.search(r"skip\s*=\s*([^;]+)", node.value)
            if skip:
                codes = _codes(skip.group(1))
                everything = codes is not None and any(c.lower() == "all" for c in codes)
                found.append(Suppression(node.line, None if everything else codes, 1, last_line, "buildkit"))
            continue
        if isinstance(node, Comment):
            dockaudit = _DOCKAUDIT.match(node.text)
            hadolint = _HADOLINT.match(node.text)
            if dockaudit and dockaudit.group(1).lower() == "ignore-file":
                codes = _codes(dockaudit.group(2))
                found.append(Suppression(node.line, codes, 1, last_line, "dockaudit", dockaudit.group(3) or ""))
            elif hadolint and hadolint.group(1) and hadolint.group(1).strip().lower() == "global":
                found.append(Suppression(node.line, _codes(hadolint.group(2)), 1, last_line, "hadolint"))
            elif hadolint and hadolint.group(1):
                end = _stage_end(dockerfile, node.line)
                found.append(Suppression(node.line, _codes(hadolint.group(2)), node.line, end, "hadolint"))
            elif dockaudit:
                pending.append((node, dockaudit, "dockaudit"))
            elif hadolint:
                pending.append((node, hadolint, "hadolint"))
            continue
        if isinstance(node, Instruction):
            for comment, match, origin in pending:
                codes = _codes(match.group(2))
                reason = (match.group(3) or "") if origin == "dockaudit" else ""
                found.append(Suppression(comment.line, codes, node.start_line, node.end_line, origin, reason))
            pending = []
        elif isinstance(node, Blank):
            pending = []  # a blank line detaches the comment from the instruction below
    return found


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
