"""Report writers: one module per format, each a ``render(results, ...) -> str`` function.

Every string a format writes that came from the input (paths, messages, source lines, errors) goes
through :func:`safe_text` first, fix replacement text through :func:`safe_data` (see ``_safe``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from dockaudit.model import FileResult, Finding, Severity
from dockaudit.report._safe import safe_data, safe_text

__all__ = ["Summary", "finding_url", "human_size", "image_of", "safe_data", "safe_text", "summarize"]

@dataclass(frozen=True)
class Summary:
    files: int
    findings: int
    by_severity: dict[str, int]
    by_rule: list[tuple[str, str, int]]  # (id, name, count), most frequent first
    errors: int  # files that could not be read or parsed


def summarize(results: list[FileResult], findings: list[Finding]) -> Summary:
    severities = Counter(f.severity for f in findings)
    rules = Counter((f.rule, f.name) for f in findings)
    return Summary(
        files=len(results),
        findings=len(findings),
        by_severity={s.label: severities.get(s, 0) for s in sorted(Severity, reverse=True)},
        by_rule=[(rule, name, n) for (rule, name), n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))],
        errors=sum(1 for r in results if r.error),
    )


def finding_url(finding: Finding) -> str | None:
    """The documentation of the rule that reported ``finding`` (text links, JSON ``url``); None for a
    rule no loaded pack has (a finding read back from elsewhere)."""
    from dockaudit.linting.catalogue import docs_url
    from dockaudit.linting.engine import rule_by_id

    rule = rule_by_id(finding.rule)
    return docs_url(rule) if rule is not None and rule.id == finding.rule else None


def human_size(n: int) -> str:
    """``n`` bytes as the reports show sizes: "4.9 KiB", "1.2 GiB", "9 B"."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def image_of(result: FileResult):
    """The ``ImageSummary`` of an image's result (``dockaudit.image.audit.ImageResult``), else None;
    asked of the result so that reports of Dockerfiles never import the image code."""
    return getattr(result, "image", None)
