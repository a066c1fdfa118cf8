"""A command line of paths and on/off switches runs without click (``dockaudit.check.plain_request``,
issue 21): it must be the very request click's ``check`` builds, print the same and exit the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import dockaudit.check
from dockaudit.check import PLAIN_SWITCHES, plain_request
from dockaudit.cli import LAZY_COMMANDS, cli
from dockaudit.options import COMMANDS

FIXABLE = b"FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl\nADD app.py /app/\nUSER root\n"

PLAIN = [
    [],
    ["Dockerfile"],
    ["check"],
    ["check", "a/Dockerfile", "b"],
    ["-"],
    ["check", "--force-exclude", "x.Dockerfile"],  # the pre-commit hook
    ["check", "--force-exclude", "--fix", "x.Dockerfile"],  # its fixing hook
    ["--quiet", "-q", "--exit-zero", "Dockerfile", "--no-color"],
    ["--no-respect-gitignore", "--respect-gitignore", "."],
    ["--fix", "--unsafe-fixes", "--isolated", "--no-context", "a", "b"],
    ["check", "rules"],  # after check, a command's name is a path
    *([switch, "Dockerfile"] for switch in PLAIN_SWITCHES),
]
NOT_PLAIN = [
    ["rules"], ["compose", "x.yml"], ["lsp"], ["-h"], ["--help"], ["--version"], ["--", "x"], ["-qy", "x"],
    ["--select", "DA1", "x"], ["--format=json", "x"], ["-j", "1", "x"], ["--online", "x"], ["check", "--target", "a"],
]  # fmt: skip


def _click_request(argv: list[str], monkeypatch) -> tuple:
    built = []
    monkeypatch.setattr(dockaudit.check, "run_check", lambda flags, run: built.append((flags, run)))
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    (request,) = built
    return request


@pytest.mark.parametrize("argv", PLAIN, ids=lambda argv: " ".join(argv) or "(none)")
def test_a_plain_command_line_is_the_request_click_builds(argv, monkeypatch):
    assert plain_request(argv) == _click_request(argv, monkeypatch)


@pytest.mark.parametrize("argv", NOT_PLAIN, ids=" ".join)
def test_any_other_command_line_is_clicks(argv):
    assert plain_request(argv) is None


def test_the_switches_are_checks_on_off_options():
    options = {o: p for p in cli.commands["check"].params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)}
    for switch in PLAIN_SWITCHES:
        assert switch in options and options[switch].is_flag, switch
    # Every other on/off option of check changes more than a field (--online starts a request budget)
    # or is not for users (--merge-compose, the compose command's).
    flags = {o for o, p in options.items() if p.is_flag and not p.hidden and o not in ("-h", "--help")}
    assert flags - set(PLAIN_SWITCHES) == {"--online"}


def test_the_command_names_are_clis():
    assert set(COMMANDS) == set(cli.commands) | set(LAZY_COMMANDS)


def _dockaudit(*argv: str, cwd: Path, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    # A plain run ends in entry._exit_now (no teardown, no finally): the probe reports from there too.
    probe = ("import sys\nimport dockaudit.entry as entry\nsys.argv = ['dockaudit', *sys.argv[1:]]\n"
             "def report():\n    print('click loaded' if 'click' in sys.modules else '', file=sys.stderr)\n"
             "real_exit_now = entry._exit_now\n"
             "entry._exit_now = lambda code: (report(), real_exit_now(code))\n"
             "try:\n    entry.main()\nfinally:\n    report()\n")  # fmt: skip
    return subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, cwd=cwd, input=stdin, timeout=120,
                          env={**os.environ, **(env or {})})  # fmt: skip


def test_a_plain_run_loads_no_click_and_prints_what_clicks_prints(tmp_path: Path):
    (tmp_path / "Dockerfile").write_bytes(FIXABLE)
    plain = _dockaudit("--isolated", "Dockerfile", cwd=tmp_path)
    clicks = _dockaudit("--isolated", "--jobs", "0", "Dockerfile", cwd=tmp_path)  # --jobs 0 is the default
    assert plain.stderr.decode().splitlines()[-1:] == [""] and b"click loaded" in clicks.stderr
    assert plain.returncode == clicks.returncode == 1
    assert plain.stdout == clicks.stdout and b"DA" in plain.stdout
    assert plain.stderr.replace(b"\n", b"") == clicks.stderr.replace(b"click loaded", b"").replace(b"\n", b"")


def test_a_plain_fix_writes_what_clicks_fix_writes(tmp_path: Path):
    for name in ("plain", "click"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_bytes(FIXABLE)
    plain = _dockaudit("--isolated", "--fix", "Dockerfile", cwd=tmp_path / "plain")
    clicks = _dockaudit("--isolated", "--fix", "--jobs", "0", "Dockerfile", cwd=tmp_path / "click")
    assert plain.returncode == clicks.returncode
    fixed = (tmp_path / "plain" / "Dockerfile").read_bytes()
    assert fixed != FIXABLE and fixed == (tmp_path / "click" / "Dockerfile").read_bytes()
    piped = _dockaudit("--isolated", "--fix", "-", cwd=tmp_path, stdin=FIXABLE)  # stdout carries the file
    assert piped.stdout == fixed


def test_a_bad_file_is_one_line_and_exit_2_without_click(tmp_path: Path):
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine\x00\n")
    done = _dockaudit("--isolated", "Dockerfile", "missing", cwd=tmp_path)
    lines = done.stderr.decode().splitlines()
    assert done.returncode == 2 and lines[-1] == "", done.stderr
    assert all(line.startswith("dockaudit: ") for line in lines[:-1]) and len(lines) == 3, lines


def test_shell_completion_is_clicks_even_with_no_arguments(tmp_path: Path):
    """``_DOCKAUDIT_COMPLETE=bash_source dockaudit`` (the README's line) runs with no arguments, which
    alone would be a plain check of the working directory."""
    (tmp_path / "Dockerfile").write_bytes(FIXABLE)
    done = _dockaudit(cwd=tmp_path, env={"_DOCKAUDIT_COMPLETE": "bash_source"})
    assert done.returncode == 0 and b"complete -o nosort -F _dockaudit_completion dockaudit" in done.stdout, done


def test_a_long_report_is_written_whole_before_the_process_ends(tmp_path: Path):
    """A plain run ends the process without the interpreter's teardown: its report must still be whole."""
    from tests.conftest import FIXTURES

    for index, source in enumerate(sorted((FIXTURES / "rules").glob("DA*/bad.Dockerfile"))[:60]):
        (tmp_path / f"{index:02}.Dockerfile").write_bytes(source.read_bytes())
    names = sorted(p.name for p in tmp_path.glob("*.Dockerfile"))
    plain = _dockaudit("--isolated", *names, cwd=tmp_path)
    clicks = _dockaudit("--isolated", "--jobs", "0", *names, cwd=tmp_path)
    assert len(plain.stdout) > 10_000 and plain.stdout == clicks.stdout
    assert plain.returncode == clicks.returncode
