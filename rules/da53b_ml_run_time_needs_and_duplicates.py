"""DA534–DA536 — what ML installs need or duplicate at run time: kernels compiled at first run with no
compiler (Triton, DeepSpeed, FlashInfer), exact torch pins that replace the base's torch, and a cuDNN
base under wheels that bring their own cuDNN.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``); when a version is not settled by the file, the rule stays silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.installs import installs
from dockaudit.facts.knowledge import Knowledge
from dockaudit.facts.mlfacts import (
    TRITON_PACKAGES,
    FrameworkInstall,
    StageFacts,
    exact_torch_pin,
    image_stage_facts,
    ml_facts,
)
from dockaudit.model import Violation
from dockaudit.plugin import rule
from dockaudit.patterns import lazy_pattern

FAMILY = "ml"


_NEEDS_NVCC = frozenset({"deepspeed", "flashinfer", "flashinfer-python"})


_PREBUILT_FLASHINFER = frozenset({"flashinfer-jit-cache", "flashinfer-cubin"})


_C_COMPILERS = lazy_pattern(r"^(?:build-essential|gcc(?:-\d+)?|clang(?:-\d+)?|gcc-c\+\+|build-base)(?:[=-].*)?$")


def _has_c_compiler(facts: StageFacts) -> bool | None:
    """Whether the base image has a C compiler: known for python, nvidia/cuda and plain OS bases only."""
    base = facts.base
    if base.kind in ("python", "alpine") and base.image is not None:
        tag = base.image.tag or ""
        return not ("slim" in tag or "alpine" in tag)
    if base.kind == "nvidia-cuda" and base.flavour:
        return base.flavour == "devel"
    if base.kind in ("ubuntu", "debian"):
        return False
    return None


_PYTHON_HEADERS = lazy_pattern(r"^(?:lib)?python3(?:\.\d+)?-dev(?:[=:].*)?$")


def _pip_recommends_build_tools(ctx: LintContext, facts: StageFacts) -> bool:
    """apt's python3-pip installed with its Recommends (build-essential, python3-dev): a compiler and headers."""
    for stage in facts.stage.ancestry():
        for instruction in stage.instructions:
            if re.search(r"Install-Recommends\W+(?:false|0)\b", instruction.args_text, re.IGNORECASE):
                return False  # recommends switched off for every later install
            for invocation in ctx.invocations(instruction):
                if (
                    invocation.tool in ("apt-get", "apt")
                    and installs(invocation)
                    and not invocation.has("--no-install-recommends")
                    and any(re.match(r"^python3-pip(?:=.*)?$", w.value) for w in invocation.packages)
                ):
                    return True
    return False


def _triton_without_toolchain(ctx: LintContext, facts: StageFacts, install: FrameworkInstall) -> str | None:
    """Why Triton's first kernel fails in this stage (no C compiler, or an apt Python without Python.h)."""
    packages = {p for p, _i, _s in facts.os_packages}
    if _pip_recommends_build_tools(ctx, facts):
        return None
    compiler = _has_c_compiler(facts) is not False or any(_C_COMPILERS.match(p) for p in packages)
    apt_python = (facts.python_from or "").startswith("apt") and facts.base.kind in ("nvidia-cuda", "ubuntu", "debian")
    headers = not apt_python or any(_PYTHON_HEADERS.match(p) for p in packages)
    if not compiler:
        return (f"{install.package} runs Triton kernels, which compile a C launcher with gcc when the model first "
                f"runs, and '{facts.base.image}' has no C compiler: it fails with 'Failed to find C compiler'; "
                f"install gcc (or build-essential){'' if headers else ' and python3-dev'} in this stage")  # fmt: skip
    if not headers:
        return (f"{install.package} runs Triton kernels, whose C launcher includes Python.h, and the Python from apt "
                f"({facts.python_from}) has no headers: the first kernel fails with 'Python.h: No such file or "
                "directory'; install python3-dev (the pythonX.Y-dev of the Python used) in this stage")  # fmt: skip
    return None


