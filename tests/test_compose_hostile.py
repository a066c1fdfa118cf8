"""Compose projects and build contexts from a pull request: nothing outside the project directory is read or
printed, FIFOs and huge files are refused, includes are bounded, malformed shapes end in one line, never a
traceback; ignore, requirements and environment files are read only when regular, bounded and inside."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.compose.project import MAX_COMPOSE_LOADS, ComposeError, load_project
from dockaudit.facts.resources import Resources
from tests.conftest import REPO

CANARY = "CANARY-5e1f0c"  # in every planted file outside the project; must never reach a report
FORMATS = ("text", "json", "sarif", "github")


def run(*args: str):
    return CliRunner().invoke(cli, [*args, "--isolated", "--no-color"])


def _outside(tmp_path: Path) -> Path:
    """A folder next to the project holding a compose file, a Dockerfile and an env file that would each
    print the canary if read (a service and an image named after it, a FROM, a credential variable)."""
    outside = tmp_path / "outside"
    (outside / "ctx").mkdir(parents=True)
    (outside / "leak.yaml").write_text(f"services:\n  {CANARY}:\n    image: {CANARY}\n  base:\n    image: {CANARY}\n")
    (outside / "ctx" / "Dockerfile").write_text(f"FROM {CANARY}\n")
    (outside / "secret.env").write_text(f"TAG={CANARY}\n{CANARY.replace('-', '_')}_API_TOKEN=ghp_{CANARY}x\n")
    return outside


def _forms(project: Path, target: Path) -> dict[str, str]:
    """Three ways to write a path to ``target``: absolute, ``../``, and a symlink inside the project."""
    link = project / f"link-{target.name}"
    link.symlink_to(target)
    return {"absolute": str(target), "dotdot": os.path.relpath(target, project), "symlink": link.name}


_KEYS = {  # key → (compose text with {path}, the file it names outside the project)
    "include": ("include:\n  - {path}\nservices:\n  app:\n    image: alpine:3.20\n", "leak.yaml"),
    "include-long": ("include:\n  - path: {path}\nservices:\n  app:\n    image: alpine:3.20\n", "leak.yaml"),
    "extends.file": ("services:\n  app:\n    extends: {{file: {path}, service: base}}\n", "leak.yaml"),
    "env_file": ("services:\n  app:\n    image: alpine:3.20\n    env_file: [{path}]\n", "secret.env"),
    "build.context": ("services:\n  app:\n    build: {{context: {path}}}\n", "ctx"),
    "build-short": ("services:\n  app:\n    build: {path}\n", "ctx"),
    "build.dockerfile": ("services:\n  app:\n    build: {{context: ., dockerfile: {path}}}\n", "ctx/Dockerfile"),
}


def _project(tmp_path: Path, key: str, form: str) -> Path:
    outside = _outside(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    text, name = _KEYS[key]
    (project / "compose.yaml").write_text(text.format(path=_forms(project, outside / name)[form]))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # DA912 reads only committed env files
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    return project


@pytest.mark.parametrize("form", ["absolute", "dotdot", "symlink"])
@pytest.mark.parametrize("key", list(_KEYS))
def test_no_byte_from_outside_the_project_reaches_any_report(tmp_path: Path, monkeypatch, key: str, form: str):
    project = _project(tmp_path, key, form)
    monkeypatch.chdir(project)
    for fmt in FORMATS:
        for arguments in ([".", "--format", fmt], ["compose", "compose.yaml", "--format", fmt]):
            result = run(*arguments)
            assert result.exit_code == 2, (arguments, result.output)
            assert CANARY not in result.output and CANARY not in result.stderr, (arguments, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in run(".", "--format", "json").stderr.splitlines() if "not read" in line]
    assert len(lines) == 1 and "outside the project directory" in lines[0] and lines[0].startswith("dockaudit: ")


@pytest.mark.parametrize("key", list(_KEYS))
def test_the_same_files_are_read_when_the_project_directory_covers_them(tmp_path: Path, monkeypatch, key: str):
    """The control for the test above: widened with --project-directory, each key does lead to the canary."""
    project = _project(tmp_path, key, "dotdot")
    monkeypatch.chdir(project)
    # The canary reaches a report through DA901 (image names) and DA201 (FROM), both off by default.
    result = run(
        ".", "--project-directory", str(tmp_path), "--select", "ALL", "--extend-select", "DA201,DA901", "--exit-zero"
    )
    assert CANARY in result.output or CANARY.replace("-", "_") in result.output, result.output
    assert "not read" not in result.output


def test_a_dot_env_symlink_leading_outside_is_not_read(tmp_path: Path, monkeypatch):
    outside = _outside(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").symlink_to(outside / "secret.env")
    (project / "compose.yaml").write_text("services:\n  app:\n    image: ${TAG:-alpine}\n")
    monkeypatch.chdir(project)
    shown = ("--extend-select", "DA901")  # off by default; it prints the image name, ${TAG} from the .env
    for fmt in FORMATS:
        result = run(".", *shown, "--format", fmt)
        assert result.exit_code == 2 and CANARY not in result.output, result.output
    assert ".env resolves outside the project directory" in run(".").stderr
    (project / ".env").unlink()
    (project / ".env").symlink_to(project / "inside.env")  # the control: a link that stays inside is followed
    (project / "inside.env").write_text((outside / "secret.env").read_text())
    assert CANARY in run(".", *shown, "--exit-zero").output


def test_proc_self_environ_as_a_dockerfile_does_not_print_the_environment(tmp_path: Path):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    build: {context: ., dockerfile: /proc/self/environ}\n"
        "  etc:\n    build: {context: ., dockerfile: ../../../../../../etc/passwd}\n"
        "  host:\n    build: {context: /}\n"
    )
    for fmt in FORMATS:
        completed = subprocess.run(
            [sys.executable, "-m", "dockaudit", "--isolated", "--format", fmt, "."], cwd=tmp_path,
            capture_output=True, text=True, env={**os.environ, "CI_TOKEN": CANARY, "PYTHONPATH": str(REPO)},
            check=False,
        )  # fmt: skip
        assert completed.returncode == 2, completed.stderr
        assert CANARY not in completed.stdout + completed.stderr
        assert ":0:0:" not in completed.stdout + completed.stderr  # root's line of /etc/passwd
        assert "Traceback" not in completed.stderr
    errors = [line for line in completed.stderr.splitlines() if "not read" in line]
    assert len(errors) == 3, completed.stderr


@pytest.mark.parametrize(
    "context",
    ["https://github.com/org/repo.git#main", "git@github.com:org/repo.git", "github.com/org/repo",
     "ssh://git@host/repo.git", "http://127.0.0.1:9/context.tar.gz"],
)  # fmt: skip
def test_a_remote_build_context_is_not_fetched(tmp_path: Path, monkeypatch, context: str):
    (tmp_path / "compose.yaml").write_text(f"services:\n  app:\n    build: {{context: '{context}'}}\n")
    monkeypatch.chdir(tmp_path)
    result = run(".")
    assert result.exit_code == 2 and "is a remote location, not fetched" in result.stderr, result.output


def test_a_remote_context_with_an_inline_dockerfile_lints_the_inline_file_alone(tmp_path: Path, monkeypatch):
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: https://example.com/ctx.git\n"
        "      dockerfile_inline: |\n        FROM alpine:latest\n"
    )
    monkeypatch.chdir(tmp_path)
    result = run(".", "--select", "DA2")
    assert result.exit_code == 2 and "dockerfile_inline" in result.output and "not fetched" in result.stderr


def test_paths_inside_the_project_still_work_through_symlinks(tmp_path: Path, monkeypatch):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text("FROM alpine:latest\n")
    (tmp_path / "base.yaml").write_text("services:\n  base:\n    image: alpine:3.20\n")
    (tmp_path / "linked.yaml").symlink_to(tmp_path / "base.yaml")
    (tmp_path / "compose.yaml").write_text("include: [linked.yaml]\nservices:\n  app:\n    build: {context: ./svc}\n")
    monkeypatch.chdir(tmp_path)
    result = run(".", "--select", "DA2")
    assert result.exit_code == 1 and "svc/Dockerfile:1:" in result.output and "not read" not in result.output


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


@pytest.mark.parametrize("name", ["compose.yaml", ".env", "included.yaml", "app.env", "Dockerfile", ".dockerignore"])
def test_a_fifo_is_refused_in_one_line_and_the_rest_is_linted(tmp_path: Path, monkeypatch, name: str):
    (tmp_path / "compose.yaml").write_text(
        "include: [included.yaml]\nservices:\n  db:\n    image: postgres:latest\n    env_file: [app.env]\n"
        "  app:\n    build: .\n"
    )
    (tmp_path / "included.yaml").write_text("services:\n  cache:\n    image: redis:7.4\n")
    (tmp_path / "Dockerfile").write_text("FROM alpine:latest\nCOPY . /app\n")
    (tmp_path / "app.env").write_text("A=1\n")
    (tmp_path / "other.Dockerfile").write_text("FROM debian:latest\n")
    (tmp_path / name).unlink(missing_ok=True)
    os.mkfifo(tmp_path / name)
    monkeypatch.chdir(tmp_path)
    [result] = _with_hang_guard(lambda: run(".", "--select", "DA2,DA9"))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "other.Dockerfile" in result.output  # the other files are still linted
    problems = [line for line in result.stderr.splitlines() if name in line]
    assert result.exit_code == 2 and len(problems) == 1 and "not a regular file" in problems[0], result.output


@pytest.mark.parametrize(
    "files",
    [
        {"compose.yaml": "include: [compose.yaml]\n"},
        {"compose.yaml": "include: [b.yaml]\n", "b.yaml": "include: [compose.yaml]\n"},
        {"compose.yaml": "include: [./sub/../compose.yaml]\n", "sub/x": ""},
    ],
    ids=["self", "a-b-a", "dotted-self"],
)
def test_an_include_cycle_is_one_line(tmp_path: Path, monkeypatch, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    result = run("compose.yaml")
    assert result.exit_code == 2 and "include cycle: compose.yaml" in result.stderr, result.output
    assert len(result.stderr.splitlines()) == 1


def test_a_wide_include_tree_is_bounded(tmp_path: Path, monkeypatch):
    """Ten levels each including the next level's file ten times: 10^10 loads before, a one-line error now."""
    for level in range(10):
        (tmp_path / f"l{level}.yaml").write_text(f"include: [{', '.join([f'l{level + 1}.yaml'] * 10)}]\n")
    (tmp_path / "l10.yaml").write_text("services:\n  app:\n    image: alpine:3.20\n")
    (tmp_path / "compose.yaml").write_text("include: [l0.yaml]\n")
    monkeypatch.chdir(tmp_path)
    [result] = _with_hang_guard(lambda: run("compose.yaml"))
    assert result.exit_code == 2 and f"more than {MAX_COMPOSE_LOADS} compose file loads" in result.stderr


