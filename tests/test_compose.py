"""Compose: reading (interpolation, merges, extends, include), services' Dockerfiles linted as Compose
builds them, the CLI, report formats, and the real compose corpus."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.compose.project import ComposeError, interpolate, load_project
from dockaudit.compose.lint import lint_compose
from dockaudit.linting.engine import load_rules, select_rules
from tests.conftest import CORPUS

RULES = select_rules(load_rules(), select=["ALL"], ignore=["DA703"])
# Every Compose rule: the prefix alone leaves out the off-by-default ones (DA902, DA906, DA907 among them).
COMPOSE_RULES = select_rules(load_rules(), select=["DA9"], extend_select=["DA9"])


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    "text,expected",
    [
        ("${A}", "1"), ("$A-x", "1-x"), ("${MISSING:-dflt}", "dflt"), ("${EMPTY:-dflt}", "dflt"), ("${EMPTY-dflt}", ""),
        ("${A:+set}", "set"), ("${MISSING+set}", ""), ("$$HOME", "$HOME"), ("${MISSING:-${A}}", "1"),
    ],
)  # fmt: skip
def test_interpolation(text, expected):
    assert interpolate(text, {"A": "1", "EMPTY": ""}, ("f", 1)) == expected


def test_invalid_interpolation_is_an_error_with_file_and_line(tmp_path: Path):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  a:\n    image: ${bad name}\n")
    with pytest.raises(ComposeError) as error:
        load_project([compose], environ={})
    assert error.value.line == 3
    result = run(str(compose))
    assert result.exit_code == 2 and "compose.yaml" in result.output and "Traceback" not in result.output


def test_env_file_merge_extends_and_include(tmp_path: Path):
    (tmp_path / ".env").write_text("TAG=1.2.3\n")
    (tmp_path / "base.yaml").write_text("services:\n  common:\n    image: x:${TAG}\n    mem_limit: 1g\n")
    (tmp_path / "compose.yaml").write_text(
        "include:\n  - base.yaml\nservices:\n  api:\n    extends: {service: common}\n    ports: ['80:80']\n"
    )
    (tmp_path / "override.yaml").write_text("services:\n  api:\n    ports: ['443:443']\n")
    project = load_project([tmp_path / "compose.yaml", tmp_path / "override.yaml"], environ={})
    api = project.services["api"]
    assert api.get("image").text == "x:1.2.3" and api.get("mem_limit").text == "1g"
    assert [p.text for p in api.get("ports").items] == ["80:80", "443:443"]


def _cuda_project(tmp_path: Path, args: str) -> Path:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(
        "ARG CUDA_VERSION=12.4.1\nFROM nvidia/cuda:${CUDA_VERSION}-cudnn-runtime-ubuntu22.04 AS runtime\n"
        "RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121\n"
        "USER 1\nFROM runtime AS debug\nUSER root\n"
    )
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  model:\n    build:\n      context: ./svc\n" + args
        + "    deploy:\n      resources:\n        limits: {memory: 8g}\n"
        "        reservations:\n          devices: [{driver: nvidia, count: 1, capabilities: [gpu]}]\n"
    )  # fmt: skip
    return compose


def test_build_args_resolve_into_the_dockerfile_facts(tmp_path: Path):
    compose = _cuda_project(tmp_path, "      target: runtime\n")
    findings = [f for r in lint_compose([compose], RULES) for f in r.findings]
    assert not [f for f in findings if f.rule == "DA501"]  # 12.4.1 base and a cu121 torch: one CUDA major
    compose.write_text(
        compose.read_text().replace("target: runtime", "target: runtime\n      args:\n        CUDA_VERSION: 11.8.0")
    )
    findings = [f for r in lint_compose([compose], RULES) for f in r.findings]
    da501 = [f for f in findings if f.rule == "DA501"]
    assert len(da501) == 1 and "CUDA 11.8.0 base" in da501[0].message and "(compose service model)" in da501[0].message
    assert da501[0].path.endswith("svc/Dockerfile")


def test_target_decides_which_stage_is_the_image(tmp_path: Path):
    compose = _cuda_project(tmp_path, "      target: runtime\n")
    assert not [f for r in lint_compose([compose], RULES) for f in r.findings if f.rule == "DA101"]
    compose.write_text(compose.read_text().replace("target: runtime", "target: debug"))
    assert [f for r in lint_compose([compose], RULES) for f in r.findings if f.rule == "DA101"]


def test_directory_scan_picks_up_compose_and_lints_service_dockerfiles_once(tmp_path: Path, monkeypatch):
    _cuda_project(tmp_path, "      args: {CUDA_VERSION: 11.8.0}\n")
    monkeypatch.chdir(tmp_path)
    output = run("--no-color", "-q", ".").output
    lines = [line for line in output.splitlines() if " DA501 " in line]
    assert len(lines) == 1 and lines[0].startswith("svc/Dockerfile:3:")


@pytest.mark.parametrize("fmt", ["json", "sarif", "junit", "checkstyle", "gitlab", "github", "markdown"])
def test_every_format_carries_compose_findings(tmp_path: Path, fmt: str):
    compose = tmp_path / "compose.yaml"
    compose.write_text("version: '3'\nservices:\n  db:\n    image: postgres:latest\n    ports: ['5432:5432']\n")
    output = run("--format", fmt, "--exit-zero", "--extend-select", "DA901", str(compose)).output  # DA901 is off
    assert "DA910" in output and "DA901" in output


def test_compose_command_merges_files_in_order(tmp_path: Path):
    (tmp_path / "compose.yaml").write_text("services:\n  api:\n    image: ghcr.io/org/api:1.0.0\n")
    (tmp_path / "prod.yaml").write_text("services:\n  api:\n    privileged: true\n")
    files = (str(tmp_path / "compose.yaml"), str(tmp_path / "prod.yaml"))
    result = run("compose", *files, "--no-color", "--extend-select", "DA909")  # DA909 privileged is off by default
    assert result.exit_code == 1 and "prod.yaml:3:17  DA909" in result.output


def test_real_compose_corpus():
    folder = CORPUS / "compose"
    if not folder.exists():
        pytest.skip("../shared/corpus/compose is not available")
    counts: Counter[str] = Counter()
    files = [p for p in sorted(folder.iterdir()) if p.suffix in (".yml", ".yaml")]
    for path in files:
        for result in lint_compose([path], COMPOSE_RULES):
            counts.update(f.rule for f in result.findings)
    print("\ncompose corpus:", len(files), "files", dict(sorted(counts.items())))
    assert "DA000" not in counts and "DA001" not in counts
    assert len(files) >= 90 and counts["DA902"] > 0 and counts["DA910"] > 0


@pytest.mark.parametrize(
    "name,expected",
    [
        ("lm-sys__FastChat__docker__docker-compose.yml", {"DA906"}),
        ("iot-salzburg__gpu-jupyter__docker-compose.yml", {"DA910"}),
        ("docker__awesome-compose__react-express-mysql__compose.yaml", {"DA907"}),  # secrets: done right
    ],
)
def test_real_projects_kept_as_fixtures(name: str, expected: set[str]):
    path = Path(__file__).parent.parent / "fixtures" / "compose" / name
    found = {f.rule for r in lint_compose([path], COMPOSE_RULES) for f in r.findings}
    assert expected <= found, found


def _billion_laughs(levels: int) -> str:
    lines, previous = ['x-a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'], "a"
    for level in range(levels):
        lines.append(f"x-b{level}: &b{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = f"b{level}"
    return "\n".join(lines) + f"\nservices:\n  app:\n    image: alpine:3.20\n    labels: *{previous}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_billion_laughs(8), "YAML aliases expand to more than 200,000 nodes: refused as a YAML bomb"),
        (
            "x-a: &a [1, *a]\nservices:\n  app:\n    image: alpine:3.20\n",
            "a YAML alias refers to a node that contains it",
        ),
        ("services:\n  app:\n    labels:\n      x: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ],
    ids=["billion-laughs", "recursive-alias", "deep-nesting"],
)
def test_hostile_yaml_is_refused_quickly(tmp_path: Path, text: str, message: str):
    compose = tmp_path / "compose.yaml"
    compose.write_text(text)
    result = CliRunner().invoke(cli, [str(compose), "--isolated"])
    assert result.exit_code == 2 and message in result.output


def test_shared_anchors_still_work_and_count_once(tmp_path: Path):
    compose = tmp_path / "compose.yaml"
    compose.write_text(_billion_laughs(3).replace("image: alpine:3.20", "image: alpine:latest"))  # 9^4 = 6,561 nodes
    result = CliRunner().invoke(cli, [str(compose), "--isolated", "--select", "DA901"])
    assert result.exit_code == 1 and "DA901" in result.output
