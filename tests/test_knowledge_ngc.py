"""NGC releases (ml-compat.toml [ngc_pytorch] / [ngc_tensorflow] / [ngc_tritonserver]): the loader, and the
base facts an ``nvcr.io/nvidia/<container>:YY.MM-…`` tag then settles — verified facts only."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

import dockaudit
from dockaudit.cli import cli
from dockaudit.context import LintContext, Options
from dockaudit.facts.knowledge import KnowledgeError, load_knowledge, parse_knowledge
from dockaudit.facts.mlfacts import ml_facts


def _base(image: str):
    (facts,) = ml_facts(LintContext(dockaudit.parse(f"FROM {image}\n"), Options())).stages
    return facts


def test_every_row_is_sourced_and_unverified_rows_say_which_fields():
    knowledge = load_knowledge()
    assert {("pytorch", "20.12"), ("pytorch", "25.12"), ("tensorflow", "23.01"), ("tritonserver", "25.01")} <= set(
        knowledge.ngc
    )
    compat = knowledge.raw["ml-compat.toml"]
    for (container, release), row in knowledge.ngc.items():
        raw = compat[f"ngc_{container}"][release]
        assert row.source
        if not raw["verified"]:
            assert raw["unverified_reason"] and row.unverified, (container, release)
            assert all(not row.verified(name) for name in ("cuda", "python") if raw.get(name))


@pytest.mark.parametrize(
    ("tag", "release"),
    [("25.01-py3", "25.01"), ("25.01-py3-igpu", "25.01"), ("25.01", "25.01"), ("2501-py3", None), ("latest", None),
     ("99.01-py3", None)],
)  # fmt: skip
def test_a_tag_names_its_release(tag, release):
    row = load_knowledge().ngc_release("pytorch", tag)
    assert (row.release if row else None) == release


def test_a_verified_release_settles_cuda_cudnn_ubuntu_python_and_torch():
    facts = _base("nvcr.io/nvidia/pytorch:20.12-py3")
    base = facts.base
    assert (base.cuda, base.cudnn_major, base.os, base.framework) == ("11.1.1", 8, "ubuntu20.04", "torch 1.8.0a0+1606899")
    assert facts.python == "3.8" and facts.python_from == "base image nvcr.io/nvidia/pytorch:20.12-py3"
    assert base.ngc is not None and base.ngc.driver_floor == "455" and base.ngc.min_capability == (6, 0)


def test_unverified_facts_stay_out_of_the_base_facts_rules_read():
    base = _base("nvcr.io/nvidia/pytorch:25.01-py3").base
    assert (base.cuda, base.cudnn_major, base.os, base.python, base.framework) == (None, None, None, None, "torch")
    assert base.ngc.cuda == "12.8.0" and not base.ngc.verified("cuda")  # kept for rules that only warn


def test_other_flavours_and_unknown_releases_settle_nothing():
    for image in ("nvcr.io/nvidia/tritonserver:25.01-py3-min", "nvcr.io/nvidia/pytorch:20.12-py3-igpu",
                  "nvcr.io/nvidia/pytorch:99.12-py3"):  # fmt: skip
        base = _base(image).base
        assert base.ngc is None and base.cuda is None, image
    triton = _base("nvcr.io/nvidia/tritonserver:25.01-py3").base
    assert (triton.cuda, triton.os, triton.python, triton.ships) == ("12.8.0", "ubuntu24.04", "3.12", ())


def test_parse_shows_the_release_and_what_is_unverified(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM nvcr.io/nvidia/pytorch:25.01-py3\n")
    result = CliRunner().invoke(cli, ["parse", str(path)])
    assert result.exit_code == 0
    release = json.loads(result.output)["facts"][0]["base"]["ngc_release"]
    assert release["release"] == "25.01" and "cuda" in release["unverified"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda rows: rows["20.12"].update(cuda=11.1), "'cuda' should be a string"),
        (lambda rows: rows["20.12"].update(min_compute_capability="sm_60"), "should look like 7.5"),
        (lambda rows: rows.update({"2012": dict(rows["20.12"])}), "keyed YY.MM"),
        (lambda rows: rows["20.12"].pop("source"), "has no 'source'"),
    ],
)
def test_a_malformed_row_is_an_error_naming_it(damage, message):
    raw = load_knowledge().raw
    compat, bases = copy.deepcopy(raw["ml-compat.toml"]), copy.deepcopy(raw["base-images.toml"])
    damage(compat["ngc_pytorch"])
    with pytest.raises(KnowledgeError) as error:
        parse_knowledge(compat, bases)
    assert message in str(error.value) and "ngc_pytorch" in str(error.value)


# --- TensorFlow and onnxruntime-gpu architecture lists ([*_cuda_arch_support]) ----------------------


def test_tensorflow_and_onnxruntime_arch_lists_are_loaded_with_what_they_apply_to():
    archs = load_knowledge().framework_archs
    assert archs["tensorflow"].archs[-1] == "9.0+PTX" and "2.21" in archs["tensorflow"].applies_to
    assert archs["onnxruntime-gpu"].applies_to == ("11", "12") and "13" not in archs["onnxruntime-gpu"].applies_to
    assert not archs["tensorflow"].applies_verified  # inferred release span: rules warn at most


@pytest.mark.parametrize("table", ["tensorflow_cuda_arch_support", "onnxruntime_cuda_arch_support"])
@pytest.mark.parametrize("archs", [[], ["sm_80"], "8.0", ["8.0", 9.0]])
def test_a_malformed_arch_list_is_an_error_naming_the_table(table, archs):
    raw = load_knowledge().raw
    compat, bases = copy.deepcopy(raw["ml-compat.toml"]), copy.deepcopy(raw["base-images.toml"])
    compat[table]["archs"] = archs
    with pytest.raises(KnowledgeError) as error:
        parse_knowledge(compat, bases)
    assert f"[{table}] archs should list archs" in str(error.value)
