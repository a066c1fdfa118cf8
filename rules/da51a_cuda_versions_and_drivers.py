"""DA510–DA514 — which CUDA an image can have: no musl wheels on Alpine, end-of-life CUDA bases, the
fleet driver's floor, onnxruntime and jax built for another CUDA major.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``: ``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned,
ARG without a default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.knowledge import Knowledge
from dockaudit.facts.mlfacts import StageFacts, ml_facts, torch_install_cuda
from dockaudit.facts.versions import version_at_least, version_numbers
from dockaudit.model import Violation
from dockaudit.plugin import rule

FAMILY = "ml"


_NO_MUSL_WHEELS = frozenset({"torch", "tensorflow", "tensorflow-cpu", "jaxlib", "jax", "onnxruntime", "onnxruntime-gpu",
                             "vllm", "xformers", "flash-attn"})  # fmt: skip


@rule(
    "DA510",
    "alpine-ml",
    family=FAMILY,
    severity="error",
    summary="torch, tensorflow, jaxlib or onnxruntime on Alpine (no musl wheels)",
)
def find_ml_on_alpine(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags pip installs of torch, tensorflow, jax/jaxlib, onnxruntime (and packages
    built on them) in a stage based on Alpine or `python:*-alpine`. numpy, scipy,
    pandas and scikit-learn are fine: they ship musllinux wheels now.

    ## Why is this bad?
    None of these has a musllinux wheel or an sdist that builds on musl; the install
    fails, and NVIDIA's user-space libraries are glibc builds anyway.

    ## Example
    ```dockerfile
    FROM python:3.12-alpine
    RUN pip install --no-cache-dir torch==2.5.1
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.5.1
    ```
    """
    for facts in ml_facts(ctx).stages:
        if not (facts.base.os or "").startswith("alpine") and facts.base.kind != "alpine":
            continue
        for install in facts.installs:
            if install.package in _NO_MUSL_WHEELS and install.instruction in facts.stage.instructions:
                yield Violation(
                    install.span,
                    f"{install.package} has no musllinux wheel: it cannot be installed on Alpine; use a glibc base "
                    "such as python:3.x-slim (source: base-images.toml [image.python_alpine])",
                )


_THIRD_PARTY_CUDA_TAG = re.compile(r"(?:^|[-_.])cuda[-_]?(\d{1,2}\.\d)(?:\.\d+)?(?=$|[-_])")


def _framework_image_cuda(facts: StageFacts, knowledge: Knowledge) -> tuple[str, str] | None:
    """(CUDA, how it is known) for a base that is not nvidia/cuda: the pytorch/pytorch tag, a TensorFlow
    GPU tag's tested CUDA (ml-compat.toml), or a third-party tag that spells ``cuda11.3``."""
    base = facts.base
    if base.image is None:
        return None
    tag = (base.image.tag or "").lower()
    if base.kind == "pytorch" and base.cuda:
        return base.cuda, "its pytorch/pytorch tag"
    if base.is_ngc and base.cuda and base.ngc is not None:  # only a verified release row sets base.cuda
        return base.cuda, f'NGC {base.ngc.container} {base.ngc.release}, ml-compat.toml [ngc_{base.ngc.container}."{base.ngc.release}"]'
    if base.kind == "tensorflow" and base.gpu and base.framework and " " in base.framework:
        version = base.framework.split(" ", 1)[1]
        release = knowledge.tensorflow_release(version)
        if release is not None:
            return release.cuda, f'TensorFlow {version}\'s tested CUDA, ml-compat.toml [tensorflow."{release.minor}"]'
        lowest = min(knowledge.tensorflow.values(), key=lambda r: version_numbers(r.minor, 3))
        if version_numbers(version, 3) < version_numbers(lowest.minor, 3):
            return f"{lowest.cuda} or older", f"TensorFlow {version} predates {lowest.minor}, tested on {lowest.cuda}"
        return None
    if base.kind in ("other", "conda") and not base.is_ngc:
        match = _THIRD_PARTY_CUDA_TAG.search(tag)
        if match:
            return match.group(1), "its tag"
    return None


