"""DA601–DA603 — base images: bigger than needed, past their end of life (``ctx.knowledge``'s EOL
table, judged by ``as-of``), or carrying a toolchain to production.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.imageref import parse_image_ref
from dockaudit.facts.mlfacts import ml_facts, run_time_compiles
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.source import Span
from dockaudit.patterns import lazy_pattern

FAMILY = "bases"


_FULL_PYTHON = lazy_pattern(r"^\d+(?:\.\d+){0,2}(?:-(?:bookworm|bullseye|trixie|buster))?$")


def _final_base(ctx: LintContext):
    stage = ctx.target_stage
    if stage is None:
        return None, None
    root = stage.ancestry()[-1]
    if root.from_instruction is None or not root.from_instruction.args or root.unresolved:
        return None, None
    return root, parse_image_ref(root.image)


@rule(
    "DA601",
    "bloated-base",
    family=FAMILY,
    severity="info",
    summary="a full base image where a slim one serves (python:3.x → -slim, anaconda3 → miniforge, TF full → slim)",
    fix="unsafe",
    enabled=False,  # precision ledger: 2 of 4 judged not worth reading
)
def find_bloated_bases(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes the image's base (the final stage, through the stages it is built FROM)
    when a much smaller sibling serves the same runtime: `python:3.12` (Debian with a
    compiler toolchain) → `python:3.12-slim`; `continuumio/anaconda3` →
    `condaforge/miniforge3`; `tensorflow/tensorflow` → `python:3.x-slim` with
    `pip install tensorflow` (not its `devel` and `custom-op` tags: build
    environments whose toolchain and source tree the build uses). Sizes come from
    `dockaudit/facts/knowledge/base-images.toml`. Builder stages may stay full.

    ## Why is this bad?
    Every deploy pulls the difference (about 0.9 GB for python:3.x over -slim), and a
    bigger base means more packages to patch and more CVEs in the scan.

    ## Example
    ```dockerfile
    FROM python:3.12
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```
    """
    root, ref = _final_base(ctx)
    if root is None or ref is None or "/.devcontainer/" in f"/{ctx.path or ''}":
        return  # a dev container is a workstation image: the full toolchain is the point
    images = ctx.knowledge.images
    name, tag = ref.short_name, ref.tag or ""
    span = root.from_instruction.args[0].span
    if name == "python" and _FULL_PYTHON.match(tag):
        full = images.get("python_full", {}).get("uncompressed_mb")
        slim = images.get("python_slim", {}).get("uncompressed_mb")
        size = (
            f" (about {full} MB vs {slim} MB uncompressed; source: base-images.toml [image.python_full])"
            if full and slim
            else ""
        )
        written = ctx.text(span)
        version = re.search(r":(\d+(?:\.\d+){0,2})(?=-|@|$)", written)
        fix = None
        if version:
            at = span.start + version.end()
            fix = Fix("use the -slim variant", (Edit(Span(at, at), "-slim"),), safe=False)
        yield Violation(span, f"python:{tag} is the full Debian image with compilers: use python:{tag.split('-')[0]}-slim"
                        f" for the runtime{size}", fix=fix)  # fmt: skip
    elif name == "continuumio/anaconda3":
        yield Violation(span, "anaconda3 ships hundreds of packages you do not use: condaforge/miniforge3 or "
                        "mambaorg/micromamba install only what the environment needs (source: base-images.toml "
                        "[image.miniconda3])")  # fmt: skip
    elif name == "tensorflow/tensorflow" and "jupyter" not in tag and not re.search(r"devel|custom-op", tag):
        # devel and custom-op tags are build environments: the toolchain and TF's source tree are the point
        sizes = images.get("tensorflow_gpu" if "gpu" in tag else "tensorflow_cpu", {}).get("compressed_gb", "")
        yield Violation(span, f"tensorflow/tensorflow:{tag or 'latest'} (compressed {sizes} GB) bundles a full "
                        "toolchain: python:3.x-slim + pip install tensorflow (or tensorflow[and-cuda]) is smaller "
                        "(source: base-images.toml [image.tensorflow_cpu])")  # fmt: skip


