"""The command line: exit codes, formats, sub-commands, and bad input without tracebacks."""

from __future__ import annotations

import os

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dockaudit import __version__
from dockaudit.cli import cli
from tests.conftest import CORPUS, REPO

BAD = "FROM python:3.12-slim\nMAINTAINER me\nUSER 10001\nCMD python app.py\n"
CLEAN = 'FROM python:3.12-slim\nUSER 10001\nCMD ["python", "app.py"]\n'
# BAD's two findings (DA008 shell-form CMD, DA012 MAINTAINER) are off by default: the tests of the report select them.
EXTRA = ("--extend-select", "DA008,DA012")


def run(*args: str, stdin: str | bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture()
def bad(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(BAD)
    return path


def test_findings_exit_1_and_text_report(bad):
    result = run(str(bad), *EXTRA)
    assert result.exit_code == 1
    assert f"{bad}:4:5  DA008  warning  use the JSON form" in result.output
    assert "    4 | CMD python app.py" in result.output
    assert "      |     ^^^^^^^^^^^^^" in result.output
    assert "= fix: use the exec (JSON) form" in result.output
    assert "Found 2 findings in 1 file: 1 warning, 1 style. 2 fixable with --fix." in result.output


def test_check_subcommand_is_the_default(bad):
    assert run("check", str(bad)).output == run(str(bad)).output


def test_clean_file_exits_0(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(CLEAN)
    result = run(str(path))
    assert result.exit_code == 0 and "All clear" in result.output


def test_fail_on_and_exit_zero(bad):
    assert run(str(bad), *EXTRA, "--fail-on", "error").exit_code == 0
    assert run(str(bad), *EXTRA, "--fail-on", "style").exit_code == 1
    assert run(str(bad), *EXTRA, "--exit-zero").exit_code == 0
    assert run(str(bad), *EXTRA, "--fail-on", "never").exit_code == 0


def test_select_and_ignore(bad):
    assert "DA012" not in run(str(bad), *EXTRA, "--ignore", "DA012").output
    only = run(str(bad), "--select", "DL4000", "-q").output.strip().splitlines()
    assert len(only) == 1 and "DA012" in only[0]


def test_json_report_schema(bad, tmp_path):
    out = tmp_path / "report.json"
    result = run(str(bad), *EXTRA, "--format", "json", "--output", str(out))
    assert result.exit_code == 1 and result.output == ""
    report = json.loads(out.read_text())
    assert report["version"] == 1
    assert report["files"] == [{"path": str(bad), "error": None, "findings": 2}]
    finding = report["findings"][0]
    assert set(finding) == {
        "rule", "name", "severity", "message", "path", "line", "column", "end_line", "end_column", "stage", "alias", "url", "fix"
    }  # fmt: skip
    assert finding["rule"] == "DA012" and finding["url"].endswith("/docs/rules.md#da012-maintainer-deprecated")
    assert finding["rule"] == "DA012" and finding["fix"]["applicability"] == "safe"
    assert report["summary"]["by_rule"] == {"DA008": 1, "DA012": 1}


def test_statistics_and_quiet(bad):
    stats = run(str(bad), *EXTRA, "--statistics").output.splitlines()
    # only the table (the findings and the summary were printed too before), with a fixable column
    assert stats[0].split() == ["count", "rule", "fixable", "name"]
    assert "     1  DA008          1  json-args" in stats and len(stats) == 3
    quiet = run(str(bad), *EXTRA, "--quiet").output.splitlines()
    assert len(quiet) == 2 and all("  DA0" in line for line in quiet)


def test_stdin(tmp_path):
    result = run("-", *EXTRA, stdin=BAD)
    assert result.exit_code == 1 and "-:2:1  DA012" in result.output


def test_directory_scan_finds_dockerfiles_and_skips_git(tmp_path):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(BAD)
    (tmp_path / "gpu.Dockerfile").write_text(BAD)
    (tmp_path / "Containerfile").write_text(CLEAN)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "Dockerfile").write_text("RUNN x\n")
    result = run(str(tmp_path), "--format", "json")
    paths = [f["path"] for f in json.loads(result.output)["files"]]
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["Containerfile", "Dockerfile", "gpu.Dockerfile"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file or directory"),
        (b"", "file with no instructions"),
        (b"\x7fELF\x00\x00\x01binary", "binary file"),
        (b"# only a comment\n", "file with no instructions"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, content, reason):
    path = tmp_path / "Dockerfile"
    if content is not None:
        path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "dockaudit", str(path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    line = [l for l in result.stderr.splitlines() if reason in l]
    assert line and line[0].startswith(f"dockaudit: {path}")


def test_directory_without_dockerfiles(tmp_path):
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert f"dockaudit: {tmp_path}: no Dockerfiles found" in result.output


def test_invalid_utf8_is_linted_not_rejected(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM scratch\nLABEL org.opencontainers.image.title=\xff\xfe\nUSER 1\n")
    assert run(str(path)).exit_code == 0


def test_megabyte_line_is_a_parse_error(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine\nRUN echo " + "x" * (1 << 20) + "\n")
    result = run(str(path))
    assert result.exit_code == 2
    assert "line 2: dockerfile line greater than max allowed size of 65535" in result.output


def test_twenty_megabyte_file_is_refused(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM alpine\n" + b"RUN true\n" * (20 * 1024 * 1024 // 9))
    result = run(str(path))
    assert result.exit_code == 2 and "file too large" in result.output


def test_parse_dump_matches_buildkit_text(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text('FROM alpine AS b\nCOPY --from=b ["a", "b"]\nONBUILD RUN x\n')
    result = run("parse", str(path), "--format", "dump")
    assert result.output == '(from "alpine" "AS" "b")\n(copy ["--from=b"] "a" "b")\n(onbuild (run "x"))\n'


def test_parse_json_has_spans_and_stages(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("ARG V=3.12\nFROM python:${V}-slim AS app\nRUN pip install x\n")
    tree = json.loads(run("parse", str(path)).output)
    assert tree["stages"][0]["image"] == "python:3.12-slim" and tree["stages"][0]["name"] == "app"
    run_node = [n for n in tree["nodes"] if n["type"] == "instruction"][2]
    assert run_node["keyword_span"] == {
        "line": 3, "column": 1, "end_line": 3, "end_column": 4, "start_offset": 40, "end_offset": 43
    }  # fmt: skip


def test_parse_reports_errors_with_line(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text('FROM a\nCMD ["x", 1]\n')
    result = run("parse", str(path))
    assert result.exit_code == 2
    assert f"dockaudit: {path}:2: when using JSON array syntax" in result.output


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_rules_catalogue(fmt):
    output = run("rules", "--format", fmt).output
    assert "DA001" in output and "DA024" in output
    if fmt == "json":
        entry = next(r for r in json.loads(output) if r["id"] == "DA008")
        assert entry["aliases"] == ["DL3025", "JSONArgsRecommended"] and entry["fix"] == "safe"


def test_rule_docs_by_id_name_or_alias():
    for key in ("DA008", "json-args", "DL3025"):
        output = run("rule", key).output
        assert output.startswith("# DA008 json-args")
        assert "## What it does" in output and "## Use instead" in output
    assert run("rule", "NOPE999").exit_code == 2


def test_version_and_module_entry():
    assert run("--version").output.strip() == f"dockaudit {__version__}"
    result = subprocess.run([sys.executable, "-m", "dockaudit", "--version"], capture_output=True, text=True)
    assert result.stdout.strip() == f"dockaudit {__version__}"


def test_usage_error_exits_2():
    assert run("--format", "yaml", "x").exit_code == 2


def test_shipped_example_has_findings():
    result = run(str(REPO / "examples" / "Dockerfile"))
    # the default set: root service image, context copied before the install, a second CUDA stack from torch
    assert result.exit_code == 1 and all(rule in result.output for rule in ("DA101", "DA301", "DA501"))


def test_real_corpus_in_one_run():
    real = CORPUS / "real"
    if not real.exists():
        pytest.skip("corpus not available")
    files = sorted(str(p) for p in real.iterdir() if p.name != "README.md")[:100]
    result = run(*files, "--format", "json", "--exit-zero")
    assert json.loads(result.output)["summary"]["files"] == len(files)


def test_colored_report_on_a_terminal_has_the_same_text(bad, capsys):
    from dockaudit.linting.engine import lint_source, load_rules
    from dockaudit.report.text import print_colored, render

    results = [lint_source(bad.read_bytes(), str(bad), load_rules())]
    findings = results[0].findings
    print_colored(results, findings)
    shown = capsys.readouterr().out
    assert shown == render(results, findings)  # rich adds no colour codes when not on a terminal


def test_min_driver_and_trusted_registry_options(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM nvidia/cuda:12.8.1-runtime-ubuntu22.04\nUSER 1\n")
    assert "DA512" not in run(str(path), "--select", "DA512").output
    assert "DA512" in run(str(path), "--select", "DA512", "--min-driver", "535.104.05").output
    assert "DA111" in run(str(path), "--select", "DA111", "--trusted-registry", "registry.example.com").output


def test_jobs_give_the_same_report_in_the_same_order(tmp_path):
    for index in range(24):
        (tmp_path / f"{index:02d}.Dockerfile").write_text(f"FROM debian:12\nRUN apt-get install -y pkg{index}\n")
    files = sorted(str(p) for p in tmp_path.iterdir())
    # DA204 (unpinned apt package, off by default) is the finding each file gives
    serial = run("--no-color", "--extend-select", "DA204", "-j", "1", *files).output
    parallel = run("--no-color", "--extend-select", "DA204", "-j", "2", *files).output
    assert serial == parallel and serial.index("00.Dockerfile") < serial.index("23.Dockerfile")


def test_long_source_lines_are_shown_as_a_window_around_the_finding(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    # DA204 points at the install command (one finding per command, issue 16), not at the package word.
    dockerfile.write_text(f"FROM alpine:3.20\nRUN echo {'x' * 5000} && apt-get install -y curl && echo {'y' * 5000}\n")
    result = CliRunner().invoke(cli, [str(dockerfile), "--isolated", "--select", "DA204", "--no-color"])
    frame, carets = result.output.splitlines()[1:3]
    assert len(frame) < 200 and frame.split("| ", 1)[1].startswith("…") and "apt-get install -y curl &&" in frame
    assert carets.index("^") == frame.index("apt-get") and carets.count("^") == len("apt-get install -y curl")


def test_directory_scan_skips_symlinks_leading_outside_and_reports_unreadable_folders(tmp_path, monkeypatch):
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM alpine\n")  # would fire DA201 if it were read
    tree = tmp_path / "repo"
    (tree / "app").mkdir(parents=True)
    (tree / "app" / "Dockerfile").write_text("FROM alpine:3.20\nUSER 1\n")
    (tree / "Dockerfile.escape").symlink_to(outside / "Dockerfile")
    (tree / "Dockerfile.inside").symlink_to(tree / "app" / "Dockerfile")
    (tree / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = CliRunner().invoke(cli, [str(tree), "--isolated", "--select", "DA201", "--format", "json"])
    assert result.exit_code == 2  # the unreadable folder is an error, after linting the rest
    assert "outside" not in result.output and "Dockerfile.inside" in result.output
    assert f"{tree / 'locked'}: Permission denied; skipped" in result.output


def test_an_unreadable_file_is_reported_and_the_others_linted(tmp_path, monkeypatch):
    good, locked = tmp_path / "Dockerfile", tmp_path / "other.Dockerfile"
    good.write_text("FROM alpine\n")
    locked.write_text("FROM alpine:3.20\n")
    real_open = os.open  # tests run as root too, where chmod 000 does not lock a file

    def guarded_open(file, *args, **kwargs):
        if str(file) == str(locked):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    result = CliRunner().invoke(cli, [str(good), str(locked), "--isolated", "--select", "DA201"])
    assert result.exit_code == 2
    assert f"{locked}: permission denied" in result.output and f"{good}:1:6  DA201" in result.output