def test_many_services_extending_one_file_read_it_once(tmp_path: Path):
    (tmp_path / "base.yaml").write_text("services:\n  base:\n    image: alpine:3.20\n")
    services = "".join(
        f"  s{i}:\n    extends: {{file: base.yaml, service: base}}\n" for i in range(MAX_COMPOSE_LOADS * 2)
    )
    (tmp_path / "compose.yaml").write_text("services:\n" + services)
    project = load_project([tmp_path / "compose.yaml"], environ={})
    assert project.services["s150"].get("image").text == "alpine:3.20" and not project.unread


@pytest.mark.parametrize(
    "text",
    [
        'include: ["a\\0b.yaml"]\n',
        'include: [{path: "a\\0b.yaml"}]\n',
        'services:\n  app:\n    image: alpine:3.20\n    env_file: ["a\\0b"]\n',
        'services:\n  app:\n    build: {context: "a\\0b"}\n',
        'services:\n  app:\n    build: "a\\0b"\n',
        'services:\n  app:\n    build: {context: ., dockerfile: "D\\0f"}\n',
        'services:\n  app:\n    extends: {file: "a\\0b", service: x}\n',
    ],
    ids=["include", "include-path", "env_file", "context", "build-short", "dockerfile", "extends"],
)
def test_a_nul_byte_in_a_path_is_one_line(tmp_path: Path, monkeypatch, text: str):
    (tmp_path / "compose.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = run(".")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    problems = [line for line in result.stderr.splitlines() if "NUL byte" in line]
    assert result.exit_code == 2 and len(problems) == 1 and "\0" not in result.output, result.output


def test_an_oversized_compose_file_is_refused_in_one_line(tmp_path: Path, monkeypatch):
    with (tmp_path / "compose.yaml").open("w") as handle:
        handle.write("services:\n  app:\n    image: alpine:3.20\n")
        handle.write("# padding\n" * 500_000)  # 5 MB
    monkeypatch.chdir(tmp_path)
    result = run(".")
    assert result.exit_code == 2 and result.stderr.strip().endswith("file too large (over 4 MiB)"), result.output
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("name", [".env", "app.env", "big.yaml"])
def test_oversized_env_and_included_files_are_refused(tmp_path: Path, monkeypatch, name: str):
    (tmp_path / "compose.yaml").write_text(
        "include: [big.yaml]\nservices:\n  app:\n    image: alpine:3.20\n    env_file: [app.env]\n"
    )
    (tmp_path / "big.yaml").write_text("services: {}\n")
    (tmp_path / "app.env").write_text("A=1\n")
    (tmp_path / name).write_text("# padding\n" * 500_000)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    monkeypatch.chdir(tmp_path)
    result = run(".")
    assert result.exit_code == 2 and "file too large" in result.stderr and name in result.stderr, result.output


def test_compose_errors_pickle():
    error = ComposeError("compose.yaml", 3, "include cycle: a -> a")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.path, copy.line, copy.message, str(copy)) == (
        ComposeError, "compose.yaml", 3, "include cycle: a -> a", str(error)
    )  # fmt: skip


