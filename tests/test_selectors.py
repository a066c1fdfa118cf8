"""The one selector grammar: flags, config and inline comments mean the same rules by every code;
presets; malformed and unknown ignore comments are findings (DA026)."""

from __future__ import annotations

from dockaudit import records
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.config import Config, apply_config
from dockaudit.linting.engine import lint_source, load_rules, rule_by_id, select_rules, unknown_selectors
from dockaudit.model import Finding, Severity
from dockaudit.plugin import rule
from dockaudit.linting.selectors import PRESETS, presets_of
from dockaudit.linting.suppressions import find_suppressions
from dockaudit.linting.selectors import names_part
from dockaudit.syntax.parser import parse

RULES = load_rules()
EVERY_RULE = {r.id for r in RULES}

# Every form of the grammar, and codes that name nothing (D is no prefix: a prefix keeps the letters).
SELECTORS = [
    "DA204", "da204", "DA2", "DA20", "DA", "DA0", "D", "apt-unpinned", "APT-UNPINNED", "DL3008", "dl3033",
    "JSONArgsRecommended", "jsonargsrecommended", "ALL", "all", "recommended", "security", "ml", "reproducible",
    "size", "hadolint", "SC2086", "DA999", "DL9999", "nope",
]  # fmt: skip


def _finding(rule_id: str, alias: str | None = None) -> Finding:
    r = rule_by_id(rule_id)
    return Finding(rule_id, r.name if r else "", Severity.WARNING, "m", "Dockerfile", 2, 1, 2, 1, alias=alias)


def named_by_flags(code: str) -> set[str]:
    """The rules ``code`` names on the command line: what select + extend-select of it runs."""
    return {r.id for r in select_rules(RULES, select=[code], extend_select=[code])}


def ignored_by_flags(code: str) -> set[str]:
    """What ``--ignore code`` silences: rules it deselects, and findings the run's filter drops for a
    code that names one part of a rule (``names_part``: the rule stays on, that part's findings go)."""
    selected = select_rules(RULES, select=["ALL"], extend_select=["ALL"], ignore=[code])
    parts = (code,) if any(names_part(code, r) for r in RULES) else ()
    kept = apply_config([_finding(r.id) for r in selected], Config(), "Dockerfile", {r.id: r for r in RULES}, parts)
    return EVERY_RULE - {f.rule for f in kept}


def silenced_by_comment(code: str, comment: str = "dockaudit: ignore-file=") -> set[str]:
    (suppression,) = find_suppressions(parse(f"# {comment}{code}\nFROM a\n"))
    return {r.id for r in RULES if suppression.covers(_finding(r.id), r)}


def ignored_by_config(code: str) -> set[str]:
    config = Config(per_file_ignores={"*": (code,)})
    by_id = {r.id: r for r in RULES}
    kept = apply_config([_finding(r.id) for r in RULES], config, "Dockerfile", by_id)
    return EVERY_RULE - {f.rule for f in kept}


def overridden_by_config(code: str) -> set[str]:
    config = Config(severity={code: Severity.STYLE})
    by_id = {r.id: r for r in RULES}
    return {f.rule for f in apply_config([_finding(r.id) for r in RULES], config, "Dockerfile", by_id)
            if f.severity is Severity.STYLE}  # fmt: skip


@pytest.mark.parametrize("code", SELECTORS)
def test_flags_config_and_comments_name_the_same_rules(code):
    rules = named_by_flags(code)
    assert ignored_by_flags(code) == rules
    assert silenced_by_comment(code) == rules
    assert silenced_by_comment(code, "hadolint global ignore=") == rules
    assert ignored_by_config(code) == rules
    assert overridden_by_config(code) == rules
    assert (unknown_selectors(RULES, [code]) == [code]) == (not rules and code.lower() not in PRESETS)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("DA204", {"DA204"}),
        ("da20", {f"DA20{i}" for i in range(1, 10)}),
        ("DL3033", {"DA210"}),
        ("json-args", {"DA008"}),
        ("JSONArgsRecommended", {"DA008"}),
        ("SC2086", {"DA703"}),
        ("D", set()),  # was every rule for --select and none for a comment
        ("ALL", EVERY_RULE),  # was every rule for --select and none for a comment
    ],
)
def test_what_a_code_names(code, expected):
    assert named_by_flags(code) == expected


