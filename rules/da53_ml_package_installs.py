"""DA530–DA536 — single ML package installs that go wrong: unquoted version specifiers the shell
reads as redirects, onnxruntime twice, placeholder package names, wheel URLs for another Python or
CUDA, kernels compiled at first run with no compiler, exact torch pins that replace the base's torch,
and a cuDNN base under wheels that bring their own cuDNN.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``: ``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned,
ARG without a default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.installs import Invocation, in_branching_run, installs, unquoted_redirect
from dockaudit.facts.knowledge import Knowledge
from dockaudit.facts.mlfacts import (
    TRITON_PACKAGES,
    FrameworkInstall,
    StageFacts,
    exact_torch_pin,
    image_stage_facts,
    ml_facts,
)
from dockaudit.facts.requirements import parse_requirement
from dockaudit.facts.versions import major_minor
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import ShellWord
from dockaudit.patterns import lazy_pattern

FAMILY = "ml"


_REQUIREMENT_HEAD = lazy_pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9._,-]*\])?$")


_SPECIFIER_TOOLS = ("pip", "uv", "pipx", "conda")


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
    facts = image_stage_facts(ctx)
    if facts is None:
        return
    cpu = facts.installed("onnxruntime")
    gpu = facts.installed("onnxruntime-gpu")
    if not cpu or not gpu:
        return
    last_cpu, last_gpu = cpu[-1], gpu[-1]
    if last_cpu.instruction is last_gpu.instruction and in_branching_run(last_cpu.instruction):
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


def _stage_invocations(ctx: LintContext, facts: StageFacts) -> Iterator[tuple[Instruction, Invocation]]:
    """The pip/uv/pipx invocations of the stage's own instructions, in order."""
    for instruction in facts.stage.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool in ("pip", "uv", "pipx"):
                yield instruction, invocation


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


_WHEEL_NAME = lazy_pattern(
    r"^(?P<name>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)


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
        image_python = major_minor(facts.python)
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


# DeepSpeed's ops and FlashInfer's kernels are JIT-compiled with nvcc unless prebuilt (Triton's C launcher
# is mlfacts.TRITON_PACKAGES).
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
