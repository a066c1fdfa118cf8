"""Configuration files, hadolint's config, per-file ignores, severities, baselines, --show-suppressed."""

from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.config import Config, ConfigError, find_config, read_config, write_starter

BAD = "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nUSER 1\n"
# BAD's findings, DA204 (apt pinning, DL3008) and DA401 (apt lists, DL3009), are off by default: select them.
EXTRA = ("--extend-select", "DA204,DA401")


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(BAD)
    monkeypatch.chdir(tmp_path)
    find_config.cache_clear()
    return tmp_path


def rules_in(output: str) -> set[str]:
    return {line.split()[1] for line in output.splitlines() if line.startswith("svc/")}


def test_nearest_dockaudit_toml_wins_over_pyproject(repo: Path):
    (repo / "pyproject.toml").write_text('[tool.dockaudit]\nignore = ["DA204"]\n')
    found = rules_in(run(*EXTRA, "svc/Dockerfile").output)
    assert "DA204" not in found and "DA401" in found
    find_config.cache_clear()
    (repo / "svc" / ".dockaudit.toml").write_text('ignore = ["DA401"]\n')
    found = rules_in(run(*EXTRA, "svc/Dockerfile").output)
    assert "DA204" in found and "DA401" not in found


@pytest.mark.parametrize(
    "toml,check",
    [
        ('select = ["DA204"]', lambda r: r == {"DA204"}),
        ('extend-select = ["DA203"]', lambda r: "DA203" in r),
        # DA401 and DA204 are off by default: the config turns on what the ignores must then take away.
        ('extend-select = ["DA401"]\nignore = ["DA4"]', lambda r: not any(x.startswith("DA4") for x in r)),
        (
            'extend-select = ["DA204", "DA401"]\n[per-file-ignores]\n"svc/*" = ["DA204"]',
            lambda r: "DA204" not in r and "DA401" in r,
        ),
    ],
)
def test_selection_keys(repo: Path, toml: str, check):
    (repo / ".dockaudit.toml").write_text(toml + "\n")
    assert check(rules_in(run("svc/Dockerfile").output))


def test_severity_fail_on_and_format(repo: Path):
    (repo / ".dockaudit.toml").write_text('fail-on = "error"\nformat = "json"\n[severity]\nDA401 = "error"\n')
    result = run(*EXTRA, "svc/Dockerfile")
    document = json.loads(result.output)
    assert {f["rule"]: f["severity"] for f in document["findings"]}["DA401"] == "error"
    assert result.exit_code == 1
    (repo / ".dockaudit.toml").write_text('fail-on = "error"\n')
    find_config.cache_clear()
    assert run(*EXTRA, "svc/Dockerfile").exit_code == 0  # warnings only: below fail-on


def test_options_keys(repo: Path):
    (repo / "svc" / "Dockerfile").write_text("FROM quay.io/org/img:1\nUSER 1\n")
    (repo / ".dockaudit.toml").write_text(
        'trusted-registries = ["docker.io"]\nmin-driver = "535.104.05"\ncontext = "svc"\n'
        '[label-schema]\n"org.opencontainers.image.source" = "url"\n'
    )
    found = rules_in(run("--extend-select", "DA017", "svc/Dockerfile").output)  # DA017 is off by default
    assert {"DA111", "DA017"} <= found


@pytest.mark.parametrize(
    "toml,message",
    [
        ('selct = ["DA1"]', "unknown key 'selct'"),
        ('fail-on = "sometimes"', "fail-on: 'sometimes' is not one of"),
        ('[severity]\nDA401 = "loud"', "severity.DA401: unknown severity 'loud'"),
        ('min-driver = "five"', "min-driver: 'five' is not a driver version"),
        ("select = 3", "select: expected a list"),
        ("select = [", "not valid TOML"),
    ],
)
def test_bad_config_is_an_error_naming_file_and_key(repo: Path, toml: str, message: str):
    (repo / ".dockaudit.toml").write_text(toml + "\n")
    result = run("svc/Dockerfile")
    assert result.exit_code == 2
    assert ".dockaudit.toml" in result.output and message in result.output and "Traceback" not in result.output


