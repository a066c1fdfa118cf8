"""The trust issue's CLI items: --fix never loses an edit, stdin round-trips, one bad input or one dead
worker never takes down a run, signals clean up, and a crash never passes for "findings" (exit 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit import pool
from dockaudit import run as plan
from dockaudit.cli import cli
from dockaudit.files import MAX_FILE_BYTES
from dockaudit.atomic import ChangedSinceRead, write_atomically

FIXABLE = b"FROM debian:12\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\nUSER 1000\n"
# FIXABLE's fixes are DA008 (JSON CMD) and DA401 (apt lists), both off by default: --fix runs select them.
FIXES = ("--extend-select", "DA008,DA401")


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def _debris(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.dockaudit"))


# --- item 5: --fix never overwrites edits made while it runs -------------------------------------------


def test_write_atomically_refuses_a_file_that_changed_since_it_was_read(tmp_path: Path):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"FROM a\n")
    with pytest.raises(ChangedSinceRead):
        write_atomically(target, b"FROM fixed\n", expected=b"FROM b\n")
    assert target.read_bytes() == b"FROM a\n" and _debris(tmp_path) == []
    write_atomically(target, b"FROM fixed\n", expected=b"FROM a\n")
    assert target.read_bytes() == b"FROM fixed\n"


def test_an_edit_made_while_fix_runs_is_kept_and_reported(tmp_path: Path, monkeypatch):
    import dockaudit.linting.fix

    target = tmp_path / "Dockerfile"
    target.write_bytes(FIXABLE)
    real_fix_text = dockaudit.linting.fix.fix_text

    def fix_while_the_user_saves(*args, **kwargs):
        outcome = real_fix_text(*args, **kwargs)
        target.write_bytes(b"FROM debian:12\n# the user's edit\n")  # saved between read and write
        return outcome

    monkeypatch.setattr(dockaudit.linting.fix, "fix_text", fix_while_the_user_saves)
    result = run("--fix", "--isolated", *FIXES, str(target))
    assert target.read_bytes() == b"FROM debian:12\n# the user's edit\n"
    assert "changed since it was read; not rewritten" in result.stderr
    assert "Fixed 0 findings in 0 files" in result.stderr  # nothing is claimed that is not on disk
    assert result.exit_code == 2 and _debris(tmp_path) == []


@pytest.mark.slow
def test_two_concurrent_fix_runs_never_report_fixes_that_are_not_on_disk(tmp_path: Path):
    # Run A fixes only DA008 (JSON CMD), run B only DA401 (apt lists): if either overwrote the other's
    # write, a file would lack a fix its run reported.
    for index in range(300):
        (tmp_path / f"{index:03}.Dockerfile").write_bytes(FIXABLE)
    command = [sys.executable, "-m", "dockaudit", "--isolated", "--fix", "--format", "json", str(tmp_path)]
    a = subprocess.Popen([*command, "--select", "DA008"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    b = subprocess.Popen([*command, "--select", "DA401"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    outputs = {"DA008": a.communicate(), "DA401": b.communicate()}
    markers = {"DA008": b'CMD ["python", "app.py"]', "DA401": b"rm -rf /var/lib/apt/lists/*"}
    for rule, (_stdout, stderr) in outputs.items():
        refused = {line.split(": ", 2)[1] for line in stderr.decode().splitlines() if "changed since it was read" in line}
        for path in tmp_path.glob("*.Dockerfile"):
            if str(path) not in refused:
                assert markers[rule] in path.read_bytes(), (rule, path)
    assert _debris(tmp_path) == []


# --- item 7: --fix - keeps the input on stdout whatever goes wrong -----------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"FROM alpine\nRUN <<EOF\nunterminated heredoc\n",  # does not parse
        b"FROM alpine\n\0\0binary\n",  # refused: NUL bytes
        b"\xff\xfeF\x00R\x00O\x00M\x00",  # UTF-16
    ],
    ids=["unparseable", "binary", "utf16"],
)
def test_fix_stdin_gives_the_input_back_unchanged_on_error(data: bytes):
    result = run("--fix", "--isolated", "-", stdin=data)
    assert result.stdout_bytes == data
    assert result.exit_code == 2
    assert "All clear" not in result.stdout and "All clear" not in result.stderr


def test_fix_stdin_over_the_cap_is_passed_through_whole():
    data = b"FROM alpine\n" + b"# filler\n" * (MAX_FILE_BYTES // 9 + 10)
    result = run("--fix", "--isolated", "-", stdin=data)
    assert result.exit_code == 2 and "file too large" in result.stderr
    assert result.stdout_bytes == data


def test_fix_stdin_gives_the_input_back_on_a_config_error(tmp_path: Path, monkeypatch):
    (tmp_path / ".dockaudit.toml").write_text("select = 5\n")
    monkeypatch.chdir(tmp_path)
    result = run("--fix", "-", stdin=FIXABLE)
    assert result.exit_code == 2 and result.stdout_bytes == FIXABLE


def test_fix_stdin_report_goes_to_stderr():
    result = run("--fix", "--isolated", "--select", "DA008", "-", stdin=FIXABLE)
    assert result.stdout_bytes == FIXABLE.replace(b"CMD python app.py", b'CMD ["python", "app.py"]')
    assert "Fixed 1 finding" in result.stderr


# --- item 8: fixes across the files of one run are computed first, then written ---------------------------


def _compose_project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_bytes(FIXABLE)
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    build: ./app\n")
    return tmp_path


@pytest.mark.parametrize("how", [["--fix"], ["--diff"]])
def test_fix_and_diff_over_a_compose_project_with_builds(tmp_path: Path, how: list[str], monkeypatch):
    project = _compose_project(tmp_path)
    monkeypatch.chdir(project)
    result = run(*how, "--isolated", "--select", "DA008", ".")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    fixed = (project / "app" / "Dockerfile").read_bytes()
    if how == ["--fix"]:
        assert b'CMD ["python", "app.py"]' in fixed and result.exit_code == 0
    else:
        assert fixed == FIXABLE and '+CMD ["python", "app.py"]' in result.stdout and result.exit_code == 1


def test_compose_command_fix_with_a_build(tmp_path: Path, monkeypatch):
    project = _compose_project(tmp_path)
    monkeypatch.chdir(project)
    result = run("compose", "compose.yaml", "--fix", "--isolated", "--select", "DA008")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert b'CMD ["python", "app.py"]' in (project / "app" / "Dockerfile").read_bytes()


def test_a_crashing_fix_writes_no_file_at_all(tmp_path: Path, monkeypatch):
    import dockaudit.linting.fix

    first, second = tmp_path / "a.Dockerfile", tmp_path / "b.Dockerfile"
    first.write_bytes(FIXABLE)
    second.write_bytes(FIXABLE)
    real_fix_text = dockaudit.linting.fix.fix_text

    def crash_on_b(text, path, *args, **kwargs):
        if path and path.endswith("b.Dockerfile"):
            raise RuntimeError("bug in a fix")
        return real_fix_text(text, path, *args, **kwargs)

    monkeypatch.setattr(dockaudit.linting.fix, "fix_text", crash_on_b)
    result = run("--fix", "--isolated", *FIXES, str(first), str(second))
    assert result.exit_code == 2 and "no file was rewritten" in result.stderr
    assert first.read_bytes() == FIXABLE and second.read_bytes() == FIXABLE


# --- item 9: SIGTERM / SIGINT during --fix leave no temp files; SIGINT exits 130 ---------------------------

_SLOW_FSYNC = """
import os, sys, time
real_fsync = os.fsync
def slow_fsync(fd):
    time.sleep(0.3)
    real_fsync(fd)
