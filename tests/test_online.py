"""``--online`` fixes for DA201-DA203 against a registry started on 127.0.0.1 by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules
from dockaudit.linting.fix import fix_text
from dockaudit.facts.online import BUDGET
from tests.test_image import _Registry, config_for, tar_layer, write_oci

PINNING = [r for r in load_rules() if r.id in ("DA201", "DA202", "DA203")]


@pytest.fixture
def registry(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    BUDGET.restart()  # each test is a run of its own
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"1"})], config_for(1, User="1"))
    server = _Registry(oci, tags={"latest": True, "2.1.0": True, "2.1": True, "2": True, "2.0.9": False, "dev": True})
    server.manifest_digest = json.loads((oci / "index.json").read_text())["manifests"][0]["digest"]
    yield server
    server.close()


def _fixed(text: str, online: bool = True) -> str:
    return fix_text(text, "Dockerfile", PINNING, Options(online=online), unsafe=True).text


def test_latest_becomes_the_most_specific_version_tag_with_the_same_digest(registry):
    image = f"127.0.0.1:{registry.port}/team/app"
    assert _fixed(f"FROM {image}:latest\nUSER 1\n") == f"FROM {image}:2.1.0@{registry.manifest_digest}\nUSER 1\n"
    assert _fixed(f"FROM {image} AS base\n") == f"FROM {image}:2.1.0@{registry.manifest_digest} AS base\n"


def test_a_tag_gets_its_digest_and_a_second_fix_changes_nothing(registry):
    text = f"# base\r\nFROM --platform=linux/amd64 127.0.0.1:{registry.port}/team/app:2.1\r\n"
    fixed = _fixed(text)
    assert fixed == text.replace(":2.1\r\n", f":2.1@{registry.manifest_digest}\r\n")
    assert _fixed(fixed) == fixed


def test_no_fix_offline_for_an_arg_in_the_image_or_an_unknown_image(registry):
    image = f"127.0.0.1:{registry.port}/team/app"
    assert _fixed(f"FROM {image}:latest\n", online=False) == f"FROM {image}:latest\n"
    with_arg = f"ARG TAG=2.1\nFROM {image}:${{TAG}}\n"
    assert _fixed(with_arg) == with_arg  # pinning the ARG's default would hide that it is an ARG
    missing = f"FROM 127.0.0.1:{registry.port}/team/app:9.9\n"
    assert _fixed(missing) == missing


def test_answers_are_cached_for_a_day(registry, tmp_path: Path):
    image = f"127.0.0.1:{registry.port}/team/app:2.1"
    _fixed(f"FROM {image}\n")
    cache = json.loads((tmp_path / "cache" / "dockaudit" / "online.json").read_text())
    assert cache[f"digest:{image}"]["value"] == registry.manifest_digest
    registry.close()  # the registry is gone: the cached answer still fixes
    assert _fixed(f"FROM {image}\n") == f"FROM {image}@{registry.manifest_digest}\n"


def test_cli_online_flag(registry, tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM 127.0.0.1:{registry.port}/team/app:latest\nUSER 1\n")
    args = [str(dockerfile), "--isolated", "--select", "DA202", "--unsafe-fixes", "--fix"]
    CliRunner().invoke(cli, args)
    assert ":latest" in dockerfile.read_text()  # without --online nothing asks the registry
    result = CliRunner().invoke(cli, [*args, "--online"])
    assert result.exit_code == 0, result.output
    assert dockerfile.read_text() == f"FROM 127.0.0.1:{registry.port}/team/app:2.1.0\nUSER 1\n"


def test_lookups_stop_when_the_runs_budget_is_spent(registry, monkeypatch):
    monkeypatch.setattr(BUDGET, "seconds", 0.0)
    BUDGET.restart()
    text = f"FROM 127.0.0.1:{registry.port}/team/app:latest\n"
    assert _fixed(text) == text  # no time left: no fix, and no wait
    monkeypatch.setattr(BUDGET, "seconds", 60.0)
    BUDGET.restart()
    assert _fixed(text) != text  # not cached as "no answer": the next run with time left asks
