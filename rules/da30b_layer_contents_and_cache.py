"""DA305–DA308 — what a layer carries and what the build cache could spare: ``cd`` in RUN, model
weights copied in, heavy installs without cache mounts, files removed a layer too late.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.copies import context_sources
from dockaudit.facts.installs import Invocation, installs
from dockaudit.model import Violation
from dockaudit.plugin import rule
from dockaudit.syntax.mounts import run_mounts
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command
from dockaudit.syntax.stages import Stage

FAMILY = "layers"


@rule(
    "DA305",
    "cd-in-run",
    family=FAMILY,
    severity="info",
    summary="RUN cd dir && … instead of WORKDIR",
    aliases=("DL3003",),
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_cd_instead_of_workdir(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes a RUN that starts with `cd`: the directory the rest of the RUN works in.
    A `cd` in the middle of a build-and-clean-up chain (`git clone … && cd src &&
    make && cd / && rm -rf src`) is left alone.

    ## Why is this bad?
    `WORKDIR` states the directory once, creates it if needed, and carries to the
    following instructions and to the container's start; a `cd` lasts one RUN and
    is easy to forget in the next.

    ## Example
    ```dockerfile
    FROM node:22-slim
    COPY . /app
    RUN cd /app && npm ci
    ```

    ## Use instead
    ```dockerfile
    FROM node:22-slim
    WORKDIR /app
    COPY . .
    RUN npm ci
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        commands = ctx.commands(instruction)
        if commands and commands[0].name == "cd":
            yield Violation(commands[0].span, "use WORKDIR instead of cd at the start of a RUN", alias="DL3003")


_WEIGHTS = re.compile(
    r"\.(?:pt|pth|bin|safetensors|onnx|ckpt|h5|hdf5|gguf|ggml|pb|tflite|keras|joblib|pkl|npz|msgpack)$"
)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


SMALL_WEIGHTS_BYTES = 20 * 1024 * 1024


def _small_in_context(ctx: LintContext, path: str) -> bool:
    """The source is in the build context and every file it names adds up to less than 20 MB.

    Without the context (or for a glob or a missing path) the size is unknown and the answer is False.
    """
    if ctx.build_context is None or any(c in path for c in "*?[$"):
        return False
    relative = path.strip("/").removeprefix("./")
    under = [f for f in ctx.context_files if f == relative or f.startswith(relative.rstrip("/") + "/")]
    return bool(under) and sum(_size(ctx, f) for f in under) < SMALL_WEIGHTS_BYTES


def _size(ctx: LintContext, relative: str) -> int:
    try:
        return (ctx.build_context / relative).stat().st_size if ctx.build_context else 0
    except OSError:
        return 0


@rule(
    "DA306",
    "weights-in-image",
    family=FAMILY,
    severity="info",
    summary="model weights or datasets copied into the image (*.safetensors, *.pt, *.gguf, …)",
)
def find_weights_copied_into_image(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes COPY/ADD of model weights and serialized models (`*.safetensors`, `*.pt`,
    `*.pth`, `*.bin`, `*.onnx`, `*.ckpt`, `*.h5`, `*.gguf` …) and of folders named
    `models/`, `checkpoints/`, `weights/`, `data/`, `datasets/`; with the build context
    known, `COPY .` is checked for such files that `.dockerignore` lets through, with
    their total size. With the context there, a source smaller than 20 MB in all (a
    scikit-learn model, a tokenizer, a small classifier the app loads) is not reported:
    it ships with the code. Downloads at build time are DA520's concern.

    ## Why is this bad?
    Weights change on a different schedule than code: baked into a layer they make
    every push and pull gigabytes larger and tie a model update to an image rebuild.
    Mount them as a volume, or fetch them at start into a cache.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY model.safetensors /models/
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    ENV HF_HOME=/models
    VOLUME /models
    ```
    """
    reported_context = False
    for source in context_sources(ctx.dockerfile):
        folder = source.path.rstrip("/").rsplit("/", 1)[-1].lower()
        if _WEIGHTS.search(source.path.lower()) or folder in ("models", "checkpoints", "weights", "datasets", "data"):
            if _small_in_context(ctx, source.path):
                continue  # a small model file the app loads (a scaler, a classifier): part of the code
            yield Violation(
                source.arg.span, f"'{source.path}' puts model weights or data into a layer: mount them instead"
            )
        elif source.whole_context and not reported_context and ctx.build_context is not None:
            heavy = [f for f in ctx.context_files if _WEIGHTS.search(f.lower())]
            if heavy:
                reported_context = True
                size = sum(_size(ctx, f) for f in heavy)
                shown = ", ".join(heavy[:3]) + (f" and {len(heavy) - 3} more" if len(heavy) > 3 else "")
                yield Violation(
                    source.arg.span,
                    f"COPY . sends {len(heavy)} weight file(s) ({_human(size)}) into the image: {shown}; "
                    "add them to .dockerignore and mount them",
                )


_HEAVY_TOOLS = frozenset({"pip", "uv", "apt-get", "apt", "conda", "npm", "yarn", "pnpm", "apk", "dnf", "yum"})


