"""Configuration files, hadolint's config, per-file ignores, severities, baselines, --show-suppressed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.config import Config, ConfigError, find_config, read_config

BAD = "FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends curl\nUSER 1\n"


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
    assert "DA204" not in rules_in(run("svc/Dockerfile").output)
    find_config.cache_clear()
    (repo / "svc" / ".dockaudit.toml").write_text('ignore = ["DA401"]\n')
    found = rules_in(run("svc/Dockerfile").output)
    assert "DA204" in found and "DA401" not in found


@pytest.mark.parametrize(
    "toml,check",
    [
        ('select = ["DA204"]', lambda r: r == {"DA204"}),
        ('extend-select = ["DA203"]', lambda r: "DA203" in r),
        ('ignore = ["DA4"]', lambda r: not any(x.startswith("DA4") for x in r)),
        ('[per-file-ignores]\n"svc/*" = ["DA204"]', lambda r: "DA204" not in r and "DA401" in r),
    ],
)
def test_selection_keys(repo: Path, toml: str, check):
    (repo / ".dockaudit.toml").write_text(toml + "\n")
    assert check(rules_in(run("svc/Dockerfile").output))


def test_severity_fail_on_and_format(repo: Path):
    (repo / ".dockaudit.toml").write_text('fail-on = "error"\nformat = "json"\n[severity]\nDA401 = "error"\n')
    result = run("svc/Dockerfile")
    document = json.loads(result.output)
    assert {f["rule"]: f["severity"] for f in document["findings"]}["DA401"] == "error"
    assert result.exit_code == 1
    (repo / ".dockaudit.toml").write_text('fail-on = "error"\n')
    find_config.cache_clear()
    assert run("svc/Dockerfile").exit_code == 0  # warnings only: below fail-on


def test_options_keys(repo: Path):
    (repo / "svc" / "Dockerfile").write_text("FROM quay.io/org/img:1\nUSER 1\n")
    (repo / ".dockaudit.toml").write_text(
        'trusted-registries = ["docker.io"]\nmin-driver = "535.104.05"\ncontext = "svc"\n'
        '[label-schema]\n"org.opencontainers.image.source" = "url"\n'
    )
    found = rules_in(run("svc/Dockerfile").output)
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
    assert "DA204" in rules_in(run("--isolated", "svc/Dockerfile").output)
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
    result = run("--format", "json", "svc/Dockerfile")
    document = json.loads(result.output)
    assert check({f["rule"] for f in document["findings"]}, result.exit_code), result.output


def test_hadolint_override_changes_severity(repo: Path):
    (repo / ".hadolint.yaml").write_text("override:\n  info:\n    - DL3008\n")
    document = json.loads(run("--format", "json", "svc/Dockerfile").output)
    assert {f["rule"]: f["severity"] for f in document["findings"]}["DA204"] == "info"


def test_dockaudit_config_beats_hadolint_config(repo: Path):
    (repo / ".hadolint.yaml").write_text("ignored: [DL3008]\n")
    (repo / ".dockaudit.toml").write_text("ignore = []\n")
    assert "DA204" in rules_in(run("svc/Dockerfile").output)


def test_bad_hadolint_yaml(repo: Path):
    (repo / ".hadolint.yaml").write_text("failure-threshold: loud\n")
    result = run("svc/Dockerfile")
    assert result.exit_code == 2 and "failure-threshold" in result.output
    with pytest.raises(ConfigError):
        read_config(repo / ".hadolint.yaml")


# --- baselines and suppressions -----------------------------------------------------------------


def test_baseline_hides_known_findings_across_edits(repo: Path):
    assert run("--write-baseline", "baseline.json", "svc/Dockerfile").exit_code == 1
    assert run("--baseline", "baseline.json", "svc/Dockerfile").exit_code == 0
    (repo / "svc" / "Dockerfile").write_text("# moved down\n\n" + BAD + "RUN apk add git\n")
    output = run("--baseline", "baseline.json", "svc/Dockerfile").output
    assert rules_in(output) == {"DA206", "DA404", "DA303"} or "DA206" in rules_in(output)
    assert "DA204" not in rules_in(output)
    (repo / "broken.json").write_text("{")
    assert run("--baseline", "broken.json", "svc/Dockerfile").exit_code == 2


def test_show_suppressed(repo: Path):
    (repo / "svc" / "Dockerfile").write_text(
        "FROM debian:12\n# dockaudit: ignore=DA204 -- pinned by the base image\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\nUSER 1\n"
    )
    output = run("--show-suppressed", "svc/Dockerfile").output
    assert "DA204  suppressed by dockaudit comment on line 2 -- pinned by the base image" in output


def test_unused_suppressions_are_reported_when_asked(repo: Path):
    (repo / "svc" / "Dockerfile").write_text(
        "FROM debian:12\n# dockaudit: ignore=DA204\nRUN echo hi\n# hadolint ignore=DL3008\n"
        "RUN apt-get install -y --no-install-recommends curl\nUSER 1\n"
    )
    output = run("--extend-select", "DA025", "svc/Dockerfile").output
    assert "svc/Dockerfile:2:1  DA025" in output and ":4:1  DA025" not in output