def test_config_flag_and_isolated(repo: Path):
    (repo / ".dockaudit.toml").write_text('ignore = ["DA204"]\n')
    assert "DA204" in rules_in(run("--isolated", *EXTRA, "svc/Dockerfile").output)
    other = repo / "strict.toml"
    other.write_text('select = ["DA401"]\n')
    assert rules_in(run("--config", str(other), "svc/Dockerfile").output) == {"DA401"}


def test_init_writes_a_valid_starter_once(repo: Path):
    assert run("init").exit_code == 0
    config = read_config(repo / ".dockaudit.toml")
    assert isinstance(config, Config) and config.fail_on == "warning"
    assert run("init").exit_code == 2


# --- .hadolint.yaml -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "yaml,check",
    [
        ("ignored:\n  - DL3008\n", lambda r, code: "DA204" not in r),
        ("trustedRegistries:\n  - ghcr.io\n", lambda r, code: "DA111" in r),
        ("failure-threshold: error\n", lambda r, code: code == 0),
        ("no-fail: true\n", lambda r, code: code == 0),
        ("override:\n  error:\n    - DL3009\n", lambda r, code: "DA401" in r and code == 1),
        ("label-schema:\n  maintainer: email\n", lambda r, code: "DA017" in r),
    ],
)
def test_hadolint_config_keys_map_through_aliases(repo: Path, yaml: str, check):
    (repo / ".hadolint.yaml").write_text(yaml)
    result = run("--format", "json", "--extend-select", "DA204,DA401,DA017", "svc/Dockerfile")
    document = json.loads(result.output)
    assert check({f["rule"] for f in document["findings"]}, result.exit_code), result.output


def test_hadolint_override_changes_severity(repo: Path):
    (repo / ".hadolint.yaml").write_text("override:\n  info:\n    - DL3008\n")
    document = json.loads(run("--format", "json", *EXTRA, "svc/Dockerfile").output)
    assert {f["rule"]: f["severity"] for f in document["findings"]}["DA204"] == "info"


def test_dockaudit_config_beats_hadolint_config(repo: Path):
    (repo / ".hadolint.yaml").write_text("ignored: [DL3008]\n")
    (repo / ".dockaudit.toml").write_text("ignore = []\n")
    assert "DA204" in rules_in(run(*EXTRA, "svc/Dockerfile").output)


def test_bad_hadolint_yaml(repo: Path):
    (repo / ".hadolint.yaml").write_text("failure-threshold: loud\n")
    result = run("svc/Dockerfile")
    assert result.exit_code == 2 and "failure-threshold" in result.output
    with pytest.raises(ConfigError):
        read_config(repo / ".hadolint.yaml")


# --- baselines and suppressions -----------------------------------------------------------------


def test_baseline_hides_known_findings_across_edits(repo: Path):
    chosen = ("--extend-select", "DA204,DA401,DA206,DA404")  # BAD's and the apk line's, off by default
    assert run(*chosen, "--write-baseline", "baseline.json", "svc/Dockerfile").exit_code == 1
    assert run(*chosen, "--baseline", "baseline.json", "svc/Dockerfile").exit_code == 0
    (repo / "svc" / "Dockerfile").write_text("# moved down\n\n" + BAD + "RUN apk add git\n")
    output = run(*chosen, "--baseline", "baseline.json", "svc/Dockerfile").output
    assert rules_in(output) == {"DA206", "DA404", "DA303"} or "DA206" in rules_in(output)
    assert "DA204" not in rules_in(output)
    (repo / "broken.json").write_text("{")
    assert run("--baseline", "broken.json", "svc/Dockerfile").exit_code == 2


def test_show_suppressed(repo: Path):
    (repo / "svc" / "Dockerfile").write_text(
        "FROM debian:12\n# dockaudit: ignore=DA204 -- pinned by the base image\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER 1\n"
    )
    output = run("--show-suppressed", "--extend-select", "DA204", "svc/Dockerfile").output
    assert "DA204  suppressed by dockaudit comment on line 2 -- pinned by the base image" in output