os.fsync = slow_fsync
sys.argv = ["dockaudit", *sys.argv[1:]]
from dockaudit.entry import main
main()
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_fix_leaves_no_temp_file(tmp_path: Path, signum: int, code: int):
    for index in range(20):
        (tmp_path / f"{index:02}.Dockerfile").write_bytes(FIXABLE)
    process = subprocess.Popen([sys.executable, "-c", _SLOW_FSYNC, "--isolated", "--fix", *FIXES, "-j", "1",
                                str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120  # a hang guard: the first temp file appears within a second
    while not _debris(tmp_path) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert _debris(tmp_path), "no temp file was ever seen"
    process.send_signal(signum)
    _stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert b"Traceback" not in stderr and b"Aborted" not in stderr
    assert _debris(tmp_path) == []
    for path in tmp_path.glob("*.Dockerfile"):  # each file is the original or fully fixed, never partial
        assert path.read_bytes() == FIXABLE or b"rm -rf /var/lib/apt/lists/*" in path.read_bytes()


# --- item 10: input errors and dead workers with --jobs -----------------------------------------------------


def _many_files(folder: Path, count: int = 40) -> None:
    for index in range(count):
        (folder / f"{index:02}.Dockerfile").write_bytes(b"FROM alpine:3.20\nCMD sh\n")
    (folder / "03.Dockerfile").write_bytes(b"FROM alpine\n\0\0")  # binary
    (folder / "07.Dockerfile").write_bytes(b"FROM alpine\n" + b"#" * (MAX_FILE_BYTES + 1))  # too large
    (folder / "11.Dockerfile").unlink()
    os.mkfifo(folder / "11.Dockerfile")  # a FIFO must not block the run


def test_input_errors_with_jobs_are_reported_per_file(tmp_path: Path):
    _many_files(tmp_path)
    report = tmp_path / "report.json"
    report.write_text("stale report of an earlier run")
    result = run("--isolated", "-j", "2", "--exit-zero", "--format", f"json:{report}", str(tmp_path))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2  # input errors, not a crash, and not hidden by --exit-zero
    document = json.loads(report.read_text())
    errors = {Path(f["path"]).name: f["error"] for f in document["files"] if f["error"]}
    # 03.Dockerfile is binary: a file a directory scan found by its name that is no Dockerfile is said on
    # stderr and skipped (tests/test_discovery.py); the too large one and the FIFO are errors
    assert set(errors) == {"07.Dockerfile", "11.Dockerfile"}
    assert "not a regular file" in errors["11.Dockerfile"]
    assert len(document["files"]) == 39
    assert "03.Dockerfile: binary file" in result.output and "skipped" in result.output


def test_a_dead_worker_is_reported_for_its_file_only(tmp_path: Path, monkeypatch):
    _many_files(tmp_path)
    real_lint_file = plan.lint_file

    def die_on_one_file(flags, path, *args, **kwargs):
        if path.endswith("20.Dockerfile"):
            os._exit(9)  # as an out-of-memory kill would end it
        return real_lint_file(flags, path, *args, **kwargs)

    monkeypatch.setattr(plan, "lint_file", die_on_one_file)  # forked workers inherit it (lint_in_order calls it)
    outcomes = pool.lint_files(plan.Flags(isolated=True), sorted(map(str, tmp_path.glob("*.Dockerfile"))), {}, 2)
    assert len(outcomes) == 40
    failed = [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(Path(e.path).name for e in failed) == ["03.Dockerfile", "07.Dockerfile", "11.Dockerfile",
                                                         "20.Dockerfile"]  # fmt: skip
    assert "ended its worker process" in next(str(e) for e in failed if e.path.endswith("20.Dockerfile"))


def test_worker_count_is_capped_by_cores_idle_cores_and_work(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr(pool, "idle_cores", lambda cores: 1.9)
    assert pool.worker_count(200, 10_000) == 2  # -j 200 on two cores
    assert pool.worker_count(0, 10) == 1  # a pre-commit batch: no pool
    assert pool.worker_count(0, 2 * pool.MIN_FILES_PER_WORKER) == 2
    assert pool.worker_count(1, 10_000) == 1
    assert pool.worker_count(2, 10) == 1  # --jobs 2 still gives each worker a share of the files
    monkeypatch.setattr(pool, "idle_cores", lambda cores: 1.0)
    assert pool.worker_count(0, 10_000) == 1  # one core busy: a pool may well be slower
    assert pool.worker_count(2, 10_000) == 2  # unless the user asks for it
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))
    monkeypatch.setattr(pool, "idle_cores", lambda cores: 3.6)
    assert pool.worker_count(0, 10_000) == 4  # 16 cores, 12.4 busy: the idle ones


def test_the_default_pool_starts_only_for_enough_estimated_work(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr(pool, "idle_cores", lambda cores: 2.0)
    small = [str(tmp_path / f"{i}.Dockerfile") for i in range(40)]
    for path in small:
        Path(path).write_text("FROM alpine\n")
    work = pool.estimated_work(small)
    assert work < 2 * pool.MIN_WORK_PER_WORKER  # 40 one-line files: ~30 ms of linting
    assert pool.worker_count(0, len(small), work) == 1
    big = tmp_path / "big.Dockerfile"
    big.write_text("FROM alpine\n" + "RUN echo hi\n" * 40_000)
    two = [str(big), str(big)]
    assert pool.worker_count(0, 2, pool.estimated_work(two)) == 2  # two long files: a worker each
    assert pool.worker_count(0, 1, pool.estimated_work(two[:1])) == 1  # never more workers than files
    assert pool.estimated_work([str(tmp_path / "missing")]) == pool.FILE_COST


def test_idle_cores_reads_the_cpu_counters():
    idle = pool.idle_cores(2, window=0.01)
    assert 0.0 <= idle <= 2.0


def test_idle_cores_counts_from_the_command_start_without_waiting_again(monkeypatch):
    import time

    monkeypatch.setattr(pool, "_STARTED", None)  # restored afterwards: other tests see no start sample
    pool.note_start()
    started = pool._STARTED
    assert started is not None
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    monkeypatch.setattr(started, "when", started.when - 10)  # the command started long ago
    assert 0.0 <= pool.idle_cores(2) <= 2.0
    assert slept == [0.0]  # the window is already long enough


# --- item 12: FIFOs never block ---------------------------------------------------------------------------


def test_a_fifo_named_dockerfile_is_reported_and_the_rest_linted(tmp_path: Path):
    os.mkfifo(tmp_path / "Dockerfile")
    (tmp_path / "other.Dockerfile").write_bytes(b"FROM alpine\n")
    result = run("--isolated", "--select", "DA201", str(tmp_path))
    assert result.exit_code == 2
    assert "Dockerfile: not a regular file" in result.stderr and "DA201" in result.stdout


# --- item 16: exit codes --------------------------------------------------------------------------------


def test_a_crashing_rule_exits_2_not_1(tmp_path: Path, monkeypatch):
    from dockaudit import records

    target = tmp_path / "Dockerfile"
    target.write_bytes(b"FROM alpine:3.20\n")
    real_select = plan.select_rules

    def crash(ctx):
        raise RuntimeError("boom")

    def crash_da201(*args):
        return [records.replace(r, check=crash) if r.id == "DA201" else r for r in real_select(*args)]

    monkeypatch.setattr(plan, "select_rules", crash_da201)
    result = run("--isolated", "--select", "DA201", str(target))
    assert "DA000" in result.stdout and result.exit_code == 2
    target.write_bytes(FIXABLE)
    diff = run("--isolated", "--select", "DA201,DA008", "--diff", str(target))  # DA008's fix is a change
    assert '+CMD ["python", "app.py"]' in diff.stdout and diff.exit_code == 2  # still the crash's code


def test_an_unexpected_exception_is_one_line_and_exit_2(tmp_path: Path, monkeypatch, capsys):
    import dockaudit.check
    import dockaudit.entry

    def explode(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(dockaudit.check, "_check", explode)
    monkeypatch.setattr(sys, "argv", ["dockaudit", str(tmp_path)])
    with pytest.raises(SystemExit) as stopped:
        dockaudit.entry.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("dockaudit: internal error: RuntimeError: unexpected") and err.count("\n") == 1


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_an_unknown_selector_is_a_usage_error(tmp_path: Path, option: str):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"FROM alpine:latest\n")
    result = run("--isolated", option, "NOPE", str(target))
    assert result.exit_code == 2 and "unknown rule selector 'NOPE'" in result.stderr
    assert "All clear" not in result.stdout


def test_an_unknown_selector_in_the_config_is_an_error(tmp_path: Path, monkeypatch):
    (tmp_path / ".dockaudit.toml").write_text('ignore = ["DA9999"]\n')
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine:latest\n")
    monkeypatch.chdir(tmp_path)
    result = run("Dockerfile")
    assert result.exit_code == 2 and "ignore: unknown rule selector 'DA9999'" in result.stderr


def test_known_selectors_of_every_kind_are_accepted(tmp_path: Path):
    target = tmp_path / "Dockerfile"
    target.write_bytes(b"FROM alpine:latest\n")
    result = run("--isolated", "--select", "DA2,DL3008,json-args,ALL", "--exit-zero", str(target))
    assert result.exit_code == 0


def test_image_dockerfile_option_given_a_binary_file(tmp_path: Path):
    binary = tmp_path / "Dockerfile"
    binary.write_bytes(b"\0\x01\x02ELF")
    result = run("image", "--dockerfile", str(binary), "oci:" + str(tmp_path / "missing"))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "binary file" in result.stderr and "Traceback" not in result.output


def test_fix_and_its_report_honour_per_file_ignores(tmp_path: Path, monkeypatch):
    (tmp_path / ".dockaudit.toml").write_text(
        'extend-select = ["DA401", "DA204"]\n[per-file-ignores]\n"Dockerfile" = ["DA401", "DA204"]\n'
    )  # both are off by default: selected, so that the per-file ignore is what turns them off
    target = tmp_path / "Dockerfile"
    target.write_bytes(FIXABLE)
    monkeypatch.chdir(tmp_path)
    diff = run("--diff", "Dockerfile")
    assert "rm -rf /var/lib/apt/lists" not in diff.stdout  # DA401's fix is turned off with DA401
    fixed = run("--fix", "--format", "json", "Dockerfile")
    assert b"rm -rf /var/lib/apt/lists" not in target.read_bytes()
    rules = {f["rule"] for f in json.loads(fixed.stdout)["findings"]}
    assert "DA204" not in rules and "DA401" not in rules  # not back in the report after --fix
