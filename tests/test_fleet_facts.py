"""dockaudit.facts.fleet: which fleet GPUs a torch, TensorFlow, onnxruntime-gpu or NGC build has no kernels for."""

from __future__ import annotations

import pytest

from dockaudit.context import Options
from dockaudit.facts.fleet import (
    fleet_of,
    ngc_verdict,
    onnxruntime_verdict,
    tensorflow_verdict,
    torch_verdict,
)
from dockaudit.facts.knowledge import load_knowledge


def _fleet(*gpus: str):
    return fleet_of(Options(gpus=gpus), load_knowledge())


def _missing(verdict) -> list[str]:
    return [g.label for g in verdict.missing] if verdict else []


@pytest.mark.parametrize(
    ("version", "cuda", "fleet", "missing", "verified"),
    [
        ("2.11.0", "12.6", ("H100", "B200", "RTX 5090"), ["B200", "RTX 5090"], True),
        ("2.11.0", "12.8", ("P100", "V100", "H100"), ["P100", "V100"], True),
        ("2.11.0", "12.8", ("H100", "B200"), [], True),
        ("2.16.0", "13.2", ("V100",), ["V100"], False),  # newer than the table: generalised, unverified
        ("2.4.1", "12.4", ("V100",), [], None),  # older than the table: no verdict
        ("2.11.0", "11.8", ("V100",), [], None),  # no row for the CUDA: no verdict
    ],
)  # fmt: skip
def test_torch_builds(version, cuda, fleet, missing, verified):
    verdict = torch_verdict(load_knowledge(), _fleet(*fleet), version, cuda)
    assert _missing(verdict) == missing
    if verdict:
        assert verdict.verified is verified and "[torch_cuda_arch_support]" in verdict.source


def test_tensorflow_has_no_maxwell_kernels_and_judges_only_the_releases_its_list_names():
    knowledge = load_knowledge()
    verdict = tensorflow_verdict(knowledge, _fleet("M60", "T4", "RTX 5090"), "2.21.0")
    assert _missing(verdict) == ["M60"] and not verdict.verified  # the release span is inferred
    assert tensorflow_verdict(knowledge, _fleet("M60"), "2.15.1") is None  # no primary list for 2.15


def test_onnxruntime_gpu_cuda12_wheels_stop_at_sm_52_and_cuda13_wheels_are_not_judged():
    knowledge = load_knowledge()
    assert _missing(onnxruntime_verdict(knowledge, _fleet("sm_50", "M60", "B200"), "1.20.1")) == ["sm_50"]
    assert onnxruntime_verdict(knowledge, _fleet("sm_50"), "1.28.0") is None  # CUDA 13 wheels: no source


def test_an_ngc_release_below_its_floor():
    knowledge = load_knowledge()
    old = knowledge.ngc_release("pytorch", "20.12-py3")
    assert _missing(ngc_verdict(_fleet("P100", "sm_52"), old)) == ["sm_52"] and ngc_verdict(_fleet("sm_52"), old).verified
    new = knowledge.ngc_release("pytorch", "25.01-py3")
    verdict = ngc_verdict(_fleet("V100", "H100"), new)
    assert _missing(verdict) == ["V100"] and not verdict.verified  # 25.01's floor is inferred from Triton's notes
