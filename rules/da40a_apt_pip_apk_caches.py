"""DA401–DA404 — what apt, pip and apk leave in a layer: package lists, recommended packages and
download caches.

Caches only cost something in the stages whose layers end up in the image (the target stage and the
stages it is built FROM); a builder stage that is only copied from may keep them.  A
``RUN --mount=type=cache`` (or ``tmpfs``) over the cache directory keeps it out of the layer and
satisfies these rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts import toolflags
from dockaudit.facts.cleanups import (
    cache_mount_ends_with,
    command_index,
    removed_paths,
    removes_later,
    runs_later,
    shipped_runs,
)
from dockaudit.facts.installs import Invocation, installs
from dockaudit.linting.edits import append_to_run, fix_of, insert_after_word
from dockaudit.model import Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.mounts import caches_path
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command

FAMILY = "cleanup"


def apt_lists_unused_later(ctx: LintContext, instruction: Instruction) -> bool:
    """Precondition of DA401's safe fix: no later RUN of this stage, or of a stage built FROM it, installs
    with apt before running ``apt-get update`` itself, so removing the lists here takes nothing a later
    step reads (``RUN apt-get update`` then ``RUN apt-get install …`` needs them)."""
    stage = ctx.stage_of(instruction)
    if stage is None:
        return True
    index = next(i for i, x in enumerate(stage.instructions) if x is instruction)
    sequences = [stage.instructions[index + 1 :]]
    sequences += [s.instructions for s in ctx.stages if s is not stage and stage in s.ancestry()]
    for sequence in sequences:
        for later in sequence:
            if later.name != "RUN":
                continue
            apt = [i for i in ctx.invocations(later) if i.tool in ("apt-get", "apt", "aptitude")]
            if any(i.action == "update" for i in apt):
                break  # the lists are fetched again before anything reads them
            if any(installs(i) or i.action == "upgrade" for i in apt):
                return False
    return True


@rule(
    "DA401",
    "apt-lists-not-removed",
    family=FAMILY,
    severity="warning",
    summary="apt-get update without rm -rf /var/lib/apt/lists/* in the same RUN",
    aliases=("DL3009",),
    fix="safe",
    enabled=False,  # precision ledger: 5 of 20 judged wrong
)
def find_apt_lists_left_behind(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a RUN that runs `apt-get update` (or `apt`/`aptitude`) and leaves the
    package lists in the layer: no `rm -rf /var/lib/apt/lists/*` after it in the same
    RUN, and no cache or tmpfs mount on `/var/lib/apt/lists`. When an earlier step
    removed `/etc/apt/apt.conf.d/docker-clean`, downloaded `.deb` archives stay too,
    so `/var/cache/apt` must then be mounted or cleaned as well. Only stages that end
    up in the image are checked.

    ## Why is this bad?
    The lists are tens of megabytes that nothing at runtime needs, and they go stale
    the moment the layer is cached. Removing them in a later RUN does not help: the
    bytes stay in the earlier layer.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 \\
        && rm -rf /var/lib/apt/lists/*
    ```
    """
    docker_clean_removed = False
    for instruction in shipped_runs(ctx):
        commands = ctx.commands(instruction)
        if any("/etc/apt/apt.conf.d/docker-clean" in removed_paths(c) for c in commands):
            docker_clean_removed = True
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("apt-get", "apt", "aptitude"):
                continue
            index = command_index(commands, invocation)
            if invocation.action == "update":
                if caches_path(instruction, "/var/lib/apt/lists") or removes_later(commands, index, "/var/lib/apt/lists"):
                    continue
                message = "remove the package lists in the same RUN: && rm -rf /var/lib/apt/lists/*"
                fix = None
                if apt_lists_unused_later(ctx, instruction):
                    edit = append_to_run(ctx.dockerfile, instruction, "rm -rf /var/lib/apt/lists/*")
                    fix = fix_of("remove the apt lists in the same RUN", edit)
                else:
                    message += " (a later RUN installs from them without apt-get update: merge it into this one first)"
                yield Violation(invocation.command.span, message, fix)
            elif installs(invocation) and docker_clean_removed:
                cleaned = runs_later(commands, index, lambda c: c.name in ("apt-get", "apt") and "clean" in c.argv)
                if caches_path(instruction, "/var/cache/apt") or cleaned or removes_later(commands, index, "/var/cache/apt"):
                    continue
                yield Violation(
                    invocation.command.span,
                    "docker-clean was removed, so downloaded .deb files stay in this layer: "
                    "mount a cache on /var/cache/apt or run apt-get clean",
                )


