"""DA5xx — CUDA and ML frameworks: the version facts no other Dockerfile linter knows.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned, ARG without a
default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.linting.edits import insert_after_word
from dockaudit.files import InputError, read_regular_file
from dockaudit.facts.installs import installs, unquoted_redirect
from dockaudit.facts.knowledge import Knowledge, load_knowledge
from dockaudit.facts.mlfacts import (
    exact_torch_pin,
    BUILD_TOOLS,
    CUDA_SOURCE_PACKAGES,
    RUNTIME_NVCC_PACKAGES,
    FrameworkInstall,
    StageFacts,
    ml_facts,
)
from dockaudit.facts.installs import Invocation
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.facts.requirements import parse_requirement
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import ShellWord
from dockaudit.plugin import rule
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import env_pairs

FAMILY = "ml"
PYTORCH_INDEX = "download.pytorch.org"


def _image_facts(ctx: LintContext) -> StageFacts | None:
    """Facts of the stage that becomes the image."""
    return ml_facts(ctx).of(ctx.target_stage) if ctx.target_stage else None


def torch_cuda(install: FrameworkInstall, knowledge: Knowledge) -> tuple[str | None, str]:
    """The CUDA a torch install brings, and where that fact comes from ("cpu" for CPU builds)."""
    if install.variant == "cpu":
        return "cpu", "the cpu wheel index"
    if install.variant_cuda:
        return install.variant_cuda, f"the {install.variant} build"
    if install.version and install.index_url is None and install.tool != "conda":
        release = knowledge.torch_release(install.version)
        if release is not None:
            return release.pypi_default_cuda, f'PyPI default, ml-compat.toml [torch."{release.minor}"]'
    return None, ""


_CUDA_BUILDS = ("torch-extension", "nvcc")  # compile signals that certainly run nvcc


def _major(version: str | None) -> int | None:
    return int(version.split(".")[0]) if version and version[0].isdigit() else None


@rule(
    "DA501",
    "torch-cuda-mismatch",
    family=FAMILY,
    severity="warning",
    summary="torch built for one CUDA major on a base image with another (an error when extensions are compiled)",
    fix="unsafe",
)
def find_torch_cuda_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Compares the CUDA a torch install brings (its `+cuXXX` local version, its
    `--index-url …/whl/cuXXX`, or the PyPI default of that torch release) with the
    CUDA of the base image (`nvidia/cuda:12.4.1-…`, `pytorch/pytorch:…-cuda12.1-…`,
    also through an earlier stage and ARG defaults). Different majors are a warning;
    an error when the stage compiles CUDA extensions (nvcc, flash-attn, apex,
    `setup.py build_ext`), because `torch.utils.cpp_extension` refuses an nvcc whose
    major differs from `torch.version.cuda`.

    ## Why is this bad?
    torch wheels carry their own CUDA libraries, so the image holds two CUDA stacks
    and the base's is gigabytes of dead weight; anything compiled against the base's
    nvcc fails with "The detected CUDA version mismatches the version that was used
    to compile PyTorch".

    ## Example
    ```dockerfile
    FROM nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.4.1
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.6.3
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.4.1
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.6.3
    ```
    """
    knowledge = load_knowledge()
    for facts in ml_facts(ctx).stages:
        base_major = facts.base.cuda_major
        if base_major is None:
            continue
        for install in facts.installed("torch"):
            if install.instruction not in facts.stage.instructions:
                continue  # reported on the stage that installs it
            cuda, why = torch_cuda(install, knowledge)
            major = _major(cuda)
            if major is None or major == base_major:
                continue
            compiles = [
                c for c in facts.compiles if c.instruction.start_line >= install.line and c.kind in _CUDA_BUILDS
            ]
            severity = Severity.ERROR if compiles else Severity.WARNING
            consequence = (
                f"nvcc {facts.base.cuda} cannot build extensions for it ({compiles[0].what}, line "
                f"{compiles[0].instruction.start_line})"
                if compiles
                else "two CUDA stacks in one image; the base's is dead weight"
            )
            yield Violation(
                install.span,
                f"torch{' ' + install.version if install.version else ''} brings CUDA {cuda} ({why}) on a CUDA {facts.base.cuda} base: "
                f"{consequence}; use a CUDA {major} base or --index-url https://{PYTORCH_INDEX}/whl/cu"
                f"{facts.base.cuda.replace('.', '')[:3]}",
                severity=severity,
                fix=_index_fix(ctx, install, facts, knowledge),
            )


def _index_fix(ctx: LintContext, install: FrameworkInstall, facts: StageFacts, knowledge: Knowledge) -> Fix | None:
    """Point ``--index-url …/whl/cuXXX`` at the base's CUDA when that torch release was built for it."""
    if not install.index_url or not install.variant or install.variant not in install.index_url:
        return None
    release = knowledge.torch_release(install.version or "")
    wanted = "cu" + "".join((facts.base.cuda or "").split(".")[:2])
    if release is None or wanted not in release.cuda_variants or "+" in (install.version or ""):
        return None
    for command in ctx.commands(install.instruction):
        for word in command.words:
            if word.span is not None and install.index_url in word.value and ctx.text(word.span) == word.raw:
                path = word.raw.find("/whl/")
                at = word.raw.find(install.variant, path) if path != -1 else -1
                if at == -1:
                    return None  # the variant came from elsewhere in an odd URL: no safe place to edit
                at += word.span.start
                return Fix(f"use the {wanted} build", (Edit(Span(at, at + len(install.variant)), wanted),), safe=False)
    return None


def _python_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _jax_python_floor(version: str, knowledge: Knowledge) -> str | None:
    """The lowest Python a jax release supports, from [jax].min_python_history."""
    history = knowledge.jax.get("min_python_history", {})
    floor = None
    for since, python in sorted(history.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))):
        if tuple(int(p) for p in re.findall(r"\d+", version)[:3]) >= tuple(int(p) for p in since.split(".")):
            floor = python
    return floor


@rule(
    "DA502",
    "framework-python-mismatch",
    family=FAMILY,
    severity="error",
    summary="a framework version with no wheel for the image's Python",
)
def find_framework_python_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a pinned torch, tensorflow or jax with no Linux wheel for the stage's
    Python. The Python comes from the base (`python:3.12-slim`), from the OS default
    when `python3` is installed with apt (Ubuntu 22.04 → 3.10, 24.04 → 3.12), from
    `python3.X` packages, or from conda's `python=`. The wheel lists are read from
    PyPI's wheel tags (not `Requires-Python`, which torch 2.5 still sets to 3.8).

    ## Why is this bad?
    pip finds no wheel and either fails, or — worse — falls back to an sdist build
    or an older release than the one pinned elsewhere.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.1.2
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.1.2
    ```
    """
    knowledge = load_knowledge()
    for facts in ml_facts(ctx).stages:
        python = facts.python
        if python is None or not re.fullmatch(r"\d+\.\d+", python):
            continue
        for install in facts.installs:
            if install.instruction not in facts.stage.instructions or install.version is None:
                continue
            if install.package == "torch":
                release = knowledge.torch_release(install.version)
                table = f'ml-compat.toml [torch."{release.minor}"]' if release else ""
                supported = release.python if release else None
            elif install.package in ("tensorflow", "tensorflow-cpu"):
                tf = knowledge.tensorflow_release(install.version)
                table = f'ml-compat.toml [tensorflow."{tf.minor}"]' if tf else ""
                supported = tf.python if tf else None
            elif install.package == "jax":
                floor = _jax_python_floor(install.version, knowledge)
                if floor and _python_tuple(python) < _python_tuple(floor.lstrip(">=")):
                    yield Violation(
                        install.span,
                        f"jax {install.version} needs Python {floor}, the image has {python} ({facts.python_from}; "
                        "source: ml-compat.toml [jax] min_python_history)",
                    )
                continue
            else:
                continue
            if supported and python not in supported:
                yield Violation(
                    install.span,
                    f"{install.package} {install.version} has no wheel for Python {python} ({facts.python_from}); "
                    f"it has wheels for {', '.join(supported)} (source: {table})",
                )


def _tf_uses_system_cuda(install: FrameworkInstall) -> bool:
    return "and-cuda" not in install.extras and install.package in ("tensorflow", "tensorflow-gpu")


@rule(
    "DA503",
    "tensorflow-cuda-mismatch",
    family=FAMILY,
    severity="error",
    summary="TensorFlow using the system CUDA/cuDNN of a base built for another CUDA or cuDNN",
)
def find_tensorflow_cuda_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a pinned `tensorflow` installed without the `[and-cuda]` extra on a CUDA
    base whose CUDA major or cuDNN major differs from the tested configuration of
    that TensorFlow release (e.g. TF 2.15 = CUDA 12.2 / cuDNN 8.9), and the empty
    `tensorflow-gpu` package.

    ## Why is this bad?
    Without `[and-cuda]`, TensorFlow dlopens the system libraries; when it cannot find
    `libcudart.so.12` or the right `libcudnn`, it logs a warning and silently runs on
    the CPU — a GPU image that never uses its GPU.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
    RUN pip install --no-cache-dir tensorflow==2.15.1
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir "tensorflow[and-cuda]==2.15.1"
    ```
    """
    knowledge = load_knowledge()
    for facts in ml_facts(ctx).stages:
        for install in facts.installed("tensorflow", "tensorflow-gpu"):
            if install.instruction not in facts.stage.instructions:
                continue
            if install.package == "tensorflow-gpu":
                yield Violation(install.span, "tensorflow-gpu is an empty stub on PyPI (2.12.0 sdist that fails): "
                                "install tensorflow (GPU support is built in)")  # fmt: skip
                continue
            if not install.version or facts.base.cuda_major is None or not _tf_uses_system_cuda(install):
                continue
            tf = knowledge.tensorflow_release(install.version)
            if tf is None:
                continue
            problems = []
            if _major(tf.cuda) != facts.base.cuda_major:
                problems.append(f"CUDA {tf.cuda}")
            if facts.base.cudnn_major is not None and facts.base.cudnn_major != tf.cudnn_major:
                problems.append(f"cuDNN {tf.cudnn_major}")
            if problems:
                yield Violation(
                    install.span,
                    f"tensorflow {install.version} needs {' and '.join(problems)}, the base has CUDA {facts.base.cuda}"
                    + (f" / cuDNN {facts.base.cudnn_major}" if facts.base.cudnn_major else "")
                    + f": it will fall back to the CPU; use tensorflow[and-cuda] (source: ml-compat.toml "
                    f'[tensorflow."{tf.minor}"])',
                )


@rule(
    "DA504",
    "devel-base-unneeded",
    family=FAMILY,
    severity="warning",
    summary="a CUDA devel base in the final stage that compiles nothing",
    fix="unsafe",
)
def find_unneeded_devel_base(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a final stage built on an `nvidia/cuda:*-devel-*` or `pytorch/pytorch:*-devel`
    image when nothing in the image compiles CUDA code (no nvcc, no `setup.py build`,
    no flash-attn/apex/xformers-from-git build, no CUDA cmake), is not a build
    environment (a toolchain installed *and* make/cmake/bazel run; `build-essential`
    for pip sdists alone does not count: gcc is not nvcc), installs no local project (its `setup.py`
    may build CUDA extensions), and runs nothing that needs nvcc when the image runs
    or builds: DeepSpeed (its ops JIT-compile), FlashInfer, vLLM, CuPy from source,
    darknet with `GPU=1`. A runtime or base image has the same libraries without the
    compiler. Installs whose contents are unknown (a local project, a requirements
    file not in the build context, a lock sync) and ARG/ENV switches that ask for a
    CUDA build (`FORCE_CUDA`, `HOROVOD_GPU_OPERATIONS`, `CMAKE_CUDA_ARCHITECTURES`)
    keep it silent: any of them may need nvcc. The unsafe fix (`-devel` →
    `-runtime`) is offered under the same precondition, checked again in the fix.

    ## Why is this bad?
    devel images add nvcc, headers and static libraries: 2–4 GB more to push, pull and
    scan for every deploy. Pip wheels of torch/jax/TF bring their own CUDA libraries,
    so often even the runtime image is more than needed.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.5.1
    CMD ["python3", "serve.py"]
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    RUN pip install --no-cache-dir torch==2.5.1
    CMD ["python3", "serve.py"]
    ```
    """
    facts = _image_facts(ctx)
    if facts is None or facts.base.flavour != "devel" or facts.base.kind not in ("nvidia-cuda", "pytorch"):
        return
    if facts.compiles or any("TORCH_CUDA_ARCH_LIST" == k for k in facts.env):
        return
    if facts.installed(*RUNTIME_NVCC_PACKAGES) or facts.runtime_nvcc:
        return  # JIT kernels (DeepSpeed ops, FlashInfer, vLLM) call nvcc at run time
    tools = [p for p, _i, _s in facts.os_packages if BUILD_TOOLS.match(p)]
    if any(_BUILD_SYSTEMS.match(p) for p in tools) or (tools and _runs_a_build(ctx, facts)):
        return  # a build environment that builds: the compiler is the point (gcc for sdists alone is not nvcc)
    if facts.runs_scripts:
        return  # a script from the build context may compile: unknown, so no guessing
    if facts.unknown_installs:
        return  # a local project (its setup.py may build CUDA code) or an unread requirements file (DeepSpeed?)
    if _cuda_build_switches(facts):
        return  # FORCE_CUDA, HOROVOD_GPU_OPERATIONS, CMAKE_CUDA_ARCHITECTURES …: a CUDA build is intended
    stage = facts.stage.ancestry()[-1]
    if stage.from_instruction is None or not stage.from_instruction.args:
        return
    span = stage.from_instruction.args[0].span
    yield Violation(
        span,
        f"'{facts.base.image}' is a devel image but nothing here compiles CUDA code: the runtime "
        "flavour has the same libraries without 2-4 GB of compiler and headers (source: base-images.toml "
        "[image.nvidia_cuda_devel])",
        fix=_runtime_flavour_fix(ctx, facts, span),
    )