def test_one_code_of_several_on_a_rule_matches_only_that_part_in_comments_and_config():
    yum, dnf = _finding("DA210", "DL3033"), _finding("DA210", "DL3041")
    da210 = rule_by_id("DA210")
    (suppression,) = find_suppressions(parse("# hadolint global ignore=DL3033\nFROM a\n"))
    assert suppression.covers(yum, da210) and not suppression.covers(dnf, da210)
    kept = apply_config([yum, dnf], Config(per_file_ignores={"*": ("DL3033",)}), "Dockerfile", {"DA210": da210})
    assert kept == [dnf]


# A Dockerfile that fires rules of many families, linted with every rule that reads it.
WIDE = (
    "FROM ubuntu\nMAINTAINER me\nRUN apt-get update && apt-get install curl wget && pip install flask\n"
    "RUN cd /app && sudo chmod 777 /app\nADD app.tar.gz /app\nCMD python app.py\n"
)
PLAIN = [r for r in select_rules(RULES, select=["ALL"], extend_select=["ALL"], ignore=["DA022", "DA025", "DA026"])]


@pytest.mark.parametrize("code", ["DA2", "DA204", "DL3008", "apt-unpinned", "security", "reproducible", "size",
                                  "hadolint", "ml", "recommended", "ALL", "DA4", "DL4000"])  # fmt: skip
def test_ignore_flag_and_ignore_file_comment_leave_the_same_findings(code):
    by_flag = lint_source(WIDE, None, select_rules(PLAIN, select=["ALL"], extend_select=["ALL"], ignore=[code]))
    parts = (code,) if any(names_part(code, r) for r in RULES) else ()  # the run's filter takes a part's code
    by_flag.findings = apply_config(by_flag.findings, Config(), "Dockerfile", {r.id: r for r in RULES}, parts)
    by_comment = lint_source(f"# dockaudit: ignore-file={code}\n" + WIDE, None, PLAIN)
    assert sorted((f.rule, f.message) for f in by_flag.findings) == sorted(
        (f.rule, f.message) for f in by_comment.findings
    )
    everything = lint_source(WIDE, None, PLAIN).findings
    assert len(by_comment.suppressed) == len(everything) - len(by_flag.findings)


# --- comments dockaudit cannot use: DA026 ---------------------------------------------------------

PROBLEMS = [
    # (comment, severity or None when valid, words the message says)
    ("# dockaudit: ignore DA008", "warning", "malformed dockaudit comment"),
    ("# dockaudit: ignore=", "warning", "empty"),
    ("# dockaudit: ignore= -- no list", "warning", "empty"),
    ("# dockaudit: ignore=,", "warning", "empty"),
    ("# dockaudit: ignore=DA008 DA204", "warning", "separate rules with commas"),
    ("# dockaudit: ignore=DA008 because reasons", "warning", "put a reason after '--'"),
    ("# dockaudit: ignroe=DA008", "warning", "expected `# dockaudit: ignore=ID"),
    ("# dockaudit: ignore-file DA008", "warning", "malformed"),
    ("# dockaudit: ignore=DA999", "warning", "unknown rule 'DA999'"),
    ("# dockaudit: ignore=DA008,json-argz", "warning", "unknown rule 'json-argz'"),
    ("# dockaudit: ignore-file=securty", "warning", "unknown rule 'securty'"),
    ("# hadolint ignore DL3008", "warning", "needs '='"),
    ("# hadolint ignore=DA999", "warning", "unknown rule 'DA999' in this hadolint comment"),
    ("# hadolint ignore=DL9999", "info", "hadolint rule 'DL9999' has no dockaudit counterpart"),
    ("# dockaudit: ignore=DL9999", "info", "hadolint rule 'DL9999'"),
    ("# check=skip=CopyIgnoredFile", "info", "BuildKit check 'CopyIgnoredFile'"),
    ("# dockaudit: ignore", None, ""),
    ("# dockaudit: ignore -- every rule, on purpose", None, ""),
    ("# dockaudit: ignore=DA008,DL3025 -- reason - with dashes", None, ""),
    ("# dockaudit: ignore-file=da0,ALL,security,json-args", None, ""),
    ("# hadolint ignore=DL3025,SC2086", None, ""),
    ("# hadolint shell=powershell", None, ""),
    ("# check=skip=JSONArgsRecommended", None, ""),
    ("# this comment mentions dockaudit: and hadolint ignore", None, ""),
]


