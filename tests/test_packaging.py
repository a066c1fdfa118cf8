"""A wheel built from the repo, installed into a fresh venv, runs with the built-in rules."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_carries_the_rule_pack(tmp_path):
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.skip("building offline needs setuptools >= 70.1 (bdist_wheel built in); .ci/run installs it")
    wheelhouse = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheelhouse), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    wheel = next(wheelhouse.glob("dockaudit_lint-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True
    )
    # The dependencies (click, rich, …) come from this interpreter's site-packages; dockaudit itself
    # only from the wheel: the editable install is not importable from there.
    deps = sysconfig.get_paths()["purelib"]
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "PYTHONPATH": deps, "HOME": str(tmp_path)}
    example = tmp_path / "Dockerfile"
    example.write_bytes((REPO / "examples" / "Dockerfile").read_bytes())
    result = subprocess.run(
        [env_dir / "bin" / "dockaudit", str(example), "--format", "json"], capture_output=True, text=True,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert '"rule": "DA501"' in result.stdout  # the example's torch/CUDA mismatch: an ML rule from the wheel
    where = subprocess.run(
        [python, "-c", "import dockaudit_rules, dockaudit; print(dockaudit_rules.__file__, dockaudit.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert str(env_dir) in where.stdout and str(REPO) not in where.stdout
    assert os.path.exists(env_dir / "bin" / "dockaudit")


def test_generated_rule_docs_are_current():
    from dockaudit.linting.catalogue import render_reference

    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == render_reference()