_BUILD_SYSTEMS = re.compile(r"^(?:cmake|ninja-build)(?:[=-].*)?$")  # installed only to build native code
_CUDA_SWITCHES = re.compile(r"\b(?:FORCE_CUDA|HOROVOD_GPU\w*|CMAKE_CUDA_ARCHITECTURES|CUDA_ARCHITECTURES|DS_BUILD_\w+)=")


def _cuda_build_switches(facts: StageFacts) -> bool:
    """An ARG or ENV of the image's stages sets a switch that makes a build compile CUDA code."""
    return any(
        i.name in ("ARG", "ENV") and _CUDA_SWITCHES.search(i.args_text + " ")
        for stage in facts.stage.ancestry()
        for i in stage.instructions
    ) or any(_CUDA_SWITCHES.search(f"{key}=") for key in facts.env)


_BUILD_COMMANDS = frozenset({"make", "cmake", "ninja", "bazel", "bazelisk", "meson", "gcc", "g++", "cc", "c++",
                             "nvcc", "scons"})  # fmt: skip


def _runs_a_build(ctx: LintContext, facts: StageFacts) -> bool:
    """A build command runs in the image's stages (not only a pip install of sdists that gcc compiles)."""
    for stage in facts.stage.ancestry():
        for instruction in stage.instructions:
            if any(c.name in _BUILD_COMMANDS for c in ctx.commands(instruction)):
                return True
    return False


def _runtime_flavour_fix(ctx: LintContext, facts: StageFacts, span: Span) -> Fix | None:
    """``-devel`` → ``-runtime`` in the FROM line, only when everything the image installs is in this file.

    Precondition: no requirement file, lock file or wheel whose contents are unknown (any of them may bring
    DeepSpeed, source CuPy or a JIT-compiled kernel that calls nvcc when the image runs), and exactly one
    ``-devel`` in the written image name, so the edit cannot land in a registry or repository name.
    """
    if facts.unknown_installs:
        return None
    written = ctx.text(span)
    if written.count("-devel") != 1:
        return None
    at = span.start + written.index("-devel")
    return Fix("use the runtime flavour", (Edit(Span(at, at + len("-devel")), "-runtime"),), safe=False)




