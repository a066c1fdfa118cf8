"""DA301–DA304 — layer order: what makes every rebuild slow (COPY . before the dependency install,
``apt-get update`` in a RUN of its own, chains of single-command RUNs, COPY . with no .dockerignore).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.copies import WHOLE_CONTEXT
from dockaudit.facts.installs import Invocation, installs
from dockaudit.facts.requirements import parse_requirement
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.records import record
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import SHELLS, Command
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage
from dockaudit.patterns import lazy_pattern

FAMILY = "layers"


def _is_broad_copy(instruction: Instruction) -> bool:
    """``COPY . .``/``ADD . /app``: the whole build context (not ``--from`` another stage)."""
    target = instruction.trigger or instruction
    if target.name not in ("COPY", "ADD") or target.flag("from") is not None or len(target.args) < 2:
        return False
    return any(a.value.strip("'\"") in WHOLE_CONTEXT for a in target.args[:-1])


@record
class _ManifestInstall:
    command: Command
    manifest: str  # what to copy first
    sources: tuple[str, ...] = ()  # COPY sources for the fix, relative to the context ("" when unknown)


def _manifest_install(invocation: Invocation) -> _ManifestInstall | None:
    """Installs that read a dependency manifest, so they only need that file, not the code."""
    tool, action = invocation.tool, invocation.action
    if tool in ("pip", "uv"):
        files = invocation.values("-r", "--requirement")
        if installs(invocation) and files:
            return _ManifestInstall(invocation.command, files[0], tuple(files))
        if tool == "uv" and action == "sync":
            return _ManifestInstall(invocation.command, "pyproject.toml and uv.lock")
    if tool == "conda" and action in ("create", "update") and invocation.values("-f", "--file"):
        return _ManifestInstall(invocation.command, invocation.values("-f", "--file")[0])
    if tool in ("npm", "yarn", "pnpm") and action in ("install", "ci", "") and not invocation.packages:
        if action == "" and invocation.verb is not None:
            return None
        lock = {"npm": "package-lock.json", "yarn": "yarn.lock", "pnpm": "pnpm-lock.yaml"}[tool]
        # The lock file as a pattern: COPY accepts a pattern that matches nothing when another source exists.
        return _ManifestInstall(invocation.command, f"package.json and {lock}", ("package.json", f"{lock}*"))
    return None


def _other_manifest_install(command: Command) -> _ManifestInstall | None:
    argv = command.argv
    name = command.name
    if name == "poetry" and argv[1:2] == ["install"]:
        return _ManifestInstall(command, "pyproject.toml and poetry.lock")
    if name == "uv" and argv[1:2] == ["sync"]:
        return _ManifestInstall(command, "pyproject.toml and uv.lock")
    if name == "pipenv" and argv[1:2] in (["install"], ["sync"]):
        return _ManifestInstall(command, "Pipfile and Pipfile.lock")
    if name == "go" and argv[1:3] == ["mod", "download"]:
        return _ManifestInstall(command, "go.mod and go.sum")
    if name == "cargo" and argv[1:2] == ["fetch"]:
        return _ManifestInstall(command, "Cargo.toml and Cargo.lock")
    if name == "bundle" and argv[1:2] == ["install"]:
        return _ManifestInstall(command, "Gemfile and Gemfile.lock")
    if name == "composer" and argv[1:2] == ["install"]:
        return _ManifestInstall(command, "composer.json and composer.lock")
    return None


def _short(command: Command) -> str:
    """``pip install -r requirements.txt`` without the flags in between."""
    words = [w for w in command.argv if not w.startswith("-") or w in ("-r", "--requirement", "-f", "--file")]
    return " ".join(words[:4])


def _stage_manifest_installs(ctx: LintContext, instruction: Instruction) -> Iterator[_ManifestInstall]:
    for invocation in ctx.invocations(instruction):
        found = _manifest_install(invocation)
        if found is not None:
            yield found
    for command in ctx.commands(instruction):
        found = _other_manifest_install(command)
        if found is not None:
            yield found


_BETWEEN_OK = frozenset({"ENV", "ARG", "LABEL", "EXPOSE"})


def _reorder_fix(
    ctx: LintContext, stage: Stage, broad: Instruction, install: Instruction, found: _ManifestInstall
) -> Fix | None:
    """Copy only the manifest before the install and move ``COPY .`` after it (unsafe: review).

    Only for the plain case: the install follows the COPY with nothing in between that could use the
    code, the COPY goes to the working directory (``.``/``./``), and the manifests are relative paths.
    """
    if broad.trigger is not None or not found.sources or len(broad.args) != 2:
        return None
    between = stage.instructions[stage.instructions.index(broad) + 1 : stage.instructions.index(install)]
    if any(i.name not in _BETWEEN_OK for i in between):
        return None
    if broad.args[-1].value not in (".", "./") or any(
        "/" in s or "$" in s for s in found.sources  # a sub-folder manifest would land in ./ under another path
    ):  # fmt: skip
        return None
    text = ctx.dockerfile.source.text
    prefix = text[broad.keyword_span.start : broad.args[0].span.start]  # "COPY --chown=app:app "
    manifest_line = f"{prefix}{' '.join(found.sources)} ./"
    moved = text[broad.line_span.start : broad.line_span.end]
    if not moved.endswith("\n"):
        moved += "\n"
    after = install.line_span.end
    if not text[:after].endswith("\n"):
        moved = "\n" + moved.rstrip("\r\n")
    return Fix(
        f"copy {found.manifest} first, move COPY . after the install",
        (Edit(broad.span, manifest_line), Edit(Span(after, after), moved)),
        safe=False,
        reshapes=True,
    )


@rule(
    "DA301",
    "copy-before-install",
    family=FAMILY,
    severity="warning",
    summary="COPY . before the dependency install: every code change re-installs dependencies",
    fix="unsafe",
)
def find_copy_before_install(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `COPY . .` (the whole build context) that comes before, in the same
    stage, an install driven by a manifest: `pip install -r requirements.txt`,
    `uv sync`, `poetry install`, `pipenv install`, `conda env create -f
    environment.yml`, `npm ci`/`yarn install`/`pnpm install`, `go mod download`,
    `bundle install`, `composer install`.

    ## Why is this bad?
    A layer is rebuilt when anything before it changes. With the code copied first,
    editing one line of `app.py` re-runs the install — for an ML image that is
    minutes of downloading torch on every build. Copy the manifest, install, then
    copy the code.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    WORKDIR /app
    COPY . .
    RUN pip install --no-cache-dir -r requirements.txt
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    WORKDIR /app
    COPY requirements.txt .
    RUN pip install --no-cache-dir -r requirements.txt
    COPY . .
    ```
    """
    for stage in ctx.stages:
        broad: Instruction | None = None
        # Manifests installed before the code arrives (``uv sync --no-install-project`` with bind
        # mounts, ``poetry install --no-root``): the install after COPY . only adds the project.
        installed_first: set[str] = set()
        runs_since_copy: list[str] = []  # the RUNs between COPY . and the instruction at hand
        for instruction in stage.instructions:
            if broad is None and _is_broad_copy(instruction):
                broad = instruction
                continue
            if broad is None:
                installed_first.update(found.manifest for found in _stage_manifest_installs(ctx, instruction))
                continue
            for found in _stage_manifest_installs(ctx, instruction):
                if found.manifest in installed_first:
                    continue
                names = [name.rsplit("/", 1)[-1] for name in re.split(r",\s*|\s+and\s+", found.manifest)]
                if any(name in run for name in names for run in runs_since_copy):
                    continue  # a RUN in between writes the manifest (copied from a cloned repository): not the context's
                source = broad.trigger or broad
                yield Violation(
                    source.args[0].span,
                    f"the whole context is copied before '{_short(found.command)}' on line "
                    f"{instruction.start_line}: copy {found.manifest} first, install, then COPY . "
                    "(every code change re-installs the dependencies)",
                    _reorder_fix(ctx, stage, broad, instruction, found),
                )
                break
            else:
                if instruction.name == "RUN":
                    runs_since_copy.append(instruction.original)
                continue
            break


