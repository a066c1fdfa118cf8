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
from dockaudit.facts.knowledge import KnowledgeError, load_knowledge, parse_knowledge
from dockaudit.facts.mlfacts import ml_facts
from tests.conftest import FIXTURES

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
    import dockaudit.facts.knowledge as knowledge_module

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
    from dockaudit.facts.knowledge import _data_file

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
    from dockaudit.facts.condaenv import parse_environment

    env = parse_environment("dependencies: [python=3.11, numpy]\n")
    assert env.conda == ("python=3.11", "numpy") and env.python == "3.11"
    assert parse_environment("not: [a yaml env]\n- stray\n").conda == ()


# --- issue 17 / 16: ML findings that were wrong on unseen files --------------------------------


@pytest.mark.parametrize(
    "image,ships",
    [
        ("nvcr.io/nvidia/pytorch:24.07-py3", ("torch",)),
        ("nvcr.io/nvidia/tensorflow:24.03-tf2-py3", ("tensorflow",)),
        ("nvcr.io/nvidia/tritonserver:25.12-py3-min", ()),
        ("nvcr.io/nvidia/tritonserver:24.08-py3", ()),
        ("nvcr.io/nvidia/tritonserver:24.08-vllm-python-py3", ("torch", "vllm")),
        ("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", ("torch",)),
    ],
)
def test_what_a_framework_image_ships_comes_from_the_table(image, ships):
    (facts,) = _facts(f"FROM {image}\n")
    assert facts.base.ships == ships


@pytest.mark.parametrize(
    "text,rule_id",
    [
        # DA521: -min and -py3 Triton images have no Python torch; an NGC TensorFlow image is not a torch image
        ("FROM nvcr.io/nvidia/tritonserver:25.12-py3-min\nRUN pip install torch==2.9.1\n", "DA521"),
        ("FROM nvcr.io/nvidia/tensorflow:24.03-tf2-py3\nRUN pip install torch==2.3.1\n", "DA521"),
        # DA516: torch came with the project or with a package that requires it
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nCOPY . /src\nRUN pip install -e /src\n"
         "RUN pip install --no-build-isolation flash-attn==2.7.0.post2\n", "DA516"),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN uv sync --frozen\n"
         "RUN pip install --no-build-isolation flash-attn==2.7.0.post2\n", "DA516"),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install vllm==0.6.4\n"
         "RUN pip install --no-build-isolation flash-attn==2.7.0.post2\n", "DA516"),
        # DA523: nothing to override on a base that is not a CUDA image
        ("FROM debian:bookworm-slim\nENV NVIDIA_DISABLE_REQUIRE=true NVIDIA_REQUIRE_CUDA=cuda>=12\n", "DA523"),
        # DA526: every GPU the runtime gives
        ("FROM ubuntu:22.04\nENV NVIDIA_VISIBLE_DEVICES=all\n", "DA526"),
        # DA518: uv's first-index strategy
        ("FROM python:3.12-slim\nRUN uv pip install --system torch==2.5.1 "
         "--extra-index-url https://download.pytorch.org/whl/cu124\n", "DA518"),
        # DA504: the image needs nvcc
        ("FROM nvidia/cuda:12.1.1-devel-ubuntu22.04\nRUN git clone https://github.com/microsoft/DeepSpeed.git /ds\n"
         "RUN pip install -r /ds/requirements/requirements.txt\n", "DA504"),
        ("FROM nvidia/cuda:12.1.1-devel-ubuntu22.04\nRUN DS_BUILD_FUSED_ADAM=1 pip install /opt/ds\n", "DA504"),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install cupy==13.3.0\n", "DA504"),
        ("FROM nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04\nRUN make GPU=1 CUDNN=1 -j4\n", "DA504"),
        # DA603: NGC has no runtime flavour
        ("FROM nvcr.io/nvidia/pytorch:24.07-py3\nENV TORCH_CUDA_ARCH_LIST=9.0\n"
         "RUN pip install --no-build-isolation flash-attn==2.6.3\n", "DA603"),
        # DA601: TensorFlow's devel image is a build environment
        ("FROM tensorflow/tensorflow:devel-gpu\nRUN bazel build //tensorflow/tools/pip_package:wheel\n", "DA601"),
        # DA524 / DA508: the step has a GPU
        ("# syntax=docker/dockerfile:1-labs\nFROM nvidia/cuda:12.4.1-devel-ubuntu22.04\n"
         "RUN --device=nvidia.com/gpu=all nvidia-smi\n", "DA524"),
        ("# syntax=docker/dockerfile:1-labs\nFROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install torch==2.5.1\n"
         "RUN --device=nvidia.com/gpu=all pip install --no-build-isolation flash-attn==2.7.0.post2\n", "DA508"),
        # DA520: a .bin that is not a model
        ("FROM debian:bookworm-slim\nRUN wget -q https://example.org/fw/iwlwifi-cc-a0-77.bin\n", "DA520"),
    ],
)
def test_ml_rules_stay_silent_where_they_were_wrong(text, rule_id):
    assert _fired(text, rule_id) == []


