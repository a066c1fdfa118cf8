"""DA515–DA519 — how a second CUDA or the wrong wheels get in: several CUDA majors in one image,
extension builds isolated from the installed torch, LD_LIBRARY_PATH before the wheels' libraries,
torch from an extra index, pip into an externally managed Python.

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
    CUDA_SOURCE_PACKAGES,
    PYTORCH_WHEEL_HOST,
    FrameworkInstall,
    image_stage_facts,
    ml_facts,
    torch_install_cuda,
)
from dockaudit.facts.versions import major_version
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import env_pairs

FAMILY = "ml"


def _install_cuda_major(install: FrameworkInstall, knowledge: Knowledge) -> int | None:
    """The CUDA major an install brings as wheels, when the file settles it."""
    if install.package == "torch":
        cuda, _why = torch_install_cuda(install, knowledge)
        return major_version(cuda) if cuda and cuda != "cpu" else None
    if install.package == "tensorflow" and "and-cuda" in install.extras and install.version:
        tf = knowledge.tensorflow_release(install.version)
        return major_version(tf.cuda) if tf else None
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
    knowledge = ctx.knowledge
    facts = image_stage_facts(ctx)
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
                (o for o in invocation.options if o.name == "--extra-index-url" and PYTORCH_WHEEL_HOST in (o.value or "")),
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