_APT_WRAPPER = lazy_pattern(r"^(?:apt-install|install[-_]packages|install_clean)")  # image helper scripts


_SYSTEM_BIN = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/")


def _runs_script(command: Command) -> bool:
    """The command runs a script whose contents are not in the Dockerfile: ``./install.sh``,
    ``bash /install/ubuntu_install_core.sh``, ``/opt/setup/install_deps``, ``. /tmp/env.sh``."""
    program = command.words[0].value if command.words else ""
    if program.endswith((".sh", ".bash")):
        return True
    if "/" in program and not program.startswith(_SYSTEM_BIN):
        return True
    first = command.args[0].value if command.args else ""
    if command.name in SHELLS or command.name in (".", "source"):
        return bool(first) and not first.startswith("-")
    return False


@rule(
    "DA302",
    "apt-update-alone",
    family=FAMILY,
    severity="warning",
    summary="apt-get update in a RUN without the install that uses it (stale cached index)",
)
def find_lone_apt_update(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a RUN that runs `apt-get update` (or `apt update`) but installs or upgrades
    nothing in the same RUN.

    ## Why is this bad?
    The update layer is cached. When a later `RUN apt-get install` changes, it reuses
    the old index from the cache and fails with 404s, or installs outdated packages.
    Update and install must be one RUN.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update
    RUN apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 \\
        && rm -rf /var/lib/apt/lists/*
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        invocations = [i for i in ctx.invocations(instruction) if i.tool in ("apt-get", "apt", "aptitude")]
        updates = [i for i in invocations if i.action == "update"]
        if not updates:
            continue
        if any(installs(i) or i.action in ("upgrade", "build-dep", "source", "dist-upgrade") for i in invocations):
            continue
        if any(c.name in ("apt-cache", "apt-get", "xargs") or _runs_script(c) or _APT_WRAPPER.match(c.name)
               for c in ctx.commands(instruction)[1:]):  # fmt: skip
            continue  # a script, a wrapper (apt-install-and-clear, install_packages) or xargs may install
        yield Violation(
            updates[0].command.span, "update and install in the same RUN, or the index goes stale in the cache"
        )


def _is_chained(commands: list[Command]) -> bool:
    return any(c.operator in ("&&", "||", ";", "&", "\n") for c in commands[:-1])


def _run_options(instruction: Instruction) -> tuple[str, ...]:
    return tuple(sorted(f.text for f in instruction.flags))


# Multi-gigabyte frameworks: a RUN of its own for them is a cache layer kept on purpose, so that
# changing the requirements after it does not download torch again.
_FRAMEWORKS = frozenset({
    "torch", "torchvision", "torchaudio", "pytorch", "tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tf-nightly",
    "jax", "jaxlib", "paddlepaddle", "paddlepaddle-gpu", "mxnet", "onnxruntime-gpu", "tensorrt", "vllm",
    "flash-attn", "deepspeed", "xformers", "cupy", "nvidia-pyindex",
})  # fmt: skip


def _installs_framework(ctx: LintContext, instruction: Instruction) -> bool:
    """The RUN installs a heavy ML framework with pip, uv or conda (``pip install torch==2.4.1``,
    ``jax[cuda12]``, ``cupy-cuda12x``)."""
    for invocation in ctx.invocations(instruction):
        if invocation.tool not in ("pip", "uv", "conda") or not installs(invocation):
            continue
        for word in invocation.packages:
            name = parse_requirement(word.value).name or ""
            if name in _FRAMEWORKS or name.startswith("cupy-cuda"):
                return True
    return False


@rule(
    "DA303",
    "consecutive-run",
    family=FAMILY,
    severity="info",
    summary="consecutive single-command RUNs that could be one layer",
    aliases=("DL3059",),
    enabled=False,  # precision ledger: 18 of 18 judged not worth reading
)
def find_consecutive_runs(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes a RUN that directly follows another RUN (comments between are fine) when
    both run a single command with the same `--mount`/`--network`/`--security`
    options. RUNs that already chain commands, heredoc RUNs, RUNs with different
    mounts and a RUN installing a heavy ML framework (torch, tensorflow, jax …, its
    own cache layer so that a requirements change does not download it again) are
    deliberate and left alone.

    ## Why is this bad?
    Each RUN is a layer: more layers make pulls slower, and files deleted in a later
    RUN still cost their bytes in the earlier one.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN mkdir -p /app
    RUN useradd -l -u 10001 app
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN mkdir -p /app && useradd -l -u 10001 app
    ```
    """
    for stage in ctx.stages:
        previous: Instruction | None = None
        for instruction in stage.instructions:
            simple = instruction.name == "RUN" and not instruction.heredocs and not instruction.json
            commands = ctx.commands(instruction) if simple else []
            simple = (
                simple and bool(commands) and not _is_chained(commands) and not _installs_framework(ctx, instruction)
            )
            if simple and previous is not None and _run_options(previous) == _run_options(instruction):
                yield Violation(
                    instruction.keyword_span, f"merge with the RUN on line {previous.start_line}: one layer"
                )
            previous = instruction if simple else None


@rule(
    "DA304",
    "no-dockerignore",
    family=FAMILY,
    severity="warning",
    summary="COPY . with no .dockerignore in the build context",
)
def find_missing_dockerignore(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags the first `COPY .`/`ADD .` of the whole build context when the context
    (given with `--context`, else the Dockerfile's folder) has no `.dockerignore`
    (nor a `<Dockerfile>.dockerignore` next to the Dockerfile). Silent when the
    context is unknown, e.g. a Dockerfile read from stdin.

    ## Why is this bad?
    Without it, `.git`, virtualenvs, datasets, checkpoints and `.env` files are sent
    to the builder on every build and copied into the image.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY . /app
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    COPY src/ /app/src/
    ```
    """
    if ctx.build_context is None or ctx.dockerignore is not None:
        return
    for instruction in ctx.dockerfile.instructions:
        if _is_broad_copy(instruction):
            source = (instruction.trigger or instruction).args[0]
            yield Violation(source.span, "the build context has no .dockerignore: .git, data and secrets go in too")
            return
