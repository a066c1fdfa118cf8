"""One pipeline for every input: the configuration's filter (ignore, per-file-ignores, severity) and the
one rule runner apply to Dockerfiles, Compose files and images alike, and `--fix` sees what the report sees."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.context import LintContext, Options
from dockaudit.facts.resources import Resources
from dockaudit.linting.engine import check_dockerfile, crash_finding, load_rules, run_rules
from dockaudit.plugin import rule
from dockaudit.syntax.parser import parse
from tests.test_image import config_for, tar_layer, write_docker_archive

COMPOSE = """services:
  web:
    image: nginx:latest
    environment:
      API_TOKEN: hunter2hunter2hunter2
"""


def _json(folder: Path, *args: str) -> tuple[int, list[dict]]:
    result = CliRunner().invoke(cli, [*args, "--format", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_compose_files_follow_the_configured_severity_and_per_file_ignores(tmp_path: Path, monkeypatch):
    plain, configured = tmp_path / "plain", tmp_path / "configured"  # configurations are read once per folder
    for folder in (plain, configured):
        folder.mkdir()
        (folder / "compose.yaml").write_text(COMPOSE)
    monkeypatch.chdir(plain)
    (plain / ".dockaudit.toml").write_text('extend-select = ["DA901", "DA902"]\n')
    _code, found = _json(plain, "compose.yaml")
    assert {(f["rule"], f["severity"]) for f in found} == {("DA901", "warning"), ("DA902", "error")}

    monkeypatch.chdir(configured)
    (configured / ".dockaudit.toml").write_text('extend-select = ["DA901", "DA902"]\n[severity]\nDA902 = "info"\n'
                                              '[per-file-ignores]\n"compose.yaml" = ["DA901"]\n')  # fmt: skip
    code, found = _json(configured, "compose.yaml", "--fail-on", "warning")
    assert [(f["rule"], f["severity"]) for f in found] == [("DA902", "info")]
    assert code == 0  # the error the configuration made info no longer fails the run


def test_an_image_follows_the_configured_severity(tmp_path: Path, monkeypatch):
    layers = [tar_layer({"root/.netrc": b"machine x login y password z"})]
    archive = write_docker_archive(tmp_path / "app.tar", layers, config_for(1))
    for name in ("plain", "configured"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "plain")
    code, found = _json(tmp_path, "image", f"docker-archive:{archive}", "--select", "DA802")
    assert {f["severity"] for f in found} == {"error"} and code == 1
    monkeypatch.chdir(tmp_path / "configured")
    (tmp_path / "configured" / ".dockaudit.toml").write_text('[severity]\nDA802 = "info"\n')
    code, found = _json(tmp_path, "image", f"docker-archive:{archive}", "--select", "DA802")
    assert found and {f["severity"] for f in found} == {"info"} and code == 0


def test_an_images_dockerfile_is_judged_with_its_own_rules_not_the_image_selection(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    archive = write_docker_archive(tmp_path / "app.tar", [tar_layer({"app/x": b"x"})], config_for(1))
    (tmp_path / "Dockerfile").write_text("FROM ubuntu\nRUN apt-get update && apt-get install -y curl\n")
    (tmp_path / ".dockaudit.toml").write_text('select = ["DA201"]\n')
    _code, found = _json(tmp_path, "image", f"docker-archive:{archive}", "--select", "DA802",
                         "--dockerfile", "Dockerfile")  # fmt: skip
    assert {f["rule"] for f in found} == {"DA201"}  # the Dockerfile's configured selection, not --select DA802


def _raising_rule(target: str):
    @rule(id="DA998", name="always-raises", severity="warning", family="test", summary="raises",
          target=target)  # fmt: skip
    def always_raises(ctx):
        """## What it does
        Raises.

        ## Why is this bad?
        It is a test.

        ## Example
        ```dockerfile
        FROM a
        ```

        ## Use instead
        ```dockerfile
        FROM a
        ```
        """
        raise KeyError("boom")
        yield  # pragma: no cover - a generator, like every rule

    return always_raises


def test_the_one_runner_names_the_rule_that_crashed_for_every_input_kind():
    for target in ("dockerfile", "compose", "image"):
        broken = _raising_rule(target)
        (finding,) = run_rules([broken], target, object(), lambda r, v: None, "input")
        assert finding.rule == "DA000" and finding.path == "input"
        assert "rule DA998 (always-raises) crashed: KeyError: 'boom'" in finding.message
    assert crash_finding(broken, KeyError("x"), "p").name == "internal-error"


def test_rules_reach_the_knowledge_tables_through_the_context():
    class CountingResources(Resources):
        calls = 0

        def knowledge(self):
            CountingResources.calls += 1
            return super().knowledge()

    ctx = LintContext(parse("FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04\nRUN pip install torch==2.5.1\n"),
                      Options(use_context=False), CountingResources())  # fmt: skip
    assert ctx.knowledge is ctx.knowledge and CountingResources.calls == 1  # read once per file, through the door
    assert ctx.resources.tag_digest("alpine:3.20") is None  # offline: no registry answer, no request


def test_fix_loop_and_report_agree_on_what_remains(tmp_path: Path, monkeypatch):
    """What --fix reports as remaining is what a lint of the fixed file reports (one lint function)."""
    monkeypatch.chdir(tmp_path)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM ubuntu:22.04\n# dockaudit: ignore=DA204 -- not yet\nRUN apt-get update && apt-get install -y curl\n")
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA401", "DA204", "DA025"]\n')
    fixed = CliRunner().invoke(cli, ["Dockerfile", "--fix", "--format", "json"], catch_exceptions=False)
    after = json.loads(fixed.stdout)["findings"]
    again = CliRunner().invoke(cli, ["Dockerfile", "--format", "json"], catch_exceptions=False)
    assert sorted(f["rule"] for f in after) == sorted(f["rule"] for f in json.loads(again.stdout)["findings"])
    assert "rm -rf /var/lib/apt/lists/*" in dockerfile.read_text()


def test_check_dockerfile_runs_only_dockerfile_rules():
    ctx = LintContext(parse("FROM a\n"), Options(use_context=False))
    found = check_dockerfile(ctx, [r for r in load_rules() if r.target != "dockerfile"])
    assert found == []


def test_ignoring_one_part_of_a_rule_keeps_its_other_parts(tmp_path: Path, monkeypatch):
    """`--ignore DL3033` (DA210's yum part) drops the yum findings only, as `# hadolint ignore=DL3033` does;
    the rule's own id still turns it off whole."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Dockerfile").write_text("FROM fedora:40\nRUN yum install -y curl\nRUN dnf install -y wget\n")

    def lines(*args: str) -> list[int]:
        return [f["line"] for f in _json(tmp_path, "Dockerfile", "--isolated", "--extend-select", "DA210", *args)[1]]

    assert lines() == [2, 3]
    assert lines("--ignore", "DL3033") == [3]
    assert lines("--ignore", "DA210") == []


def test_a_part_code_is_not_a_whole_rule_ignore_in_selection():
    from dockaudit.linting.selectors import names_part, select_rules

    rules = load_rules()
    (rpm,) = [r for r in rules if r.id == "DA210"]
    assert names_part("DL3033", rpm) and not names_part("DA210", rpm) and not names_part("rpm-unpinned", rpm)
    assert rpm in select_rules(rules, ["DA210"], ignore=["DL3033"])
    assert rpm not in select_rules(rules, ["DA210"], ignore=["DA210"])