@pytest.mark.parametrize(
    "text,rule_id",
    [
        ("FROM nvcr.io/nvidia/tritonserver:24.08-vllm-python-py3\nRUN pip install torch==2.5.1\n", "DA521"),
        ("FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\nENV NVIDIA_DISABLE_REQUIRE=true\n", "DA523"),
        ("FROM ubuntu:22.04\nENV NVIDIA_VISIBLE_DEVICES=0,1\n", "DA526"),
        ("FROM python:3.12-slim\nENV UV_INDEX_STRATEGY=unsafe-best-match\nRUN uv pip install --system torch==2.5.1 "
         "--extra-index-url https://download.pytorch.org/whl/cu124\n", "DA518"),
        ("FROM python:3.12-slim\nRUN uv pip install --index-strategy unsafe-best-match torch==2.5.1 "
         "--extra-index-url https://download.pytorch.org/whl/cu124\n", "DA518"),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install torch==2.5.1\n"
         "RUN pip install --no-build-isolation flash-attn==2.7.0.post2\n", "DA603"),
        ("FROM python:3.12-slim\nRUN wget -q https://example.org/m/pytorch_model.bin\n", "DA520"),
        ("FROM python:3.12-slim\nRUN curl -LO https://huggingface.co/org/m/resolve/main/model-00001-of-00002.bin\n",
         "DA520"),
    ],
)
def test_ml_rules_still_fire_where_they_are_right(text, rule_id):
    assert len(_fired(text, rule_id)) == 1


def test_da504_and_its_runtime_fix_need_every_install_known():
    (known,) = dockaudit.lint(str(FIXTURES / "rules/DA504/bad.Dockerfile"), select=["DA504"])
    assert known.fix is not None and not known.fix.safe
    path = FIXTURES / "rules/DA504/bad-requirements/Dockerfile"
    (read,) = dockaudit.lint(str(path), select=["DA504"])  # the requirements file is in the context
    assert read.fix is not None
    assert dockaudit.lint(path.read_text(), select=["DA504"]) == []  # not read: it may bring DeepSpeed


def test_da526_fix_is_unsafe():
    (finding,) = dockaudit.lint("FROM a\nENV CUDA_VISIBLE_DEVICES=0 B=1\n", select=["DA526"])
    assert finding.fix is not None and not finding.fix.safe


def test_da306_small_model_file_needs_the_context(tmp_path):
    (tmp_path / "model.joblib").write_bytes(b"x" * 4000)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nCOPY model.joblib /app/\n")
    assert dockaudit.lint(str(dockerfile), select=["DA306"]) == []
    (tmp_path / "model.joblib").write_bytes(b"x" * (21 * 1024 * 1024))
    assert [f.rule for f in dockaudit.lint(str(dockerfile), select=["DA306"])] == ["DA306"]
    assert [f.rule for f in dockaudit.lint(dockerfile.read_text(), select=["DA306"])] == ["DA306"]  # no context


def test_da520_reads_the_scripts_a_run_executes(tmp_path):
    (tmp_path / "fetch.py").write_text("from huggingface_hub import snapshot_download\nsnapshot_download('org/m')\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nCOPY fetch.py .\nRUN python fetch.py\n")
    (finding,) = dockaudit.lint(str(dockerfile), select=["DA520"])
    assert "in fetch.py" in finding.message
    (tmp_path / "fetch.py").write_text("print('no downloads')\n")
    assert dockaudit.lint(str(dockerfile), select=["DA520"]) == []