def _missing_jit_compilers(ctx: LintContext, facts: StageFacts) -> Iterator[Violation]:
    own = [i for i in facts.installs if i.instruction in facts.stage.instructions]
    packages = {p for p, _i, _s in facts.os_packages}
    for install in [i for i in own if i.package in TRITON_PACKAGES][:1]:
        problem = _triton_without_toolchain(ctx, facts, install)
        if problem:
            yield Violation(install.span, problem)
    nvcc = facts.base.has_nvcc
    if nvcc is False and not any(re.match(r"cuda-(?:nvcc|toolkit)", p) for p in packages):
        prebuilt_ds = "DS_BUILD_OPS" in facts.env or any(
            "DS_BUILD_OPS=1" in a for i in facts.installed("deepspeed") for c in ctx.commands(i.instruction)
            for a in c.assignments
        )  # fmt: skip
        prebuilt_fi = bool(facts.installed(*_PREBUILT_FLASHINFER))
        for install in [i for i in own if i.package in _NEEDS_NVCC]:
            if (install.package == "deepspeed" and prebuilt_ds) or (install.package != "deepspeed" and prebuilt_fi):
                continue
            yield Violation(install.span, f"{install.package} JIT-compiles its CUDA kernels with nvcc when they are "
                            f"first used, and '{facts.base.image}' has no nvcc: install cuda-nvcc, prebuild the "
                            "kernels (DS_BUILD_OPS=1, flashinfer-jit-cache), or use a devel base")  # fmt: skip
            break


