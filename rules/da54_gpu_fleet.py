"""DA540–DA542 — the GPU fleet gate: does this image run on the GPUs it will be scheduled on?

Active only when the configuration names a fleet (``gpus = ["H100", "L4", "RTX 4090", "sm_75"]``,
with ``min-driver`` and ``gpu-segment`` where the GPU table cannot tell data-centre from consumer);
without one every rule here is silent.  GPU names map to compute capabilities through
``ml-compat.toml [gpu_models]``, torch builds to their architecture lists through
``[torch_cuda_arch_support]`` and its TF/ORT/NGC siblings (judged in ``dockaudit.facts.fleet``, which
the image and Compose rules share).  A fact the tables do not hold (a torch or CUDA newer than them) is
generalised to a warning or left alone, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.fleet import (
    ArchVerdict,
    FleetGpu,
    base_verdicts,
    fleet_of,
    onnxruntime_verdict,
    tensorflow_verdict,
    torch_verdict,
    uncovered_message,
)
from dockaudit.facts.knowledge import Knowledge
from dockaudit.facts.mlfacts import StageFacts, ml_facts
from dockaudit.facts.versions import version_numbers
from dockaudit.model import Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.stages import env_pairs

FAMILY = "ml"


def _torch_builds(facts: StageFacts, knowledge: Knowledge) -> Iterator[tuple[str, str, object, str]]:
    """(torch minor, CUDA major.minor, span, how the build was named) of each torch this stage installs."""
    for install in facts.installed("torch"):
        if install.instruction not in facts.stage.instructions or not install.version:
            continue
        if not re.match(r"^\d+\.\d+", install.version):
            continue
        minor = ".".join(install.version.split("+")[0].split(".")[:2])
        if install.variant_cuda:
            cuda, named = install.variant_cuda, f"torch {install.version} ({install.variant} build)"
        elif install.variant is None and install.index_url is None and install.tool != "conda":
            release = knowledge.torch_release(install.version)
            if release is None:
                continue  # newer than the tables: its PyPI CUDA is not known
            cuda, named = release.pypi_default_cuda, f"torch {install.version} (PyPI build, CUDA {release.pypi_default_cuda})"
        else:
            continue
        yield minor, ".".join(cuda.split(".")[:2]), install.span, named


def _other_builds(facts: StageFacts, fleet: list[FleetGpu], knowledge: Knowledge) -> Iterator[tuple]:
    """(span, how the build was named, verdict) for what the stage's base tag settles (a pytorch/pytorch,
    NGC or TensorFlow GPU tag) and for its TensorFlow and onnxruntime-gpu installs, each against its table."""
    origin = facts.stage.from_instruction
    if facts.stage.parent is None and origin is not None:
        for named, verdict in base_verdicts(facts.base, fleet, knowledge):
            yield origin.args[0].span, named, verdict
    for install in facts.installs:
        if install.instruction not in facts.stage.instructions or not install.version or install.tool == "conda":
            continue
        if install.package == "tensorflow":
            verdict = tensorflow_verdict(knowledge, fleet, install.version)
        elif install.package == "onnxruntime-gpu":
            verdict = onnxruntime_verdict(knowledge, fleet, install.version)
        else:
            continue
        if verdict is not None:
            yield install.span, f"{install.package} {install.version}", verdict


def _uncovered(span, named: str, verdict: ArchVerdict) -> Violation:
    return Violation(span, uncovered_message(named, verdict), severity=None if verdict.verified else Severity.WARNING)


def _jax_floor(facts: StageFacts, fleet: list[FleetGpu], knowledge: Knowledge) -> Iterator[Violation]:
    """jax[cuda12]/jax[cuda13] (or their plugins) against [jax] cudaNN_min_compute_capability."""
    for install in facts.installs:
        if install.instruction not in facts.stage.instructions:
            continue
        major = next((m for m in ("12", "13") if f"cuda{m}" in install.extras or install.package in
                      (f"jax-cuda{m}-plugin", f"jax-cuda{m}-pjrt")), None)  # fmt: skip
        floor_text = knowledge.jax.get(f"cuda{major}_min_compute_capability") if major else None
        if not floor_text or not re.fullmatch(r"\d+\.\d", str(floor_text)):
            continue
        floor = tuple(int(p) for p in str(floor_text).split("."))
        missing = [g for g in fleet if g.model.capability < floor]
        if missing:
            yield Violation(
                install.span,
                f"jax's CUDA {major} plugin needs compute capability >= {floor_text}: "
                f"{', '.join(f'{g.label} ({g.model.sm})' for g in missing)} in the fleet cannot run it "
                f"(source: ml-compat.toml [jax] cuda{major}_min_compute_capability)",
                severity=Severity.WARNING if any(not g.model.verified for g in missing) else None,
            )


@rule(
    "DA540",
    "gpu-arch-not-covered",
    family=FAMILY,
    severity="error",
    summary="the framework build has no kernels for a GPU of the configured fleet",
)
def find_uncovered_fleet_gpus(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    With a fleet configured (`gpus = ["H100", "L4", "RTX 4090", "sm_75"]`), checks each
    torch build the image installs — the `cuXXX` wheel variant, the PyPI default, a
    `pytorch/pytorch` tag — against the architectures PyTorch builds it for
    (`ml-compat.toml [torch_cuda_arch_support]`); TensorFlow (`tensorflow==X` or a
    `tensorflow/tensorflow:X-gpu` base) and `onnxruntime-gpu` against their wheels'
    lists (`[tensorflow_cuda_arch_support]`, `[onnxruntime_cuda_arch_support]`); an NGC
    base (`nvcr.io/nvidia/pytorch:25.01-py3`) against the minimum compute capability its
    release notes state (`[ngc_*]`); and `jax[cuda13]` against its minimum compute
    capability. Flags every fleet GPU no kernel in the build can run on. A torch newer
    than the architecture table, and any fact whose release span or row is inferred
    (the TF and ORT lists, several NGC rows), is reported as a warning. Silent without
    `gpus`.

    ## Why is this bad?
    The image builds and imports fine, then the first kernel launch on that GPU fails
    with "CUDA error: no kernel image is available for execution on the device": cu126
    builds stop at Hopper (no Blackwell sm_100/sm_120), cu128 and newer drop Maxwell,
    Pascal and Volta (P100, P40, V100).

    ## Example
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"]
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.11.0 --index-url https://download.pytorch.org/whl/cu128
    ```

    ## Use instead
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"]
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126
    ```
    """
    knowledge = ctx.knowledge
    fleet = fleet_of(ctx.options, knowledge)
    if not fleet:
        return
    for facts in ml_facts(ctx).stages:
        for minor, cuda, span, named in _torch_builds(facts, knowledge):
            verdict = torch_verdict(knowledge, fleet, minor, cuda)
            if verdict is not None:
                yield _uncovered(span, named, verdict)
        for span, named, verdict in _other_builds(facts, fleet, knowledge):
            yield _uncovered(span, named, verdict)
        yield from _jax_floor(facts, fleet, knowledge)


