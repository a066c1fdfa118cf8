"""Stable identities for findings: by rule, file and the instruction's text, not by line numbers.

Baselines and GitLab Code Quality use them, so a finding keeps its identity when lines are
added above it; it changes when the instruction it is about changes.

What is hashed are the bytes of the file name and the file: a surrogate escape (a byte that was not
UTF-8) is hashed as that byte, so any name and any content has a fingerprint, and a valid UTF-8 one
the same fingerprint as before.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from dockaudit.model import FileResult
from dockaudit.model import Finding


def _instruction_text(result: FileResult, finding: Finding) -> str:
    if result.source is None or finding.span is None:
        return finding.source_line.strip()
    for start, end in result.instruction_spans:
        if start <= finding.span.start <= end:
            return " ".join(result.source.text[start:end].split())
    return finding.source_line.strip()


def _bytes(text: str) -> bytes:
    """UTF-8, with surrogate escapes back as the bytes they stand for.  A lone surrogate that is not
    such an escape (only a plugin's own string can hold one) is hashed by its code point."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def fingerprints(results: Iterable[FileResult]) -> dict[int, str]:
    """``id(finding)`` → fingerprint for every finding of ``results``."""
    found: dict[int, str] = {}
    for result in results:
        seen: Counter[tuple[str, str, str, str]] = Counter()
        text = result.source.text if result.source is not None else ""
        for finding in result.findings:
            spanned = text[finding.span.start : finding.span.end] if finding.span and text else ""
            key = (finding.rule, finding.path.replace("\\", "/"), _instruction_text(result, finding), spanned)
            seen[key] += 1
            digest = hashlib.sha256(_bytes("\0".join((*key, str(seen[key]))))).hexdigest()
            found[id(finding)] = digest[:32]
    return found
