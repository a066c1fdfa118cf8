"""DA506–DA509 — what is built or installed around a framework: torchvision/torchaudio/xformers for
another torch, a cuDNN major two libraries disagree on, CUDA extensions compiled without an arch list,
one framework from conda and again from pip.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``: ``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned,
ARG without a default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.installs import in_branching_run
from dockaudit.facts.mlfacts import StageFacts, ml_facts, runs_with_gpu
from dockaudit.model import Violation
from dockaudit.plugin import rule

FAMILY = "ml"


@rule(
    "DA506",
    "companion-version-mismatch",
    family=FAMILY,
    severity="error",
    summary="torchvision/torchaudio/xformers not built for the installed torch",
)
def find_companion_version_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Checks pinned torchvision and torchaudio against the torch pinned in the same
    image, using PyTorch's pairing table (torch 2.4.1 ↔ torchvision 0.19.1 ↔
    torchaudio 2.4.1), and pinned xformers against the torch its wheel requires.

    ## Why is this bad?
    A companion built for another torch makes pip replace torch — from PyPI, with its
    default CUDA, silently undoing the `--index-url …/cu121` you chose — or fails at
    import with undefined symbols.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.3.1 torchvision==0.19.0 --index-url https://download.pytorch.org/whl/cu121
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.3.1 torchvision==0.18.1 --index-url https://download.pytorch.org/whl/cu121
    ```
    """
    knowledge = ctx.knowledge
    for facts in ml_facts(ctx).stages:
        torches = [i for i in facts.installed("torch") if i.version]
        if not torches:
            continue
        torch = torches[-1]
        torch_version = torch.version.split("+")[0]
        release = knowledge.torch_release(torch_version)
        for install in facts.installed("torchvision", "torchaudio", "xformers"):
            if install.instruction not in facts.stage.instructions or not install.version:
                continue
            version = install.version.split("+")[0]
            if install.package == "xformers":
                wanted = knowledge.xformers_torch.get(version)
                if wanted and wanted.startswith("torch==") and wanted[7:] != torch_version:
                    yield Violation(install.span, f"xformers {version} requires {wanted}, the image pins torch "
                                    f"{torch_version}: pip will replace torch (source: ml-compat.toml "
                                    "[torch_extension_build] xformers_torch_pins)")  # fmt: skip
                continue
            if release is None:
                continue
            pairs = release.torchvision if install.package == "torchvision" else release.torchaudio
            expected = pairs.get(torch_version)
            if expected and expected.split(" ")[0] != version:
                yield Violation(
                    install.span,
                    f"{install.package} {version} is not the build for torch {torch_version} (that is {expected}): "
                    f'pip will replace torch (source: ml-compat.toml [torch."{release.minor}"])',
                )


