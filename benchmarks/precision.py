"""The precision ledger, for maintainers: per-rule precision and noise share, and findings to judge.

    python benchmarks/precision.py table              # the table the ledger test prints
    python benchmarks/precision.py sample OUT.jsonl   # unjudged findings, SAMPLE_PER_RULE per rule
    python benchmarks/precision.py sample OUT.jsonl --rules DA204,DA206 --per-rule 30

A judge copies a sampled row into ``tests/ledger/verdicts.jsonl`` with ``verdict`` (real, noise,
wrong) and a one-line ``reason``; what the verdicts mean is in ``tests/precision_ledger.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dockaudit.linting.engine import load_rules, select_rules
from tests.precision_ledger import (
    SAMPLE_PER_RULE,
    corpus_findings,
    default_report,
    format_table,
    load_ledger,
    sample,
    score,
)

CORPUS = REPO.parent / "shared" / "corpus" / "real"
COMPOSE = REPO.parent / "shared" / "corpus" / "compose"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("table", "sample"))
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--compose", type=Path, default=COMPOSE)
    parser.add_argument("--rules", default="", help="comma-separated rule ids (sample only)")
    parser.add_argument("--per-rule", type=int, default=SAMPLE_PER_RULE)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"precision: {args.corpus} is not a folder (the shared corpus is needed)", file=sys.stderr)
        return 2
    found = corpus_findings(args.corpus, args.compose if args.compose.is_dir() else None)
    verdicts = load_ledger()
    if args.command == "table":
        defaults = {r.id for r in select_rules(load_rules())}
        print(format_table(score(verdicts, found), defaults))
        report = default_report(args.corpus, defaults)
        print(
            f"default report on {report.files} files: {report.mean:.1f} findings per file (median "
            f"{report.median:g}), {report.failing} files fail the default gate (--fail-on warning)"
        )
        return 0
    if args.out is None:
        parser.error("sample needs OUT")
    rules = [r.strip() for r in args.rules.split(",") if r.strip()] or None
    rows = sample(found, {v.key for v in verdicts}, args.per_rule, rules)
    with args.out.open("w", encoding="utf-8") as out:
        for seen in rows:
            k = seen.key
            out.write(json.dumps({"file": k.file, "rule": k.rule, "line": k.line, "instruction": k.instruction,
                                  "message": seen.message, "text": seen.text[:2000]}) + "\n")  # fmt: skip
    print(f"{len(rows)} findings to judge in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