@pytest.mark.parametrize(("comment", "severity", "words"), PROBLEMS)
def test_unusable_ignore_comments_are_reported_with_their_line(comment, severity, words):
    text = f"FROM debian:12-slim\n{comment}\nCMD python app.py\n"
    if comment.startswith("# check="):
        text = f"{comment}\n" + text
    result = lint_source(text, "Dockerfile", select_rules(RULES, select=["DA026"]))
    found = [(f.line, f.severity.label, f.message) for f in result.findings]
    if severity is None:
        assert found == []
        return
    ((line, level, message),) = found
    assert (line, level) == (1 if comment.startswith("# check=") else 2, severity)
    assert words in message and result.findings[0].path == "Dockerfile"


def test_a_malformed_comment_suppresses_nothing():
    text = "FROM a:1\n{}\nRUN apt-get install -y --no-install-recommends curl\n"
    rules = select_rules(RULES, select=["DA204", "DA026"])
    for comment in ("# dockaudit: ignore=", "# dockaudit: ignore DA204", "# dockaudit: ignore=DA204 DA401"):
        found = {f.rule for f in lint_source(text.format(comment), None, rules).findings}
        assert found == {"DA204", "DA026"}, comment  # ignore= used to silence every rule
    assert lint_source(text.format("# dockaudit: ignore=DA204"), None, rules).findings == []


def test_unknown_codes_do_not_hide_the_known_ones_in_the_same_comment():
    text = "FROM a:1\n# dockaudit: ignore=DA204,DA999\nRUN apt-get install -y --no-install-recommends curl\n"
    result = lint_source(text, None, select_rules(RULES, select=["DA204", "DA026"]))
    assert [f.rule for f in result.findings] == ["DA026"]
    assert [f.rule for f, _s in result.suppressed] == ["DA204"]


# --- presets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "holds", "lacks"),
    [
        (
            "recommended",
            {"DA001", "DA202", "DA801", "DA910"},
            {"DA022", "DA024", "DA025", "DA203", "DA703", "DA204", "DA901"},  # the last two: off since the ledger
        ),
        ("security", {"DA101", "DA102", "DA112", "DA802", "DA902"}, {"DA204", "DA501"}),
        ("ml", {"DA501", "DA527", "DA807", "DA903"}, {"DA101", "DA204"}),
        ("reproducible", {"DA201", "DA203", "DA204", "DA212", "DA901"}, {"DA401", "DA101"}),
        ("size", {"DA401", "DA403", "DA504", "DA601", "DA804"}, {"DA101", "DA204"}),
        ("hadolint", {"DA008", "DA204", "DA017", "DA703"}, {"DA022", "DA024", "DA103", "DA501"}),
        ("all", EVERY_RULE, set()),
    ],
)
def test_preset_membership(preset, holds, lacks):
    members = named_by_flags(preset)
    assert holds <= members and not lacks & members


def test_select_a_preset_runs_its_off_by_default_members_but_all_and_prefixes_do_not():
    assert "DA203" in {r.id for r in select_rules(RULES, select=["reproducible"])}
    assert "DA703" in {r.id for r in select_rules(RULES, select=["hadolint"])}
    assert "DA203" not in {r.id for r in select_rules(RULES, select=["ALL"])}  # as before
    assert "DA203" not in {r.id for r in select_rules(RULES, select=["DA2"])}
    assert {r.id for r in select_rules(RULES, select=["recommended"])} == {r.id for r in select_rules(RULES)}


def test_membership_follows_the_rule_metadata():
    turned_off = records.replace(rule_by_id("DA204"), enabled=False)
    renamed_family = records.replace(rule_by_id("DA101"), family="ml")
    assert "recommended" not in presets_of(turned_off) and "reproducible" in presets_of(turned_off)
    assert "ml" in presets_of(renamed_family) and "security" not in presets_of(renamed_family)
    assert [r.id for r in select_rules([turned_off], select=["reproducible"])] == ["DA204"]
    assert select_rules([turned_off]) == []


def _pack_rule():
    def check(ctx):
        return iter(())

    check.__doc__ = rule_by_id("DA012").check.__doc__
    return rule("XYZ101", "third-party-check", family="acme", severity="warning", summary="s")(check)


