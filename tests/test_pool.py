"""--jobs: workers send back findings and text, not trees, and what they send gives the same answers."""

from __future__ import annotations

import pickle
from pathlib import Path

from click.testing import CliRunner

from dockaudit import pool
from dockaudit import run as plan
from dockaudit.cli import cli
from tests.conftest import FIXTURES


def _copies(folder: Path) -> list[str]:
    sources = sorted((FIXTURES / "rules").glob("DA*/bad.Dockerfile"))[:40]
    for index, source in enumerate(sources):
        (folder / f"{index:02}.Dockerfile").write_bytes(source.read_bytes())
    return sorted(str(p) for p in folder.glob("*.Dockerfile"))


def test_a_worker_sends_slim_results(tmp_path: Path):
    paths = _copies(tmp_path)
    flags = plan.Flags(isolated=True, use_context=False)
    slim = pool._lint_chunk(flags, paths)
    full = [plan.lint_file(flags, path) for path in paths]
    assert all(r.dockerfile is None and r.source is not None for r in slim)
    assert [r.findings for r in slim] == [r.findings for r in full]
    assert len(pickle.dumps(slim)) * 1.5 < len(pickle.dumps(full))  # the trees were the bulk of it


def test_baselines_and_reports_agree_with_and_without_workers(tmp_path: Path, monkeypatch):
    folder = tmp_path / "files"
    folder.mkdir()
    _copies(folder)
    monkeypatch.setattr(pool, "MIN_FILES_PER_WORKER", 2)  # a pool even for this handful of files
    outputs = {}
    for jobs in ("1", "2"):
        baseline = tmp_path / f"baseline-{jobs}.json"
        report = tmp_path / f"report-{jobs}.json"
        CliRunner().invoke(cli, ["--isolated", "--no-context", "-j", jobs, "--write-baseline", str(baseline),
                                 "--format", f"gitlab:{report}", str(folder)])  # fmt: skip
        outputs[jobs] = (baseline.read_text().replace(f"baseline-{jobs}", ""), report.read_text())
    assert outputs["1"] == outputs["2"]
    assert '"fingerprint"' in outputs["1"][0]


def test_the_files_of_one_folder_list_their_build_context_once(tmp_path: Path, monkeypatch):
    from dockaudit.facts import contextreads

    listed = []
    real_list = contextreads._list_context
    monkeypatch.setattr(contextreads, "_list_context", lambda root, patterns: listed.append(root) or real_list(root, patterns))
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "app.py").write_text("print(1)\n")
        for name in ("Dockerfile", "one.Dockerfile", "two.Dockerfile"):
            (tmp_path / folder / name).write_text("FROM python:3.12-slim\nCOPY . /app\nRUN pip install torch\n")
    (tmp_path / "a" / "two.Dockerfile.dockerignore").write_text("*.py\n")  # its own ignore file: its own listing
    paths = sorted(str(p) for p in tmp_path.glob("*/*Dockerfile"))
    flags = plan.Flags(isolated=True)
    plans: dict = {}
    shared = pool.lint_files(flags, paths, {p: plan.cached_plan(flags, p, plans) for p in paths}, 1)
    assert sorted(Path(root).name for root in listed) == ["a", "a", "b"]
    assert [r.findings for r in shared] == [plan.lint_file(flags, p).findings for p in paths]  # each alone