_MALFORMED = [
    "services: [a, b]\n",
    "services: 5\n",
    "services: ~\n",
    "services:\n  app: [1, 2]\n",
    "services:\n  app: 5\n",
    "services:\n  app: ~\n",
    "services:\n  app:\n    build: 5\n",
    "services:\n  app:\n    build: [a, b]\n",
    "services:\n  app:\n    build: {context: [a], dockerfile: {x: 1}}\n",
    "services:\n  app:\n    build: {context: ., args: 5, target: [x]}\n",
    "services:\n  app:\n    build: {context: ., args: [5, {a: b}, '=x']}\n",
    "services:\n  app:\n    build: {dockerfile_inline: [x]}\n",
    "services:\n  app:\n    build: {dockerfile_inline: 5}\n",
    "include: {a: 1, b: 2}\n",
    "include: 5\n",
    "include: [5, ~, [a], {path: 5}, {path: [a, b]}, {}]\n",
    "services:\n  app:\n    image: 5\n    ports: 8888\n    volumes: {a: b}\n    environment: 5\n",
    "services:\n  app:\n    image: [x]\n    ports: [{target: [1]}, ~, 5]\n    volumes: [~, 5, {type: [bind]}]\n",
    "services:\n  app:\n    environment: [5, ~, '=', {a: b}]\n    env_file: {path: x}\n",
    "services:\n  app:\n    env_file: [5, ~, {path: [x]}, {}]\n",
    "services:\n  app:\n    extends: 5\n",
    "services:\n  app:\n    extends: [a]\n",
    "services:\n  app:\n    extends: {file: [a], service: {x: 1}}\n",
    "services:\n  app:\n    extends: app\n",
    "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
    "services:\n  app:\n    depends_on: 5\n  db:\n    depends_on: {app: 5}\n",
    "services:\n  app:\n    depends_on: [[x], ~]\n    healthcheck: 5\n    restart: [x]\n",
    "services:\n  app:\n    deploy: 5\n    gpus: [x]\n    runtime: [nvidia]\n",
    "services:\n  app:\n    deploy: {resources: {reservations: {devices: [5, {capabilities: 5}]}}}\n",
    "services:\n  app:\n    privileged: [x]\n    network_mode: {a: 1}\n    secrets: 5\n",
    "services:\n  app:\n    command: {a: 1}\n    entrypoint: 5\n    labels: 5\n",
    "version: [3]\nservices: {}\n",
    "secrets: 5\nvolumes: [a]\nnetworks: 5\nconfigs: [1]\n",
    "x: &a {b: *a}\n",
    "? [a, b]\n: c\n",
    "services:\n  app:\n    image: '${'\n",
    "services:\n  app:\n    image: ${A:?}\n",
    "- a\n- b\n",
    "just a string\n",
    "\ufeffservices: {}\n",
    "services:\n  app:\n    <<: 5\n",
    "services:\n  app:\n    <<: [5]\n",
    "{",
    "services:\n\tapp: {}\n",
    "",
    "---\nservices: {}\n---\nservices: {}\n",
]


