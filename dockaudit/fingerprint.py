"""Stable identities for findings: by rule, file and the instruction's text, not by line numbers.

Baselines and GitLab Code Quality use them, so a finding keeps its identity when lines are
added above it; it changes when the instruction it is about changes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from dockaudit.engine import FileResult
from dockaudit.model import Finding


def _instruction_text(result: FileResult, finding: Finding) -> str:
    tree = result.dockerfile
    if tree is None or finding.span is None:
        return finding.source_line.strip()
    for instruction in tree.instructions:
        if instruction.span.start <= finding.span.start <= instruction.span.end:
            return " ".join(tree.text(instruction.span).split())
    return finding.source_line.strip()


def fingerprints(results: Iterable[FileResult]) -> dict[int, str]:
    """``id(finding)`` → fingerprint for every finding of ``results``."""
    found: dict[int, str] = {}
    for result in results:
        seen: Counter[tuple[str, str, str, str]] = Counter()
        text = result.dockerfile.source.text if result.dockerfile is not None else ""
        for finding in result.findings:
            spanned = text[finding.span.start : finding.span.end] if finding.span and text else ""
            key = (finding.rule, finding.path.replace("\\", "/"), _instruction_text(result, finding), spanned)
            seen[key] += 1
            digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode("utf-8")).hexdigest()
            found[id(finding)] = digest[:32]
    return found
