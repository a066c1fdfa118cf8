"""The rule catalogue as a table, JSON or Markdown, and one rule's full docs."""

from __future__ import annotations

import json

from dockaudit.engine import load_rules
from dockaudit.plugin import Rule


def rule_to_dict(r: Rule) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "family": r.family,
        "severity": r.severity.label,
        "fix": r.fix,
        "enabled": r.enabled,
        "aliases": list(r.aliases),
        "summary": r.summary,
        "pack": r.pack,
    }


def render_catalogue(output_format: str) -> str:
    rules = load_rules()
    if output_format == "json":
        return json.dumps([rule_to_dict(r) for r in rules], indent=2) + "\n"
    if output_format == "markdown":
        lines = ["| id | name | family | severity | fix | aliases | summary |", "|---|---|---|---|---|---|---|"]
        for r in rules:
            off = " (off by default)" if not r.enabled else ""
            lines.append(
                f"| {r.id} | {r.name} | {r.family} | {r.severity.label} | {r.fix} | "
                f"{', '.join(r.aliases)} | {r.summary}{off} |"
            )
        return "\n".join(lines) + "\n"
    rows = [(r.id, r.name, r.family, r.severity.label, r.fix, ",".join(r.aliases), r.summary) for r in rules]
    header = ("ID", "NAME", "FAMILY", "SEVERITY", "FIX", "ALIASES", "SUMMARY")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *rows]:
        out.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(out) + "\n"


def render_rule_docs(r: Rule) -> str:
    meta = [
        f"# {r.id} {r.name}",
        "",
        f"{r.summary}",
        "",
        f"Family: {r.family} · Default severity: {r.severity.label} · Fix: {r.fix}"
        + ("" if r.enabled else " · Off by default (enable with --extend-select)"),
    ]
    if r.aliases:
        meta.append(f"Covers: {', '.join(r.aliases)}")
    return "\n".join(meta) + "\n\n" + r.docs.markdown()