@pytest.mark.parametrize("text", _MALFORMED, ids=range(len(_MALFORMED)))
def test_malformed_compose_shapes_end_in_an_exit_code_never_a_traceback(tmp_path: Path, monkeypatch, text: str):
    (tmp_path / "compose.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    for arguments in ([".", "--select", "ALL"], ["compose", "compose.yaml", "--format", "sarif"]):
        result = run(*arguments)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output and "DA000" not in result.output, result.output
        assert all(line.startswith("dockaudit: ") for line in result.stderr.splitlines()), result.stderr


@pytest.mark.parametrize("kind", ["dev-zero", "outside", "fifo", "huge", "dangling"])
@pytest.mark.parametrize("name", [".dockerignore", "Dockerfile.dockerignore"])
def test_an_ignore_file_that_cannot_be_read_safely_counts_as_absent(tmp_path: Path, kind: str, name: str):
    from dockaudit.context import LintContext, Options
    from dockaudit.facts.dockerignore import dockerignore_problems
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
    from dockaudit.facts.dockerignore import read_dockerignore

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
    from dockaudit.compose.project import MAX_ENV_FILE_BYTES, read_env_file
    from dockaudit.facts.condaenv import MAX_ENVIRONMENT_BYTES, read_environment
    from dockaudit.files import InputError
    from dockaudit.facts.requirements import MAX_REQUIREMENTS_BYTES, read_requirements_file

    path = _hostile_file(tmp_path, kind, max(MAX_ENV_FILE_BYTES, MAX_ENVIRONMENT_BYTES, MAX_REQUIREMENTS_BYTES))
    [requirements] = _with_hang_guard(lambda: read_requirements_file(path))
    assert requirements.missing == (str(path),) and not requirements.requirements
    assert _with_hang_guard(lambda: read_environment(path)) == [None]
    with pytest.raises(InputError):
        _with_hang_guard(lambda: read_env_file(path))


def test_the_context_walk_is_bounded_even_when_nothing_can_be_pruned(tmp_path: Path, monkeypatch):
    import dockaudit.facts.contextreads
    from dockaudit.context import LintContext, Options
    from dockaudit.syntax import parse

    for index in range(50):
        (tmp_path / "ignored" / str(index)).mkdir(parents=True)
        (tmp_path / "ignored" / str(index) / "keep").write_text("")
    (tmp_path / ".dockerignore").write_text("ignored\n!ignored/*/keep\n")  # a `!` pattern: every folder is walked
    dockerfile = parse("FROM alpine:3.20\nCOPY . /app\n", None)
    assert len(LintContext(dockerfile, Options(context_dir=tmp_path)).context_files) == 51
    monkeypatch.setattr(dockaudit.facts.contextreads, "CONTEXT_ENTRY_LIMIT", 20)
    assert LintContext(dockerfile, Options(context_dir=tmp_path)).context_files == [".dockerignore"]


@pytest.mark.parametrize("report", ["text", "json", "sarif", "github"])
def test_the_process_environment_is_not_interpolated_unless_asked(tmp_path: Path, monkeypatch, report: str):
    secret = "ghp_secretTOKENvalue1234567890"
    monkeypatch.setenv("CI_TOKEN", secret)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: ${CI_TOKEN}\n    environment:\n"
                                           "      PASSWORD: ${CI_TOKEN}\n")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    shown = ["--extend-select", "DA901"]  # off by default; it prints the image name, ${CI_TOKEN}
    quiet = CliRunner().invoke(cli, ["--isolated", *shown, "--format", report, "compose.yaml"])
    assert secret not in quiet.output
    asked = CliRunner().invoke(cli, ["--isolated", *shown, "--compose-environment", "--format", report, "compose.yaml"])
    assert secret in asked.output  # the user asked: values come from the environment, as docker compose does


