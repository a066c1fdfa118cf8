"""The real `pre-commit try-repo` against this checkout (slow: it builds the hook's environment).

The hook environment is installed offline from a wheelhouse (`DOCKAUDIT_WHEELHOUSE`, which `.ci/run`
builds during installation), so the test itself reaches no network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

BAD = "FROM debian:12-slim\nRUN apt-get update && apt-get install -y curl=7.88.1-10+deb12u8\nUSER 10001\n"
GOOD = 'FROM debian:12-slim\nUSER 10001\nCMD ["echo", "hi"]\n'


def _environment(tmp_path: Path) -> dict[str, str]:
    wheelhouse = os.environ.get("DOCKAUDIT_WHEELHOUSE")
    if not wheelhouse or not Path(wheelhouse).is_dir():
        pytest.skip("set DOCKAUDIT_WHEELHOUSE to a folder of wheels for dockaudit's dependencies (.ci/run does)")
    env = dict(os.environ)
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=wheelhouse, PRE_COMMIT_HOME=str(tmp_path / "cache"),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e")  # fmt: skip
    return env


def _pre_commit(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    executable = shutil.which("pre-commit") or ""
    command = [executable] if executable else [sys.executable, "-m", "pre_commit"]
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_hooks_fail_pass_and_fix_through_pre_commit(tmp_path: Path):
    env = _environment(tmp_path)
    repo = tmp_path / "project"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "Dockerfile").write_text(BAD)
    (repo / "api.Dockerfile").write_text(GOOD)
    # DA401 (apt lists left in the layer) is off by default: the project turns it on, as users do
    (repo / ".dockaudit.toml").write_text('extend-select = ["DA401"]\n')
    subprocess.run(["git", "add", "."], cwd=repo, check=True)

    bad = _pre_commit(["try-repo", str(REPO), "dockaudit", "--files", "Dockerfile"], repo, env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "DA401" in bad.stdout

    good = _pre_commit(["try-repo", str(REPO), "dockaudit", "--files", "api.Dockerfile"], repo, env)
    assert good.returncode == 0, good.stdout + good.stderr

    fixed = _pre_commit(["try-repo", str(REPO), "dockaudit-fix", "--files", "Dockerfile"], repo, env)
    assert fixed.returncode == 1  # files were modified: pre-commit fails the run so they get reviewed
    assert "rm -rf /var/lib/apt/lists/*" in (repo / "Dockerfile").read_text()