@rule(
    "DA534",
    "jit-compiler-missing",
    family=FAMILY,
    severity="warning",
    summary="an image that compiles kernels when the model first runs (Triton, DeepSpeed ops) has no compiler",
)
def find_missing_jit_compilers(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a stage that installs a package which compiles code when the model
    first runs, on a base known to lack the compiler it needs, when no compiler is
    installed: vLLM, SGLang, unsloth and triton (Triton builds a small C launcher
    with `gcc` the first time a kernel runs) on `python:*-slim`, `nvidia/cuda`
    runtime/base or a plain OS image without `build-essential`/`gcc` — or, where
    Python comes from apt (`python3`, `python3.11`), without `python3-dev` (the
    launcher includes `Python.h`); apt's `python3-pip` installed with its
    recommended packages brings both; DeepSpeed and
    FlashInfer (their kernels are JIT-compiled with `nvcc`) on a base without nvcc
    and no `cuda-nvcc` package — unless DeepSpeed's ops are prebuilt
    (`DS_BUILD_OPS=1`) or FlashInfer's kernels come prebuilt (`flashinfer-jit-cache`,
    `flashinfer-cubin`). Bases whose contents are not known stay silent.

    ## Why is this bad?
    The image builds and starts, then fails at the first request or training step:
    "Failed to find C compiler. Please specify via CC environment variable" from
    Triton, or "nvcc not found" / `CUDA_HOME does not exist` from DeepSpeed's op
    builder.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir vllm==0.6.4
    CMD ["vllm", "serve", "Qwen/Qwen2.5-1.5B-Instruct"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.0-3 && rm -rf /var/lib/apt/lists/*
    RUN pip install --no-cache-dir vllm==0.6.4
    CMD ["vllm", "serve", "Qwen/Qwen2.5-1.5B-Instruct"]
    ```
    """
    for facts in ml_facts(ctx).stages:
        yield from _missing_jit_compilers(ctx, facts)


_PINS_TORCH = ("vllm", "xformers", "torchvision", "torchaudio")


@rule(
    "DA535",
    "torch-replaced-by-pin",
    family=FAMILY,
    severity="warning",
    summary="a package that requires one exact torch installed over another torch (often the base image's own)",
)
def find_torch_replaced_by_pin(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a pinned package whose wheel requires one exact torch — vllm
    (`vllm==0.6.4` → `torch==2.5.1`), xformers, torchvision, torchaudio (facts from
    `dockaudit/facts/knowledge/ml-requires.toml` and the pairing tables) — installed on a base that
    already ships another torch (`pytorch/pytorch:<torch>-…`, NGC's
    `nvcr.io/nvidia/pytorch`, whose torch is NVIDIA's own `2.x.0a0` build) or, with
    `--no-deps`, over another pinned torch. (Without `--no-deps` a companion of
    another torch is DA506.)

    ## Why is this bad?
    pip satisfies the exact pin by replacing the image's torch with a PyPI wheel —
    gigabytes twice (the old torch stays in its layer), NVIDIA's tuned build lost, and
    often another CUDA. With `--no-deps` the package runs against a torch it was not
    built for and fails at import with undefined symbols.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime
    RUN pip install --no-cache-dir vllm==0.6.4
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    RUN pip install --no-cache-dir vllm==0.6.4
    ```
    """
    for facts in ml_facts(ctx).stages:
        torches = [i for i in facts.installed("torch") if i.version]
        for install in facts.installed(*_PINS_TORCH):
            if install.instruction not in facts.stage.instructions or not install.version or install.tool == "conda":
                continue
            pin = exact_torch_pin(install.package, install.version, ctx.knowledge)
            if pin is None:
                continue
            wanted, source = pin
            no_deps = any(
                inv.has("--no-deps") and any(w.span == install.span for w in inv.packages)
                for inv in ctx.invocations(install.instruction)
            )
            earlier = [t for t in torches if t.line <= install.line and t is not install]
            if earlier:
                have = earlier[-1].version.split("+")[0]
                if have != wanted and no_deps:
                    yield Violation(install.span, f"{install.package} {install.version} is built for torch {wanted}; "
                                    f"with --no-deps it runs against torch {have} (line {earlier[-1].line}) and fails "
                                    f"at import with undefined symbols (source: {source})")  # fmt: skip
                continue  # without --no-deps a companion of another torch is DA506's finding
            if "torch" not in facts.base.ships:
                continue
            name, _, shipped = (facts.base.framework or "").partition(" ")
            if name == "torch" and shipped == wanted:
                continue
            has = f"torch {shipped}" if shipped else "NVIDIA's own torch build"
            outcome = (
                "with --no-deps it runs against a torch it was not built for (undefined symbols at import)"
                if no_deps
                else f"pip replaces it with PyPI's torch {wanted} (gigabytes twice, the base's build lost)"
            )
            yield Violation(install.span, f"{install.package} {install.version} requires torch=={wanted} and "
                            f"'{facts.base.image}' ships {has}: {outcome}; pick the base tag with torch {wanted} "
                            f"or the {install.package} release built for the base's torch (source: {source})")  # fmt: skip


# Installs that load the system cuDNN rather than a pip wheel's, so a cudnn base serves them: TF without
# [and-cuda], onnxruntime-gpu without its cudnn extra, TensorRT, Paddle, CuPy (its cuDNN support is optional).
_SYSTEM_CUDNN_USERS = frozenset({"tensorflow", "tensorflow-gpu", "onnxruntime-gpu", "tensorrt", "paddlepaddle-gpu",
                                 "cupy", "cupy-cuda11x", "cupy-cuda12x", "cupy-cuda13x", "jaxlib"})  # fmt: skip


def _torch_wheel_cudnn(install: FrameworkInstall, knowledge: Knowledge) -> tuple[int, str] | None:
    """The cuDNN major a CUDA torch's wheels bring: from its pinned release, or, unpinned from a ``cuXXX``
    index, when every release the table lists for that index has the same major (cu113: all cuDNN 8)."""
    if install.variant is not None and install.variant_cuda is None:
        return None  # the cpu or a ROCm build: no cuDNN
    if install.version and "*" not in install.version:
        release = knowledge.torch_release(install.version)
        return (release.cudnn_major, f'ml-compat.toml [torch."{release.minor}"]') if release else None
    if install.specifier or install.variant is None:
        return None  # a range, or PyPI's newest: not settled
    majors = {r.cudnn_major for r in knowledge.torch.values() if install.variant in r.cuda_variants}
    if len(majors) != 1:
        return None
    return majors.pop(), f"every torch on the {install.variant} index in ml-compat.toml"


def _wheel_cudnn(install: FrameworkInstall, knowledge: Knowledge) -> tuple[int, str] | None:
    """(cuDNN major, where the fact comes from) that a pip install brings in its own wheels, or None."""
    if install.tool == "conda":
        return None
    if install.package == "torch":
        return _torch_wheel_cudnn(install, knowledge)
    if not install.version or "*" in install.version:
        return None
    if install.package == "tensorflow" and "and-cuda" in install.extras:
        release = knowledge.tensorflow_release(install.version)
        return (release.cudnn_major, f'ml-compat.toml [tensorflow."{release.minor}"]') if release else None
    if re.fullmatch(r"nvidia-cudnn-cu1\d", install.package) and install.version[:1].isdigit():
        return int(install.version.split(".")[0]), f"{install.package}=={install.version}"
    return None


def _system_cudnn_needed(facts: StageFacts) -> bool:
    """Something in the stage may load the base's cuDNN: a user of system cuDNN, a build, or unread installs."""
    users = [
        i for i in facts.installed(*_SYSTEM_CUDNN_USERS) if not (i.package == "tensorflow" and "and-cuda" in i.extras)
    ]
    cudnn_apt = any(re.match(r"libcudnn", p) for p, _i, _s in facts.os_packages)
    return bool(users or facts.compiles or facts.unknown_installs or facts.runs_scripts or cudnn_apt)


def _cudnn_flavour_size(ctx: LintContext, flavour: str) -> str:
    """The flavour's compressed sizes with and without cuDNN, when base-images.toml gives both
    (``compressed_gb = "about 1.5-2.5 (cudnn-runtime about 2.2-3.2)"``)."""
    size = str(ctx.knowledge.images.get(f"nvidia_cuda_{flavour}", {}).get("compressed_gb", ""))
    match = re.fullmatch(r"(about [\d.]+-[\d.]+) \((cudnn-\w+) (about [\d.]+-[\d.]+)\)", size)
    if match is None:
        return ""
    plain, variant, with_cudnn = match.groups()
    return (f" ({variant} is {with_cudnn} GB compressed, {flavour} {plain}: base-images.toml "
            f"[image.nvidia_cuda_{flavour}])")  # fmt: skip


@rule(
    "DA536",
    "cudnn-base-duplicated",
    family=FAMILY,
    severity="info",
    summary="a `-cudnn` CUDA base under pip wheels that bring their own cuDNN of the same major: gigabytes twice",
    enabled=False,  # precision ledger: no finding on the real corpus to judge yet
)
def find_duplicated_cudnn(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes an image built on an `nvidia/cuda:*-cudnn*` tag whose pip installs bring
    their own cuDNN of the same major — a pinned PyPI or `cuXXX` torch (its wheels
    require `nvidia-cudnn-cu12`; majors from `ml-compat.toml`), `tensorflow[and-cuda]`,
    or `nvidia-cudnn-cu12` itself — while nothing in the image loads the system cuDNN:
    no TensorFlow without `[and-cuda]`, onnxruntime-gpu, TensorRT, Paddle or CuPy, no
    CUDA build, no `libcudnn` apt package, and no requirements file, local project or
    script whose contents are unknown. (cuDNN installed again with apt or conda over
    such a base is DA527.)

    ## Why is this bad?
    torch loads the cuDNN from its `nvidia-cudnn-cu12` wheel, never the one in
    `/usr/lib`: the base's cuDNN (about a gigabyte compressed, more unpacked) is
    pulled, stored and scanned for nothing. The same tag without `cudnn` has the rest.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
    RUN pip install --no-cache-dir torch==2.5.1
    CMD ["python3", "serve.py"]
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
    RUN pip install --no-cache-dir torch==2.5.1
    CMD ["python3", "serve.py"]
    ```
    """
    facts = image_stage_facts(ctx)
    if facts is None or facts.base.kind != "nvidia-cuda" or facts.base.cudnn_major is None:
        return
    if _system_cudnn_needed(facts):
        return
    for install in facts.installs:
        own = _wheel_cudnn(install, ctx.knowledge)
        if own is None or own[0] != facts.base.cudnn_major:
            continue
        major, source = own
        what = f"{install.package} {install.version}" if install.version else f"{install.package} ({install.variant})"
        yield Violation(install.span, f"{what} brings its own cuDNN {major} (source: "
                        f"{source}) and '{facts.base.image}' ships cuDNN {major} too, which nothing here loads: "
                        f"the same libraries twice; use the tag without 'cudnn'"
                        f"{_cudnn_flavour_size(ctx, facts.base.flavour or '')}")  # fmt: skip
        return