def test_a_scanned_folder_is_the_project_of_the_compose_files_below_it(tmp_path: Path, monkeypatch):
    (tmp_path / "docker").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nUSER 1000\n")
    (tmp_path / "docker" / "compose.yaml").write_text("services:\n  app:\n    build:\n      context: ..\n")
    monkeypatch.chdir(tmp_path)
    scanned = CliRunner().invoke(cli, ["--isolated", "--exit-zero", "."])
    assert "not read" not in scanned.output and scanned.exit_code == 0, scanned.output
    named = CliRunner().invoke(cli, ["--isolated", "--exit-zero", "docker/compose.yaml"])
    assert "outside the project" in named.output and named.exit_code == 2  # named alone: its own folder


def test_a_planted_bare_repository_cannot_hide_a_committed_env_file(tmp_path: Path):
    # The files of a bare repository (HEAD, config, objects/, refs/), committed next to an env file:
    # git run in that folder took them for the repository, found the env file untracked, and the
    # rule on committed secrets was silenced.  Git must answer from the project's own repository.
    from dockaudit_rules.da91_compose_exposure import _tracked_by_git

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)  # fmt: skip

    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "secrets.env").write_text("API_TOKEN=ghp_0123456789abcdef\n")
    (folder / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "config").write_text("[core]\n\tbare = true\n")
    (folder / "objects").mkdir()
    (folder / "refs").mkdir()
    (folder / "objects" / ".keep").write_text("")
    (folder / "refs" / ".keep").write_text("")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "a PR")
    assert _tracked_by_git(Resources(), folder / "secrets.env") is True
