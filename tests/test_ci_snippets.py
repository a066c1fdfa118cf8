"""The README's CI snippets, exercised as far as they can be offline: their dockaudit commands run and
produce the files the CI systems read; the pre-commit snippet names hooks this repository defines."""

from __future__ import annotations

import json
import re
import shlex

import yaml
from click.testing import CliRunner

from dockaudit.cli import cli
from tests.conftest import REPO


def _yaml_blocks() -> dict[str, dict]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = {}
    for body in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
        first = body.splitlines()[0]
        blocks[first.lstrip("# ").strip()] = yaml.safe_load(body)
    return blocks


def _run_dockaudit(command: str) -> None:
    words = shlex.split(command)
    assert words[0] == "dockaudit"
    result = CliRunner().invoke(cli, words[1:])
    assert result.exit_code in (0, 1), result.output  # 1: findings, which is the gate doing its job


def _project(tmp_path, monkeypatch):
    (tmp_path / "Dockerfile").write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n")
    monkeypatch.chdir(tmp_path)


def test_github_actions_snippet(tmp_path, monkeypatch):
    workflow = _yaml_blocks()[".github/workflows/dockaudit.yml"]
    steps = workflow["jobs"]["dockaudit"]["steps"]
    _project(tmp_path, monkeypatch)
    for step in steps:
        if str(step.get("run", "")).startswith("dockaudit"):
            _run_dockaudit(step["run"])
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    sarif = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]


def test_gitlab_snippet(tmp_path, monkeypatch):
    job = _yaml_blocks()[".gitlab-ci.yml"]["dockaudit"]
    _project(tmp_path, monkeypatch)
    for line in job["script"]:
        if line.startswith("dockaudit"):
            _run_dockaudit(line)
    report = json.loads((tmp_path / job["artifacts"]["reports"]["codequality"]).read_text())
    assert report and all("fingerprint" in issue for issue in report)


def test_pre_commit_snippet_names_our_hooks():
    config = _yaml_blocks()[".pre-commit-config.yaml"]
    hooks = {h["id"] for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for repo in config["repos"] for h in repo["hooks"]} <= hooks
    assert {"dockaudit", "dockaudit-fix"} <= hooks


def _pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _install_lines() -> list[str]:
    blocks = _yaml_blocks()
    steps = blocks[".github/workflows/dockaudit.yml"]["jobs"]["dockaudit"]["steps"]
    lines = [str(s["run"]) for s in steps if str(s.get("run", "")).startswith("pip install")]
    lines += [line for line in blocks[".gitlab-ci.yml"]["dockaudit"]["script"] if line.startswith("pip install")]
    return lines


def test_install_lines_install_this_repository_at_the_declared_version():
    """`pip install dockaudit` installs an unrelated tool: every snippet names our distribution and the
    tag of the version pyproject.toml declares, in this repository (the one pre-commit points at)."""
    from packaging.requirements import Requirement

    project = _pyproject()
    repo = _yaml_blocks()[".pre-commit-config.yaml"]["repos"][0]["repo"]
    lines = _install_lines()
    assert len(lines) == 2
    for line in lines:
        requirement = Requirement(shlex.split(line)[2])
        assert requirement.name == project["name"] != "dockaudit"
        assert requirement.url == f"git+{repo}@v{project['version']}"


def test_versions_agree():
    """One version everywhere: pyproject.toml, dockaudit.__version__, the CHANGELOG's newest entry, the
    pre-commit rev (the tag the maintainer creates at release)."""
    import dockaudit

    version = _pyproject()["version"]
    assert dockaudit.__version__ == version
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.findall(r"^## (\S+)", changelog, re.MULTILINE)[0] == version
    revs = {repo["rev"] for repo in _yaml_blocks()[".pre-commit-config.yaml"]["repos"]}
    assert revs == {f"v{version}"}
    assert f"rev: v{version}" in (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")


def test_stability_policy_covers_ids_schema_and_exit_codes():
    from dockaudit.report.json import SCHEMA_VERSION

    policy = (REPO / "docs" / "stability.md").read_text(encoding="utf-8")
    for heading in ("## Rule ids", "## JSON report", "## Exit codes"):
        assert heading in policy
    assert f"now {SCHEMA_VERSION})" in policy
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in policy
