"""The precision ledger: hand-judged findings on ``../shared/corpus/real`` and what they say per rule.

Each judged finding is one line of ``tests/ledger/verdicts.jsonl``::

    {"file": "0042.Dockerfile", "rule": "DA204", "line": 12, "instruction": "3f2a9c01b7de",
     "verdict": "real", "reason": "pip install flask: unpinned in a production image"}

The key is (file, rule, line of the instruction the finding is on, a hash of that instruction's
text): a rule that moves its span inside the instruction, or groups several findings on one
instruction into one, keeps its verdicts; a corpus file whose instruction changed no longer matches
(and the test says so). A real finding a rule change gives up on purpose keeps its row with an
``accepted_loss`` reason. Verdicts:

- ``real``: a problem a reviewer would fix;
- ``noise``: true, but not worth a reader's time in a default report;
- ``wrong``: false — the rule misread the file.

``precision`` is (real + noise) / judged — the share of true findings; ``noise share`` is
noise / judged. A rule may be on by default only with precision ≥ 95% and a noise share of at most
``MAX_DEFAULT_NOISE`` (two findings in three worth reading) — with one noise finding of slack, as a
rule with three findings cannot show a share finer than a third. A single wrong finding in a small
sample takes a rule off. ``ALWAYS_ON`` rules are exempt, each with its reason.

Used by ``tests/test_precision_ledger.py`` (the gate) and ``benchmarks/precision.py`` (the maintainer's
table and the sampler that picks findings to judge).
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from dockaudit.compose.lint import lint_compose
from dockaudit.context import Options
from dockaudit.linting.engine import lint_source, load_rules, select_rules
from dockaudit.model import FileResult
from dockaudit.model import Finding, Severity
from dockaudit.plugin import Rule

LEDGER = Path(__file__).parent / "ledger" / "verdicts.jsonl"
VERDICTS = ("real", "noise", "wrong")
MIN_DEFAULT_PRECISION = 0.95
MAX_DEFAULT_NOISE = 1 / 3
# Findings that are not a rule's judgement: BuildKit's own parser rejects these files (dockaudit's
# parser is checked against BuildKit's test cases), so whatever the file is meant to be, it does not build.
ALWAYS_ON = {"DA001": "BuildKit rejects the file: the build fails whatever the file is meant to be"}
SAMPLE_PER_RULE = 20
AS_OF = date(2026, 11, 23)  # the corpus snapshot's date: end-of-life answers move with the date


@dataclass(frozen=True, slots=True)
class Key:
    file: str
    rule: str
    line: int  # first line of the instruction the finding is on
    instruction: str  # 12 hex digits of the instruction's text


@dataclass(frozen=True, slots=True)
class Verdict:
    key: Key
    verdict: str
    reason: str
    accepted_loss: str = ""  # why a rule change stopped reporting this real finding on purpose


@dataclass(frozen=True, slots=True)
class Seen:
    """A finding on the corpus, with what a judge needs to read it."""

    key: Key
    message: str
    text: str  # the instruction (or the line, for findings outside any instruction)


def instruction_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def corpus_rules() -> list[Rule]:
    """Every rule, off-by-default ones included (``--extend-select ALL``), but DA703 (one ShellCheck
    process per RUN): the ledger judges rules whether or not they are on by default."""
    return select_rules(load_rules(), extend_select=["ALL"], ignore=["DA703"])


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if p.is_file() and p.name not in ("README.md", "manifest.tsv"))


@cache
def lint_corpus(corpus: Path) -> tuple[tuple[Path, FileResult], ...]:
    """Every corpus file linted with every rule but DA703, once per test session (the snapshot test
    and the ledger share it). No build context: the corpus folder is not any file's real context."""
    rules = corpus_rules()
    options = Options(use_context=False, as_of=AS_OF)
    return tuple((path, lint_source(path.read_bytes(), str(path), rules, options).slim())
                 for path in corpus_files(corpus))  # fmt: skip


def keyed(path: Path, result: FileResult) -> Iterator[Seen]:
    """One file's findings, keyed for the ledger."""
    source = result.source
    spans = result.instruction_spans
    lines = [(source.position(start).line, source.position(max(end - 1, start)).line, start, end)
             for start, end in spans] if source is not None else []  # fmt: skip
    for finding in result.findings:
        yield _seen(path.name, finding, lines, source)


def _seen(name: str, finding: Finding, lines, source) -> Seen:
    for first, last, start, end in lines:
        if first <= finding.line <= last:
            text = source.text[start:end]
            return Seen(Key(name, finding.rule, first, instruction_hash(text)), finding.message, text)
    text = finding.source_line
    return Seen(Key(name, finding.rule, finding.line, instruction_hash(text)), finding.message, text)


@cache
def lint_compose_corpus(corpus: Path) -> tuple[tuple[Path, FileResult], ...]:
    """Every Compose file of the corpus with the Compose rules, alone: no project folder, no
    build context and no Dockerfiles beside it (what a service builds is not in the corpus)."""
    rules = [r for r in corpus_rules() if r.target == "compose"]
    options = Options(use_context=False, as_of=AS_OF)
    results = []
    for path in corpus_files(corpus):
        for result in lint_compose([path], rules, options, project_directory=corpus):
            if result.path == str(path):
                results.append((path, result))
    return tuple(results)


def corpus_findings(corpus: Path, compose: Path | None = None) -> dict[Key, list[Seen]]:
    """Ledger-keyed findings on the Dockerfile corpus and, given its folder, the Compose corpus (whose
    findings are keyed by the line's text)."""
    found: dict[Key, list[Seen]] = defaultdict(list)
    for path, result in lint_corpus(corpus):
        for seen in keyed(path, result):
            found[seen.key].append(seen)
    for path, result in lint_compose_corpus(compose) if compose is not None else ():
        for finding in result.findings:
            seen = _seen(path.name, finding, [], None)
            found[seen.key].append(seen)
    return dict(found)


