"""action.yml, run the way GitHub runs a composite action: each `run` step under `bash -eo pipefail` with
its `env` (the ${{ }} expressions evaluated from the inputs, their defaults and earlier steps' outputs),
as tests/test_ci_snippets.py runs the README's snippets.  The install step is checked, not run (it
installs the action's own checkout, which is this repository: the editable install stands in for it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BASH = shutil.which("bash")


def _evaluate(text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression == "github.action_path":
            return str(REPO)
        step, _, name = expression.removeprefix("steps.").partition(".outputs.")
        return outputs.get(step, {}).get(name, "")

    return EXPRESSION.sub(value, text)


def run_action(workspace: Path, **given: str) -> tuple[dict[str, dict[str, str]], int]:
    """The action's run steps but the install; its outputs by step id and the last step's exit code."""
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    assert set(given) <= set(inputs), set(given) - set(inputs)
    inputs.update(given)
    outputs: dict[str, dict[str, str]] = {}
    code = 0
    for step in ACTION["runs"]["steps"]:
        if "run" not in step or step.get("id") == "install":
            continue
        output_file = workspace / f".github-output-{step['id']}"
        output_file.write_text("")
        env = {name: _evaluate(str(value), inputs, outputs) for name, value in step.get("env", {}).items()}
        env |= {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output_file),
                "HOME": str(workspace)}  # fmt: skip
        assert "${{" not in step["run"]  # inputs reach the script only through the environment
        done = subprocess.run([BASH, "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=workspace,
                              env=env, capture_output=True, text=True)  # fmt: skip
        outputs[step["id"]] = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if line)
        code = done.returncode
        if code:
            break
    return outputs, code


pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash, as GitHub's runners have")


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "svc").mkdir()
    # DA202 (on by default) is the finding the default run fails on; DA204 is what --select narrows to
    (tmp_path / "svc" / "Dockerfile").write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n")
    (tmp_path / "ok.Dockerfile").write_text("FROM scratch\nUSER 1\n")
    return tmp_path


def test_install_step_installs_this_repository():
    install = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "install")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '"$ACTION_PATH"' in install["run"] and "pip install" in install["run"]


def test_findings_fail_the_step_and_leave_sarif_for_upload(workspace):
    outputs, code = run_action(workspace)
    assert outputs["run"]["exit-code"] == "1" and code == 1
    sarif = json.loads((workspace / "dockaudit.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    upload = next(s for s in ACTION["runs"]["steps"] if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}" and "always()" in upload["if"]


def test_user_arguments_threshold_and_no_fail(workspace):
    outputs, code = run_action(workspace, path="ok.Dockerfile")
    assert (outputs["run"]["exit-code"], code) == ("0", 0)
    outputs, code = run_action(workspace, **{"failure-threshold": "error"})
    assert (outputs["run"]["exit-code"], code) == ("0", 0)  # the findings are warnings
    outputs, code = run_action(workspace, **{"no-fail": "true"})
    assert (outputs["run"]["exit-code"], code) == ("1", 0)
    outputs, code = run_action(workspace, args="--select DA204", ignore="DA401", **{"sarif-file": "out/x.sarif"})
    assert code == 1
    results = json.loads((workspace / "out" / "x.sarif").read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"DA204"}


def test_errors_fail_the_step_even_with_no_fail(workspace):
    outputs, code = run_action(workspace, path="missing.Dockerfile", **{"no-fail": "true"})
    assert (outputs["run"]["exit-code"], code) == ("2", 2)


def test_an_input_cannot_inject_commands(workspace):
    outputs, code = run_action(workspace, path="ok.Dockerfile; touch pwned $(touch pwned2) `touch pwned3` *")
    assert not any((workspace / name).exists() for name in ("pwned", "pwned2", "pwned3"))
    assert outputs["run"]["exit-code"] == "2"  # the words are file names, which do not exist


def test_readme_shows_the_action_at_the_declared_version():
    from tests.test_ci_snippets import _pyproject, _yaml_blocks

    (step,) = _yaml_blocks()["action usage"]
    assert step["uses"] == f"dockaudit/dockaudit@v{_pyproject()['version']}"
    assert set(step["with"]) <= set(ACTION["inputs"])
