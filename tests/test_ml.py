"""The ML side: knowledge tables, the facts derived from a Dockerfile, and what the rules make of them."""

from __future__ import annotations

import json
import sys

from pathlib import Path

import pytest
from click.testing import CliRunner

import dockaudit
from dockaudit.cli import cli
from dockaudit.context import LintContext, Options
from dockaudit.knowledge import KnowledgeError, load_knowledge, parse_knowledge
from dockaudit.mlfacts import ml_facts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _facts(text: str, **options):
    return ml_facts(LintContext(dockaudit.parse(text), Options(**options))).stages


# --- knowledge tables ---------------------------------------------------------------------------


def test_tables_load_and_cover_what_the_issue_names():
    knowledge = load_knowledge()
    assert {"1.12", "2.0", "2.4", "2.15"} <= set(knowledge.torch)
    assert {"2.10", "2.21"} <= set(knowledge.tensorflow)
    assert knowledge.torch["2.4"].cuda_variants == ("cu118", "cu121", "cu124")
    assert knowledge.torch["2.4"].torchvision["2.4.1"] == "0.19.1"
    assert knowledge.cuda_min_driver["12.4.1"] == "550.54.15"
    assert knowledge.onnxruntime_range("1.27.0").cuda_major == 13
    assert {"python", "debian", "ubuntu", "node", "alpine"} <= set(knowledge.eol)
    assert all(release.source for release in knowledge.torch.values())


def test_knowledge_comes_from_the_cache_only_for_the_same_tables(tmp_path: Path, monkeypatch):
    import dockaudit.knowledge as knowledge_module

    def must_not_parse(*_args):
        raise AssertionError("parsed although the cache was valid")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    load_knowledge.cache_clear()
    try:
        fresh = load_knowledge()
        (cached,) = (tmp_path / "dockaudit").glob("knowledge-*.json")
        load_knowledge.cache_clear()
        monkeypatch.setattr(knowledge_module, "_parse_table", must_not_parse)
        assert load_knowledge() == fresh
        load_knowledge.cache_clear()
        monkeypatch.setattr(knowledge_module, "_cache_key", lambda folder, tables: b'["another version"]')
        with pytest.raises(AssertionError, match="parsed although"):
            load_knowledge()  # tables edited or dockaudit upgraded: the cache is not used
        monkeypatch.undo()
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        cached.write_bytes(b"not a cache file")
        load_knowledge.cache_clear()
        assert load_knowledge() == fresh  # a damaged cache is a miss
    finally:
        load_knowledge.cache_clear()


def _raw():
    from dockaudit.knowledge import _data_file

    return (
        tomllib.loads(_data_file("ml-compat.toml").read_text(encoding="utf-8")),
        tomllib.loads(_data_file("base-images.toml").read_text(encoding="utf-8")),
    )


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda c, b: c["torch"]["2.4"].pop("python"), "[torch.\"2.4\"]: missing key 'python'"),
        (lambda c, b: c["torch"]["2.4"].update(python=["three"]), "not a version"),
        (lambda c, b: c["tensorflow"]["2.15"].update(cudnn_major="8"), "'cudnn_major' should be a int"),
        (lambda c, b: c["torch_index"].pop("source"), "[torch_index] has no 'source'"),
        (lambda c, b: b["eol"]["python"]["dates"].update({"3.8": "soon"}), "not a date"),
    ],
)
def test_a_malformed_table_is_an_error_naming_file_and_key(damage, message):
    compat, bases = _raw()
    damage(compat, bases)
    with pytest.raises(KnowledgeError) as error:
        parse_knowledge(compat, bases)
    assert message in str(error.value)
    assert str(error.value).startswith(("ml-compat.toml", "base-images.toml"))


def test_knowledge_command_prints_coverage_and_date():
    result = CliRunner().invoke(cli, ["knowledge"])
    assert result.exit_code == 0
    assert "as of 2026-12-01" in result.output and "1.12 … 2.15" in result.output
    data = json.loads(CliRunner().invoke(cli, ["knowledge", "--format", "json"]).output)
    assert data["tensorflow"].startswith("2.10")


# --- facts ----------------------------------------------------------------------------------------


def test_base_facts_from_tags_args_and_parent_stages():
    text = (
        "ARG CUDA=12.4.1\nFROM nvidia/cuda:${CUDA}-cudnn-devel-ubuntu22.04 AS build\n"
        "RUN apt-get install -y python3-pip\nFROM build\n"
    )
    first, second = _facts(text)
    assert (first.base.cuda, first.base.cudnn_major, first.base.flavour, first.base.os) == (
        "12.4.1", 9, "devel", "ubuntu22.04"
    )  # fmt: skip
    assert first.python == "3.10" and "apt python3" in first.python_from
    assert second.base is first.base and second.python == "3.10"
    assert _facts("FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\n")[0].base.framework == "torch 2.5.1"
    assert _facts("FROM python:3.12-slim-bookworm\n")[0].base.os == "debian12"


def test_unsettled_facts_stay_unknown():
    (facts,) = _facts("ARG BASE\nFROM ${BASE}\nRUN pip install torch\n")
    assert facts.base.cuda is None and facts.python is None
    assert facts.installs[0].version is None and facts.installs[0].variant is None