@rule(
    "DA505",
    "gpu-cpu-wheel-mismatch",
    family=FAMILY,
    severity="warning",
    summary="CPU torch wheels on a CUDA base, or the CUDA-bundling PyPI torch where the image is CPU-only",
    fix="unsafe",
)
def find_gpu_cpu_wheel_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags torch from the CPU index (`…/whl/cpu`, `+cpu`) on a CUDA base image (the
    CUDA base is unused), and — where the stage declares itself CPU-only through an
    ARG or ENV such as `DEVICE=cpu` — the default PyPI torch, which pulls several GB
    of CUDA wheels.

    ## Why is this bad?
    Either the GPU is never used (`torch.cuda.is_available()` is False on a 4 GB CUDA
    base), or a CPU service ships gigabytes of CUDA libraries it never loads.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
    RUN pip install --no-cache-dir torch==2.8.0 --index-url https://download.pytorch.org/whl/cpu
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.8.0 --index-url https://download.pytorch.org/whl/cpu
    ```
    """
    for facts in ml_facts(ctx).stages:
        cpu_declared = any(
            re.search(r"(?:DEVICE|TARGET|ACCELERATOR|PLATFORM)", key) and value.strip("'\"").lower() == "cpu"
            for key, (value, _i) in facts.env.items()
        ) or _declares_cpu_arg(facts)
        for install in facts.installed("torch"):
            if install.instruction not in facts.stage.instructions:
                continue
            if install.variant == "cpu" and facts.base.gpu and facts.base.cuda:
                yield Violation(
                    install.span,
                    f"CPU-only torch on a CUDA {facts.base.cuda} base: the GPU is never used and the base is dead "
                    "weight; use a cuXXX index or a python:3.x-slim base",
                    _index_fix(ctx, install, facts, load_knowledge()),
                )
            elif cpu_declared and install.variant is None and install.index_url is None and not facts.base.gpu:
                yield Violation(
                    install.span,
                    "the image is CPU-only but the PyPI torch wheel pulls several GB of CUDA libraries: add "
                    f"--index-url https://{PYTORCH_INDEX}/whl/cpu (source: base-images.toml [payload.torch])",
                    _cpu_index_fix(ctx, install),
                )


def _cpu_index_fix(ctx: LintContext, install: FrameworkInstall) -> Fix | None:
    """``pip install torch…`` → ``pip install --index-url …/whl/cpu torch…`` when only torch packages follow."""
    for invocation in ctx.invocations(install.instruction):
        if not any(w.span == install.span for w in invocation.packages):
            continue  # the finding is about another pip call of the same RUN
        names = [re.split(r"[=<>!~\[;@ ]", w.value, maxsplit=1)[0].lower() for w in invocation.packages]
        if invocation.verb is None or invocation.tool not in ("pip", "uv") or invocation.values("-i", "--index-url"):
            return None
        if not set(names) <= {"torch", "torchvision", "torchaudio"}:
            return None  # other packages must still come from PyPI
        edit = insert_after_word(ctx.dockerfile, invocation.verb, f"--index-url https://{PYTORCH_INDEX}/whl/cpu")
        return Fix("install the CPU build", (edit,), safe=False) if edit else None
    return None


def _declares_cpu_arg(facts: StageFacts) -> bool:
    for instruction in facts.stage.instructions:
        if instruction.name == "ARG":
            for word in instruction.values:
                name, _, value = word.partition("=")
                if re.search(r"DEVICE|ACCELERATOR|TARGET", name) and value.strip("'\"").lower() == "cpu":
                    return True
    return False


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
    knowledge = load_knowledge()
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


_ARCH_LIST = "TORCH_CUDA_ARCH_LIST"
_FORCE_CUDA = "FORCE_CUDA"
# Packages whose setup.py builds CUDA ops only when a GPU is visible or FORCE_CUDA is set.
_FORCE_CUDA_PACKAGES = frozenset({"detectron2", "pytorch3d", "torch-scatter", "torch-sparse", "mmcv-full"})
_BASES_WITHOUT_ARCH_LIST = ("nvidia-cuda", "pytorch", "python", "ubuntu", "debian", "conda")


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
            if declared or inline or has_build_gpu(signal.instruction):
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


def _native_arch_builds(ctx: LintContext, facts: StageFacts) -> Iterator[Violation]:
    """``cmake -DCMAKE_CUDA_ARCHITECTURES=native`` (or ``GGML_NATIVE``-style ``native`` lists): with no GPU
    in the build, CMake has nothing to detect and the configure step fails."""
    for instruction in facts.stage.instructions:
        if has_build_gpu(instruction):
            continue
        for command in ctx.commands(instruction):
            if command.name != "cmake":
                continue
            native = next((a for a in command.argv if re.match(r"-DCMAKE_CUDA_ARCHITECTURES(?::\w+)?=native", a)), None)
            if native:
                yield Violation(command.span, f"{native}: there is no GPU at build time to detect, so CMake fails "
                                "('CUDA_ARCHITECTURES is set to \"native\", but no GPU was detected'); list the "
                                "architectures, e.g. -DCMAKE_CUDA_ARCHITECTURES=\"80;86;90\"")  # fmt: skip


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
    knowledge = load_knowledge()
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


@rule(
    "DA516",
    "cuda-ext-build-isolation",
    family=FAMILY,
    severity="error",
    summary="pip install of flash-attn (or another torch-importing source package) without --no-build-isolation",
)
def find_isolated_cuda_extension_builds(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install flash-attn` (and apex, detectron2, pytorch3d, mamba-ssm …,
    which import torch while building) without `--no-build-isolation`, or before
    torch is installed in the image. An earlier install that may bring torch as a
    dependency — a local project (`pip install -e .`), a requirements file, a lock
    sync (`uv sync`, `poetry install`), or a package that requires torch
    (`dockaudit/facts/knowledge/ml-requires.toml`) — counts as installing it.

    ## Why is this bad?
    flash-attn is sdist-only on PyPI and its build imports torch. In pip's isolated
    build environment torch is missing (`ModuleNotFoundError: No module named
    'torch'`), or pip fetches the newest torch and compiles against the wrong torch
    and CUDA.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"
    RUN pip install --no-cache-dir flash-attn==2.7.0.post2
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.7.0.post2
    ```
    """
    for facts in ml_facts(ctx).stages:
        torch_lines = [i.line for i in facts.installed("torch")]
        # Only bases known to come without torch can show that torch is missing.
        may_have_torch = facts.base.kind not in ("nvidia-cuda", "python", "ubuntu", "debian", "conda", "alpine")
        for install in facts.installs:
            if install.package not in CUDA_SOURCE_PACKAGES or install.instruction not in facts.stage.instructions:
                continue
            if install.find_links and not install.vcs:
                continue  # a prebuilt wheel page (PyG, OpenMMLab): nothing is built
            if not install.no_build_isolation:
                yield Violation(install.span, f"{install.package} imports torch while building: add "
                                "--no-build-isolation, or the build fails or compiles against another torch "
                                "(source: ml-compat.toml [torch_extension_build])")  # fmt: skip
            elif (
                not may_have_torch
                and not any(line < install.line for line in torch_lines)
                and not any(i.line == install.line and i.package == "torch" for i in facts.installs)
                and not any(i.start_line < install.line for _what, i in facts.may_bring_torch)
            ):
                yield Violation(install.span, f"{install.package} is built before torch is installed: install "
                                "torch first")  # fmt: skip


@rule(
    "DA518",
    "torch-extra-index-url",
    family=FAMILY,
    severity="warning",
    summary="torch from --extra-index-url (dependency confusion; PyTorch documents --index-url since 2.0)",
    fix="safe",
)
def find_torch_extra_index_url(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install torch … --extra-index-url https://download.pytorch.org/whl/…`.
    When every package of that command is a PyTorch-index package (torch,
    torchvision, torchaudio …), the fix turns `--extra-index-url` into `--index-url`.
    `uv pip install` is not reported: uv's default index strategy takes each package
    from the first index that has it, and extra indexes come before PyPI, so PyPI
    cannot win — unless `--index-strategy unsafe-best-match` (or
    `UV_INDEX_STRATEGY`) asks for pip's merging.

    ## Why is this bad?
    With an extra index pip merges both indexes and takes the highest version from
    either, so a same-named package on PyPI can win — the December 2022 `torchtriton`
    compromise reached users exactly this way. PyTorch's own instructions use
    `--index-url` since 2.0.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 --extra-index-url https://download.pytorch.org/whl/cu121
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu121
    ```
    """
    torch_index_packages = {"torch", "torchvision", "torchaudio", "triton", "pytorch-triton"}
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("pip", "uv"):
                continue
            option = next(
                (o for o in invocation.options if o.name == "--extra-index-url" and PYTORCH_INDEX in (o.value or "")),
                None,
            )
            names = [re.split(r"[=<>!~\[;@ ]", w.value, maxsplit=1)[0].lower() for w in invocation.packages]
            if option is None or "torch" not in names:
                continue
            if invocation.tool == "uv" and not _uv_best_match(ctx, instruction, invocation):
                continue  # uv takes a package from the first index that has it: extra indexes come first
            fix = None
            only_torch = all(n in torch_index_packages for n in names) and not invocation.values("-i", "--index-url")
            word = option.word
            if only_torch and word.span is not None and ctx.text(word.span).startswith("--extra-index-url"):
                start = word.span.start
                fix = Fix("use --index-url", (Edit(Span(start, start + len("--extra-index-url")), "--index-url"),))
            yield Violation(
                word.span or invocation.command.span,
                "torch from --extra-index-url: PyPI and the PyTorch index are merged, so a same-named PyPI package "
                "can win; use --index-url (source: ml-compat.toml [torch_index] install_flag_history)",
                fix=fix,
            )


def _uv_best_match(ctx: LintContext, instruction, invocation) -> bool:
    """uv told to merge indexes like pip (``--index-strategy unsafe-best-match``/``unsafe-any-match``, or
    ``UV_INDEX_STRATEGY`` in the stage's ENV); by default it stops at the first index that has the package."""
    strategies = invocation.values("--index-strategy")
    stage = ctx.stage_of(instruction)
    facts = ml_facts(ctx).of(stage) if stage else None
    if facts is not None and "UV_INDEX_STRATEGY" in facts.env:
        strategies.insert(0, facts.env["UV_INDEX_STRATEGY"][0].strip("'\""))
    for command in ctx.commands(instruction):
        strategies += [a.split("=", 1)[1] for a in command.assignments if a.startswith("UV_INDEX_STRATEGY=")]
    return bool(strategies) and strategies[-1].startswith("unsafe-")


@rule(
    "DA519",
    "pep668-system-pip",
    family=FAMILY,
    severity="error",
    summary="pip install into the system Python of Debian 12+/Ubuntu 24.04+ (externally managed)",
    enabled=False,  # precision ledger: 4 of 4 judged not worth reading
)
def find_system_pip_on_managed_python(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install` into the apt-installed Python of an externally managed OS
    (Debian 12 and 13, Ubuntu 24.04 — including `nvidia/cuda:*-ubuntu24.04`) when no
    virtual environment is active, and `--break-system-packages` anywhere.

    ## Why is this bad?
    PEP 668: pip refuses with `error: externally-managed-environment`. Forcing it with
    `--break-system-packages` mixes pip and apt files in `/usr` and breaks apt's own
    Python tools on the next upgrade.

    ## Example
    ```dockerfile
    FROM ubuntu:24.04
    RUN apt-get update && apt-get install -y --no-install-recommends python3-pip=24.0+dfsg-1ubuntu1 && rm -rf /var/lib/apt/lists/*
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```

    ## Use instead
    ```dockerfile
    FROM ubuntu:24.04
    RUN apt-get update && apt-get install -y --no-install-recommends python3-venv=3.12.3-0ubuntu2 && rm -rf /var/lib/apt/lists/*
    RUN python3 -m venv /opt/venv
    ENV PATH=/opt/venv/bin:$PATH
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```
    """
    for facts in ml_facts(ctx).stages:
        # A RUN that already deals with PEP 668 (branches on the OS release) is left to its author.
        handled = {
            id(i) for _inv, i in facts.system_pip if any(x.has("--break-system-packages") for x in ctx.invocations(i))
        }
        env_break = facts.env.get("PIP_BREAK_SYSTEM_PACKAGES", ("", None))[0].strip("'\"").lower() in (
            "1",
            "true",
            "yes",
        )
        for invocation, instruction in facts.system_pip:
            if instruction not in facts.stage.instructions:
                continue
            if env_break and not invocation.has("--break-system-packages"):
                yield Violation(invocation.command.span, "PIP_BREAK_SYSTEM_PACKAGES mixes pip and apt packages in "
                                "/usr: use a virtual environment (python3 -m venv /opt/venv)")  # fmt: skip
                continue
            if invocation.has("--break-system-packages"):
                yield Violation(invocation.command.span, "--break-system-packages mixes pip and apt packages in /usr: "
                                "use a virtual environment (python3 -m venv /opt/venv)")  # fmt: skip
                continue
            managed = re.match(r"^(?:debian(12|13)|ubuntu(2[4-9]\.\d+))$", facts.base.os or "")
            if managed and id(instruction) not in handled and facts.python_from and facts.python_from.startswith("apt"):
                yield Violation(
                    invocation.command.span,
                    f"{facts.base.os} marks its Python as externally managed (PEP 668): pip install fails; create a "
                    "venv and put it on PATH (source: base-images.toml [os_pep668])",
                )


_DOWNLOADS = re.compile(
    r"from_pretrained\(|snapshot_download\(|hf_hub_download\(|huggingface-cli\s+download|\bhf\s+download"
    r"|ollama\s+pull|torch\.hub\.load\(|SentenceTransformer\(|pipeline\(",
)
# File types that are model weights whatever the URL; `.bin`, `.h5`, `.pb` and archives are weights only
# with more evidence (a model host, a model-like name, a models/ destination): firmware and data use them too.
_WEIGHT_URL = re.compile(r"(?:https?|s3|gs)://\S+?\.(?:safetensors|pt|pth|ckpt|gguf|ggml|onnx|tflite|engine)\b")
_AMBIGUOUS_URL = re.compile(r"(?:https?|s3|gs)://\S+?\.(?:bin|h5|pb|pkl|zip|tar|tar\.gz|tgz)\b")
_MODEL_HOSTS = re.compile(
    r"(?:https?://)?(?:huggingface\.co|hf\.co|cdn-lfs\.huggingface\.co|civitai\.com/api/download"
    r"|dl\.fbaipublicfiles\.com|download\.pytorch\.org/models|openaipublic\.azureedge\.net/main/whisper"
    r"|download\.tensorflow\.org/models|tfhub\.dev|www\.kaggle\.com/api/v1/models)/"
)
_NOT_WEIGHTS = (".json", ".txt", ".md", ".py", ".yaml", ".yml", ".html", ".sh")
_MODEL_NAME = re.compile(
    r"(?:pytorch_model|model|weight|checkpoint|ckpt|ggml|yolo|vit_|sam_)[\w.-]*"
    r"\.(?:bin|h5|pb|pkl|zip|tar|tar\.gz|tgz)\b",
    re.IGNORECASE,
)  # a model-zoo file name: "pytorch_model.bin", "resnet50_weights.h5", "ssd_model.tar.gz"
_SCRIPT_LIMIT = 256 * 1024


def _weight_download(text: str, downloader: bool) -> str | None:
    """What in a RUN (or a script it runs) downloads model weights, or None."""
    match = _DOWNLOADS.search(text)
    if match:
        return match.group(0).strip("(")
    if not downloader:
        return None
    weights = _WEIGHT_URL.search(text)
    if weights:
        return weights.group(0)
    on_hub = _model_host_url(text)
    if on_hub:
        return on_hub
    for ambiguous in _AMBIGUOUS_URL.finditer(text):
        url = ambiguous.group(0)
        if _MODEL_NAME.search(url.rsplit("/", 1)[-1]):
            return url
    return None


def _model_host_url(text: str) -> str | None:
    """A file URL on a model hub (``huggingface.co/<repo>/resolve/…``, civitai, the model zoos)."""
    for word in text.split():
        word = word.strip("'\"")
        if "://" not in word or not _MODEL_HOSTS.match(word.split("://", 1)[1]):
            continue
        name = word.split("?", 1)[0].rsplit("/", 1)[-1].lower()
        if name.endswith(_NOT_WEIGHTS) or ("huggingface" in word or "hf.co" in word) and "/resolve/" not in word:
            continue  # a config, a tokenizer text or a web page, not weights
        if "civitai" in word or "." in name:
            return word
    return None


def _scripts_run(ctx: LintContext, instruction) -> Iterator[tuple[str, str]]:
    """(path, text) of build-context scripts a RUN executes (``bash get_models.sh``, ``python download.py``)."""
    for command in ctx.commands(instruction):
        words = [command.name] + [w.value for w in command.args[:2]]
        for word in words:
            if not re.search(r"\.(?:sh|py)$", word) or "$" in word:
                continue
            found = ctx.context_file(word)
            if found is None:
                continue
            try:
                data = read_regular_file(found, _SCRIPT_LIMIT)
            except InputError:
                continue  # not a regular file, or too big to be a download script: nothing known
            yield word, data.decode("utf-8", "replace")
            break


@rule(
    "DA520",
    "model-download-at-build",
    family=FAMILY,
    severity="warning",
    summary="model weights downloaded at build time into a layer",
    enabled=False,  # precision ledger: 3 of 3 judged not worth reading
)
def find_model_downloads_at_build(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags RUNs that download model weights into the image — `from_pretrained(…)`,
    `snapshot_download`, `huggingface-cli download`, `hf download`, `ollama pull`,
    `torch.hub.load`, curl/wget of `*.safetensors|*.pt|*.pth|*.ckpt|*.gguf|*.onnx`
    or of a file on a model hub (`huggingface.co/…/resolve/…`, civitai, the PyTorch
    and fairseq model zoos) — and `ADD` of such URLs. With the build context there,
    the scripts a RUN executes (`bash download_models.sh`, `python fetch.py`) are read
    too. A `.bin`, `.h5` or `.pb` URL counts only with a model-like file name
    (`pytorch_model.bin`): firmware and data files use those suffixes too. Plain
    `http://` downloads are called out (no integrity). When a token comes from ARG or
    ENV, the message says so (DA102 reports the secret itself).

    ## Why is this bad?
    The weights (gigabytes) land in a layer under `~/.cache/huggingface`: every rebuild
    that touches an earlier layer downloads them again, every push and pull carries
    them, and a model update needs an image rebuild.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    ENV HF_HOME=/models
    VOLUME /models
    ```
    """
    token_in_env = any(
        i.name in ("ARG", "ENV") and any(re.match(r"(?:HF_TOKEN|HUGGING_?FACE_HUB_TOKEN|HUGGINGFACE_TOKEN)\b", v) for v in i.values)
        for i in ctx.dockerfile.instructions
    )  # fmt: skip
    suffix = "; the token from ARG/ENV stays in the image history" if token_in_env else ""
    advice = ": fetch them at start-up into a mounted volume (HF_HOME=/models)" + suffix
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name == "ADD":
            for arg in target.args[:-1]:
                found = _weight_download(arg.value, downloader=True)
                if found and "://" in found:
                    yield Violation(arg.span, f"ADD {found}: model weights downloaded into a layer at build time"
                                    f"{_plain_http(found)}{advice}")  # fmt: skip
        if target.name != "RUN":
            continue
        text = target.args_text + "".join(h.content for h in target.heredocs)
        downloader = any(c.name in ("wget", "curl", "aria2c", "gsutil", "aws", "rclone") for c in ctx.commands(instruction))
        found = _weight_download(text, downloader)
        where = ""
        if found is None:
            for path, script in _scripts_run(ctx, instruction):
                found = _weight_download(script, downloader=bool(re.search(r"\b(?:wget|curl|aria2c)\b", script)))
                if found:
                    where = f" (in {path}, which this RUN executes)"
                    break
        if found:
            yield Violation(target.keyword_span, f"'{found}'{where} downloads model weights into a layer at build "
                            f"time{_plain_http(found)}{advice}")  # fmt: skip


