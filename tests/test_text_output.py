"""The text report a person reads: --output-format full|concise|grouped, --statistics, --show-fixes,
rule-doc links (terminal hyperlinks only on a terminal), no "All clear" after an error, --target and
--context that name nothing, help texts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli

BAD = (
    "FROM debian:12-slim\nMAINTAINER me\nRUN apt-get update && apt-get install -y curl=7.88.1-10+deb12u8\n"
    "EXPOSE 8000\nCMD python app.py\n"  # a service image with no USER: DA101
)
# The reports show DA012 (MAINTAINER) and DA008 (shell-form CMD, with its fix) too, which are off by default.
EXTRA = ("--extend-select", "DA008,DA012")


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), prog_name="dockaudit", **kwargs)


@pytest.fixture
def bad(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text(BAD)
    (tmp_path / "ok.Dockerfile").write_text("FROM scratch\nUSER 1\n")
    monkeypatch.chdir(tmp_path)
    return "Dockerfile"


def test_concise_is_one_line_per_finding_then_the_summary(bad):
    lines = run(bad, *EXTRA, "--output-format", "concise").output.splitlines()
    findings = [line for line in lines if line.startswith("Dockerfile:")]
    assert len(findings) >= 3 and not any(" | " in line or "= fix" in line for line in lines)
    assert lines[-1].startswith("Found ")


def test_grouped_puts_the_findings_under_a_heading_per_file(bad):
    output = run(bad, "ok.Dockerfile", *EXTRA, "--output-format", "grouped").output
    lines = output.splitlines()
    assert lines[0] == "Dockerfile"
    assert lines[1].startswith("  1:1  DA101  warning") and "  2:1  DA012  style  " in output
    assert "Dockerfile:2:1" not in output


def test_full_is_the_default(bad):
    assert run(bad, *EXTRA).output == run(bad, *EXTRA, "--output-format", "full").output
    assert "    2 | MAINTAINER me" in run(bad, *EXTRA).output


def test_show_fixes_prints_a_small_diff_under_each_finding(bad):
    lines = run(bad, *EXTRA, "--show-fixes").output.splitlines()
    at = lines.index("      = fix: use the exec (JSON) form")
    assert lines[at + 1 : at + 3] == ["      - CMD python app.py", '      + CMD ["python", "app.py"]']
    concise = run(bad, *EXTRA, "--show-fixes", "--output-format", "concise").output
    assert '      + CMD ["python", "app.py"]' in concise and " | " not in concise
    assert "      - " not in run(bad, *EXTRA).output  # only when asked


def test_statistics_prints_only_the_table(bad):
    lines = run(bad, *EXTRA, "--statistics").output.splitlines()
    assert lines[0].split() == ["count", "rule", "fixable", "name"]
    assert all(line.split()[1].startswith("DA") for line in lines[1:])
    assert "Found" not in "\n".join(lines) and "Dockerfile:" not in "\n".join(lines)


def test_rule_ids_link_to_their_docs_only_on_a_terminal(bad, monkeypatch, capsys):
    from dockaudit.linting.engine import lint_source, load_rules
    from dockaudit.report.text import Layout, print_colored, render

    results = [lint_source(BAD, "Dockerfile", load_rules())]
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats the capture as a terminal
    monkeypatch.delenv("NO_COLOR", raising=False)
    print_colored(results, results[0].findings, Layout(links=True))
    shown = capsys.readouterr().out
    assert "\x1b]8;" in shown and "docs/rules.md#da012-maintainer-deprecated" in shown
    plain = render(results, results[0].findings, Layout(links=True))
    assert "\x1b" not in plain and "docs/rules.md" not in plain
    assert "\x1b" not in run(bad).output  # not a terminal: no escape sequences at all


def test_sarif_rules_carry_help_uri(bad):
    import json

    document = json.loads(run(bad, "--format", "sarif").output)
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert all(r["helpUri"].startswith("https://") for r in rules)


@pytest.mark.parametrize(
    "args",
    [("ok.Dockerfile", "missing.Dockerfile"), ("ok.Dockerfile", "--target", "nope"), ("ok.Dockerfile", "empty/")],
)
def test_no_all_clear_after_an_error(bad, args, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "All clear" not in result.output


def test_target_naming_no_stage_is_an_error(bad, tmp_path):
    (tmp_path / "multi.Dockerfile").write_text("FROM debian:12 AS build\nFROM scratch AS app\nUSER 1\n")
    result = run("multi.Dockerfile", "--target", "tset")
    assert result.exit_code == 2
    assert "--target 'tset' names no stage of this file (stages: build, app)" in result.output
    assert run("multi.Dockerfile", "--target", "APP").exit_code == 0  # stage names match case-insensitively


def test_context_naming_no_folder_is_an_error(bad):
    result = run(bad, "--context", "no/such/folder")
    assert result.exit_code == 2 and "'--context'" in result.output


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_compose_has_its_own_help(flag):
    result = run("compose", flag)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: dockaudit compose [OPTIONS] FILES...")
    assert "merged in order" in result.output and "--env-file" in result.output
    assert "Lint Dockerfiles and Compose files" not in result.output  # check's own text


def test_compose_needs_files():
    assert run("compose").exit_code == 2


def test_top_help_says_what_exists():
    output = " ".join(run("--help").output.split())
    assert "soon" not in output and "built images" in output and "alone checks the working" in output