def load_ledger(path: Path = LEDGER) -> list[Verdict]:
    """The judged findings; a malformed line is an error naming the line (the ledger is reviewed data)."""
    verdicts: list[Verdict] = []
    if not path.exists():
        return verdicts
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = Key(row["file"], row["rule"], int(row["line"]), row["instruction"])
            verdict, reason = row["verdict"], row["reason"]
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a ledger row ({error})") from None
        if verdict not in VERDICTS or not str(reason).strip():
            raise ValueError(f"{path}:{number}: verdict must be one of {VERDICTS} with a reason")
        verdicts.append(Verdict(key, verdict, reason, row.get("accepted_loss", "")))
    return verdicts


@dataclass(frozen=True, slots=True)
class RuleScore:
    rule: str
    real: int
    noise: int
    wrong: int
    found: int  # findings (ledger keys) of this rule on the corpus now

    @property
    def judged(self) -> int:
        return self.real + self.noise + self.wrong

    @property
    def precision(self) -> float:
        return (self.real + self.noise) / self.judged if self.judged else 0.0

    @property
    def noise_share(self) -> float:
        return self.noise / self.judged if self.judged else 0.0

    @property
    def fit_for_default(self) -> bool:
        noisy = self.noise > max(MAX_DEFAULT_NOISE * self.judged, 1)
        return self.judged > 0 and self.precision >= MIN_DEFAULT_PRECISION and not noisy


def score(verdicts: Iterable[Verdict], found: dict[Key, list[Seen]]) -> dict[str, RuleScore]:
    """Per-rule counts of the verdicts whose finding the rules still report.

    A verdict whose finding is gone counts for nothing here (``gone`` says which): a wrong finding
    that went away was fixed; a real one that went away is a regression the test reports."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        if v.key in found:
            tally[v.key.rule][v.verdict] += 1
    per_rule = Counter(key.rule for key in found)
    rules = set(per_rule) | set(tally)
    return {r: RuleScore(r, tally[r]["real"], tally[r]["noise"], tally[r]["wrong"], per_rule[r]) for r in sorted(rules)}


def gone(verdicts: Iterable[Verdict], found: dict[Key, list[Seen]], verdict: str) -> list[Verdict]:
    """Verdicts whose finding the rules no longer report, but for real findings a rule change gave up
    on purpose (``accepted_loss``, with its reason: the closing notes count them)."""
    return [v for v in verdicts if v.verdict == verdict and v.key not in found and not v.accepted_loss]


def sample(found: dict[Key, list[Seen]], judged: set[Key], per_rule: int = SAMPLE_PER_RULE,
           rules: Iterable[str] | None = None, seed: int = 16) -> list[Seen]:  # fmt: skip
    """Findings to judge next: per rule, enough unjudged ones (spread over files) to bring it to
    ``per_rule`` judged, or all it has."""
    by_rule: dict[str, list[Key]] = defaultdict(list)
    for key in sorted(found, key=lambda k: (k.rule, k.file, k.line)):
        by_rule[key.rule].append(key)
    wanted = set(rules) if rules is not None else None
    chosen: list[Seen] = []
    for rule, keys in sorted(by_rule.items()):
        if wanted is not None and rule not in wanted:
            continue
        missing = per_rule - sum(1 for k in keys if k in judged)
        fresh = [k for k in keys if k not in judged]
        random.Random(f"{seed}:{rule}").shuffle(fresh)
        fresh.sort(key=_one_per_file_first(fresh))
        chosen.extend(found[k][0] for k in fresh[: max(missing, 0)])
    return chosen


def _one_per_file_first(keys: list[Key]):
    """Sort key that takes one finding from each file before a second from any."""
    rank: dict[Key, int] = {}
    seen: Counter[str] = Counter()
    for k in keys:
        rank[k] = seen[k.file]
        seen[k.file] += 1
    return lambda k: rank[k]


def format_table(scores: dict[str, RuleScore], defaults: set[str]) -> str:
    header = f"{'rule':<7} {'on':<3} {'found':>6} {'judged':>6} {'real':>5} {'noise':>5} {'wrong':>5} {'precision':>9}"
    lines = [f"{header} {'noise%':>6}"]
    for s in scores.values():
        lines.append(f"{s.rule:<7} {'yes' if s.rule in defaults else '-':<3} {s.found:>6} {s.judged:>6} {s.real:>5} "
                     f"{s.noise:>5} {s.wrong:>5} {s.precision:>9.1%} {s.noise_share:>6.1%}")  # fmt: skip
    on = [s for s in scores.values() if s.rule in defaults]
    judged = sum(s.judged for s in on)
    if judged:
        true = sum(s.real + s.noise for s in on)
        noise = sum(s.noise for s in on)
        lines.append(f"default set: {judged} judged, precision {true / judged:.1%}, noise share {noise / judged:.1%}")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class DefaultReport:
    """What the default rule set prints on the corpus: findings per file and files failing the gate."""

    files: int
    mean: float
    median: float
    failing: int  # files with a finding at warning or above (the default --fail-on)


def default_report(corpus: Path, defaults: set[str]) -> DefaultReport:
    counts, failing = [], 0
    for _path, result in lint_corpus(corpus):
        shown = [f for f in result.findings if f.rule in defaults]
        counts.append(len(shown))
        failing += any(f.severity >= Severity.WARNING for f in shown)
    return DefaultReport(len(counts), statistics.fmean(counts), statistics.median(counts), failing)
