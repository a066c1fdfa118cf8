"""The GPU fleet gate (DA540-DA542) on the fleets issue 18 names, and the tables behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

import dockaudit
from dockaudit.config import ConfigError, parse_config
from dockaudit.context import Options
from dockaudit.facts.knowledge import load_knowledge
from dockaudit.model import Severity

FLEET_RULES = ["DA540", "DA541", "DA542"]
BLACKWELL = ("B200", "RTX 5090")
PASCAL = ("P100", "GTX 1080")
CONSUMER = ("RTX 4090", "RTX 3090")


def _fleet(text: str, gpus: tuple[str, ...], driver: str | None = None, segment: str | None = None):
    options = Options(gpus=gpus, min_driver=driver, gpu_segment=segment)
    return [(f.rule, f.severity) for f in dockaudit.lint(text, options, select=FLEET_RULES)]


CASES = [
    # (Dockerfile, fleet, driver, expected findings)
    ("FROM python:3.12-slim\nRUN pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126\n",
     BLACKWELL, None, [("DA540", Severity.ERROR)]),
    ("FROM python:3.12-slim\nRUN pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu128\n",
     BLACKWELL, None, []),
    ("FROM python:3.12-slim\nRUN pip install torch==2.12.1+cu128\n", PASCAL, None, [("DA540", Severity.ERROR)]),
    ("FROM python:3.12-slim\nRUN pip install torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126\n",
     PASCAL, None, []),
    ("FROM python:3.12-slim\nRUN pip install torch==2.14.1\n", PASCAL, None, [("DA540", Severity.ERROR)]),  # PyPI = 13.0
    ("FROM nvidia/cuda:13.0.2-runtime-ubuntu24.04\n", CONSUMER, "570.124.06", [("DA541", Severity.ERROR)]),
    ("FROM nvidia/cuda:13.4.1-runtime-ubuntu26.04\n", CONSUMER, "570.124.06", [("DA541", Severity.ERROR)]),
    ("FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04\n", CONSUMER, "570.124.06", []),
    ("FROM nvidia/cuda:13.0.2-runtime-ubuntu24.04\n", ("H100", "L4"), "570.124.06", []),  # forward compat works
    ("FROM nvidia/cuda:13.0.2-runtime-ubuntu24.04\n", CONSUMER, "580.95.05", []),
    ('FROM ubuntu:24.04\nENV NVIDIA_REQUIRE_CUDA="cuda>=13.0 brand=tesla,driver>=570,driver<571"\n',
     ("H100",), "570.124.06", []),  # a data-centre fleet starts through the forward-compat range
    ('FROM ubuntu:24.04\nENV NVIDIA_REQUIRE_CUDA="cuda>=13.0 brand=geforce,driver>=570,driver<571"\n',
     CONSUMER, "570.124.06", [("DA542", Severity.ERROR)]),
    ('FROM ubuntu:24.04\nENV NVIDIA_REQUIRE_CUDA="cuda>=13.0"\nENV NVIDIA_DISABLE_REQUIRE=1\n',
     CONSUMER, "570.124.06", []),
    # TensorFlow 2.18+ wheels: sm_60…compute_90, no Maxwell; a warning (the release span of the list is inferred)
    ("FROM python:3.12-slim\nRUN pip install tensorflow==2.21.0\n", ("M60", "T4"), None, [("DA540", Severity.WARNING)]),
    ("FROM tensorflow/tensorflow:2.19.0-gpu\n", ("M60",), None, [("DA540", Severity.WARNING)]),
    ("FROM python:3.12-slim\nRUN pip install tensorflow==2.21.0\n", ("T4", "B200"), None, []),  # compute_90 PTX
    ("FROM python:3.12-slim\nRUN pip install tensorflow==2.15.1\n", ("M60",), None, []),  # no list for 2.15
    ("FROM python:3.12-slim\nRUN pip install tensorflow-cpu==2.21.0\n", ("M60",), None, []),
    # onnxruntime-gpu CUDA 12 wheels start at sm_52; the CUDA 13 wheels (1.27+) have no source: silent
    ("FROM python:3.12-slim\nRUN pip install onnxruntime-gpu==1.20.1\n", ("sm_50",), None, [("DA540", Severity.WARNING)]),
    ("FROM python:3.12-slim\nRUN pip install onnxruntime-gpu==1.28.0\n", ("sm_50",), None, []),
    # NGC: 20.12 supports sm_60+ (verified), 25.01 sm_75+ (inferred: a warning)
    ("FROM nvcr.io/nvidia/pytorch:20.12-py3\n", ("sm_52",), None, [("DA540", Severity.ERROR)]),
    ("FROM nvcr.io/nvidia/pytorch:25.01-py3\n", PASCAL, None, [("DA540", Severity.WARNING)]),
    ("FROM nvcr.io/nvidia/pytorch:25.01-py3-igpu\n", PASCAL, None, []),  # another flavour: no row
    # an NGC base on CUDA 13 (verified row) on a consumer fleet with an R570 driver
    ("FROM nvcr.io/nvidia/pytorch:25.12-py3\n", CONSUMER, "570.124.06", [("DA541", Severity.ERROR)]),
    ("FROM nvcr.io/nvidia/pytorch:25.12-py3\n", ("H100",), "570.124.06", []),
]


@pytest.mark.parametrize(("text", "gpus", "driver", "expected"), CASES)
def test_fleet_cases(text, gpus, driver, expected):
    assert _fleet(text, gpus, driver) == expected


@pytest.mark.parametrize("text", [text for text, *_ in CASES])
def test_without_a_fleet_nothing_changes(text):
    assert _fleet(text, (), "535.104.05") == []


def test_newer_than_the_tables_generalises_or_stays_silent():
    # torch 2.16 is unknown: its PyPI CUDA is not known (silent); a cu130 2.16 build is judged from the newest
    # architecture matrix as a warning, never an error.
    assert _fleet("FROM python:3.12-slim\nRUN pip install torch==2.16.0\n", PASCAL) == []
    cu130 = "FROM python:3.12-slim\nRUN pip install torch==2.16.0+cu130\n"
    assert _fleet(cu130, PASCAL) == [("DA540", Severity.WARNING)]
    # CUDA 13.6 has no row: the 13.x floor (580) still applies, so a 570 consumer fleet is told
    assert _fleet("FROM nvidia/cuda:13.6.0-runtime-ubuntu26.04\n", CONSUMER, "570.124.06") == [
        ("DA541", Severity.ERROR)
    ]
    assert _fleet("FROM nvidia/cuda:13.6.0-runtime-ubuntu26.04\n", CONSUMER, "580.95.05") == []


def test_sm_entries_need_a_segment_for_the_forward_compat_rule():
    text = "FROM nvidia/cuda:13.0.2-runtime-ubuntu24.04\n"
    assert _fleet(text, ("sm_89",), "570.124.06") == []
    assert _fleet(text, ("sm_89",), "570.124.06", segment="consumer") == [("DA541", Severity.ERROR)]


@pytest.mark.parametrize(
    ("name", "capability", "segment"),
    [("H100", (9, 0), "datacenter"), ("NVIDIA L4", (8, 9), "datacenter"), ("GeForce RTX 4090", (8, 9), "consumer"),
     ("rtx-5090", (12, 0), "consumer"), ("B300", (10, 3), "datacenter"), ("sm_75", (7, 5), None),
     ("sm_120", (12, 0), None), ("8.6", (8, 6), None)],
)  # fmt: skip
def test_gpu_names_map_to_compute_capabilities(name, capability, segment):
    model = load_knowledge().gpu(name)
    assert model is not None and model.capability == capability and model.segment == segment


def test_fleet_config_keys_are_validated():
    config = parse_config({"gpus": ["H100", "L4", "RTX 4090", "sm_75"], "gpu-segment": "consumer"}, Path("x.toml"))
    assert config.options.gpus == ("H100", "L4", "RTX 4090", "sm_75") and config.options.gpu_segment == "consumer"
    for bad in ({"gpus": ["H100", "Voodoo 5"]}, {"gpus": "H100"}, {"gpus": []}, {"gpus": ["sm_75"] * 65},
                {"gpu-segment": "gaming"}):  # fmt: skip
        with pytest.raises(ConfigError) as caught:
            parse_config(bad, Path("x.toml"))
        assert "\n" not in str(caught.value) and str(caught.value).startswith("x.toml: ")


def test_issue_18_regression_ubuntu_26_04_tensorflow():
    text = (
        "FROM ubuntu:26.04\nRUN apt-get update && apt-get install -y python3 python3-pip\n"
        "RUN pip install tensorflow==2.21.0\n"
    )
    assert {f.rule for f in dockaudit.lint(text, select=["DA502", "DA519"])} == {"DA502", "DA519"}


def _compose_fleet(tmp_path: Path, compose: str, gpus: tuple[str, ...]) -> list[tuple[str, Severity]]:
    from dockaudit.compose.lint import lint_compose
    from dockaudit.linting.engine import load_rules, select_rules

    path = tmp_path / "compose.yaml"
    path.write_text(compose)
    results = lint_compose([path], select_rules(load_rules(), select=["DA913"]), Options(gpus=gpus))
    return [(f.message, f.severity) for r in results for f in r.findings]


@pytest.mark.parametrize(
    ("image", "gpus", "expected"),
    [
        ("pytorch/pytorch:2.11.0-cuda12.8-cudnn9-runtime", PASCAL, Severity.ERROR),  # cu128: no Pascal
        ("pytorch/pytorch:2.11.0-cuda12.6-cudnn9-runtime", PASCAL, None),
        ("pytorch/pytorch:2.11.0-cuda12.6-cudnn9-runtime", BLACKWELL, Severity.ERROR),  # cu126: no Blackwell
        ("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", PASCAL, None),  # older than the architecture table
        ("nvcr.io/nvidia/pytorch:25.01-py3", PASCAL, Severity.WARNING),  # an inferred floor
        ("tensorflow/tensorflow:2.20.0-gpu", ("M60",), Severity.WARNING),
        ("${TRAINER_IMAGE}", PASCAL, None),
    ],
)
def test_image_only_compose_services_meet_the_fleet(tmp_path, image, gpus, expected):
    found = _compose_fleet(tmp_path, f"services:\n  trainer:\n    image: {image}\n", gpus)
    assert [severity for _message, severity in found] == ([expected] if expected else [])
    assert all(message.startswith("service trainer: ") for message, _severity in found)


def test_a_service_that_builds_is_judged_through_its_dockerfile_not_its_image_name(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    compose = "services:\n  trainer:\n    build: .\n    image: pytorch/pytorch:2.11.0-cuda12.8-cudnn9-runtime\n"
    assert _compose_fleet(tmp_path, compose, PASCAL) == []