@rule(
    "DA511",
    "cuda-eol",
    family=FAMILY,
    severity="info",
    summary="a base on an end-of-life CUDA (nvidia/cuda, pytorch/pytorch, TensorFlow GPU, NGC `YY.MM`, `cudaX.Y` tags), or a bad tag",
)
def find_eol_cuda_bases(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `nvidia/cuda` bases on CUDA releases whose images are end-of-life (tags
    before 11.7 were removed from Docker Hub), `nvidia/cuda` without a tag (there is
    no `latest`), and CUDA 13 tags on Ubuntu 20.04, which CUDA 13 dropped. The same
    end-of-life CUDA under other tag grammars: `pytorch/pytorch:<torch>-cuda<X>-…`,
    `tensorflow/tensorflow:<ver>-gpu` (the tested CUDA of that release), NGC
    `nvcr.io/nvidia/<framework>:YY.MM-…` (the CUDA its release notes name, where a
    verified row of `ml-compat.toml [ngc_*]` holds it), and third-party tags that
    spell `cuda11.3`.

    ## Why is this bad?
    Removed tags fail to pull on a clean builder; end-of-life CUDA images get no
    security updates; a tag that never existed fails the build outright.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:11.3.1-runtime-ubuntu20.04
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    ```
    """
    knowledge = ctx.knowledge
    removed_before = knowledge.raw["base-images.toml"].get("eol", {}).get("cuda_images", {}).get("removed_before")
    for facts in ml_facts(ctx).stages:
        stage = facts.stage
        if stage.parent is not None or stage.from_instruction is None or not stage.from_instruction.args:
            continue
        if facts.base.kind != "nvidia-cuda":
            found = _framework_image_cuda(facts, knowledge) if removed_before else None
            if found and version_numbers(found[0], 3) < version_numbers(removed_before, 3):
                yield Violation(stage.from_instruction.args[0].span, f"'{facts.base.image}' carries CUDA {found[0]} "
                                f"({found[1]}), an end-of-life CUDA (NVIDIA removed its images before {removed_before}; "
                                "no fixes): move to a tag built on CUDA 12 (source: base-images.toml "
                                "[eol.cuda_images])")  # fmt: skip
            continue
        span = stage.from_instruction.args[0].span
        if facts.base.image and facts.base.image.tag is None and facts.base.image.digest is None:
            yield Violation(span, "nvidia/cuda has no 'latest' tag: name the full tag, e.g. 12.4.1-runtime-ubuntu22.04 "
                            "(source: ml-compat.toml [nvidia_cuda_image] latest_tag)")  # fmt: skip
            continue
        cuda = facts.base.cuda
        if cuda and removed_before and version_numbers(cuda, 3) < version_numbers(removed_before, 3):
            yield Violation(span, f"CUDA {cuda} images are end-of-life (tags before {removed_before} were removed): "
                            "move to a supported CUDA (source: base-images.toml [eol.cuda_images])")  # fmt: skip
        elif cuda and facts.base.cuda_major == 13 and (facts.base.os or "") == "ubuntu20.04":
            yield Violation(span, "CUDA 13 dropped Ubuntu 20.04: this tag does not exist (source: ml-compat.toml "
                            '[cuda."13.0"] dropped_os)')  # fmt: skip


def _driver_floor(cuda: str, knowledge: Knowledge) -> tuple[str, str] | None:
    """(driver, fact) a CUDA version needs: the toolkit row when known, else the major's floor."""
    parts = cuda.split(".")
    exact = knowledge.cuda_min_driver.get(cuda) or knowledge.cuda_min_driver.get(".".join(parts[:2] + ["0"]))
    if exact and len(parts) >= 2:
        return exact, f'ml-compat.toml [cuda."{parts[0]}.{parts[1]}"]'
    floor = knowledge.cuda_major_min_driver.get(int(parts[0])) if parts[0].isdigit() else None
    return (floor, "ml-compat.toml [cuda_minor_version_compat]") if floor else None


@rule(
    "DA512",
    "driver-requirement",
    family=FAMILY,
    severity="warning",
    summary="the CUDA a base or wheel needs has a minimum driver newer than the configured fleet driver",
)
def find_driver_requirement_problems(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    With `min-driver` configured (the oldest NVIDIA driver in your fleet, e.g.
    `535.104.05`), flags a CUDA base whose toolkit needs a newer driver, a torch whose
    CUDA needs one (the minor-version-compatibility floor of its CUDA major), and an
    unpinned torch from PyPI, whose newest release may cross a driver floor on the next
    build. Silent without `min-driver`.

    ## Why is this bad?
    The image builds and passes CI, then fails on the fleet with "CUDA driver version
    is insufficient for CUDA runtime version" — or, for torch on CUDA 13, on any host
    older than R580.

    ## Example
    ```dockerfile
    # with min-driver = "535.104.05"
    FROM nvidia/cuda:12.8.1-runtime-ubuntu22.04
    ```

    ## Use instead
    ```dockerfile
    # with min-driver = "535.104.05"
    FROM nvidia/cuda:12.2.2-runtime-ubuntu22.04
    ```
    """
    fleet = ctx.options.fleet_driver
    if fleet is None:
        return
    knowledge = ctx.knowledge
    newest = max(knowledge.torch.values(), key=lambda r: version_numbers(r.minor, 3))
    for facts in ml_facts(ctx).stages:
        stage = facts.stage
        if facts.base.cuda and stage.parent is None and stage.from_instruction is not None:
            need = _driver_floor(facts.base.cuda, knowledge)
            if need and version_numbers(need[0]) > version_numbers(fleet):
                yield Violation(stage.from_instruction.args[0].span, f"CUDA {facts.base.cuda} needs driver >= {need[0]}"
                                f", the fleet's oldest is {fleet} (source: {need[1]})")  # fmt: skip
        for install in facts.installed("torch"):
            if install.instruction not in facts.stage.instructions:
                continue
            cuda, _why = torch_install_cuda(install, knowledge)
            unpinned = install.version is None and not install.specifier and install.index_url is None
            if unpinned:
                cuda = newest.pypi_default_cuda
            if not cuda or cuda == "cpu":
                continue
            floor = knowledge.cuda_major_min_driver.get(int(cuda.split(".")[0]))
            if floor and version_numbers(floor) > version_numbers(fleet):
                what = f"unpinned torch resolves to {newest.latest_patch} today (CUDA {cuda})" if unpinned else (
                    f"torch {install.version} uses CUDA {cuda}"
                )  # fmt: skip
                yield Violation(install.span, f"{what}, which needs driver >= {floor}; the fleet's oldest is {fleet} "
                                "(source: ml-compat.toml [cuda_minor_version_compat])")  # fmt: skip


@rule(
    "DA513",
    "onnxruntime-cuda-major",
    family=FAMILY,
    severity="error",
    summary="onnxruntime-gpu built for another CUDA major (or cuDNN major) than the base",
)
def find_onnxruntime_cuda_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a pinned `onnxruntime-gpu` whose PyPI build targets another CUDA major than
    the base image (≤1.18: CUDA 11.8, 1.19–1.26: CUDA 12, ≥1.27: CUDA 13) or another
    cuDNN major (cuDNN 8 up to 1.18, 9 after).

    ## Why is this bad?
    The CUDA execution provider fails to load ("Failed to create
    CUDAExecutionProvider. Require cuDNN 9.* and CUDA 12.*") and ONNX Runtime silently
    falls back to the CPU.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
    RUN pip install --no-cache-dir onnxruntime-gpu==1.20.1
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    RUN pip install --no-cache-dir onnxruntime-gpu==1.20.1
    ```
    """
    knowledge = ctx.knowledge
    for facts in ml_facts(ctx).stages:
        if facts.base.cuda_major is None:
            continue
        for install in facts.installed("onnxruntime-gpu"):
            if install.instruction not in facts.stage.instructions or not install.version:
                continue
            if {"cuda", "cudnn"} & set(install.extras):
                continue  # the extras bring matching CUDA/cuDNN wheels
            span = knowledge.onnxruntime_range(install.version)
            if span is None:
                continue
            problems = []
            if span.cuda_major != facts.base.cuda_major:
                problems.append(f"CUDA {span.cuda_major}")
            if facts.base.cudnn_major is not None and span.cudnn_major != facts.base.cudnn_major:
                problems.append(f"cuDNN {span.cudnn_major}")
            if problems:
                yield Violation(
                    install.span,
                    f"onnxruntime-gpu {install.version} is built for {' and '.join(problems)}, the base has CUDA "
                    f"{facts.base.cuda}: the CUDA provider will not load and inference runs on the CPU "
                    "(source: ml-compat.toml [onnxruntime_gpu.versions])",
                )


_REMOVED_JAX_EXTRAS = re.compile(r"^cuda1[12]_(?:pip|local|cudnn\d+)$|^cuda11")


@rule(
    "DA514",
    "jax-cuda-plugin",
    family=FAMILY,
    severity="error",
    summary="removed jax extras (cuda12_pip, cuda11_*), CUDA 11 bases with new jax, jax/jaxlib/plugin skew",
)
def find_jax_cuda_problems(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `jax[cuda12_pip]`, `jax[cuda11_*]` and other removed or renamed extras, a
    pinned jax 0.4.26 or later on a CUDA 11 base (CUDA 11 support ended there), and
    pinned `jax`, `jaxlib` and `jax-cuda12/13-plugin` versions that differ.

    ## Why is this bad?
    Removed extras install a CPU-only jax without a word; a jaxlib or plugin of
    another version fails at import with a version-check error.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir "jax[cuda12_pip]==0.4.30"
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir "jax[cuda12]==0.4.30"
    ```
    """
    for facts in ml_facts(ctx).stages:
        own = [i for i in facts.installs if i.instruction in facts.stage.instructions]
        for install in own:
            if install.package != "jax":
                continue
            removed = [e for e in install.extras if _REMOVED_JAX_EXTRAS.match(e.strip().lower())]
            if removed:
                yield Violation(install.span, f"jax extra '{removed[0]}' was removed (0.6.0 renamed extras, CUDA 11 "
                                "ended with 0.4.25): use jax[cuda12] or jax[cuda13] (source: ml-compat.toml [jax])")  # fmt: skip
            if install.version and facts.base.cuda_major == 11 and version_at_least(install.version, (0, 4, 26)):
                yield Violation(install.span, f"jax {install.version} has no CUDA 11 build (dropped in jaxlib 0.4.26): "
                                "use a CUDA 12 or 13 stack (source: ml-compat.toml [jax] cuda11_last)")  # fmt: skip
        pinned = {i.package: i for i in own if i.version and i.package.startswith(("jax", "jaxlib"))}
        versions = {p: i.version for p, i in pinned.items() if p in ("jax", "jaxlib") or "plugin" in p or "pjrt" in p}
        if len(set(versions.values())) > 1:
            culprit = pinned[sorted(versions)[-1]]
            yield Violation(culprit.span, "jax, jaxlib and the CUDA plugin must be the same version: "
                            + ", ".join(f"{p}=={v}" for p, v in sorted(versions.items())))  # fmt: skip