@rule(
    "DA402",
    "apt-install-recommends",
    family=FAMILY,
    severity="info",
    summary="apt-get install without --no-install-recommends",
    aliases=("DL3015",),
    fix="unsafe",
    enabled=False,  # precision ledger: 14 of 20 judged not worth reading
)
def find_apt_installs_with_recommends(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `apt-get install` without `--no-install-recommends` (or
    `-o APT::Install-Recommends=false`).

    ## Why is this bad?
    Recommended packages are not needed to run what you asked for and often double
    an install: `apt-get install python3-pip` pulls a compiler toolchain with them.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y curl=7.88.1-10+deb12u8 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 \\
        && rm -rf /var/lib/apt/lists/*
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("apt-get", "apt") or not installs(invocation):
                continue
            if invocation.has("--no-install-recommends"):
                continue
            settings = [v.lower().replace(" ", "") for v in invocation.values("-o", "--option")]
            if any(s in ("apt::install-recommends=false", "apt::install-recommends=0") for s in settings):
                continue
            edit = (
                insert_after_word(ctx.dockerfile, invocation.verb, "--no-install-recommends")
                if invocation.verb
                else None
            )
            # Unsafe: what a recommends pulled in may be used later (curl's libcurl recommends
            # ca-certificates, and a later `curl https://…` fails without it): review the diff.
            fix = Fix("add --no-install-recommends", (edit,), safe=False) if edit is not None else None
            yield Violation(
                invocation.command.span, "add --no-install-recommends to skip packages you did not ask for", fix
            )


_TRUTHY = frozenset({"1", "true", "yes", "on"})


def _env_truthy(ctx: LintContext, instruction: Instruction, commands: list[Command], index: int, name: str) -> bool:
    """``name`` is set to a true value: ENV in scope, ``NAME=1 cmd``, or ``export NAME=1`` earlier."""
    command = commands[index]
    for assignment in command.assignments:
        key, _, value = assignment.partition("=")
        if key == name:
            return value.strip("'\"").lower() in _TRUTHY
    for earlier in reversed(commands[:index]):
        if earlier.name == "export":
            for word in earlier.args:
                key, eq, value = word.value.partition("=")
                if key == name and eq:
                    return value.lower() in _TRUTHY
    stage = ctx.stage_of(instruction)
    if stage is None:
        return False
    scope = stage.scope_at(instruction)  # a lookup: a scan of the stage per install was quadratic
    variable = scope.get(name) if scope is not None else None
    return variable is not None and variable.kind == "env" and (variable.value or "").lower() in _TRUTHY


def _uv_cache_option(invocation: Invocation) -> bool:
    """``uv pip install`` already turns the cache off: ``--no-cache``, ``-n`` or ``--no-cache-dir`` (uv's
    hidden alias of ``--no-cache`` for pip users, astral-sh/uv#1380; see dockaudit.facts.toolflags)."""
    return invocation.has(*toolflags.spellings("uv", "--no-cache"))


def _pip_cache_mounted(instruction: Instruction) -> bool:
    return caches_path(instruction, "/root/.cache/pip") or cache_mount_ends_with(instruction, ".cache/pip")


def _purges_pip_cache(command: Command) -> bool:
    return command.name.startswith("pip") and command.argv[1:3] in (["cache", "purge"], ["cache", "remove"])


@rule(
    "DA403",
    "pip-cache",
    family=FAMILY,
    severity="warning",
    summary="pip install without --no-cache-dir (or PIP_NO_CACHE_DIR, or a cache mount)",
    aliases=("DL3042",),
    fix="safe",
    enabled=False,  # precision ledger: 13 of 20 judged not worth reading
)
def find_pip_cache_left_behind(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install` (and `python -m pip`) that writes its wheel cache into the
    layer: no `--no-cache-dir`, no truthy `PIP_NO_CACHE_DIR` (ENV, inline or
    `export`), no cache mount on the pip cache and no `pip cache purge` afterwards.
    `uv pip install` is held to the same standard with `--no-cache` (or its spellings
    `-n` and `--no-cache-dir`) or `UV_NO_CACHE`.

    ## Why is this bad?
    pip keeps every downloaded wheel under `~/.cache/pip`. For ML images that is the
    second copy of torch and its CUDA wheels: gigabytes in the layer for nothing.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install torch==2.4.1
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN --mount=type=cache,target=/root/.cache/pip pip install torch==2.4.1
    ```
    """
    for instruction in shipped_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("pip", "uv") or not installs(invocation):
                continue
            index = command_index(commands, invocation)
            if invocation.tool == "pip":
                if invocation.has("--no-cache-dir", "--no-cache"):
                    continue
                if _env_truthy(ctx, instruction, commands, index, "PIP_NO_CACHE_DIR"):
                    continue
                if _pip_cache_mounted(instruction) or runs_later(commands, index, _purges_pip_cache):
                    continue
                if removes_later(commands, index, "/root/.cache/pip", "/root/.cache", "~/.cache/pip", "~/.cache"):
                    continue
                # Precondition of the safe fix: pip (any version since 6) takes --no-cache-dir after
                # "install", and neither spelling is there yet (checked above).
                edit = insert_after_word(ctx.dockerfile, invocation.verb, "--no-cache-dir") if invocation.verb else None
                yield Violation(
                    invocation.command.span,
                    "add --no-cache-dir (or mount a cache on /root/.cache/pip)",
                    fix_of("add --no-cache-dir", edit),
                )
            else:
                if _uv_cache_option(invocation) or _env_truthy(ctx, instruction, commands, index, "UV_NO_CACHE"):
                    continue
                if caches_path(instruction, "/root/.cache/uv", "/root/.cache") or cache_mount_ends_with(instruction, ".cache/uv"):
                    continue
                if runs_later(commands, index, lambda c: c.name == "uv" and c.argv[1:2] == ["cache"]):
                    continue
                # Precondition of the safe fix: no spelling of the option is there yet (checked above) — uv
                # refuses --no-cache given twice, and --no-cache-dir is the same option.
                edit = insert_after_word(ctx.dockerfile, invocation.verb, "--no-cache") if invocation.verb else None
                yield Violation(
                    invocation.command.span,
                    "add --no-cache (or mount a cache on /root/.cache/uv)",
                    fix_of("add --no-cache", edit),
                    alias="",
                )


@rule(
    "DA404",
    "apk-cache",
    family=FAMILY,
    severity="warning",
    summary="apk add without --no-cache",
    aliases=("DL3019",),
    fix="safe",
    enabled=False,  # precision ledger: 13 of 20 judged wrong
)
def find_apk_cache_left_behind(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `apk add` without `--no-cache`, unless `/var/cache/apk` is a cache or tmpfs
    mount or is removed later in the same RUN.

    ## Why is this bad?
    Without `--no-cache`, apk stores the index and packages under `/var/cache/apk`,
    which then ships in the layer.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    RUN apk add curl=8.9.1-r1
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl=8.9.1-r1
    ```
    """
    for instruction in shipped_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "apk" or not installs(invocation) or invocation.has("--no-cache"):
                continue
            index = command_index(commands, invocation)
            if caches_path(instruction, "/var/cache/apk") or removes_later(commands, index, "/var/cache/apk"):
                continue
            edit = insert_after_word(ctx.dockerfile, invocation.verb, "--no-cache") if invocation.verb else None
            yield Violation(
                invocation.command.span,
                "add --no-cache so the apk index does not stay in the layer",
                fix_of("add --no-cache", edit),
            )