def test_unused_suppressions_are_reported_when_asked(repo: Path):
    (repo / "svc" / "Dockerfile").write_text(
        "FROM debian:12\n# dockaudit: ignore=DA204\nRUN echo hi\n# hadolint ignore=DL3008\n"
        "RUN apt-get install -y --no-install-recommends curl\nUSER 1\n"
    )
    output = run("--extend-select", "DA025,DA204", "svc/Dockerfile").output  # the comments name DA204
    assert "svc/Dockerfile:2:1  DA025" in output and ":4:1  DA025" not in output


# --- hostile configuration files: one line naming the file and the key, exit 2, never a traceback --


def _bomb(under: str) -> str:
    """A 364-byte "billion laughs": 9^9 strings once its aliases are expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]" for prev, cur in zip("abcdefgh", "bcdefghi")]
    return "\n".join([*lines, f"{under}: *i"]) + "\n"


NESTED = "a = " + "[" * 50_000 + "]" * 50_000 + "\n"
HOSTILE_CONFIGS = [
    # (file, content, what the one line must say besides the file's name)
    ("pyproject.toml", "[tool]\ndockaudit = 5\n", "tool.dockaudit: expected a table"),
    ("pyproject.toml", '[[tool.dockaudit]]\nselect = ["DA1"]\n', "tool.dockaudit: expected a table"),
    ("pyproject.toml", "[tool.dockaudit]\nselect = 5\n", "tool.dockaudit.select: expected a list"),
    ("pyproject.toml", "[tool.dockaudit]\nnope = 1\n", "unknown key 'nope'"),
    ("pyproject.toml", b'name = "caf\xe9"\n[tool.dockaudit]\n', "not UTF-8 text (byte 0xe9 at offset 11)"),
    ("pyproject.toml", "[tool.dockaudit\n", "not valid TOML"),
    (".dockaudit.toml", b'ignore = ["DA204"]  # caf\xe9\n', "not UTF-8 text"),
    (".dockaudit.toml", NESTED, "nested too deeply"),
    (".dockaudit.toml", "select = 5\n", "select: expected a list"),
    (".dockaudit.toml", 'select = ["DA1", ""]\n', "select: expected a list"),
    (".dockaudit.toml", "severity = 5\n", "severity: expected a table"),
    (".dockaudit.toml", "severity = {DA001 = 3}\n", "severity.DA001: expected a severity name"),
    (".dockaudit.toml", 'severity = {DA001 = ["x"]}\n', "severity.DA001: expected a severity name"),
    (".dockaudit.toml", 'per-file-ignores = ["x"]\n', "per-file-ignores: expected a table"),
    (".dockaudit.toml", 'per-file-ignores = {"x/*" = 5}\n', "per-file-ignores.x/*: expected a list"),
    (".dockaudit.toml", "fail-on = [1]\n", "fail-on: [1] is not one of"),
    (".dockaudit.toml", "format = {a = 1}\n", "format: {'a': 1} is not one of"),
    (".dockaudit.toml", 'trusted-registries = "docker.io"\n', "trusted-registries: expected a list of strings"),
    (".dockaudit.toml", "label-schema = 5\n", "label-schema: expected a table"),
    (".dockaudit.toml", "label-schema = {a = 5}\n", "label-schema.a: 5 is not one of"),
    (".dockaudit.toml", 'strict-labels = "yes"\n', "strict-labels: expected true or false"),
    (".dockaudit.toml", 'min-driver = "\u00b2"\n', "min-driver: '\u00b2' is not a driver version"),
    (".dockaudit.toml", "min-driver = true\n", "min-driver: True is not a driver version"),
    (".dockaudit.toml", "min-driver = [535]\n", "min-driver: [535] is not a driver version"),
    (".dockaudit.toml", "context = 5\n", "context: expected a path"),
    (".dockaudit.toml", 'context = "a\\u0000b"\n', "context: expected a path"),
    (".dockaudit.toml", "max-image-size = nan\n", "max-image-size: expected a size in MiB"),
    (".dockaudit.toml", "max-layer-size = inf\n", "max-layer-size: expected a size in MiB"),
    (".dockaudit.toml", 'max-image-size = "8000"\n', "max-image-size: expected a size in MiB"),
    (".dockaudit.toml", '"a\\nb" = 1\n', "unknown key 'a\\nb'"),
    (".dockaudit.toml", f'fail-on = "{"x" * 100_000}"\n', "fail-on: 'xxxx"),
    (".dockaudit.toml", f'[severity]\n"{"D" * 100_000}" = "loud"\n', "severity.'DDDD"),
    (".hadolint.yaml", "label-schema: 5\n", "label-schema: expected a table"),
    (".hadolint.yaml", "label-schema: {maintainer: 5}\n", "label-schema.maintainer: 5 is not one of"),
    (".hadolint.yaml", "format: [json]\n", "format: expected a format name"),
    (".hadolint.yaml", "ignored: 5\n", "ignored: expected a list"),
    (".hadolint.yaml", "override: [1]\n", "override: expected error/warning/info/style lists"),
    (".hadolint.yaml", "override: {error: 5}\n", "override.error: expected a list"),
    (".hadolint.yaml", "override: {loud: [DL3008]}\n", "override.loud: unknown severity 'loud'"),
    (".hadolint.yaml", "override: {1: [DL3008]}\n", "override.1: expected a severity name"),
    (".hadolint.yaml", "trustedRegistries: {a: 1}\n", "trustedRegistries: expected a list of strings"),
    (".hadolint.yaml", "failure-threshold: [error]\n", "failure-threshold ['error'] is not"),
    (".hadolint.yaml", "no-fail: 'yes'\n", "no-fail: expected true or false"),
    (".hadolint.yaml", "strict-labels: 'no'\n", "strict-labels: expected true or false"),
    (".hadolint.yaml", "- DL3008\n- DL3009\n", "expected a mapping of hadolint settings, got an array"),
    (".hadolint.yaml", "5\n", "expected a mapping of hadolint settings, got an integer"),
    (".hadolint.yaml", "just some text\n", "expected a mapping of hadolint settings, got a string"),
    (".hadolint.yaml", "a: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested too deeply"),
    (".hadolint.yaml", "ignored: [DL3008\n", "not valid YAML: line"),
    (".hadolint.yaml", "a: 1\n---\nb: 2\n", "not valid YAML"),
    (".hadolint.yaml", f"a: *{'x' * 100_000}\n", "undefined alias 'xxxx"),
    (".hadolint.yaml", b"ignored: [DL3008]  # caf\xe9\n", "not UTF-8 text"),
    (".hadolint.yaml", _bomb("failure-threshold"), "refused as a YAML bomb"),
]


def _one_error_line(result, file_name: str) -> str:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    (line,) = result.output.splitlines()
    assert line.startswith("dockaudit: ") and file_name in line
    assert len(line) < 400, len(line)  # values echoed are cut to ~80 characters
    return line


@pytest.mark.parametrize(
    "file_name,content,message",
    HOSTILE_CONFIGS,
    ids=[f"{i}-{name}" for i, (name, _, _) in enumerate(HOSTILE_CONFIGS)],
)
def test_hostile_config_is_one_line_naming_file_and_key(repo: Path, file_name: str, content, message: str):
    target = repo / "svc" / file_name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    assert message in _one_error_line(run("svc/Dockerfile"), file_name)
    with pytest.raises(ConfigError):
        read_config(target)
    assert message in _one_error_line(run("--config", str(target), "svc/Dockerfile"), file_name)


@pytest.mark.parametrize(
    "content",
    [b'name = "caf\xe9"\n', b"[project\nname = 1\n", b"tool = 5\n", b"[tool.black]\nline-length = 1\n"],
    ids=["not-utf8", "not-toml", "tool-not-a-table", "other-tools-only"],
)
def test_a_discovered_pyproject_without_dockaudit_settings_does_not_stop_the_run(repo: Path, content: bytes):
    """Such a pyproject.toml is the project's, not dockaudit's: skipped like one with no [tool.dockaudit]."""
    (repo / "pyproject.toml").write_bytes(content)
    (repo / ".hadolint.yaml").write_text("ignored: [DL3008]\n")  # found above it, so used
    result = run(*EXTRA, "svc/Dockerfile")
    assert result.exit_code == 1 and "dockaudit:" not in result.output
    assert "DA401" in rules_in(result.output) and "DA204" not in rules_in(result.output)
    with pytest.raises(ConfigError):  # named with --config, it must be usable
        read_config(repo / "pyproject.toml")


def test_a_config_over_one_mib_is_refused(repo: Path):
    (repo / ".dockaudit.toml").write_text("# padding\n" * 110_000)
    assert "file too large (over 1 MiB)" in _one_error_line(run("svc/Dockerfile"), ".dockaudit.toml")


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # A child process, so a config read that blocks is a failed test rather than a hung suite.
    return subprocess.run(
        [sys.executable, "-m", "dockaudit", *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("file_name", [".dockaudit.toml", ".hadolint.yaml"])
def test_a_fifo_or_device_named_as_a_config_is_refused_without_blocking(repo: Path, file_name: str):
    fifo = repo / "svc" / file_name
    os.mkfifo(fifo)
    for args in (["svc/Dockerfile"], ["--config", str(fifo), "svc/Dockerfile"]):
        result = _cli(repo, *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().endswith("not a regular file (a FIFO, device or socket); not read")
    fifo.unlink()
    fifo.symlink_to("/dev/zero")
    result = _cli(repo, "svc/Dockerfile")
    assert result.returncode == 2 and "not a regular file" in result.stderr, result.stderr


def test_config_error_pickles():
    error = ConfigError("/repo/.dockaudit.toml: select: expected a list of rule ids, prefixes or names, got 5")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ConfigError and str(copy) == str(error)


# --- dockaudit init: the whole starter file or none, never over an existing one -----------------


def _disk_full(*_args):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_init_on_a_full_disk_leaves_no_file(tmp_path: Path, monkeypatch, failing: str):
    monkeypatch.setattr(os, failing, _disk_full)
    with pytest.raises(ConfigError, match=r"\.dockaudit\.toml: cannot write: No space left on device"):
        write_starter(tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_init_in_a_read_only_folder_is_one_line(repo: Path, monkeypatch):
    real_open = os.open

    def read_only(path, *args, **kwargs):
        if os.path.abspath(path).startswith(str(repo)) and args and args[0] & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    line = _one_error_line(run("init"), ".dockaudit.toml")
    assert line.endswith("cannot write: Read-only file system")
    assert not (repo / ".dockaudit.toml").exists()


def test_init_never_replaces_a_file_created_meanwhile(tmp_path: Path, monkeypatch):
    real_link = os.link

    def racing_link(source, target):
        Path(target).write_text("theirs\n")  # another process got there between our write and the link
        return real_link(source, target)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(ConfigError, match="already exists; not overwriting"):
        write_starter(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".dockaudit.toml"]
    assert (tmp_path / ".dockaudit.toml").read_text() == "theirs\n"


def test_init_without_hard_links_writes_exclusively(tmp_path: Path, monkeypatch):
    def no_links(*_args):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    assert write_starter(tmp_path) == tmp_path / ".dockaudit.toml"
    assert [p.name for p in tmp_path.iterdir()] == [".dockaudit.toml"]
    assert read_config(tmp_path / ".dockaudit.toml").fail_on == "warning"
    with pytest.raises(ConfigError, match="already exists"):
        write_starter(tmp_path)
    (tmp_path / ".dockaudit.toml").unlink()
    monkeypatch.setattr(os, "write", _disk_full)
    with pytest.raises(ConfigError, match="No space left"):
        write_starter(tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
