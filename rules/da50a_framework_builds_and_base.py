"""DA501–DA505 — a framework build against its base: torch and TensorFlow built for another CUDA
than the image's, framework versions with no wheel for the image's Python, CUDA devel bases in a
final stage that compiles nothing, CPU torch on a CUDA base (and the reverse).  DA501 and DA505
share the fix that points a torch index URL at the base's CUDA.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``: ``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned,
ARG without a default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.knowledge import Knowledge
from dockaudit.facts.mlfacts import (
    BUILD_TOOLS,
    NVCC_COMPILE_KINDS,
    PYTORCH_WHEEL_HOST,
    RUNTIME_NVCC_PACKAGES,
    FrameworkInstall,
    StageFacts,
    image_stage_facts,
    ml_facts,
    torch_install_cuda,
)
from dockaudit.facts.versions import major_minor, major_version, version_numbers
from dockaudit.linting.edits import insert_after_word
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.source import Span

FAMILY = "ml"


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
    knowledge = ctx.knowledge
    for facts in ml_facts(ctx).stages:
        base_major = facts.base.cuda_major
        if base_major is None:
            continue
        for install in facts.installed("torch"):
            if install.instruction not in facts.stage.instructions:
                continue  # reported on the stage that installs it
            cuda, why = torch_install_cuda(install, knowledge)
            major = major_version(cuda)
            if major is None or major == base_major:
                continue
            compiles = [
                c for c in facts.compiles if c.instruction.start_line >= install.line and c.kind in NVCC_COMPILE_KINDS
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
                f"{consequence}; use a CUDA {major} base or --index-url https://{PYTORCH_WHEEL_HOST}/whl/cu"
                f"{facts.base.cuda.replace('.', '')[:3]}",
                severity=severity,
                fix=_index_fix(ctx, install, facts, knowledge),
            )


def _jax_python_floor(version: str, knowledge: Knowledge) -> str | None:
    """The lowest Python a jax release supports, from [jax].min_python_history."""
    history = knowledge.jax.get("min_python_history", {})
    floor = None
    for since, python in sorted(history.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))):
        if version_numbers(version, 3) >= tuple(int(p) for p in since.split(".")):
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
    knowledge = ctx.knowledge
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
                if floor and major_minor(python) < major_minor(floor.lstrip(">=")):
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
    knowledge = ctx.knowledge
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
            if major_version(tf.cuda) != facts.base.cuda_major:
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
    facts = image_stage_facts(ctx)
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
        edit = insert_after_word(ctx.dockerfile, invocation.verb, f"--index-url https://{PYTORCH_WHEEL_HOST}/whl/cpu")
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
                    _index_fix(ctx, install, facts, ctx.knowledge),
                )
            elif cpu_declared and install.variant is None and install.index_url is None and not facts.base.gpu:
                yield Violation(
                    install.span,
                    "the image is CPU-only but the PyPI torch wheel pulls several GB of CUDA libraries: add "
                    f"--index-url https://{PYTORCH_WHEEL_HOST}/whl/cpu (source: base-images.toml [payload.torch])",
                    _cpu_index_fix(ctx, install),
                )