def _eol_key(kind: str, tag: str) -> tuple[str, str] | None:
    """(table, version) to look up: python 3.8, debian 10, ubuntu 18.04, node 16, alpine 3.17."""
    if kind == "python":
        match = re.match(r"^(\d+\.\d+)", tag)
        return ("python", match.group(1)) if match else None
    if kind == "node":
        match = re.match(r"^(\d+)", tag)
        return ("node", match.group(1)) if match else None
    if kind in ("ubuntu", "alpine"):
        match = re.match(r"^(\d+\.\d+)", tag)
        return (kind, match.group(1)) if match else None
    if kind == "debian":
        codenames = {"stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}
        for codename, number in codenames.items():
            if tag.startswith(codename):
                return "debian", number
        match = re.match(r"^(\d+)", tag)
        return ("debian", match.group(1)) if match else None
    return None


@rule(
    "DA602",
    "eol-base",
    family=FAMILY,
    severity="warning",
    summary="a base on an end-of-life release (python 3.8, ubuntu 18.04, debian buster, node 16, …)",
)
def find_eol_bases(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `FROM` images on releases past their end of life, by the dates in
    `dockaudit/facts/knowledge/base-images.toml` `[eol.*]`: Python (`python:3.8-slim`), Debian
    (`debian:buster`, also the Debian behind `python:3.11-bullseye`), Ubuntu
    (`ubuntu:18.04`, and the Ubuntu of `nvidia/cuda:*-ubuntu18.04`), Node
    (`node:16`) and Alpine.

    ## Why is this bad?
    End-of-life releases get no security fixes: every new CVE in OpenSSL, glibc or
    the interpreter stays in your image for good, and scanners flag it.

    ## Example
    ```dockerfile
    FROM python:3.8-slim
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    ```
    """
    eol = ctx.knowledge.eol
    today = ctx.options.as_of or dt.date.today()
    for facts in ml_facts(ctx).stages:
        stage = facts.stage
        if stage.parent is not None or stage.from_instruction is None or facts.base.image is None:
            continue
        ref = facts.base.image
        name, tag = ref.short_name, (ref.tag or "")
        lookups = []
        if name in ("python", "node", "ubuntu", "debian", "alpine"):
            lookups.append(_eol_key(name, tag))
        if name in ("python", "node"):
            variant = tag.split("-", 1)[1] if "-" in tag else ""
            lookups.append(
                _eol_key("debian", variant) if variant and not variant.startswith(("slim", "alpine")) else None
            )
            if "-slim-" in tag:
                lookups.append(_eol_key("debian", tag.split("-slim-", 1)[1]))
        os_name = facts.base.os or ""
        match = re.match(r"^(ubuntu|debian)(\d+(?:\.\d+)?)$", os_name)
        if name.endswith("nvidia/cuda") and match:
            lookups.append((match.group(1), match.group(2)))
        for lookup in lookups:
            if lookup is None or lookup[0] not in eol or lookup[1] not in eol[lookup[0]]:
                continue
            ended = eol[lookup[0]][lookup[1]]
            if ended <= today:
                yield Violation(stage.from_instruction.args[0].span, f"{lookup[0]} {lookup[1]} reached end of life on "
                                f"{ended.isoformat()}: no more security fixes (source: base-images.toml "
                                f"[eol.{lookup[0]}])")  # fmt: skip
                break


@rule(
    "DA603",
    "single-stage-build",
    family=FAMILY,
    severity="info",
    summary="CUDA code compiled on a devel base in a single-stage build: the toolchain ships to production",
)
def find_single_stage_builds(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes a Dockerfile with a single stage that compiles CUDA code (nvcc, flash-attn,
    apex, CUDA cmake builds) on a devel base: the compiler, headers and sources stay in
    the shipped image. (A devel base that compiles nothing is DA504; compilers installed
    with apt in a single stage are DA408.) NGC images (`nvcr.io/nvidia/pytorch`) are
    not reported: NVIDIA publishes no runtime flavour of them to ship instead. Nor is an
    image that runs nvcc itself: DeepSpeed (its ops JIT-compile at first use),
    FlashInfer and vLLM need the toolkit when they run.

    ## Why is this bad?
    The devel base is several GB more than runtime and the build tree adds more; a
    builder stage compiles, and the runtime stage copies only the wheel or binary.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0+PTX"
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.7.0.post2
    CMD ["python", "serve.py"]
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel AS build
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0+PTX"
    RUN pip wheel --no-cache-dir --no-build-isolation --wheel-dir /wheels flash-attn==2.7.0.post2
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    COPY --from=build /wheels /wheels
    RUN pip install --no-cache-dir /wheels/*.whl
    CMD ["python", "serve.py"]
    ```
    """
    if len(ctx.stages) != 1:
        return
    facts = ml_facts(ctx).stages[0]
    if facts.base.flavour != "devel" or facts.base.is_ngc:
        return  # NGC images have no runtime flavour to ship instead (base-images.toml [image.ngc_*])
    if run_time_compiles(facts)[1]:
        return  # DeepSpeed ops, FlashInfer, vLLM JIT-compile with nvcc when the image runs: the toolchain is needed
    builds = [c for c in facts.compiles if c.kind in ("torch-extension", "nvcc")]
    if builds:
        signal = builds[0]
        yield Violation(signal.span, f"{signal.what} on the devel base in the only stage: compile in a builder stage "
                        "and ship a runtime base with the result")  # fmt: skip