def _plain_http(found: str) -> str:
    return " over plain http (nothing checks what arrives)" if found.startswith("http://") else ""


@rule(
    "DA522",
    "compile-on-runtime-image",
    family=FAMILY,
    severity="error",
    summary="CUDA extension compiled on a runtime base (no nvcc): the build fails",
)
def find_compiles_without_nvcc(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a CUDA extension build (flash-attn, apex, `setup.py build_ext`, nvcc) in a
    stage whose base has no CUDA compiler: `nvidia/cuda:*-runtime|base`,
    `pytorch/pytorch:*-runtime`.

    ## Why is this bad?
    The build stops with "CUDA_HOME environment variable is not set" or "nvcc not
    found" — after the long dependency installs before it.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.7.0.post2
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.7.0.post2
    ```
    """
    for facts in ml_facts(ctx).stages:
        if facts.base.has_nvcc is not False or facts.base.kind not in ("nvidia-cuda", "pytorch"):
            continue
        installs_toolkit = any(re.match(r"cuda-(?:nvcc|toolkit)", p) for p, _i, _s in facts.os_packages)
        if installs_toolkit:
            continue
        for signal in facts.compiles:
            if signal.instruction in facts.stage.instructions and signal.kind in _CUDA_BUILDS:
                yield Violation(signal.span, f"{signal.what} needs nvcc, which the {facts.base.flavour} image "
                                f"'{facts.base.image}' does not have: build in the devel flavour and copy the result")  # fmt: skip
                break


def has_build_gpu(instruction) -> bool:
    """``RUN --device=nvidia.com/gpu=…`` (BuildKit CDI devices, Dockerfile 1.14 labs): the step runs with a GPU."""
    return any(
        flag.name == "device" and flag.value and re.match(r"(?:nvidia\.com/gpu|/dev/nvidia)", flag.value)
        for flag in instruction.flags
    )


_GPU_QUERIES = re.compile(
    r"nvidia-smi|torch\.cuda\.(?:is_available|device_count|get_device_name)\(|list_physical_devices\(\s*['\"]GPU"
    r"|jax\.devices\(\s*['\"]gpu|cupy\.cuda\.runtime\.getDeviceCount"
)


@rule(
    "DA524",
    "gpu-query-at-build",
    family=FAMILY,
    severity="warning",
    summary="nvidia-smi or torch.cuda.is_available() in RUN: no GPU exists at build time",
)
def find_gpu_queries_at_build(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags RUNs that ask for a GPU: `nvidia-smi`, `torch.cuda.is_available()`,
    `tf.config.list_physical_devices('GPU')`, `jax.devices('gpu')`.

    A RUN given a GPU with BuildKit's `RUN --device=nvidia.com/gpu=all` (a CDI
    device) is not reported: that step has one.

    ## Why is this bad?
    `docker build` runs without GPUs, so the answer is always "none": a check that
    fails the build on every builder, or a branch that always takes the CPU path and
    bakes that decision into the image.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    RUN python -c "import torch; assert torch.cuda.is_available()"
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    RUN python -c "import torch; print(torch.version.cuda)"
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name != "RUN" or has_build_gpu(target):
            continue
        text = target.args_text + "".join(h.content for h in target.heredocs)
        match = _GPU_QUERIES.search(text)
        if match:
            yield Violation(target.keyword_span, f"'{match.group(0).rstrip('(')}' at build time: there is no GPU "
                            "during docker build, so the answer is always 'none'")  # fmt: skip


@rule(
    "DA523",
    "nvidia-env-override",
    family=FAMILY,
    severity="info",
    summary="NVIDIA_REQUIRE_CUDA/NVIDIA_DISABLE_REQUIRE overridden, or driver capabilities set to all",
)
def find_nvidia_env_overrides(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `ENV NVIDIA_REQUIRE_CUDA=…` and `NVIDIA_DISABLE_REQUIRE=…` on a base that
    sets the requirement itself (`nvidia/cuda`, the framework images), and
    `NVIDIA_DRIVER_CAPABILITIES=all` baked into an image. On a base that is not a
    CUDA image (a distroless or plain OS image for a GPU tool) there is no
    requirement to override, so those two stay silent.

    ## Why is this bad?
    The CUDA images set `NVIDIA_REQUIRE_CUDA` so the container runtime refuses a host
    whose driver is too old. Overriding it moves that failure from start-up to the
    first kernel launch. `all` capabilities mount graphics and video libraries a
    compute job does not need (`compute,utility` does).

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.9.1-runtime-ubuntu22.04
    ENV NVIDIA_REQUIRE_CUDA="cuda>=12.0"
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    ```
    """
    facts = ml_facts(ctx)
    for instruction in ctx.dockerfile.instructions:
        if instruction.name != "ENV":
            continue
        stage = ctx.stage_of(instruction)
        stage_facts = facts.of(stage) if stage else None
        # On a base that sets the requirement itself (nvidia/cuda, framework images) an ENV overrides it;
        # on a plain OS base it is how you build your own CUDA image.
        overrides = stage_facts is not None and stage_facts.base.gpu
        for index, (key, value, _sep) in enumerate(env_pairs(instruction)):
            span = instruction.args[index * 3].span
            plain = value.strip("'\"").lower()
            if key in ("NVIDIA_DISABLE_REQUIRE", "NVIDIA_REQUIRE_CUDA") and overrides:
                yield Violation(span, f"{key} overrides the driver check of the CUDA image: an old driver then fails at "
                                "the first kernel launch instead of at start (source: ml-compat.toml "
                                "[nvidia_cuda_image] env_require)")  # fmt: skip
            elif key == "NVIDIA_DRIVER_CAPABILITIES" and plain == "all":
                yield Violation(span, "NVIDIA_DRIVER_CAPABILITIES=all mounts graphics and video libraries too: "
                                "compute,utility is enough for CUDA")  # fmt: skip


_HOST_PACKAGES = re.compile(
    r"^(?:nvidia-container-toolkit|nvidia-container-runtime|nvidia-docker2?|libnvidia-container[\w-]*"
    r"|nvidia-driver-\d+|cuda-drivers(?:-\d+)?|nvidia-utils-\d+|nvidia-kernel[\w-]*)(?:[=-].*)?$"
)


@rule(
    "DA525",
    "container-toolkit-in-image",
    family=FAMILY,
    severity="warning",
    summary="nvidia-container-toolkit, nvidia-docker or driver packages installed inside the image",
)
def find_host_packages_in_image(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags apt/yum/dnf installs of the NVIDIA container toolkit, nvidia-docker, or GPU
    driver packages (`nvidia-driver-550`, `cuda-drivers`) inside an image.

    ## Why is this bad?
    They belong on the host: the container runtime mounts the host's driver into the
    container. A driver inside the image does nothing but conflict with the host's
    kernel module, and adds hundreds of MB.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends nvidia-driver-550=550.120-0ubuntu1 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("apt-get", "apt", "yum", "dnf", "zypper", "apk"):
                continue
            if not invocation.action.endswith("install"):
                continue
            for word in invocation.packages:
                if _HOST_PACKAGES.match(word.value):
                    yield Violation(word.span, f"'{word.value}' belongs on the host: the container runtime mounts the "
                                    "host's driver into the container")  # fmt: skip


@rule(
    "DA526",
    "hardcoded-visible-devices",
    family=FAMILY,
    severity="info",
    summary="CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES fixed to a device list in ENV",
    fix="unsafe",
)
def find_hardcoded_visible_devices(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `ENV CUDA_VISIBLE_DEVICES=…` with a fixed value (`0`, `0,1`) and `ENV
    NVIDIA_VISIBLE_DEVICES=…` with a fixed device list, baked into a Dockerfile.
    `NVIDIA_VISIBLE_DEVICES=all` is not reported: the `nvidia/cuda` images set it
    themselves, an image on a plain base needs it for the NVIDIA runtime to mount any
    GPU, and device plugins and GPU exporters (dcgm-exporter, k8s-device-plugin) must
    see every GPU; `--gpus` and Kubernetes replace it per container anyway. The fix
    (removing the variable) is unsafe: it changes which GPUs the program uses.

    ## Why is this bad?
    Which GPUs a container gets is the runtime's decision (`--gpus`, Kubernetes device
    plugins). A device list baked into the image overrides it inside the container, so
    a job given four GPUs uses one, and a fixed `NVIDIA_VISIBLE_DEVICES=0` under a
    runtime that honours it hands out GPU 0 — another tenant's.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    ENV CUDA_VISIBLE_DEVICES=0
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        if instruction.name != "ENV":
            continue
        for index, (key, value, _sep) in enumerate(env_pairs(instruction)):
            plain = value.strip("'\"")
            if key not in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES") or "$" in plain:
                continue
            if plain.lower() in ("", "void", "none") or (key == "NVIDIA_VISIBLE_DEVICES" and plain.lower() == "all"):
                continue  # no GPU, or every GPU the runtime gives: the runtime still decides
            yield Violation(instruction.args[index * 3].span, f"{key}={plain} fixes the GPUs in the image: leave "
                            "device selection to the runtime (--gpus, Kubernetes)",
                            _remove_env_pair(ctx, instruction, index))  # fmt: skip


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
    knowledge = load_knowledge()
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
                and not (p.instruction is install.instruction and _branches(install.instruction))
            ]  # fmt: skip
            if later and install.package in ("pytorch", "tensorflow"):
                yield Violation(install.span, f"{install.package} from conda and {later[0].package} from pip (line "
                                f"{later[0].line}) in one environment: two copies, two CUDA stacks")  # fmt: skip


@rule(
    "DA528",
    "anaconda-default-channels",
    family=FAMILY,
    severity="info",
    summary="a continuumio base whose default channels need a paid Anaconda licence for larger organisations",
    enabled=False,  # precision ledger: 2 of 2 judged not worth reading
)
def find_anaconda_default_channels(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `continuumio/miniconda3` and `continuumio/anaconda3` bases, whose conda is
    configured for Anaconda's default channels. (Split from DA509, which now means
    only the conda/pip mix.)

    ## Why is this bad?
    Anaconda's terms of service require a paid licence for organisations of 200 or
    more people that use its default channels; conda-forge has no such terms and
    carries the same packages.

    ## Example
    ```dockerfile
    FROM continuumio/miniconda3:24.7.1-0
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    ```
    """
    for stage in ctx.stages:
        if stage.from_instruction is None or not stage.from_instruction.args:
            continue
        if re.match(r"^(?:docker\.io/)?continuumio/(?:miniconda3|anaconda3)(?::|@|$)", stage.image):
            yield Violation(stage.from_instruction.args[0].span, "continuumio images default to Anaconda's channels, "
                            "which need a paid licence for organisations of 200+ people: condaforge/miniforge3 uses "
                            "conda-forge (source: base-images.toml [image.miniconda3])")  # fmt: skip


_PYTORCH_CHANNELS = ("pytorch", "pytorch-nightly", "pytorch-test")


@rule(
    "DA529",
    "pytorch-conda-channel",
    family=FAMILY,
    severity="warning",
    summary="PyTorch from its own conda channel, which stopped publishing after 2.5 (pytorch, pytorch-cuda, -c nvidia)",
)
def find_pytorch_conda_channel(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags conda installs that take PyTorch from PyTorch's own channels (`-c pytorch`,
    `-c pytorch-nightly`, `pytorch::pytorch`) or install `pytorch-cuda` (a package
    only that channel has, resolved with the `nvidia` channel). An error when the
    pinned version is 2.6 or later: it was never published there. conda-forge's
    `pytorch` is not reported.

    ## Why is this bad?
    PyTorch stopped publishing to its conda channel with 2.6: the channel is frozen
    at 2.5.1, so an unpinned install resolves to an old torch that gets no fixes, and
    a 2.6+ pin fails to solve. The `pytorch-cuda` + `-c nvidia` recipe went with it.

    ## Example
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y pytorch=2.5.1 pytorch-cuda=12.4 -c pytorch -c nvidia && conda clean -afy
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN pip install --no-cache-dir torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "conda" or invocation.action not in ("install", "create", "update"):
                continue
            channels = invocation.values("-c", "--channel")
            from_pytorch = [c for c in channels if c.rstrip("/").rsplit("/", 1)[-1] in _PYTORCH_CHANNELS]
            for word in invocation.packages:
                value = word.value
                prefix, _, spec = value.rpartition("::")
                match = re.match(r"^(pytorch(?:-cuda)?)(?:[=<>!]=?)?([\d.*]*)", spec)
                if match is None:
                    continue
                name, version = match.groups()
                if not (from_pytorch or prefix in _PYTORCH_CHANNELS or name == "pytorch-cuda"):
                    continue  # conda-forge's pytorch
                if name == "pytorch" and version and "*" not in version and _version_at_least(version, (2, 6)):
                    yield Violation(word.span, f"PyTorch {version} is not on the pytorch conda channel (publishing "
                                    "stopped with 2.6): install torch with pip, or pytorch from conda-forge (source: "
                                    "ml-compat.toml [torch_index] conda_channel_note)", severity=Severity.ERROR)  # fmt: skip
                else:
                    via = "pytorch-cuda" if name == "pytorch-cuda" else f"-c {(from_pytorch or [prefix])[0]}"
                    yield Violation(word.span, f"{value} from PyTorch's conda channel ({via}): PyTorch's conda "
                                    "channels stopped publishing with 2.6 (the last release there is 2.5.1, no fixes "
                                    "since); install torch with pip "
                                    "(--index-url https://download.pytorch.org/whl/cuXXX) or from conda-forge (source: "
                                    "ml-compat.toml [torch_index] conda_channel_note)")  # fmt: skip
                break  # one finding per install command


def _branches(instruction) -> bool:
    return re.search(r"\b(?:case|if)\b", instruction.args_text) is not None


def _version_at_least(version: str, floor: tuple[int, ...]) -> bool:
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[: len(floor)])
    return len(numbers) == len(floor) and numbers >= floor