def test_da509_split_keeps_one_idea_per_id():
    text = "FROM continuumio/miniconda3:24.7.1-0\nRUN conda install -y pytorch=2.6.0 -c pytorch\n"
    assert [f.rule for f in dockaudit.lint(text, select=["DA509", "DA528", "DA529"])] == ["DA528", "DA529"]
    (error,) = dockaudit.lint(text, select=["DA529"])
    assert error.severity.label == "error"
    assert dockaudit.lint("FROM a\nRUN conda install -y -c conda-forge pytorch=2.6.0\n", select=["DA529"]) == []


@pytest.mark.parametrize(
    ("install", "severity"),
    [
        ("conda install -y -c nvidia cuda-toolkit=12.4", None),  # NVIDIA's channel publishes its CUDA packages
        ("conda install -y -c nvidia cuda-nvcc cuda-runtime", None),
        ("conda install -y -c nvidia pytorch=2.5.1", None),  # pytorch from the default channels, not -c nvidia
        ("conda install -y pytorch-cuda=12.1 -c nvidia", "error"),  # only PyTorch's channel has it
        ("conda install -y nvidia::pytorch-cuda=12.1", "error"),
        ('conda install -c "${INSTALL_CHANNEL}" -c nvidia pytorch-cuda=12.1', "warning"),  # pytorch/pytorch's own
        ("conda install -y pytorch=2.1.2 pytorch-cuda=12.1 -c pytorch -c nvidia", "warning"),
        ("conda config --add channels pytorch && conda install -y pytorch-cuda=12.1 -c nvidia", "warning"),
        ("conda config --add channels pytorch && conda install -y --override-channels -c nvidia pytorch-cuda=12.1",
         "error"),
    ],
)
def test_the_nvidia_channel_alone(install, severity):
    found = dockaudit.lint(f"FROM condaforge/miniforge3:24.7.1-0\nRUN {install}\n", select=["DA529"])
    assert [f.severity.label for f in found] == ([severity] if severity else [])
    if severity == "error":
        assert "exists only on PyTorch's conda channel" in found[0].message


# --- class 7: shell traps in installs -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,at",
    [("numpy>=1.26", 5), ('"numpy>=1.26"', None), ("'a<2'", None), (r"a\>=1", None), ("a", None),
     ('x"y"<2', 4), ("", None), ("\\", None), ('"unterminated>', None)],
)  # fmt: skip
def test_unquoted_redirect(raw, at):
    from dockaudit.facts.installs import unquoted_redirect

    assert unquoted_redirect(raw) == at


@pytest.mark.parametrize(
    "run,fires,fixed",
    [
        ("pip install numpy>=1.26", True, 'pip install "numpy>=1.26"'),
        ("uv pip install --system torch<2.6", True, 'uv pip install --system "torch<2.6"'),
        ("pip install kserve[storage]>=0.11.0", True, 'pip install "kserve[storage]>=0.11.0"'),
        ("pip install $PKG>=1", False, None),
        ("pip install numpy>=1.26'rc'", True, None),  # quoting of its own: no fix
        ('pip install "numpy>=1.26"', False, None),
        ("pip install -r req.txt > /tmp/log", False, None),
        ("pip freeze > requirements.txt", False, None),
    ],
)
def test_da530_unquoted_specifiers(run, fires, fixed):
    text = f"FROM python:3.12-slim\nRUN {run}\n"
    findings = dockaudit.lint(text, select=["DA530"])
    assert bool(findings) == fires
    if fixed is not None:
        (edit,) = findings[0].fix.edits
        assert (text[: edit.span.start] + edit.replacement + text[edit.span.end :]).splitlines()[1] == f"RUN {fixed}"
    elif fires:
        assert findings[0].fix is None


