"""The precision ledger gate: hand-judged findings on ../shared/corpus/real (tests/ledger/verdicts.jsonl).

Fails when a finding judged wrong comes back (one not listed as still open in known_wrong.txt), when a
finding judged real disappears, and when a rule on by default falls below the ledger's bar. Prints the
table (``python -m pytest tests/test_precision_ledger.py -s``; ``python benchmarks/precision.py table``).
"""

from __future__ import annotations

import pytest

from dockaudit.linting.engine import load_rules, select_rules
from tests.conftest import CORPUS
from tests.precision_ledger import (
    ALWAYS_ON,
    LEDGER,
    MAX_DEFAULT_NOISE,
    MIN_DEFAULT_PRECISION,
    SAMPLE_PER_RULE,
    Key,
    RuleScore,
    Seen,
    Verdict,
    corpus_findings,
    format_table,
    gone,
    load_ledger,
    sample,
    score,
)

REAL = CORPUS / "real"
COMPOSE = CORPUS / "compose"
KNOWN_WRONG = LEDGER.parent / "known_wrong.txt"


def _known_wrong() -> set[Key]:
    """Wrong findings still reported, each a bug to fix: ``file rule line instruction`` per line."""
    known: set[Key] = set()
    for line in KNOWN_WRONG.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            file, rule, number, instruction = line.split("#", 1)[0].split()
            known.add(Key(file, rule, int(number), instruction))
    return known


@pytest.fixture(scope="module")
def found():
    if not REAL.exists():
        pytest.skip("../shared/corpus/real is not available")
    return corpus_findings(REAL, COMPOSE if COMPOSE.is_dir() else None)


def test_the_ledger_is_well_formed():
    verdicts = load_ledger()
    assert verdicts, "tests/ledger/verdicts.jsonl is empty"
    ids = {r.id for r in load_rules()}
    assert not {v.key.rule for v in verdicts} - ids, "ledger rows name rules that do not exist"
    keys = [v.key for v in verdicts]
    assert len(keys) == len(set(keys)), "a finding is judged twice"
    assert _known_wrong() <= {v.key for v in verdicts if v.verdict == "wrong"}, (
        "known_wrong.txt lists a finding the ledger does not judge wrong"
    )


def test_no_finding_judged_wrong_comes_back(found):
    verdicts = load_ledger()
    back = [v for v in verdicts if v.verdict == "wrong" and v.key in found and v.key not in _known_wrong()]
    assert back == [], "\n".join(f"{v.key.file}:{v.key.line} {v.key.rule}: judged wrong ({v.reason})" for v in back)


def test_no_finding_judged_real_disappears(found):
    lost = gone(load_ledger(), found, "real")
    assert lost == [], "\n".join(f"{v.key.file}:{v.key.line} {v.key.rule}: judged real ({v.reason})" for v in lost)


def test_rules_on_by_default_meet_the_bar(found):
    scores = score(load_ledger(), found)
    defaults = {r.id for r in select_rules(load_rules())}
    print("\n" + format_table(scores, defaults))
    unjudged = [s.rule for s in scores.values() if s.rule in defaults and s.judged < min(SAMPLE_PER_RULE, s.found)]
    assert unjudged == [], (
        f"rules on by default with too few judged findings (sample with benchmarks/precision.py): {unjudged}"
    )
    below = {s.rule: (f"{s.precision:.0%}", f"noise {s.noise_share:.0%}")
             for s in scores.values()
             if s.rule in defaults and s.judged and not s.fit_for_default and s.rule not in ALWAYS_ON}  # fmt: skip
    assert below == {}, (f"on by default below precision {MIN_DEFAULT_PRECISION:.0%} / above noise {MAX_DEFAULT_NOISE:.0%}: "
                         f"{below}")  # fmt: skip


def _v(rule: str, line: int, verdict: str, file: str = "a") -> Verdict:
    return Verdict(Key(file, rule, line, "0" * 12), verdict, "why")


def test_scores_count_only_findings_still_reported():
    found = {_v("DA1", 1, "real").key: [], _v("DA1", 2, "real").key: [], _v("DA1", 4, "real").key: []}
    verdicts = [_v("DA1", 1, "real"), _v("DA1", 2, "noise"), _v("DA1", 3, "wrong")]  # line 3 was fixed
    s = score(verdicts, found)["DA1"]
    assert (s.real, s.noise, s.wrong, s.found) == (1, 1, 0, 3)
    assert s.precision == 1.0 and s.noise_share == 0.5
    assert gone(verdicts, found, "wrong") == [verdicts[2]]


def test_the_noise_bar_allows_one_noise_finding_of_slack():
    tiny = RuleScore("DA1", real=1, noise=1, wrong=0, found=2)
    all_noise = RuleScore("DA1", real=0, noise=2, wrong=0, found=2)
    many = RuleScore("DA1", real=5, noise=5, wrong=0, found=10)
    one_wrong = RuleScore("DA1", real=30, noise=0, wrong=2, found=32)
    assert tiny.fit_for_default
    assert not all_noise.fit_for_default and not many.fit_for_default and not one_wrong.fit_for_default


def test_sampling_takes_one_finding_per_file_before_a_second():
    keys = [Key(f, "DA1", line, "0" * 12) for f in ("a", "b") for line in (1, 2, 3)]
    found = {k: [Seen(k, "m", "t")] for k in keys}
    picked = sample(found, judged={keys[0]}, per_rule=3)
    assert len(picked) == 2 and {s.key.file for s in picked} == {"a", "b"}


def test_a_malformed_ledger_row_is_an_error_naming_its_line(tmp_path):
    ledger = tmp_path / "verdicts.jsonl"
    ledger.write_text('{"file": "a", "rule": "DA1", "line": 1, "instruction": "x", "verdict": "meh", "reason": "r"}\n')
    with pytest.raises(ValueError, match="verdicts.jsonl:1"):
        load_ledger(ledger)