@rule(
    "DA511",
    "cuda-eol",
    family=FAMILY,
    severity="info",
    summary="a base on an end-of-life CUDA (nvidia/cuda, pytorch/pytorch, TensorFlow GPU, `cudaX.Y` tags), or a bad tag",
)
def find_eol_cuda_bases(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `nvidia/cuda` bases on CUDA releases whose images are end-of-life (tags
    before 11.7 were removed from Docker Hub), `nvidia/cuda` without a tag (there is
    no `latest`), and CUDA 13 tags on Ubuntu 20.04, which CUDA 13 dropped. The same
    end-of-life CUDA under other tag grammars: `pytorch/pytorch:<torch>-cuda<X>-…`,
    `tensorflow/tensorflow:<ver>-gpu` (the tested CUDA of that release), and
    third-party tags that spell `cuda11.3`.

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
    knowledge = load_knowledge()
    removed_before = knowledge.raw["base-images.toml"].get("eol", {}).get("cuda_images", {}).get("removed_before")
    for facts in ml_facts(ctx).stages:
        stage = facts.stage
        if stage.parent is not None or stage.from_instruction is None or not stage.from_instruction.args:
            continue
        if facts.base.kind != "nvidia-cuda":
            found = _framework_image_cuda(facts, knowledge) if removed_before else None
            if found and _version_tuple(found[0]) < _version_tuple(removed_before):
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
        if cuda and removed_before and _version_tuple(cuda) < _version_tuple(removed_before):
            yield Violation(span, f"CUDA {cuda} images are end-of-life (tags before {removed_before} were removed): "
                            "move to a supported CUDA (source: base-images.toml [eol.cuda_images])")  # fmt: skip
        elif cuda and facts.base.cuda_major == 13 and (facts.base.os or "") == "ubuntu20.04":
            yield Violation(span, "CUDA 13 dropped Ubuntu 20.04: this tag does not exist (source: ml-compat.toml "
                            '[cuda."13.0"] dropped_os)')  # fmt: skip


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
    if base.kind == "tensorflow" and base.gpu and base.framework and " " in base.framework:
        version = base.framework.split(" ", 1)[1]
        release = knowledge.tensorflow_release(version)
        if release is not None:
            return release.cuda, f'TensorFlow {version}\'s tested CUDA, ml-compat.toml [tensorflow."{release.minor}"]'
        lowest = min(knowledge.tensorflow.values(), key=lambda r: _version_tuple(r.minor))
        if _version_tuple(version) < _version_tuple(lowest.minor):
            return f"{lowest.cuda} or older", f"TensorFlow {version} predates {lowest.minor}, tested on {lowest.cuda}"
        return None
    if base.kind in ("other", "conda") and not base.is_ngc:
        match = _THIRD_PARTY_CUDA_TAG.search(tag)
        if match:
            return match.group(1), "its tag"
    return None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def _driver_floor(cuda: str, knowledge: Knowledge) -> tuple[str, str] | None:
    """(driver, fact) a CUDA version needs: the toolkit row when known, else the major's floor."""
    parts = cuda.split(".")
    exact = knowledge.cuda_min_driver.get(cuda) or knowledge.cuda_min_driver.get(".".join(parts[:2] + ["0"]))
    if exact and len(parts) >= 2:
        return exact, f'ml-compat.toml [cuda."{parts[0]}.{parts[1]}"]'
    floor = knowledge.cuda_major_min_driver.get(int(parts[0])) if parts[0].isdigit() else None
    return (floor, "ml-compat.toml [cuda_minor_version_compat]") if floor else None


def _driver_tuple(driver: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", driver))


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
    knowledge = load_knowledge()
    newest = max(knowledge.torch.values(), key=lambda r: _version_tuple(r.minor))
    for facts in ml_facts(ctx).stages:
        stage = facts.stage
        if facts.base.cuda and stage.parent is None and stage.from_instruction is not None:
            need = _driver_floor(facts.base.cuda, knowledge)
            if need and _driver_tuple(need[0]) > _driver_tuple(fleet):
                yield Violation(stage.from_instruction.args[0].span, f"CUDA {facts.base.cuda} needs driver >= {need[0]}"
                                f", the fleet's oldest is {fleet} (source: {need[1]})")  # fmt: skip
        for install in facts.installed("torch"):
            if install.instruction not in facts.stage.instructions:
                continue
            cuda, _why = torch_cuda(install, knowledge)
            unpinned = install.version is None and not install.specifier and install.index_url is None
            if unpinned:
                cuda = newest.pypi_default_cuda
            if not cuda or cuda == "cpu":
                continue
            floor = knowledge.cuda_major_min_driver.get(int(cuda.split(".")[0]))
            if floor and _driver_tuple(floor) > _driver_tuple(fleet):
                what = f"unpinned torch resolves to {newest.latest_patch} today (CUDA {cuda})" if unpinned else (
                    f"torch {install.version} uses CUDA {cuda}"
                )  # fmt: skip
                yield Violation(install.span, f"{what}, which needs driver >= {floor}; the fleet's oldest is {fleet} "
                                "(source: ml-compat.toml [cuda_minor_version_compat])")  # fmt: skip


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
            if install.version and facts.base.cuda_major == 11 and _version_at_least(install.version, (0, 4, 26)):
                yield Violation(install.span, f"jax {install.version} has no CUDA 11 build (dropped in jaxlib 0.4.26): "
                                "use a CUDA 12 or 13 stack (source: ml-compat.toml [jax] cuda11_last)")  # fmt: skip
        pinned = {i.package: i for i in own if i.version and i.package.startswith(("jax", "jaxlib"))}
        versions = {p: i.version for p, i in pinned.items() if p in ("jax", "jaxlib") or "plugin" in p or "pjrt" in p}
        if len(set(versions.values())) > 1:
            culprit = pinned[sorted(versions)[-1]]
            yield Violation(culprit.span, "jax, jaxlib and the CUDA plugin must be the same version: "
                            + ", ".join(f"{p}=={v}" for p, v in sorted(versions.items())))  # fmt: skip


def _install_cuda_major(install: FrameworkInstall, knowledge: Knowledge) -> int | None:
    """The CUDA major an install brings as wheels, when the file settles it."""
    if install.package == "torch":
        cuda, _why = torch_cuda(install, knowledge)
        return _major(cuda) if cuda and cuda != "cpu" else None
    if install.package == "tensorflow" and "and-cuda" in install.extras and install.version:
        tf = knowledge.tensorflow_release(install.version)
        return _major(tf.cuda) if tf else None
    if install.package == "jax":
        match = next((re.match(r"cuda(\d+)", e) for e in install.extras if e.startswith("cuda")), None)
        return int(match.group(1)) if match else None
    match = re.match(r"cupy-cuda(\d+)x$", install.package) or re.match(r"nvidia-[\w-]+-cu(\d+)$", install.package)
    return int(match.group(1)) if match else None


@rule(
    "DA515",
    "mixed-cuda-stacks",
    family=FAMILY,
    severity="warning",
    summary="several CUDA majors in one image (torch on CUDA 13 with TF/jax on 12, cupy of another major …)",
)
def find_mixed_cuda_stacks(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Collects the CUDA major each install brings — torch (its variant or PyPI default),
    `tensorflow[and-cuda]`, `jax[cudaXX]`, `cupy-cudaXXx`, `nvidia-*-cuXX` — and flags
    an image where they differ.

    ## Why is this bad?
    Each CUDA stack is gigabytes of libraries; two of them double the image, and
    frameworks that load each other's libraries (through `LD_LIBRARY_PATH` or a shared
    process) pick the wrong one. Some pairs are not even installable together.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.11.0 "tensorflow[and-cuda]==2.20.0"
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.10.0 "tensorflow[and-cuda]==2.20.0"
    ```
    """
    knowledge = load_knowledge()
    facts = _image_facts(ctx)
    if facts is None:
        return
    carriers = [(i, m) for i in facts.installs if (m := _install_cuda_major(i, knowledge)) is not None]
    majors = {m: i for i, m in reversed(carriers)}  # each major's first install
    if len(majors) < 2:
        return
    first_major = carriers[0][1]
    culprit = next(i for i, m in carriers if m != first_major)
    listed = "; ".join(f"CUDA {m}: {i.package} (line {i.line})" for m, i in sorted(majors.items()))
    yield Violation(culprit.span, f"one image, several CUDA majors ({listed}): each is a full CUDA stack "
                    "(source: ml-compat.toml [nvidia_wheel_naming])")  # fmt: skip


_NVIDIA_CUDA_WHEEL = re.compile(r"^nvidia-(?:cuda|cudnn|cublas|cufft|curand|cusolver|cusparse|nccl|nvjitlink)")
_SYSTEM_CUDA_PATHS = re.compile(r"/usr/local/cuda[\w.-]*/(?:lib64|lib)|/usr/lib/x86_64-linux-gnu")


@rule(
    "DA517",
    "ld-library-path-shadows-wheels",
    family=FAMILY,
    severity="warning",
    summary="LD_LIBRARY_PATH puts the base's CUDA libraries before the ones pip wheels bring",
)
def find_ld_library_path_shadowing(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags an `ENV LD_LIBRARY_PATH` that puts `/usr/local/cuda/lib64` (or the system
    library directory) first, in a stage whose CUDA comes from pip wheels: `jax[cudaXX]`,
    `tensorflow[and-cuda]`, `nvidia-*` wheels, or a pinned torch.

    ## Why is this bad?
    `LD_LIBRARY_PATH` outranks the wheels' RUNPATH, so a system `libcudnn.so.9` or
    `libcublas.so.12` of another minor version is loaded instead of the one the
    framework was built with; JAX aborts with a cuDNN version error, torch can crash
    in a kernel. JAX's install guide says to leave `LD_LIBRARY_PATH` unset.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    ENV LD_LIBRARY_PATH=/usr/local/cuda/lib64:$LD_LIBRARY_PATH
    RUN pip install --no-cache-dir "jax[cuda12]==0.4.35"
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    RUN pip install --no-cache-dir "jax[cuda12]==0.4.35"
    ```
    """
    for facts in ml_facts(ctx).stages:
        wheels = [
            i for i in facts.installs
            if (i.package == "jax" and any(e.startswith("cuda") and "local" not in e for e in i.extras))
            or (i.package == "tensorflow" and "and-cuda" in i.extras) or _NVIDIA_CUDA_WHEEL.match(i.package)
            or (i.package == "torch" and i.version)
        ]  # fmt: skip
        if not wheels:
            continue
        for instruction in facts.stage.instructions:
            if instruction.name != "ENV":
                continue
            for index, (key, value, _sep) in enumerate(env_pairs(instruction)):
                if key != "LD_LIBRARY_PATH":
                    continue
                first = value.strip("'\"").split(":")[0]
                if _SYSTEM_CUDA_PATHS.search(first):
                    yield Violation(instruction.args[index * 3].span, f"LD_LIBRARY_PATH starts with {first}: the "
                                    f"system CUDA libraries shadow the ones {wheels[0].package} brings as wheels "
                                    "(source: ml-compat.toml [jax] ld_library_path)")  # fmt: skip


_REINSTALLABLE = ("torch", "tensorflow")  # the frameworks DA521 knows an image may ship


@rule(
    "DA521",
    "reinstall-framework",
    family=FAMILY,
    severity="warning",
    summary="a framework image whose framework is installed again at another version",
)
def find_framework_reinstalls(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install torch` on `pytorch/pytorch` or `nvcr.io/nvidia/pytorch` images,
    and `pip install tensorflow` on `tensorflow/tensorflow`, when the version differs
    from the one in the tag or is not pinned (so pip may replace it).

    ## Why is this bad?
    The image's framework stays in its layer and a second copy — often with another
    CUDA — is added on top: gigabytes of duplicate libraries, and NVIDIA's tuned build
    replaced by a generic wheel.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime
    RUN pip install --no-cache-dir torch==2.3.0
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.3.0-cuda11.8-cudnn8-runtime
    ```
    """
    for facts in ml_facts(ctx).stages:
        for package in (p for p in facts.base.ships if p in _REINSTALLABLE):
            yield from _reinstalls(facts, package)


def _reinstalls(facts: StageFacts, package: str) -> Iterator[Violation]:
    """pip installs of ``package`` in the stage, on a base whose table row says it ships that package."""
    name, _, shipped = (facts.base.framework or "").partition(" ")
    shipped_version = shipped if name == package and shipped else None
    for install in facts.installed(package):
        if install.instruction not in facts.stage.instructions or install.tool == "conda":
            continue
        installed = (install.version or "").split("+")[0] or None
        if installed is not None and shipped_version is not None and installed == shipped_version:
            continue
        if installed is None and install.specifier:
            continue  # a range the shipped version may satisfy: pip keeps it
        what = f"{package} {installed}" if installed else f"unpinned {package}"
        ships = facts.base.framework if shipped_version else package
        yield Violation(install.span, f"{what} on '{facts.base.image}', which already ships {ships}: a second copy "
                        "(and CUDA stack) on top; pick the image tag that matches instead (source: ml-compat.toml "
                        "[pytorch_image], base-images.toml [image.ngc_*])")  # fmt: skip


_CUDA_APT = re.compile(r"^(?:cuda-(?:toolkit|libraries|runtime|compiler|nvcc|cudart)[\w.-]*|cuda-\d+-\d+|libcudnn[\w.-]*"
                       r"|cudnn[\w.-]*|nvidia-cuda-toolkit)(?:=.*)?$")  # fmt: skip  (no \d* before [\w.-]*: quadratic)


@rule(
    "DA527",
    "redundant-cuda-install",
    family=FAMILY,
    severity="warning",
    summary="CUDA toolkit or cuDNN installed again on an nvidia/cuda base that ships them",
)
def find_redundant_cuda_installs(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags apt installs of CUDA toolkit or cuDNN packages (`cuda-toolkit-12-4`,
    `libcudnn9-cuda-12`, `nvidia-cuda-toolkit`) and conda installs of `cudatoolkit` on
    an `nvidia/cuda` or `pytorch/pytorch` base, which already ship CUDA (and cuDNN in
    their cudnn flavours) — or a second CUDA version.

    ## Why is this bad?
    It duplicates gigabytes the base already has, or installs a second CUDA version
    next to the first, and `nvidia-cuda-toolkit` from Ubuntu is an older, unrelated
    CUDA.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends cuda-toolkit-12-4=12.4.1-1 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
    ```
    """
    for facts in ml_facts(ctx).stages:
        if facts.base.kind not in ("nvidia-cuda", "pytorch"):
            continue
        ships = "CUDA " + (facts.base.cuda or "")
        base_minor = "-".join((facts.base.cuda or "").split(".")[:2])
        for package, instruction, span in facts.os_packages:
            if instruction not in facts.stage.instructions or not _CUDA_APT.match(package):
                continue
            version = re.search(r"-(\d+-\d+)(?:=|$)", package)
            if package.startswith(("libcudnn", "cudnn")):
                if facts.base.cudnn_major is None:
                    continue  # adding cuDNN to a flavour without it is how you get cuDNN there
                what = f"cuDNN {facts.base.cudnn_major}"
            elif package.startswith("nvidia-cuda-toolkit"):
                what = f"{ships} (Ubuntu's nvidia-cuda-toolkit is an older, separate CUDA)"
            elif version and base_minor and version.group(1) != base_minor:
                what = f"{ships}, not {version.group(1).replace('-', '.')}: a second CUDA version"
            elif facts.base.flavour == "devel":
                what = f"{ships} with every toolkit package"
            else:
                continue  # adding libraries or the compiler to base/runtime is how those flavours grow
            yield Violation(span, f"'{package}' on '{facts.base.image}', which already ships {what}")
        for install in facts.installed("cudatoolkit", "cuda-toolkit"):
            if install.instruction in facts.stage.instructions:
                yield Violation(install.span, f"{install.package} on a base that ships {ships}: a second CUDA stack")


def _remove_env_pair(ctx: LintContext, instruction, index: int) -> Fix | None:
    """Delete one KEY=value of an ENV (the whole instruction when it is the only pair): unsafe, since the
    program then uses the GPUs the runtime gives instead of the fixed list."""
    pairs = env_pairs(instruction)
    if instruction.start_line != instruction.end_line:
        return None  # continuation lines: leave the layout to the author
    key, value = instruction.args[index * 3], instruction.args[index * 3 + 1]
    if "=" not in ctx.text(Span(key.span.start, max(value.span.end, key.span.end))):
        return None  # legacy `ENV KEY value`
    if len(pairs) == 1:
        return Fix("remove the ENV", (Edit(instruction.line_span, ""),), safe=False, reshapes=True)
    if index + 1 < len(pairs):
        span = Span(key.span.start, instruction.args[(index + 1) * 3].span.start)
    else:
        span = Span(instruction.args[index * 3 - 2].span.end, max(value.span.end, key.span.end))
    return Fix("remove the variable", (Edit(span, ""),), safe=False)


_REQUIREMENT_HEAD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9._,-]*\])?$")
_SPECIFIER_TOOLS = ("pip", "uv", "pipx", "conda")


@rule(
    "DA530",
    "unquoted-version-specifier",
    family=FAMILY,
    severity="error",
    summary="an unquoted `pkg>=1.2` / `pkg<2` in a RUN install: the shell reads a redirect and drops the pin",
    fix="safe",
)
def find_unquoted_version_specifiers(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a pip, uv, pipx or conda install in a shell-form RUN whose requirement has
    an unquoted `>` or `<` (`numpy>=1.26`, `torch<2.5`, `scipy>1,<2`). The fix quotes
    the requirement (`"numpy>=1.26"`); it is offered only where the word holds no
    quote, backslash or backtick, so the quoted word means what was meant.
    (ShellCheck calls this SC2261; DA703 runs ShellCheck only when asked.)

    ## Why is this bad?
    The shell splits `numpy>=1.26` into the word `numpy` and a redirect of the output
    to a file named `=1.26`: pip installs the newest numpy, the version bound is
    silently dropped, and a stray file lands in the image. With `<` the shell reads
    stdin from a file named after the version, and the build fails with "No such
    file or directory".

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir numpy>=1.26
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir "numpy>=1.26"
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name != "RUN" or target.json:
            continue  # exec form: no shell, no redirect
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in _SPECIFIER_TOOLS or not (installs(invocation) or invocation.action == "create"):
                continue
            for word in invocation.packages:
                at = unquoted_redirect(word.raw)
                if at is None or at == 0 or not _REQUIREMENT_HEAD.match(word.raw[:at]):
                    continue
                yield Violation(word.span or invocation.command.span, f"unquoted {word.raw}: the shell reads "
                                f'{_redirect_effect(word.raw, at)}; quote it ("{word.raw}")',
                                fix=_quote_fix(ctx, word))  # fmt: skip


def _redirect_effect(raw: str, at: int) -> str:
    """What the shell does with ``name>=1.2`` / ``name<2`` / ``name>=1,<2`` split at offset ``at``."""
    name, rest = raw[:at], raw[at + 1 :]
    second = unquoted_redirect(rest)
    target = rest if second is None else rest[:second]
    if raw[at] == "<" or (second is not None and rest[second] == "<"):
        source = target if raw[at] == "<" else rest[second + 1 :]
        return f"'<' as input from a file '{source}': the install fails (no such file)"
    return f"'>' as output to a file '{target}': {name} is installed without the bound"


def _quote_fix(ctx: LintContext, word) -> Fix | None:
    """Wrap the word in double quotes: safe only when the word as written has no quoting of its own."""
    if word.span is None or ctx.text(word.span) != word.raw or any(c in word.raw for c in "\"'\\`"):
        return None
    return Fix("quote the requirement", (Edit(word.span, f'"{word.raw}"'),))


def _stage_invocations(ctx: LintContext, facts: StageFacts) -> Iterator[tuple[Instruction, Invocation]]:
    """The pip/uv/pipx invocations of the stage's own instructions, in order."""
    for instruction in facts.stage.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool in ("pip", "uv", "pipx"):
                yield instruction, invocation


def _package_names(invocation: Invocation) -> list[tuple[str, ShellWord]]:
    found = []
    for word in invocation.packages:
        name = parse_requirement(word.value).name if "$" not in word.value else None
        if name:
            found.append((name, word))
    return found


@rule(
    "DA531",
    "onnxruntime-cpu-and-gpu",
    family=FAMILY,
    severity="warning",
    summary="onnxruntime and onnxruntime-gpu in one environment: one module, the later install shadows the other",
)
def find_onnxruntime_cpu_and_gpu(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags an image that installs both `onnxruntime` and `onnxruntime-gpu` with pip or
    uv (on the command line or in a requirements file it reads), unless
    `pip uninstall onnxruntime` follows. An error when the CPU package comes last:
    the GPU build is then gone. Installs in one RUN behind `if`/`case` count as
    alternatives.

    ## Why is this bad?
    Both distributions install the same `onnxruntime` module. Whichever is installed
    last overwrites the other's files, pip still lists both, and uninstalling one
    breaks the other; with the CPU package last, `CUDAExecutionProvider` silently
    disappears and inference runs on the CPU.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    RUN pip install --no-cache-dir onnxruntime-gpu==1.20.1
    RUN pip install --no-cache-dir onnxruntime==1.20.1
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04
    RUN pip install --no-cache-dir onnxruntime-gpu==1.20.1
    ```
    """
    facts = _image_facts(ctx)
    if facts is None:
        return
    cpu = facts.installed("onnxruntime")
    gpu = facts.installed("onnxruntime-gpu")
    if not cpu or not gpu:
        return
    last_cpu, last_gpu = cpu[-1], gpu[-1]
    if last_cpu.instruction is last_gpu.instruction and _branches(last_cpu.instruction):
        return
    later = max(last_cpu.line, last_gpu.line)
    for instruction in facts.stage.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.action in ("remove", "uninstall") and instruction.start_line >= later and any(
                n in ("onnxruntime", "onnxruntime-gpu") for n, _w in _package_names(invocation)
            ):
                return  # the usual repair: drop one of them after both are in
    cpu_last = (last_cpu.line, last_cpu.from_file is None) > (last_gpu.line, last_gpu.from_file is None)
    culprit = last_cpu if cpu_last else last_gpu
    consequence = (
        "the CPU build overwrites the GPU one and CUDAExecutionProvider is gone"
        if cpu_last
        else "both own the onnxruntime module; removing either breaks the other"
    )
    yield Violation(culprit.span, f"onnxruntime (line {last_cpu.line}) and onnxruntime-gpu (line {last_gpu.line}) "
                    f"in one environment: {consequence}; install only onnxruntime-gpu (it runs on the CPU too)",
                    severity=Severity.ERROR if cpu_last else None)  # fmt: skip


_PLACEHOLDERS = {
    "pytorch": "the PyPI 'pytorch' package is a placeholder whose install raises an error: the package is 'torch'",
    "sklearn": "the PyPI 'sklearn' package is deprecated and its install fails since December 2023: the package is "
    "'scikit-learn'",
}


@rule(
    "DA532",
    "placeholder-package",
    family=FAMILY,
    severity="error",
    summary="pip install of a placeholder name that fails the build (`pytorch`, `sklearn`)",
)
def find_placeholder_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install pytorch` and `pip install sklearn` (also with uv, and in a
    requirements file it reads). conda's `pytorch` package is real and not reported;
    `sklearn` is not reported where `SKLEARN_ALLOW_DEPRECATED_SKLEARN_PACKAGE_INSTALL`
    is set.

    ## Why is this bad?
    On PyPI both are placeholders: `pytorch` raises "You tried to install 'pytorch'.
    The package named for PyTorch is 'torch'", and `sklearn` raises an error telling
    you to install `scikit-learn`. The build fails.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir pytorch sklearn
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.5.1 scikit-learn==1.5.2
    ```
    """
    for facts in ml_facts(ctx).stages:
        allowed = "SKLEARN_ALLOW_DEPRECATED_SKLEARN_PACKAGE_INSTALL" in facts.env
        for instruction, invocation in _stage_invocations(ctx, facts):
            if not installs(invocation):
                continue
            inline = any(
                a.startswith("SKLEARN_ALLOW_DEPRECATED_SKLEARN_PACKAGE_INSTALL=")
                for c in ctx.commands(instruction)
                for a in c.assignments
            )
            for name, word in _package_names(invocation):
                if name in _PLACEHOLDERS and not (name == "sklearn" and (allowed or inline)):
                    yield Violation(word.span or invocation.command.span, f"{_PLACEHOLDERS[name]} (source: PyPI)")
        for install in facts.installed("pytorch"):
            if install.from_file and install.tool != "conda" and install.instruction in facts.stage.instructions:
                yield Violation(install.span, f"{install.from_file} asks for 'pytorch': {_PLACEHOLDERS['pytorch']}")


_WHEEL_NAME = re.compile(
    r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)


@rule(
    "DA533",
    "wheel-tag-mismatch",
    family=FAMILY,
    severity="error",
    summary="a hard-coded wheel URL whose Python, CUDA or torch tag does not match the image",
)
def find_wheel_tag_mismatch(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Reads the file name of a wheel installed by URL or path
    (`torch-2.1.0+cu121-cp310-cp310-linux_x86_64.whl`,
    `flash_attn-2.6.3+cu123torch2.4cxx11abiFALSE-cp310-cp310-linux_x86_64.whl`) and
    compares its tags with what the stage settles: the CPython tag with the image's
    Python, a `+cuXYZ` tag with the base image's CUDA major, and a `torchX.Y` tag
    with the pinned torch. Names with variables are left alone.

    ## Why is this bad?
    pip refuses a wheel whose Python tag does not match ("is not a supported wheel
    on this platform"); a flash-attn wheel built for another torch fails at import
    with undefined symbols; a CUDA 11 build on a CUDA 12 base brings a second stack.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir https://download.pytorch.org/whl/cu121/torch-2.1.0%2Bcu121-cp310-cp310-linux_x86_64.whl
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    RUN pip install --no-cache-dir https://download.pytorch.org/whl/cu121/torch-2.1.0%2Bcu121-cp311-cp311-linux_x86_64.whl
    ```
    """
    for facts in ml_facts(ctx).stages:
        torches = [i.version.split("+")[0] for i in facts.installed("torch") if i.version]
        for _instruction, invocation in _stage_invocations(ctx, facts):
            for word in invocation.packages:
                problem = _wheel_problem(word.value, facts, torches[-1] if torches else None)
                if problem:
                    yield Violation(word.span or invocation.command.span, problem)


def _wheel_problem(value: str, facts: StageFacts, torch: str | None) -> str | None:
    if "$" in value or not value.endswith(".whl"):
        return None
    filename = value.rsplit("/", 1)[-1].replace("%2B", "+").replace("%2b", "+")
    match = _WHEEL_NAME.match(filename)
    if match is None:
        return None
    python_tag, abi = match.group("python"), match.group("abi")
    cpython = re.fullmatch(r"cp(\d)(\d+)", python_tag)
    if cpython and facts.python and re.fullmatch(r"\d+\.\d+", facts.python):
        wheel_python = (int(cpython.group(1)), int(cpython.group(2)))
        image_python = _python_tuple(facts.python)
        if (abi == "abi3" and image_python < wheel_python) or (abi != "abi3" and image_python != wheel_python):
            return (f"{filename} is built for CPython {wheel_python[0]}.{wheel_python[1]}, the image has Python "
                    f"{facts.python} ({facts.python_from}): pip refuses it (not a supported wheel on this platform)")  # fmt: skip
    local = match.group("version").partition("+")[2]
    cuda = re.match(r"cu(\d{2,3})", local)
    base_major = facts.base.cuda_major
    if cuda and base_major is not None:
        digits = cuda.group(1)
        major = int(digits[:2]) if len(digits) == 3 else int(digits[:1])  # cu121 → 12, cu92 → 9
        if major != base_major:
            return (f"{filename} is built for CUDA {major}, the base has CUDA {facts.base.cuda}: a second CUDA stack, "
                    "and extensions built against the base fail")  # fmt: skip
    wanted_torch = re.search(r"torch(\d+\.\d+)", local)
    if wanted_torch and torch and not (torch + ".").startswith(wanted_torch.group(1) + "."):
        return (f"{filename} is built for torch {wanted_torch.group(1)}, the image pins torch {torch}: it fails at "
                "import with undefined symbols")  # fmt: skip
    return None


# Packages that compile code when the model first runs: Triton kernels need a C compiler (for the launcher
# stub) — vLLM, SGLang, unsloth and explicit triton installs run them; DeepSpeed's ops and FlashInfer's
# kernels are JIT-compiled with nvcc unless prebuilt.
_NEEDS_C_COMPILER = frozenset({"vllm", "sglang", "unsloth", "triton"})
_NEEDS_NVCC = frozenset({"deepspeed", "flashinfer", "flashinfer-python"})
_PREBUILT_FLASHINFER = frozenset({"flashinfer-jit-cache", "flashinfer-cubin"})
_C_COMPILERS = re.compile(r"^(?:build-essential|gcc(?:-\d+)?|clang(?:-\d+)?|gcc-c\+\+|build-base)(?:[=-].*)?$")


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
    runtime/base or a plain OS image without `build-essential`/`gcc`; DeepSpeed and
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


def _missing_jit_compilers(ctx: LintContext, facts: StageFacts) -> Iterator[Violation]:
    own = [i for i in facts.installs if i.instruction in facts.stage.instructions]
    packages = {p for p, _i, _s in facts.os_packages}
    c_compiler = _has_c_compiler(facts)
    if c_compiler is False and not any(_C_COMPILERS.match(p) for p in packages):
        for install in [i for i in own if i.package in _NEEDS_C_COMPILER][:1]:
            yield Violation(install.span, f"{install.package} runs Triton kernels, which compile a C launcher with gcc "
                            f"when the model first runs, and '{facts.base.image}' has no C compiler: it fails with "
                            "'Failed to find C compiler'; install gcc (or build-essential) in this stage")  # fmt: skip
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
            pin = exact_torch_pin(install.package, install.version)
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