# --- class 2 and class 5 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,rule_id,count",
    [
        ("FROM python:3.12-slim\nRUN pip install onnxruntime-gpu==1.20.1 onnxruntime==1.20.1\n", "DA531", 1),
        ("FROM python:3.12-slim\nRUN pip install onnxruntime-gpu==1.20.1\n", "DA531", 0),
        ("FROM python:3.12-slim\nRUN uv pip install --system pytorch\n", "DA532", 1),
        ("FROM python:3.12-slim\nRUN pip install torch==2.5.1 scikit-learn==1.5.2\n", "DA532", 0),
        ("FROM python:3.12-slim\nENV SKLEARN_ALLOW_DEPRECATED_SKLEARN_PACKAGE_INSTALL=True\nRUN pip install sklearn\n",
         "DA532", 0),
        ("FROM python:3.12-slim\nRUN pip install https://x.org/a-1.0-cp311-cp311-linux_x86_64.whl\n", "DA533", 1),
        ("FROM python:3.12-slim\nRUN pip install https://x.org/a-1.0-cp38-abi3-linux_x86_64.whl\n", "DA533", 0),
        ("FROM python:3.12-slim\nRUN pip install https://x.org/a-1.0-py3-none-any.whl\n", "DA533", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install /w/torch-2.1.0+cu118-cp310-cp310-linux_x86_64.whl\n",
         "DA533", 1),
        ("FROM a\nRUN wget http://download.tensorflow.org/models/object_detection/ssd_mobilenet_v1_coco.tar.gz\n",
         "DA520", 1),
        ("FROM a\nRUN wget https://nodejs.org/dist/v20.18.0/node-v20.18.0-linux-x64.tar.gz\n", "DA520", 0),
        ("FROM a\nRUN huggingface-cli download org/model --local-dir /models\n", "DA520", 1),
    ],
)
def test_class_2_and_5_rules(text, rule_id, count):
    assert len(_fired(text, rule_id)) == count


# --- class 1, 3, 4 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,rule_id,count",
    [
        ("FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime\nRUN pip install vllm==0.6.4\n", "DA535", 1),
        ("FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime\nRUN pip install vllm==0.6.4\n", "DA535", 0),
        ("FROM nvcr.io/nvidia/pytorch:24.07-py3\nRUN pip install torchaudio==2.4.1\n", "DA535", 1),
        ("FROM nvcr.io/nvidia/tritonserver:24.08-py3\nRUN pip install vllm==0.6.4\n", "DA535", 0),
        ("FROM python:3.11-slim\nRUN pip install torch==2.4.1\nRUN pip install vllm==0.6.4\n", "DA535", 0),  # DA506's
        ("FROM python:3.11-slim\nRUN pip install torch==2.4.1\nRUN pip install --no-deps vllm==0.6.4\n", "DA535", 1),
        ("FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel\nRUN python setup.py install --cuda_ext --cpp_ext\n",
         "DA508", 1),
        ("FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel\nRUN pip install --no-build-isolation flash-attn==2.7.0.post2\n",
         "DA508", 0),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN cmake -B b -DCMAKE_CUDA_ARCHITECTURES=native\n", "DA508", 1),
        ("FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel\nRUN pip install git+https://github.com/facebookresearch/"
         "detectron2.git\n", "DA508", 1),
        ("FROM python:3.12-slim\nRUN pip install vllm==0.6.4\n", "DA534", 1),
        ("FROM python:3.12\nRUN pip install vllm==0.6.4\n", "DA534", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN apt-get install -y cuda-nvcc-12-4 build-essential\n"
         "RUN pip install deepspeed==0.15.4 vllm==0.6.4\n", "DA534", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install deepspeed==0.15.4\n", "DA534", 1),
        ("ARG BASE\nFROM ${BASE}\nRUN pip install deepspeed==0.15.4 vllm==0.6.4\n", "DA534", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install flashinfer-python==0.2.0\n", "DA534", 1),
        # Triton's launcher includes Python.h: apt's Python needs python3-dev; python3-pip's Recommends bring it
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y --no-install-recommends python3-pip\n"
         "RUN pip install vllm==0.6.4\n", "DA534", 1),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y --no-install-recommends python3-pip "
         "python3-dev\nRUN pip install vllm==0.6.4\n", "DA534", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN apt-get install -y python3-pip\n"
         "RUN pip install vllm==0.6.4\n", "DA534", 0),
        ("FROM ubuntu:22.04\nRUN echo 'APT::Install-Recommends \"false\";' > /etc/apt/apt.conf.d/00norec\n"
         "RUN apt-get install -y python3-pip\nRUN pip install vllm==0.6.4\n", "DA534", 1),
        ("FROM python:3.12\nRUN pip install vllm==0.6.4\n", "DA534", 0),  # python images ship gcc and Python.h
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install flashinfer-python==0.2.0 "
         "flashinfer-jit-cache==0.2.0\n", "DA534", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install cupy==13.3.0\n", "DA522", 1),  # sdist: nvcc
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install cupy-cuda12x==13.3.0\n", "DA522", 0),
        # gcc for sdists is not nvcc: the devel base stays a finding (DA504), the compiler beside torch is not
        # DA408's (torch.compile builds C++ and Triton launchers with it when the model first runs)
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y build-essential python3-pip\n"
         "RUN pip install torch==2.5.1 uwsgi==2.0.27\n", "DA504", 1),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y build-essential python3-pip\n"
         "RUN pip install torch==2.5.1 uwsgi==2.0.27\n", "DA408", 0),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN apt-get install -y build-essential python3-pip\n"
         "RUN pip install uwsgi==2.0.27\n", "DA408", 1),
        # nvcc, CUDA headers and ninja serve DeepSpeed's JIT ops, gcc alone serves only torch.compile
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN apt-get install -y cuda-nvcc-12-4 ninja-build gcc\n"
         "RUN pip install deepspeed==0.15.4\n", "DA408", 0),
        ("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN apt-get install -y cuda-nvcc-12-4 ninja-build gcc\n"
         "RUN pip install torch==2.5.1\n", "DA408", 1),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install --no-build-isolation flash-attn==2.7.0.post2 "
         "deepspeed==0.15.4\n", "DA603", 0),
        ("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nRUN pip install --no-build-isolation flash-attn==2.7.0.post2\n",
         "DA603", 1),
    ],
)
def test_class_1_3_4_rules(text, rule_id, count):
    assert len(_fired(text, rule_id)) == count


