"""A wheel built from the repo, installed into a fresh venv, runs with the built-in rules."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
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


ACME_PACK = '''
"""A third-party pack, written against the public API only: dockaudit.plugin, .model, .context."""
from dockaudit.context import LintContext
from dockaudit.model import Violation
from dockaudit.plugin import rule


@rule("ACME001", "acme-approved-bases", family="acme", severity="error", summary="bases come from acme")
def find_unapproved_bases(ctx: LintContext):
    """
    ## What it does
    Reports a base image outside the acme registry.

    ## Why is this bad?
    Acme builds only from images it mirrors.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    ```

    ## Use instead
    ```dockerfile
    FROM registry.acme.example/alpine:3.20
    ```
    """
    for stage in ctx.stages:
        if stage.from_instruction is not None and not stage.image.startswith("registry.acme.example/"):
            yield Violation(stage.from_instruction.keyword_span, f"{stage.image} is not an acme base")


RULES = [find_unapproved_bases]
'''


@pytest.mark.slow
def test_a_third_party_pack_installed_in_a_fresh_venv_runs_beside_the_built_in_rules(tmp_path):
    """The pack API (``dockaudit.plugin``, ``.model``, ``.context``) keeps working for a pack installed
    as a distribution announcing itself under the ``dockaudit.rules`` entry point."""
    setuptools = pytest.importorskip("setuptools")
    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (70, 1):
        pytest.skip("building offline needs setuptools >= 70.1 (bdist_wheel built in); .ci/run installs it")
    project = tmp_path / "acme"
    (project / "acme_rules").mkdir(parents=True)
    (project / "acme_rules" / "__init__.py").write_text(ACME_PACK)
    (project / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=70.1"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "acme-rules"
        version = "1.0"
        [project.entry-points."dockaudit.rules"]
        acme = "acme_rules"
        [tool.setuptools]
        packages = ["acme_rules"]
    '''))  # fmt: skip
    wheelhouse = tmp_path / "wheels"
    for source in (REPO, project):
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                        str(wheelhouse), str(source)], check=True, capture_output=True)  # fmt: skip
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    wheels = [str(w) for w in wheelhouse.glob("*.whl")]
    subprocess.run([env_dir / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index", *wheels],
                   check=True, capture_output=True)  # fmt: skip
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "PYTHONPATH": sysconfig.get_paths()["purelib"],
           "HOME": str(tmp_path)}  # fmt: skip
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nUSER 65532\n")
    result = subprocess.run([env_dir / "bin" / "dockaudit", "Dockerfile", "--format", "json"], capture_output=True,
                            text=True, env=env, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert '"rule": "ACME001"' in result.stdout and "alpine:3.20 is not an acme base" in result.stdout
    docs = subprocess.run([env_dir / "bin" / "dockaudit", "rule", "ACME001"], capture_output=True, text=True,
                          env=env, cwd=tmp_path)  # fmt: skip
    assert docs.returncode == 0 and "Acme builds only from images it mirrors" in docs.stdout


def test_generated_rule_docs_are_current():
    from dockaudit.linting.catalogue import render_reference

    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == render_reference()