def _uses_buildkit_features(ctx: LintContext) -> bool:
    if "syntax" in ctx.dockerfile.directives:
        return True
    return any(
        i.heredocs or any(f.name == "mount" for f in (i.trigger or i).flags) for i in ctx.dockerfile.instructions
    )


@rule(
    "DA307",
    "cache-mount-available",
    family=FAMILY,
    severity="info",
    summary="repeated heavy installs without RUN --mount=type=cache where BuildKit syntax is in use",
    enabled=False,  # precision ledger: 18 of 18 judged not worth reading
)
def find_installs_without_cache_mounts(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    In a Dockerfile that already uses BuildKit features (a `# syntax=` line, `RUN
    --mount`, heredocs) and installs packages in two or more RUNs, notes each install
    RUN (pip, uv, apt, conda, npm/yarn/pnpm, apk, dnf) that has no cache mount.

    ## Why is this bad?
    A cache mount keeps downloaded packages between builds without putting them in
    the image: rebuilding after a requirement change downloads only what changed,
    not all of torch again.

    ## Example
    ```dockerfile
    # syntax=docker/dockerfile:1
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.4.1
    RUN pip install --no-cache-dir transformers==4.45.2
    ```

    ## Use instead
    ```dockerfile
    # syntax=docker/dockerfile:1
    FROM python:3.12-slim
    RUN --mount=type=cache,target=/root/.cache/pip pip install torch==2.4.1
    RUN --mount=type=cache,target=/root/.cache/pip pip install transformers==4.45.2
    ```
    """
    if not _uses_buildkit_features(ctx):
        return
    heavy = [
        (instruction, invocation)
        for instruction in ctx.dockerfile.instructions
        for invocation in ctx.invocations(instruction)[:1]
        if invocation.tool in _HEAVY_TOOLS and installs(invocation) and invocation.packages or
        invocation.tool in _HEAVY_TOOLS and invocation.values("-r", "--requirement")
    ]  # fmt: skip
    if len(heavy) < 2:
        return
    for instruction, invocation in heavy:
        if any(m.type == "cache" for m in run_mounts(instruction)):
            continue
        yield Violation(
            invocation.command.span,
            f"use RUN --mount=type=cache for {invocation.program}: rebuilds reuse downloads without growing the image",
        )


# Where package managers keep what a later RUN might try to delete.
_CACHE_DIRS = {
    "apt-get": ("/var/lib/apt/lists", "/var/cache/apt"), "apt": ("/var/lib/apt/lists", "/var/cache/apt"),
    "pip": ("/root/.cache/pip",), "uv": ("/root/.cache/uv",),
    "conda": ("/opt/conda/pkgs",), "apk": ("/var/cache/apk",), "yum": ("/var/cache/yum",),
    "dnf": ("/var/cache/dnf", "/var/cache/yum", "/var/cache/libdnf5"), "npm": ("/root/.npm",),
    "yarn": ("/usr/local/share/.cache/yarn",),
}  # fmt: skip


_BULKY = re.compile(r"\.(?:tar|tgz|gz|bz2|xz|zst|zip|whl|deb|rpm|run|jar|iso)$")


def _created_paths(ctx: LintContext, instruction: Instruction) -> set[str]:
    """Absolute paths an instruction writes: COPY/ADD destinations, downloads, clones, package caches."""
    target = instruction.trigger or instruction
    created: set[str] = set()
    if target.name == "COPY" and target.flag("from") is not None and len(target.args) >= 2:
        # Another stage's output (the wheel hand-off ``COPY --from=build /wheels /tmp/wheels``) is
        # bytes worth a layer, whatever the names: deleting it later leaves them in this one.
        raw = target.args[-1].value.strip("'\"")
        destination = raw.rstrip("/")
        sources = [a.value.strip("'\"").rstrip("/") for a in target.args[:-1]]
        if raw.endswith("/") or len(sources) > 1:  # into a folder: each source lands under its own name
            created.update(f"{destination}/{source.rsplit('/', 1)[-1]}" for source in sources if source)
        else:
            created.add(destination)
    elif target.name in ("COPY", "ADD") and len(target.args) >= 2:
        destination = target.args[-1].value.strip("'\"").rstrip("/")
        if destination.startswith("/"):
            # Only bulky files are worth a finding: a copied requirements.txt removed later costs nothing.
            sources = [a.value.strip("'\"").rstrip("/") for a in target.args[:-1]]
            bulky = [s for s in sources if _BULKY.search(s.lower()) or _WEIGHTS.search(s.lower())]
            created.update(f"{destination}/{s.rsplit('/', 1)[-1]}" for s in bulky)
            if len(bulky) == 1 and len(sources) == 1 and "." in destination.rsplit("/", 1)[-1]:
                created.add(destination)
    for command in ctx.commands(instruction):
        argv = command.argv
        if command.name in ("wget", "curl"):
            for flag in ("-O", "-o", "--output", "--output-document"):
                if flag in argv[:-1]:
                    created.add(argv[argv.index(flag) + 1])
        elif command.name == "git" and "clone" in argv[1:3]:
            positional = [a for a in argv[argv.index("clone") + 1 :] if not a.startswith("-")]
            if len(positional) >= 2:
                created.add(positional[-1].rstrip("/"))
    for invocation in ctx.invocations(instruction):
        if (installs(invocation) or invocation.action == "update") and _writes_cache(ctx, instruction, invocation):
            created.update(_CACHE_DIRS.get(invocation.tool, ()))
    return {p for p in created if p.startswith("/") and p.count("/") >= 2 and "$" not in p}


_NO_CACHE_VARIABLES = {"pip": "PIP_NO_CACHE_DIR", "uv": "UV_NO_CACHE"}


def _writes_cache(ctx: LintContext, instruction: Instruction, invocation: Invocation) -> bool:
    """False when the install keeps its cache out of the layer (flag, cache mount, environment)."""
    if any(m.type in ("cache", "tmpfs") for m in run_mounts(instruction)):
        return False
    if invocation.tool in ("pip", "uv", "apk") and invocation.has("--no-cache-dir", "--no-cache"):
        return False
    if any(_cleans_cache(invocation.tool, c) for c in ctx.commands(instruction)):
        return False
    variable = _NO_CACHE_VARIABLES.get(invocation.tool)
    return variable is None or variable not in ctx.derived("layers.cache-variables", lambda: _cache_variables(ctx))


def _cache_variables(ctx: LintContext) -> frozenset[str]:
    """Which of the no-cache variables the file's text mentions anywhere: one scan per file, not one
    per install (rebuilding the text for each install made DA308 quadratic)."""
    text = ctx.dockerfile.source.text
    return frozenset(v for v in _NO_CACHE_VARIABLES.values() if v in text)


def _cleans_cache(tool: str, command: Command) -> bool:
    """``uv cache clean``, ``pip cache purge``, ``conda clean -a``, ``dnf clean all`` … for ``tool``."""
    argv = command.argv
    if tool == "pip":
        return command.name.startswith("pip") and argv[1:3] == ["cache", "purge"]
    if tool in ("uv", "yarn", "npm", "apk"):
        return command.name == tool and argv[1:2] == ["cache"] and bool({"clean", "prune", "purge"} & set(argv[2:3]))
    if tool == "conda":
        return command.name in ("conda", "mamba", "micromamba") and argv[1:2] == ["clean"]
    if tool in ("yum", "dnf"):
        return command.name in ("yum", "dnf", "microdnf") and argv[1:2] == ["clean"]
    return False


def _later_cleanups(ctx: LintContext, stage: Stage) -> Iterator[Violation]:
    left: dict[str, Instruction] = {}  # paths earlier instructions left in their layers → the instruction
    for instruction in stage.instructions:
        made_here = _created_paths(ctx, instruction)
        removed_here: set[str] = set()
        for command in ctx.commands(instruction):
            if command.name != "rm":
                continue
            for word in command.args:
                path = word.value.rstrip("*").rstrip("/")
                if word.value.startswith("-") or not path:
                    continue
                removed_here.add(path)
                if any(_overlaps(path, p) for p in made_here):
                    continue  # created and removed in this same RUN: nothing stays behind
                maker = next((i for p, i in left.items() if _overlaps(path, p)), None)
                if maker is not None:
                    yield Violation(word.span, _later_cleanup_message(word.value, maker))
        for path in made_here:
            if not any(_overlaps(r, path) for r in removed_here):
                left.setdefault(path, instruction)


def _later_cleanup_message(removed: str, maker: Instruction) -> str:
    copied_from = maker.flag("from") if maker.name == "COPY" else None
    if copied_from is not None and copied_from.value:
        return (
            f"{removed} was copied from '{copied_from.value}' on line {maker.start_line}: deleting it later leaves it "
            f"in that COPY's layer; mount it for the one RUN instead (RUN --mount=type=bind,from={copied_from.value},"
            "source=…,target=…)"
        )
    return (
        f"{removed} was created on line {maker.start_line}: deleting it in a later RUN does not shrink the image; "
        "delete it in the same RUN"
    )


def _overlaps(removed: str, created: str) -> bool:
    """Removing ``removed`` deletes some of ``created`` (the same path, a parent, or a child)."""
    return removed == created or created.startswith(removed + "/") or removed.startswith(created + "/")


@rule(
    "DA308",
    "cleanup-in-later-layer",
    family=FAMILY,
    severity="warning",
    summary="files removed in a later RUN than the one that created them (the bytes stay)",
)
def find_cleanup_in_later_layers(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags an `rm` in a RUN that deletes what an earlier instruction of the same image
    created: package caches (`/var/lib/apt/lists`, `~/.cache/pip`, conda `pkgs`),
    files added by COPY/ADD, downloads (`curl -o`, `wget -O`) and git clones.

    ## Why is this bad?
    Layers are additive. The delete hides the files in the final filesystem but
    their bytes stay in the earlier layer and are pulled by every user; the cleanup
    must happen in the RUN that created them.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8
    RUN rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 \\
        && rm -rf /var/lib/apt/lists/*
    ```
    """
    for stage in ctx.stages:
        yield from _later_cleanups(ctx, stage)
