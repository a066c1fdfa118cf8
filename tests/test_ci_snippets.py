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
    (tmp_path / "Dockerfile").write_text("FROM debian:12\nRUN apt-get update && apt-get install -y curl\n")
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