@rule(
    "DA541",
    "forward-compat-on-consumer-gpu",
    family=FAMILY,
    severity="error",
    summary="a CUDA newer than the fleet's driver runs only through forward compatibility, which consumer GPUs lack",
)
def find_forward_compat_on_consumer(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    With a fleet (`gpus`) and its oldest driver (`min-driver`), flags a CUDA base image —
    `nvidia/cuda`, or an NGC framework image whose verified release row names its CUDA —
    (or an installed `cuda-compat-*` package) whose CUDA major needs a newer driver
    than the fleet has — so it can only start through CUDA forward compatibility —
    when the fleet includes consumer or workstation GPUs (GeForce, RTX), on which NVIDIA
    does not support forward compatibility. Set `gpu-segment` for `sm_XY` entries.
    Silent on data-centre-only fleets (see DA512 for the driver floor itself).

    ## Why is this bad?
    On a data-centre GPU the `cuda-compat` libraries in the image bridge the gap; on a
    consumer GPU the first CUDA call fails with error 804, "forward compatibility was
    attempted on non supported HW".

    ## Example
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"], min-driver = "535.104.05"
    FROM nvidia/cuda:13.0.2-runtime-ubuntu24.04
    ```

    ## Use instead
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"], min-driver = "535.104.05"
    FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04
    ```
    """
    driver = ctx.options.fleet_driver
    if driver is None:
        return
    knowledge = ctx.knowledge
    consumer = [g for g in fleet_of(ctx.options, knowledge) if g.segment == "consumer"]
    if not consumer:
        return
    for facts in ml_facts(ctx).stages:
        targets = []
        base, origin = facts.base, facts.stage.from_instruction
        if (base.kind == "nvidia-cuda" or base.is_ngc) and base.cuda and facts.stage.parent is None and origin:
            # NGC containers bring the cuda-compat libraries for older data-centre drivers, as their notes say
            targets.append((base.cuda, origin.args[0].span, f"CUDA {base.cuda}"))
        for name, instruction, span in facts.os_packages:
            match = re.match(r"^cuda-compat-(\d+)-(\d+)", name)
            if match and instruction in facts.stage.instructions:
                targets.append((f"{match.group(1)}.{match.group(2)}", span, f"{name} (CUDA forward compatibility)"))
        for cuda, span, what in targets:
            floor = knowledge.cuda_major_min_driver.get(int(cuda.split(".")[0]))
            if floor and version_numbers(floor) > version_numbers(driver):
                yield Violation(
                    span,
                    f"{what} needs driver >= {floor} for CUDA {cuda.split('.')[0]}.x; on the fleet's {driver} it "
                    f"runs only through forward compatibility, which {', '.join(g.label for g in consumer)} "
                    "(consumer GPUs) do not support: error 804 at the first CUDA call "
                    "(source: ml-compat.toml [cuda_minor_version_compat], [gpu_models])",
                )


_REQUIREMENT = re.compile(r"cuda>=(\d+)\.(\d+)")


_RANGE = re.compile(r"brand=(\w+),driver>=(\d+),driver<(\d+)")


def driver_cuda(driver: str, knowledge: Knowledge) -> tuple[int, int] | None:
    """The newest CUDA major.minor whose GA release the driver meets (what the driver reports)."""
    best = None
    for patch, floor in knowledge.cuda_min_driver.items():
        parts = tuple(int(p) for p in patch.split(".")[:2])
        if version_numbers(floor) <= version_numbers(driver) and (best is None or parts > best):
            best = parts
    return best


@rule(
    "DA542",
    "nvidia-require-cuda-vs-fleet",
    family=FAMILY,
    severity="error",
    summary="NVIDIA_REQUIRE_CUDA set in the image excludes the fleet's driver",
)
def find_require_cuda_against_fleet(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    With a fleet (`gpus`) and its oldest driver (`min-driver`), reads an
    `NVIDIA_REQUIRE_CUDA` the Dockerfile sets (`cuda>=X.Y` and its `brand=…,driver>=A,driver<B`
    ranges) and flags it when the fleet's driver supports an older CUDA and no range
    admits it — or when only a range admits it on a fleet with consumer GPUs, where the
    forward compatibility behind those ranges is not supported.

    ## Why is this bad?
    The NVIDIA container runtime checks the requirement before the container starts:
    `nvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.8`, on every
    host of the fleet with that driver.

    ## Example
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"], min-driver = "535.104.05"
    FROM python:3.12-slim
    ENV NVIDIA_REQUIRE_CUDA="cuda>=12.8"
    ```

    ## Use instead
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"], min-driver = "535.104.05"
    FROM python:3.12-slim
    ENV NVIDIA_REQUIRE_CUDA="cuda>=12.2"
    ```
    """
    driver = ctx.options.fleet_driver
    if driver is None:
        return
    knowledge = ctx.knowledge
    fleet = fleet_of(ctx.options, knowledge)
    supported = driver_cuda(driver, knowledge)
    if not fleet or supported is None:
        return
    target = ctx.target_stage
    facts = ml_facts(ctx).of(target) if target is not None else None
    if facts is None or "NVIDIA_REQUIRE_CUDA" not in facts.env:
        return
    disabled = facts.env.get("NVIDIA_DISABLE_REQUIRE", ("", None))[0].strip("'\"").lower() in ("1", "true", "yes")
    value, instruction = facts.env["NVIDIA_REQUIRE_CUDA"]
    requirement = _REQUIREMENT.search(value)
    if disabled or requirement is None:
        return
    wanted = (int(requirement.group(1)), int(requirement.group(2)))
    if wanted <= supported:
        return
    major = int(driver.split(".")[0])
    admitted = any(int(low) <= major < int(high) for _brand, low, high in _RANGE.findall(value))
    consumer = [g.label for g in fleet if g.segment == "consumer"]
    if admitted and not consumer:
        return
    if admitted:
        why = (f"its driver ranges admit {driver} only through forward compatibility, which {', '.join(consumer)} "
               "(consumer GPUs) do not support: the container refuses to start (a brand the ranges do not list) or "
               "fails with error 804")  # fmt: skip
    else:
        why = f"no brand/driver range admits {driver}: containers refuse to start"
    index = next((i for i, (key, _v, _s) in enumerate(env_pairs(instruction)) if key == "NVIDIA_REQUIRE_CUDA"), 0)
    yield Violation(
        instruction.args[index * 3].span if len(instruction.args) > index * 3 else None,
        f"NVIDIA_REQUIRE_CUDA asks for cuda>={wanted[0]}.{wanted[1]}, the fleet's driver {driver} supports "
        f"CUDA {supported[0]}.{supported[1]} and {why} (source: ml-compat.toml [cuda.*] min_driver_linux)",
    )