@pytest.mark.parametrize("code", ["XYZ101", "xyz1", "XYZ", "third-party-check", "ALL", "recommended"])
def test_third_party_rules_are_selected_and_suppressed_by_id_and_prefix(code):
    pack = _pack_rule()
    assert select_rules([*RULES, pack], select=[code])[-1] is pack
    (suppression,) = find_suppressions(parse(f"# dockaudit: ignore-file={code}\nFROM a\n"))
    assert suppression.covers(Finding("XYZ101", pack.name, Severity.WARNING, "m", "-", 2, 1, 2, 1), pack)
    assert not select_rules([pack], select=["XY"]) and unknown_selectors([pack], ["XY"]) == ["XY"]


# --- the command line -----------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _dockerfile(folder: Path) -> Path:
    # Off by default: DA203/DA204 (reproducible), DA401/DA402 (size). On: DA413 (size), DA602 (no preset but
    # recommended), so `recommended` reports something and ignoring `size` takes something away.
    path = folder / "Dockerfile"
    path.write_text("FROM ubuntu:18.04\nRUN apt-get update && apt-get install -y curl\nADD app.py /app/\nUSER 1\n")
    return path


def _rules_reported(path: Path, *args: str) -> set[str]:
    return {f["rule"] for f in json.loads(run(str(path), "--format", "json", *args).output)["findings"]}


@pytest.mark.parametrize(
    ("config", "args", "expected"),
    [
        (None, ("--isolated", "--select", "security,size"), {"DA401", "DA402", "DA413"}),
        (None, ("--isolated", "--select", "reproducible"), {"DA203", "DA204"}),
        (None, ("--isolated", "--select", "recommended", "--ignore", "size"), {"DA602"}),
        ('select = ["size"]\nextend-select = ["reproducible"]\n', (), {"DA401", "DA402", "DA413", "DA203", "DA204"}),
        ('select = ["recommended"]\n[per-file-ignores]\n"Dockerfile" = ["size"]\n', (), {"DA602"}),
        ('[severity]\nreproducible = "error"\n', ("--select", "DA204", "--fail-on", "error"), {"DA204"}),
    ],
)
def test_presets_on_the_command_line_and_in_the_config(tmp_path, config, args, expected):
    path = _dockerfile(tmp_path)
    if config is not None:
        (tmp_path / ".dockaudit.toml").write_text(config)
    assert _rules_reported(path, *args) == expected


@pytest.mark.parametrize("args", [("--select", "securty"), ("--ignore", "DA999"), ("--extend-select", "D")])
def test_unknown_selectors_on_the_command_line_exit_2(tmp_path, args):
    result = run(str(_dockerfile(tmp_path)), "--isolated", *args)
    assert result.exit_code == 2 and "unknown rule selector" in result.output


def test_rules_table_fits_80_columns_and_marks_presets_and_off_rules():
    lines = run("rules").output.splitlines()
    assert max(len(line) for line in lines) <= 80
    row: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("DA"):
            row[line.split()[0]] = last = line.split()
        elif line.startswith(" ") and line.strip() and row:
            last[-1] += line.strip()  # a presets cell continued under its column
    assert row["DA203"][-1] == "off,reproducible" and row["DA204"][-1] == "off,reproducible,hadolint"
    assert row["DA022"][-1] == "off" and row["DA101"][-1] == "security,hadolint"
    entry = next(r for r in json.loads(run("rules", "--format", "json").output) if r["id"] == "DA202")  # on
    assert entry["presets"] == ["recommended", "reproducible", "hadolint"]


def test_rule_docs_name_the_presets():
    assert "Presets: reproducible, all" in run("rule", "DA203").output
    assert "Presets: recommended, security, hadolint, all" in run("rule", "DL3002").output
    listing = run("rule", "Reproducible").output
    assert listing.startswith("# preset reproducible") and "DA203  base-image-not-digest\n" in listing
    assert "DA022  ignore-pragma-used  (off by default" in run("rule", "all").output


def test_a_shellcheck_code_in_hadolint_ignored_drops_that_code_not_all_of_shellcheck():
    from dockaudit.config import parse_hadolint

    config = parse_hadolint({"ignored": ["DL3008", "SC2086"]}, Path(".hadolint.yaml"))
    assert config.ignore == ("DL3008",)
    assert "DA703" in {r.id for r in select_rules(RULES, ignore=config.ignore, extend_select=["DA703"])}
    findings = [_finding("DA703", "SC2086"), _finding("DA703", "SC2046")]
    assert apply_config(findings, config, "Dockerfile", {"DA703": rule_by_id("DA703")}) == [findings[1]]
