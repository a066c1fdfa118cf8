"""Files a pull request plants in a build context: ignore files, requirements and environment files are
read only when they are regular files of bounded size inside the context, and the context walk is bounded."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest


def _with_hang_guard(job) -> list:
    """``[job()]`` run in a thread (its exception re-raised); a hang (the bug) fails instead of blocking."""
    done: list = []

    def attempt() -> None:
        try:
            done.append(job())
        except Exception as error:  # noqa: BLE001 - handed to the test's thread, raised there
            done.append(error)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(120)
    assert done, "blocked on a FIFO"
    if isinstance(done[0], Exception):
        raise done[0]
    return done


@pytest.mark.parametrize("kind", ["dev-zero", "outside", "fifo", "huge", "dangling"])
@pytest.mark.parametrize("name", [".dockerignore", "Dockerfile.dockerignore"])
def test_an_ignore_file_that_cannot_be_read_safely_counts_as_absent(tmp_path: Path, kind: str, name: str):
    from dockaudit.context import LintContext, Options
    from dockaudit.dockerignore import dockerignore_problems
    from dockaudit.syntax import parse

    context = tmp_path / "ctx"
    context.mkdir()
    (tmp_path / "outside.ignore").write_text("*\n")
    ignore = context / name
    if kind == "dev-zero":
        ignore.symlink_to("/dev/zero")
    elif kind == "outside":
        ignore.symlink_to(tmp_path / "outside.ignore")
    elif kind == "fifo":
        os.mkfifo(ignore)
    elif kind == "huge":
        ignore.write_text("# padding\n" * 200_000)  # 2 MB
    else:
        ignore.symlink_to(context / "missing")
    dockerfile = context / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\nCOPY . /app\n")
    ctx = LintContext(parse(dockerfile.read_text(), str(dockerfile)), Options(context_dir=context))
    [patterns] = _with_hang_guard(lambda: ctx.dockerignore)
    assert patterns is None and sorted(ctx.context_files) == sorted(["Dockerfile", name])
    [problem] = dockerignore_problems(context, dockerfile)
    assert problem.path == str(ignore) and "not read" in problem.reason and "\n" not in str(problem)


def test_an_ignore_file_linked_inside_the_context_is_read(tmp_path: Path):
    from dockaudit.dockerignore import read_dockerignore

    (tmp_path / "rules.ignore").write_text("secrets/\n")
    (tmp_path / ".dockerignore").symlink_to("rules.ignore")
    [pattern] = read_dockerignore(tmp_path)
    assert pattern.text == "secrets/"


def _hostile_file(tmp_path: Path, kind: str, size: int) -> Path:
    path = tmp_path / "planted"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(b"a==1\n" * (size // 5 + 1))
    return path


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
def test_context_readers_refuse_devices_fifos_and_huge_files(tmp_path: Path, kind: str):
    from dockaudit.condaenv import MAX_ENVIRONMENT_BYTES, read_environment
    from dockaudit.requirements import MAX_REQUIREMENTS_BYTES, read_requirements_file

    path = _hostile_file(tmp_path, kind, max(MAX_ENVIRONMENT_BYTES, MAX_REQUIREMENTS_BYTES))
    [requirements] = _with_hang_guard(lambda: read_requirements_file(path))
    assert requirements.missing == (str(path),) and not requirements.requirements
    assert _with_hang_guard(lambda: read_environment(path)) == [None]


def test_the_context_walk_is_bounded_even_when_nothing_can_be_pruned(tmp_path: Path, monkeypatch):
    import dockaudit.context
    from dockaudit.context import LintContext, Options
    from dockaudit.syntax import parse

    for index in range(50):
        (tmp_path / "ignored" / str(index)).mkdir(parents=True)
        (tmp_path / "ignored" / str(index) / "keep").write_text("")
    (tmp_path / ".dockerignore").write_text("ignored\n!ignored/*/keep\n")  # a `!` pattern: every folder is walked
    dockerfile = parse("FROM alpine:3.20\nCOPY . /app\n", None)
    assert len(LintContext(dockerfile, Options(context_dir=tmp_path)).context_files) == 51
    monkeypatch.setattr(dockaudit.context, "CONTEXT_ENTRY_LIMIT", 20)
    assert LintContext(dockerfile, Options(context_dir=tmp_path)).context_files == [".dockerignore"]