@pytest.mark.parametrize(
    "run,version,variant",
    [
        ("pip install torch==2.1.0+cu121", "2.1.0+cu121", "cu121"),
        ("pip install torch==2.4.1 --index-url https://download.pytorch.org/whl/cu124", "2.4.1", "cu124"),
        ("pip install 'torch>=2,<2.2' --extra-index-url https://download.pytorch.org/whl/cpu", None, "cpu"),
        ("pip install torch==2.1.* -f https://download.pytorch.org/whl/cu118/torch_stable.html", "2.1.*", "cu118"),
    ],
)
def test_framework_installs(run, version, variant):
    (facts,) = _facts(f"FROM python:3.11-slim\nRUN {run}\n")
    install = facts.installed("torch")[0]
    assert (install.version, install.variant) == (version, variant)


def test_requirement_files_and_conda_python(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch==2.3.1\nnumpy==1.26.4\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM condaforge/miniforge3:24.7.1-0\nRUN conda create -y -n app python=3.10\n"
        "COPY requirements.txt .\nRUN pip install -r requirements.txt\n"
    )
    ctx = LintContext(dockaudit.parse(dockerfile.read_text(), str(dockerfile)), Options())
    (facts,) = ml_facts(ctx).stages
    assert facts.python == "3.10"
    assert [(i.package, i.version, i.from_file) for i in facts.installs] == [("torch", "2.3.1", "requirements.txt")]


def test_compile_signals():
    (facts,) = _facts("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install --no-build-isolation flash-attn\n")
    assert [(c.what, c.kind) for c in facts.compiles] == [("pip install flash-attn", "torch-extension")]
    (facts,) = _facts(
        "FROM python:3.11\nRUN pip install torch-scatter -f https://data.pyg.org/whl/torch-2.4.0+cu121.html\n"
    )
    assert facts.compiles == []  # a prebuilt wheel page


def test_parse_json_shows_facts(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04\nRUN pip install torch==2.4.1\n")
    document = json.loads(CliRunner().invoke(cli, ["parse", str(path)]).output)
    (facts,) = document["facts"]
    assert facts["base"]["cuda"] == "11.8.0" and facts["base"]["registry"] == "docker.io"
    assert facts["frameworks"][0] == {
        "package": "torch", "version": "2.4.1", "specifier": "==2.4.1", "variant": None, "index_url": None,
        "extra_index_urls": [], "tool": "pip", "line": 2, "from_file": None,
    }  # fmt: skip


# --- rule semantics the fixtures do not show ----------------------------------------------------


def _fired(text: str, rule_id: str, **options) -> list[str]:
    return [f.message for f in dockaudit.lint(text, Options(**options), select=[rule_id]) if f.rule == rule_id]


def test_torch_cuda_mismatch_is_an_error_only_when_something_compiles():
    text = "FROM nvidia/cuda:11.8.0-devel-ubuntu22.04\nRUN pip install torch==2.4.1\n"
    assert [f.severity.label for f in dockaudit.lint(text, select=["DA501"])] == ["warning"]
    compiled = text + "RUN TORCH_CUDA_ARCH_LIST=8.0 pip install --no-build-isolation flash-attn==2.6.3\n"
    assert [f.severity.label for f in dockaudit.lint(compiled, select=["DA501"])] == ["error"]


def test_ml_rules_stay_silent_on_unknown_versions():
    for text in ("FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\nRUN pip install torch\n",
                 "ARG V\nFROM python:${V}-slim\nRUN pip install torch==2.1.2\n"):  # fmt: skip
        assert _fired(text, "DA501") == [] and _fired(text, "DA502") == []


def test_eol_judged_by_the_configured_date():
    from datetime import date

    assert _fired("FROM python:3.11-slim\n", "DA602", as_of=date(2026, 11, 23)) == []
    assert len(_fired("FROM python:3.11-slim\n", "DA602", as_of=date(2027, 11, 30))) == 1


def test_environment_yml_from_the_build_context(tmp_path):
    (tmp_path / "environment.yml").write_text(
        "name: app\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.13  # the interpreter\n"
        "  - pytorch=2.1.2\n  - pip\n  - pip:\n      - 'tensorflow==2.19.1'\n      - -r requirements.txt\n"
    )
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM condaforge/miniforge3:24.7.1-0\nCOPY environment.yml .\nRUN conda env create -f environment.yml\n"
    )
    (facts,) = ml_facts(LintContext(dockaudit.parse(dockerfile.read_text(), str(dockerfile)), Options())).stages
    assert facts.python == "3.13" and facts.python_from == "environment.yml python="
    assert [(i.package, i.version, i.tool) for i in facts.installs] == [
        ("pytorch", "2.1.2", "conda"), ("tensorflow", "2.19.1", "pip")
    ]  # fmt: skip
    messages = [f.message for f in dockaudit.lint(str(dockerfile), select=["DA502"])]
    assert messages == [m for m in messages if "tensorflow 2.19.1" in m] and len(messages) == 1


def test_environment_parser_shapes():
    from dockaudit.condaenv import parse_environment

    env = parse_environment("dependencies: [python=3.11, numpy]\n")
    assert env.conda == ("python=3.11", "numpy") and env.python == "3.11"
    assert parse_environment("not: [a yaml env]\n- stray\n").conda == ()
