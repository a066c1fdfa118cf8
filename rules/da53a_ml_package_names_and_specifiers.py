"""DA530–DA533 — single ML package installs that go wrong: unquoted version specifiers the shell
reads as redirects, onnxruntime twice, placeholder package names, wheel URLs for another Python or
CUDA.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``); when a version is not settled by the file (unpinned, ARG without a default), the
rule stays silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.installs import Invocation, in_branching_run, installs, unquoted_redirect
from dockaudit.facts.mlfacts import (
    StageFacts,
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