def test_detectron2_without_force_cuda_says_it_builds_cpu_ops():
    text = "FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel\nRUN pip install git+https://github.com/facebookresearch/detectron2.git\n"
    (message,) = _fired(text, "DA508")
    assert "without its CUDA kernels" in message


_CUDNN_BASE = "FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\n"


@pytest.mark.parametrize(
    ("install", "count"),
    [
        ("RUN pip install torch==2.5.1\n", 1),  # PyPI torch 2.5 requires nvidia-cudnn-cu12 9.1
        ('RUN pip install "tensorflow[and-cuda]==2.18.0"\n', 1),
        ("RUN pip install nvidia-cudnn-cu12==9.1.0.70\n", 1),
        ("RUN pip install torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu\n", 0),
        ("RUN pip install torch\n", 0),  # PyPI's newest: not settled by the file
        ("RUN pip install torch==2.5.1 -r requirements.txt\n", 0),  # unread: onnxruntime-gpu may be in it
        ("RUN pip install torch==2.5.1 tensorflow==2.18.0\n", 0),  # TF without [and-cuda] loads the system cuDNN
        ("RUN apt-get install -y libcudnn9-dev-cuda-12\nRUN pip install torch==2.5.1\n", 0),
        ("RUN pip install torch==2.1.2\n", 0),  # cuDNN 8 wheels on a cuDNN 9 base: not the same library
    ],
)
def test_cudnn_base_duplicated_by_wheels(install, count):
    assert len(_fired(_CUDNN_BASE + install, "DA536")) == count


def test_cudnn_duplicate_names_the_sizes_from_the_table():
    (message,) = _fired(_CUDNN_BASE + "RUN pip install torch==2.5.1\n", "DA536")
    assert "cuDNN 9" in message and "[image.nvidia_cuda_runtime]" in message and "cudnn-runtime is about" in message
    assert _fired("FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\nRUN pip install torch==2.5.1\n", "DA536") == []
    (older,) = _fired("FROM nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04\nRUN pip install torch==2.1.2\n", "DA536")
    assert "cuDNN 8" in older