@rule(
    "DA507",
    "cudnn-mismatch",
    family=FAMILY,
    severity="warning",
    summary="onnxruntime-gpu needing another cuDNN major than the torch in the same image",
)
def find_cudnn_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a pinned `onnxruntime-gpu` (without its `[cudnn]` extra) next to a pinned
    torch whose cuDNN major differs: ONNX Runtime ≤ 1.18 was built for cuDNN 8,
    1.19 and later for cuDNN 9; torch ≤ 2.3 ships cuDNN 8, 2.4 and later cuDNN 9.
    (A base image's cuDNN is checked by DA503 and DA513.)

    ## Why is this bad?
    ONNX Runtime loads the cuDNN that torch's wheels put on the library path; cuDNN 8
    and 9 are not interchangeable, so the CUDA provider fails ("Require cuDNN 9.*")
    and inference silently runs on the CPU.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.3.1 onnxruntime-gpu==1.20.1
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 onnxruntime-gpu==1.20.1
    ```
    """
    knowledge = ctx.knowledge
    for facts in ml_facts(ctx).stages:
        torches = [i for i in facts.installed("torch") if i.version and knowledge.torch_release(i.version)]
        if not torches:
            continue
        release = knowledge.torch_release(torches[-1].version or "")
        for install in facts.installed("onnxruntime-gpu"):
            if install.instruction not in facts.stage.instructions or not install.version or "cudnn" in install.extras:
                continue
            span = knowledge.onnxruntime_range(install.version)
            if span is None or release is None or span.cudnn_major == release.cudnn_major:
                continue
            yield Violation(
                install.span,
                f"onnxruntime-gpu {install.version} needs cuDNN {span.cudnn_major}, torch {torches[-1].version} brings "
                f"cuDNN {release.cudnn_major}: the CUDA provider will not load (source: ml-compat.toml "
                f'[onnxruntime_gpu.versions], [torch."{release.minor}"])',
            )


_ARCH_LIST = "TORCH_CUDA_ARCH_LIST"


_FORCE_CUDA = "FORCE_CUDA"


# Packages whose setup.py builds CUDA ops only when a GPU is visible or FORCE_CUDA is set.
_FORCE_CUDA_PACKAGES = frozenset({"detectron2", "pytorch3d", "torch-scatter", "torch-sparse", "mmcv-full"})


_BASES_WITHOUT_ARCH_LIST = ("nvidia-cuda", "pytorch", "python", "ubuntu", "debian", "conda")


def _native_arch_builds(ctx: LintContext, facts: StageFacts) -> Iterator[Violation]:
    """``cmake -DCMAKE_CUDA_ARCHITECTURES=native`` (or ``GGML_NATIVE``-style ``native`` lists): with no GPU
    in the build, CMake has nothing to detect and the configure step fails."""
    for instruction in facts.stage.instructions:
        if runs_with_gpu(instruction):
            continue
        for command in ctx.commands(instruction):
            if command.name != "cmake":
                continue
            native = next((a for a in command.argv if re.match(r"-DCMAKE_CUDA_ARCHITECTURES(?::\w+)?=native", a)), None)
            if native:
                yield Violation(command.span, f"{native}: there is no GPU at build time to detect, so CMake fails "
                                "('CUDA_ARCHITECTURES is set to \"native\", but no GPU was detected'); list the "
                                "architectures, e.g. -DCMAKE_CUDA_ARCHITECTURES=\"80;86;90\"")  # fmt: skip


@rule(
    "DA508",
    "cuda-arch-list-missing",
    family=FAMILY,
    severity="warning",
    summary="CUDA extensions compiled without TORCH_CUDA_ARCH_LIST (no GPU at build time)",
)
def find_missing_cuda_arch_list(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a torch CUDA extension build — apex (`--cuda_ext`), xformers or detectron2
    from source, packages built with `FORCE_CUDA=1` or `BUILD_EXT=1` — when
    `TORCH_CUDA_ARCH_LIST` is set neither by ENV/ARG nor inline, and a CMake build
    with `-DCMAKE_CUDA_ARCHITECTURES=native`. flash-attn is not reported: it passes
    its own `-gencode` list and first tries a prebuilt wheel. A step given a GPU
    (`RUN --device=nvidia.com/gpu=…`) has one to detect.

    ## Why is this bad?
    `docker build` has no GPU. With the list unset, torch's extension builder looks for
    visible GPUs, finds none and crashes (`IndexError: list index out of range`,
    pytorch/pytorch#137261) — or, on a builder with a GPU, compiles for that one GPU
    only and the image fails on the others.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    RUN pip install --no-cache-dir --no-build-isolation git+https://github.com/NVIDIA/apex.git@24.04.01
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    ENV TORCH_CUDA_ARCH_LIST="8.0;8.6;8.9;9.0+PTX" MAX_JOBS=4
    RUN pip install --no-cache-dir --no-build-isolation git+https://github.com/NVIDIA/apex.git@24.04.01
    ```
    """
    for facts in ml_facts(ctx).stages:
        yield from _native_arch_builds(ctx, facts)
        # flash-attn passes its own -gencode list (and first tries a prebuilt wheel): no list needed
        own = [
            c for c in facts.compiles
            if c.instruction in facts.stage.instructions and c.kind == "torch-extension"
            and c.what != "pip install flash-attn"
        ]  # fmt: skip
        if not own:
            continue
        if facts.base.kind not in _BASES_WITHOUT_ARCH_LIST:
            continue  # NGC images set TORCH_CUDA_ARCH_LIST; an unknown base may too
        declared = _ARCH_LIST in facts.env or any(
            i.name == "ARG" and any(v.split("=")[0] == _ARCH_LIST for v in i.values) for i in facts.stage.instructions
        )
        for signal in own:
            commands = ctx.commands(signal.instruction)
            inline = any(a.startswith(_ARCH_LIST + "=") for c in commands for a in c.assignments) or any(
                c.name == "export" and any(w.value.startswith(_ARCH_LIST + "=") for w in c.args) for c in commands
            )
            if declared or inline or runs_with_gpu(signal.instruction):
                continue  # set, or the step has a GPU (RUN --device=nvidia.com/gpu=…) to detect
            package = signal.what.removeprefix("pip install ")
            forced = _FORCE_CUDA in facts.env or any(_FORCE_CUDA + "=" in a for c in commands for a in c.assignments)
            if package in _FORCE_CUDA_PACKAGES and not forced:
                yield Violation(signal.span, f"{signal.what} builds without its CUDA kernels: with no GPU at build "
                                "time it compiles CPU-only ops unless FORCE_CUDA=1 is set (and then it needs "
                                'TORCH_CUDA_ARCH_LIST, e.g. "8.0;8.6;9.0+PTX"; source: ml-compat.toml '
                                "[torch_extension_build])")  # fmt: skip
                break
            yield Violation(
                signal.span,
                f"{signal.what} compiles CUDA code but TORCH_CUDA_ARCH_LIST is not set: there is no GPU at build "
                'time to detect (set e.g. ENV TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0+PTX"; source: ml-compat.toml '
                "[torch_extension_build])",
            )
            break


_CONDA_FRAMEWORKS = {"pytorch": "torch", "tensorflow": "tensorflow", "pytorch-cuda": "torch", "cudatoolkit": "torch"}


@rule(
    "DA509",
    "conda-pip-mix",
    family=FAMILY,
    severity="info",
    summary="the same ML framework installed with conda and again with pip in one environment",
)
def find_conda_pip_mix(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes a framework installed with conda (`pytorch`, `tensorflow`) and again with
    pip in the same image. pip and conda in one RUN behind `if`/`case` are taken as
    alternative branches. (PyTorch's frozen conda channel is DA529; the Anaconda
    channels' licence DA528.)

    ## Why is this bad?
    Two package managers own the same files: pip overwrites conda's torch (or the
    reverse), leaving two CUDA stacks and an environment neither can repair.

    ## Example
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y pytorch=2.5.1 && conda clean -afy
    RUN pip install --no-cache-dir torch==2.5.1
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN pip install --no-cache-dir torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124
    ```
    """
    for facts in ml_facts(ctx).stages:
        conda = [i for i in facts.installs if i.tool == "conda" and i.package in _CONDA_FRAMEWORKS]
        pip = [i for i in facts.installs if i.tool != "conda" and i.package in ("torch", "tensorflow")]
        for install in conda:
            if install.instruction not in facts.stage.instructions:
                continue
            # pip and conda in one RUN are usually alternative branches (case/if on the platform)
            later = [
                p for p in pip
                if p.package == _CONDA_FRAMEWORKS[install.package]
                and not (p.instruction is install.instruction and in_branching_run(install.instruction))
            ]  # fmt: skip
            if later and install.package in ("pytorch", "tensorflow"):
                yield Violation(install.span, f"{install.package} from conda and {later[0].package} from pip (line "
                                f"{later[0].line}) in one environment: two copies, two CUDA stacks")  # fmt: skip
