"""DA4xx — cache cleanup and image size: what package managers leave behind in a layer.

Caches only cost something in the stages whose layers end up in the image (the
target stage and the stages it is built FROM); a builder stage that is only
copied from may keep them.  A ``RUN --mount=type=cache`` (or ``tmpfs``) over the
cache directory keeps it out of the layer and satisfies these rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.facts import baseos

from dockaudit.facts import toolflags
from dockaudit.context import LintContext
from dockaudit.linting.edits import append_to_run, insert_after_word
from dockaudit.facts.installs import Invocation, installs
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.facts.requirements import requirement_files
from dockaudit.syntax.mounts import caches_path, run_mounts
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command
from dockaudit.syntax.stages import Stage
from dockaudit.linting.wording import listing

FAMILY = "cleanup"
_TRUTHY = frozenset({"1", "true", "yes", "on"})


def _fix(description: str, edit: Edit | None) -> Fix | None:
    return Fix(description, (edit,)) if edit is not None else None


def _image_runs(ctx: LintContext) -> Iterator[Instruction]:
    """RUN instructions of the stages that end up in the image, and every ONBUILD RUN
    (it runs in the images built FROM this one, whichever stage declares it)."""
    in_image = {id(s) for s in ctx.image_stages}
    for stage in ctx.stages:
        for instruction in stage.instructions:
            if instruction.trigger is not None:
                if instruction.trigger.name == "RUN":
                    yield instruction
            elif instruction.name == "RUN" and id(stage) in in_image:
                yield instruction


def _removed_paths(command: Command) -> list[str]:
    if command.name != "rm":
        return []
    return [w.value for w in command.args if not w.value.startswith("-")]


def _removes(commands: list[Command], after: int, *prefixes: str) -> bool:
    """A later ``rm`` in the same RUN deletes a path at or under one of ``prefixes``."""
    for command in commands[after + 1 :]:
        for path in _removed_paths(command):
            cleaned = path.rstrip("*").rstrip("/")
            if any(cleaned == p or cleaned.startswith(p + "/") or p.startswith(cleaned + "/") for p in prefixes):
                if cleaned and cleaned.count("/") >= 2:
                    return True
    return False


def _runs_later(commands: list[Command], after: int, test) -> bool:
    return any(test(c) for c in commands[after + 1 :])


def _position(commands: list[Command], invocation: Invocation) -> int:
    for index, command in enumerate(commands):
        if command is invocation.command:
            return index
    return -1


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
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        if any("/etc/apt/apt.conf.d/docker-clean" in _removed_paths(c) for c in commands):
            docker_clean_removed = True
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("apt-get", "apt", "aptitude"):
                continue
            index = _position(commands, invocation)
            if invocation.action == "update":
                if caches_path(instruction, "/var/lib/apt/lists") or _removes(commands, index, "/var/lib/apt/lists"):
                    continue
                message = "remove the package lists in the same RUN: && rm -rf /var/lib/apt/lists/*"
                fix = None
                if apt_lists_unused_later(ctx, instruction):
                    edit = append_to_run(ctx.dockerfile, instruction, "rm -rf /var/lib/apt/lists/*")
                    fix = _fix("remove the apt lists in the same RUN", edit)
                else:
                    message += " (a later RUN installs from them without apt-get update: merge it into this one first)"
                yield Violation(invocation.command.span, message, fix)
            elif installs(invocation) and docker_clean_removed:
                cleaned = _runs_later(commands, index, lambda c: c.name in ("apt-get", "apt") and "clean" in c.argv)
                if caches_path(instruction, "/var/cache/apt") or cleaned or _removes(commands, index, "/var/cache/apt"):
                    continue
                yield Violation(
                    invocation.command.span,
                    "docker-clean was removed, so downloaded .deb files stay in this layer: "
                    "mount a cache on /var/cache/apt or run apt-get clean",
                )


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
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("pip", "uv") or not installs(invocation):
                continue
            index = _position(commands, invocation)
            if invocation.tool == "pip":
                if invocation.has("--no-cache-dir", "--no-cache"):
                    continue
                if _env_truthy(ctx, instruction, commands, index, "PIP_NO_CACHE_DIR"):
                    continue
                if _pip_cache_mounted(instruction) or _runs_later(commands, index, _purges_pip_cache):
                    continue
                if _removes(commands, index, "/root/.cache/pip", "/root/.cache", "~/.cache/pip", "~/.cache"):
                    continue
                # Precondition of the safe fix: pip (any version since 6) takes --no-cache-dir after
                # "install", and neither spelling is there yet (checked above).
                edit = insert_after_word(ctx.dockerfile, invocation.verb, "--no-cache-dir") if invocation.verb else None
                yield Violation(
                    invocation.command.span,
                    "add --no-cache-dir (or mount a cache on /root/.cache/pip)",
                    _fix("add --no-cache-dir", edit),
                )
            else:
                if _uv_cache_option(invocation) or _env_truthy(ctx, instruction, commands, index, "UV_NO_CACHE"):
                    continue
                if caches_path(instruction, "/root/.cache/uv", "/root/.cache") or _mount_ends(instruction, ".cache/uv"):
                    continue
                if _runs_later(commands, index, lambda c: c.name == "uv" and c.argv[1:2] == ["cache"]):
                    continue
                # Precondition of the safe fix: no spelling of the option is there yet (checked above) — uv
                # refuses --no-cache given twice, and --no-cache-dir is the same option.
                edit = insert_after_word(ctx.dockerfile, invocation.verb, "--no-cache") if invocation.verb else None
                yield Violation(
                    invocation.command.span,
                    "add --no-cache (or mount a cache on /root/.cache/uv)",
                    _fix("add --no-cache", edit),
                    alias="",
                )


def _uv_cache_option(invocation: Invocation) -> bool:
    """``uv pip install`` already turns the cache off: ``--no-cache``, ``-n`` or ``--no-cache-dir`` (uv's
    hidden alias of ``--no-cache`` for pip users, astral-sh/uv#1380; see dockaudit.facts.toolflags)."""
    return invocation.has(*toolflags.spellings("uv", "--no-cache"))


def _mount_ends(instruction: Instruction, suffix: str) -> bool:
    """A cache or tmpfs mount whose target ends with ``suffix`` (the cache of any user's home)."""
    return any(m.type in ("cache", "tmpfs") and m.target.endswith(suffix) for m in run_mounts(instruction))


def _pip_cache_mounted(instruction: Instruction) -> bool:
    return caches_path(instruction, "/root/.cache/pip") or _mount_ends(instruction, ".cache/pip")


def _purges_pip_cache(command: Command) -> bool:
    return command.name.startswith("pip") and command.argv[1:3] in (["cache", "purge"], ["cache", "remove"])


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
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "apk" or not installs(invocation) or invocation.has("--no-cache"):
                continue
            index = _position(commands, invocation)
            if caches_path(instruction, "/var/cache/apk") or _removes(commands, index, "/var/cache/apk"):
                continue
            edit = insert_after_word(ctx.dockerfile, invocation.verb, "--no-cache") if invocation.verb else None
            yield Violation(
                invocation.command.span,
                "add --no-cache so the apk index does not stay in the layer",
                _fix("add --no-cache", edit),
            )


_RPM_CACHES = {
    "yum": ("/var/cache/yum", "/var/cache/dnf"),
    "dnf": ("/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5"),
    "zypper": ("/var/cache/zypp",),
}
_RPM_ALIASES = {"yum": "DL3032", "dnf": "DL3040", "zypper": "DL3036"}


def _cleans_rpm_cache(program: str, command: Command) -> bool:
    """``dnf clean all`` after dnf; microdnf keeps its own cache, so it must clean it itself."""
    argv = command.argv
    if program == "zypper":
        return command.name == "zypper" and bool({"clean", "cc"} & set(argv[1:]))
    return command.name == program and "clean" in argv[1:]


@rule(
    "DA405",
    "rpm-cache",
    family=FAMILY,
    severity="warning",
    summary="yum/dnf/zypper install without a clean in the same RUN",
    aliases=("DL3032", "DL3040", "DL3036"),
    fix="safe",
    enabled=False,  # precision ledger: 10 of 12 judged not worth reading
)
def find_rpm_cache_left_behind(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `yum`, `dnf`/`microdnf` and `zypper` installs and upgrades not followed in
    the same RUN by `yum clean all` / `dnf clean all` / `zypper clean` (or an `rm` of
    the cache directory), unless the cache directory is a cache or tmpfs mount.

    ## Why is this bad?
    The metadata and package cache under `/var/cache/{yum,dnf,libdnf5,zypp}` is often
    over a hundred megabytes and is never used again.

    ## Example
    ```dockerfile
    FROM rockylinux:9
    RUN dnf install -y httpd-2.4.57
    ```

    ## Use instead
    ```dockerfile
    FROM rockylinux:9
    RUN dnf install -y httpd-2.4.57 && dnf clean all
    ```
    """
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in _RPM_CACHES:
                continue
            if not (installs(invocation) or invocation.action == "upgrade"):
                continue
            index = _position(commands, invocation)
            caches = _RPM_CACHES[invocation.tool]
            if caches_path(instruction, *caches) or _removes(commands, index, *caches):
                continue
            if _runs_later(commands, index, lambda c, p=invocation.program: _cleans_rpm_cache(p, c)):
                continue
            clean = "zypper clean" if invocation.tool == "zypper" else f"{invocation.program} clean all"
            yield Violation(
                invocation.command.span,
                f"add && {clean} in the same RUN",
                _fix(f"add && {clean}", append_to_run(ctx.dockerfile, instruction, clean)),
                alias=_RPM_ALIASES[invocation.tool],
            )


@rule(
    "DA406",
    "conda-cache",
    family=FAMILY,
    severity="warning",
    summary="conda/mamba install without conda clean -afy in the same RUN",
    fix="safe",
    enabled=False,  # precision ledger: 2 of 3 judged not worth reading
)
def find_conda_cache_left_behind(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `conda`/`mamba`/`micromamba` `install`, `create` and `env create|update`
    not followed in the same RUN by `conda clean -afy` (or `mamba`/`micromamba clean`,
    or an `rm` of the `pkgs` directory), unless the package cache is mounted.

    ## Why is this bad?
    Conda keeps every downloaded tarball and its extracted copy in `pkgs/`: for a
    CUDA-enabled environment that is several gigabytes in the layer.

    ## Example
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y numpy=2.1.1
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y numpy=2.1.1 && conda clean -afy
    ```
    """
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "conda" or invocation.action not in ("install", "create", "update"):
                continue
            index = _position(commands, invocation)
            cleaned = _runs_later(
                commands, index, lambda c: c.name in ("conda", "mamba", "micromamba") and "clean" in c.argv[1:2]
            )
            if cleaned or _mount_ends(instruction, "/pkgs") or _removes(commands, index, "/opt/conda/pkgs"):
                continue
            if any("/pkgs" in p for c in commands[index + 1 :] for p in _removed_paths(c)):
                continue
            clean = f"{invocation.program} clean -afy"
            yield Violation(
                invocation.command.span,
                f"add && {clean} in the same RUN",
                _fix(f"add && {clean}", append_to_run(ctx.dockerfile, instruction, clean)),
            )


_YARN_CACHES = ("/usr/local/share/.cache/yarn", "/root/.cache/yarn", "/home/node/.cache/yarn")


@rule(
    "DA407",
    "js-cache",
    family=FAMILY,
    severity="info",
    summary="yarn/npm install without cleaning the package cache",
    aliases=("DL3060",),
    fix="safe",
    enabled=False,  # precision ledger: 11 of 20 judged wrong
)
def find_js_cache_left_behind(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `yarn install`/`yarn add` not followed by `yarn cache clean` in the same
    RUN, and `npm install`/`npm ci` not followed by `npm cache clean --force` (or an
    `rm` of `~/.npm`), unless the cache directory is a cache or tmpfs mount.

    ## Why is this bad?
    Both keep a copy of every downloaded package tarball in the layer, often larger
    than `node_modules` itself.

    ## Example
    ```dockerfile
    FROM node:22-slim
    COPY package.json yarn.lock ./
    RUN yarn install --frozen-lockfile
    ```

    ## Use instead
    ```dockerfile
    FROM node:22-slim
    COPY package.json yarn.lock ./
    RUN yarn install --frozen-lockfile && yarn cache clean
    ```
    """
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            index = _position(commands, invocation)
            if invocation.tool == "yarn" and invocation.action in ("install", "global install", ""):
                if invocation.action == "" and invocation.verb is not None:
                    continue
                if caches_path(instruction, *_YARN_CACHES) or _mount_ends(instruction, ".cache/yarn"):
                    continue
                if _runs_later(commands, index, lambda c: c.name == "yarn" and c.argv[1:3] == ["cache", "clean"]):
                    continue
                yield Violation(
                    invocation.command.span,
                    "add && yarn cache clean in the same RUN",
                    _fix("add && yarn cache clean", append_to_run(ctx.dockerfile, instruction, "yarn cache clean")),
                    alias="DL3060",
                )
            elif invocation.tool == "npm" and invocation.action in ("install", "ci"):
                if _mount_ends(instruction, "/.npm") or _removes(commands, index, "/root/.npm", "~/.npm"):
                    continue
                if _runs_later(commands, index, lambda c: c.name == "npm" and c.argv[1:3] == ["cache", "clean"]):
                    continue
                clean = "npm cache clean --force"
                yield Violation(
                    invocation.command.span,
                    f"add && {clean} in the same RUN",
                    _fix(f"add && {clean}", append_to_run(ctx.dockerfile, instruction, clean)),
                    alias="",
                )


_BUILD_TOOLS = re.compile(
    r"^(?:build-essential|build-base|gcc|g\+\+|gcc-c\+\+|clang|make|cmake|ninja-build|gfortran|cuda-nvcc[\w.-]*"
    r"|[\w.+-]+-(?:dev|devel)|cuda-toolkit[\w.-]*|rust|cargo|golang|autoconf|automake|libtool|pkg-config|pkgconf)"
    r"(?:[=~<>].*|-\d.*)?$"
)


@rule(
    "DA408",
    "build-tools-in-final",
    family=FAMILY,
    severity="info",
    summary="compilers and headers installed in the final stage of a single-stage build",
    enabled=False,  # precision ledger: 14 of 16 judged not worth reading
)
def find_build_tools_in_final_image(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes compilers, build systems and `-dev`/`-devel` header packages installed with
    apt, apk, yum/dnf or zypper in a Dockerfile that has only one stage, and not
    removed again in the same RUN (`apt-get purge`, `apk del`).

    ## Why is this bad?
    A toolchain is hundreds of megabytes and a larger attack surface in an image
    that only needs to run. A builder stage compiles; the final stage copies the
    result.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends build-essential=12.9 \\
        && pip install --no-cache-dir uwsgi==2.0.27 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim AS build
    RUN apt-get update && apt-get install -y --no-install-recommends build-essential=12.9 \\
        && pip wheel --no-cache-dir --wheel-dir /wheels uwsgi==2.0.27
    FROM python:3.12-slim
    COPY --from=build /wheels /wheels
    RUN pip install --no-cache-dir /wheels/*.whl
    ```
    """
    if len(ctx.stages) != 1:
        return
    for instruction in _image_runs(ctx):
        commands = ctx.commands(instruction)
        if _purges_what_it_installed(commands):
            continue
        removed = {
            w.value.split("=")[0]
            for c in commands
            if (c.name in ("apt-get", "apt") and {"purge", "remove", "autoremove"} & set(c.argv[1:3]))
            or (c.name == "apk" and "del" in c.argv[1:2])
            or (c.name in ("yum", "dnf") and {"remove", "erase"} & set(c.argv[1:3]))
            for w in c.args
        }
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("apt-get", "apt", "apk", "yum", "dnf", "zypper") or not installs(invocation):
                continue
            if invocation.tool == "apk" and invocation.values("-t", "--virtual"):
                virtual = invocation.values("-t", "--virtual")[0]
                if virtual in removed:
                    continue
            tools = []
            for word in invocation.packages:
                name = re.split(r"[=~<>]", word.value, maxsplit=1)[0]
                if _BUILD_TOOLS.match(word.value) and name not in removed and name not in tools:
                    tools.append(name)
            if tools:  # one finding per install command, naming every tool in it
                yield Violation(invocation.command.span, _build_tools_message(tools))


def _build_tools_message(tools: list[str]) -> str:
    headers = all(name.endswith(("-dev", "-devel")) for name in tools)
    if len(tools) == 1:
        kind = "is a header package" if headers else "is a build tool"
    else:
        kind = "are header packages" if headers else "are build tools and headers"
    return f"{listing(tools)} {kind}: compile in a builder stage, copy the result"


def _purges_what_it_installed(commands: list[Command]) -> bool:
    """``apt-mark auto '.*'`` … ``apt-get purge --auto-remove``: the official images' build-and-drop idiom."""
    marked = any(c.name == "apt-mark" and "auto" in c.argv[1:2] for c in commands)
    purged = any(
        c.name in ("apt-get", "apt") and ("--auto-remove" in c.argv or "autoremove" in c.argv) for c in commands
    )
    return marked and purged


_DEV_TOOLS = frozenset(
    {"pytest", "pytest-cov", "black", "ruff", "flake8", "pylint", "mypy", "ipython", "ipdb", "pre-commit", "tox",
     "nox", "isort", "coverage", "jupyter", "jupyterlab", "notebook", "ipykernel"}
)  # fmt: skip
_NOTEBOOK = frozenset({"jupyter", "jupyterlab", "notebook", "ipykernel"})


@rule(
    "DA409",
    "dev-deps-in-final",
    family=FAMILY,
    severity="info",
    summary="test and dev tools (pytest, black, ipython, jupyter in a serving image) in the final stage",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_dev_tools_in_final_image(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes pip installs of test, lint and notebook tools (pytest, black, ruff, mypy,
    ipython, jupyter …) in the stages that end up in the image. Jupyter is fine when
    the image runs Jupyter.

    ## Why is this bad?
    They add size and attack surface to a production image and hint that test and
    runtime dependencies are not separated.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir fastapi==0.115.0 pytest==8.3.3
    CMD ["uvicorn", "app:app"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir fastapi==0.115.0
    CMD ["uvicorn", "app:app"]
    ```
    """
    starts = " ".join(
        " ".join(i.values) for s in ctx.image_stages for i in s.instructions if i.name in ("CMD", "ENTRYPOINT")
    ).lower()
    runs_notebook = "jupyter" in starts or "notebook" in starts
    for instruction in _image_runs(ctx):
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("pip", "uv", "conda") or not installs(invocation):
                continue
            named = [(word.value, "") for word in invocation.packages]
            if invocation.tool != "conda":  # -r files, read as DA205 reads them
                for option, contents in requirement_files(ctx, instruction, invocation):
                    for r in contents.requirements:
                        if r.name:
                            named.append((r.text, f" ({r.file.name if r.file else option.value}:{r.line})"))
            tools = []
            for text, where in named:
                name = re.split(r"[=<>~!\[;@ ]", text.lower(), maxsplit=1)[0]
                if name in _DEV_TOOLS and not (name in _NOTEBOOK and runs_notebook):
                    tools.append(f"'{name}'{where}")
            if tools:
                verb = "is a development tool: keep it" if len(tools) == 1 else "are development tools: keep them"
                yield Violation(invocation.command.span, f"{listing(tools, quoted=False)} {verb} out of the runtime image")


_APT_YES = ("-y", "--yes", "--assume-yes")
_YES_FLAGS = {
    "apt-get": _APT_YES, "apt": _APT_YES, "aptitude": _APT_YES, "yum": ("-y", "--assumeyes"),
    "dnf": ("-y", "--assumeyes"), "zypper": ("-n", "--non-interactive", "-y", "--no-confirm"),
}  # fmt: skip
_YES_ALIASES = {"apt-get": "DL3014", "apt": "DL3014", "aptitude": "DL3014", "yum": "DL3030", "dnf": "DL3038",
                "zypper": "DL3034"}  # fmt: skip


@rule(
    "DA410",
    "non-interactive",
    family=FAMILY,
    severity="warning",
    summary="install without -y/-n; DEBIAN_FRONTEND set with ENV",
    aliases=("DL3014", "DL3030", "DL3038", "DL3034"),
    fix="safe",
    enabled=False,  # precision ledger: 17 of 20 judged not worth reading
)
def find_interactive_installs(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `apt-get install` without `-y` (`-qq` implies it), `yum`/`dnf install`
    without `-y`, and `zypper install` without `-n`/`-y`. Also flags
    `ENV DEBIAN_FRONTEND=noninteractive`, which persists into every container run
    from the image; set it with `ARG` or inline on the command instead.

    ## Why is this bad?
    A build has no terminal: without the flag the install asks for confirmation,
    gets no answer and aborts.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    ENV DEBIAN_FRONTEND=noninteractive
    RUN apt-get update && apt-get install --no-install-recommends curl=7.88.1-10+deb12u8
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    ARG DEBIAN_FRONTEND=noninteractive
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name == "ENV":
            for arg in target.args:
                if arg.value.split("=", 1)[0] == "DEBIAN_FRONTEND":
                    yield Violation(
                        arg.span, "set DEBIAN_FRONTEND with ARG or inline: ENV keeps it in the running container",
                        alias="",
                    )  # fmt: skip
            continue
        for invocation in ctx.invocations(instruction):
            flags = _YES_FLAGS.get(invocation.tool)
            if flags is None or not installs(invocation) or invocation.has(*flags):
                continue
            if invocation.tool in ("apt-get", "apt", "aptitude"):
                assumes_yes = any(o.value and "assume-yes" in o.value.lower() for o in invocation.options)
                if _apt_quiet_level(invocation) >= 2 or assumes_yes:
                    continue  # -qq implies -y
            edit = insert_after_word(ctx.dockerfile, invocation.verb, "-y") if invocation.verb else None
            yield Violation(
                invocation.command.span,
                f"add {flags[0]} so {invocation.program} does not wait for an answer",
                _fix("add -y", edit),
                alias=_YES_ALIASES[invocation.tool],
            )


def _apt_quiet_level(invocation: Invocation) -> int:
    level = 0
    for option in invocation.options:
        if option.name in ("--quiet", "-q") and option.value is not None:
            level += int(option.value) if option.value.isdigit() else 1
        elif option.name == "--quiet":
            level += 1
        elif option.name.startswith("-") and not option.name.startswith("--") and option.value is None:
            level += option.name[1:].count("q")
    return level


@rule(
    "DA411",
    "wget-progress",
    family=FAMILY,
    severity="style",
    summary="wget without --progress=dot:giga or -q",
    aliases=("DL3047",),
    fix="safe",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_noisy_downloads(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `wget` without `--progress=…`, `-q`, `-nv` or an output log. (A stage using
    both curl and wget is DA414.) The fix adds `--progress=dot:giga` where wget is GNU
    wget (Debian and RHEL-family bases, or a `wget` package installed earlier) and `-q`
    on Alpine and BusyBox, whose wget refuses `--progress`.

    ## Why is this bad?
    wget's default progress bar writes thousands of lines into the build log for a
    large download (a model, a CUDA installer).

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN wget https://example.com/model.tar.gz
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN wget --progress=dot:giga https://example.com/model.tar.gz
    ```
    """
    quiet = ("--progress", "-q", "--quiet", "-nv", "--no-verbose", "-o", "--output-file", "-a", "--append-output")
    for stage in ctx.stages:
        for instruction in stage.instructions:
            for command in ctx.commands(instruction):
                if command.name == "wget" and not command.has_flag(*quiet):
                    yield Violation(
                        command.span,
                        "add --progress=dot:giga (or -q) to keep the build log readable",
                        _wget_quiet_fix(ctx, stage, instruction, command),
                    )


@rule(
    "DA414",
    "curl-and-wget",
    family=FAMILY,
    severity="style",
    summary="both curl and wget used in one stage: one download tool serves",
    aliases=("DL4001",),
    enabled=False,  # precision ledger: 14 of 14 judged not worth reading
)
def find_two_download_tools(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags the first use of the second download tool in a stage that runs both `curl`
    and `wget` (split from DA411, which is only about wget's progress bar).

    ## Why is this bad?
    Two download tools where one serves is a package more to install, scan and
    patch, and two sets of retry and TLS flags to keep right.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN curl -fsSL https://example.com/a.tar.gz -o /tmp/a.tar.gz \
     && wget -q https://example.com/b.tar.gz
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN curl -fsSL https://example.com/a.tar.gz -o /tmp/a.tar.gz \
     && curl -fsSLO https://example.com/b.tar.gz
    ```
    """
    for stage in ctx.stages:
        seen: set[str] = set()
        for instruction in stage.instructions:
            for command in ctx.commands(instruction):
                if command.name in ("wget", "curl") and command.name not in seen:
                    seen.add(command.name)
                    if len(seen) == 2:
                        yield Violation(command.span, "both curl and wget are used in this stage: use one of them")


def _wget_quiet_fix(ctx: LintContext, stage: Stage, instruction: Instruction, command: Command) -> Fix | None:
    """``--progress=dot:giga`` where the wget is known to be GNU wget (``wget_is_gnu``); ``-q`` where it is
    BusyBox's, which refuses ``--progress`` (dockaudit.facts.toolflags); an unsafe fix where the base is unknown."""
    family = baseos.stage_family(stage)
    if wget_is_gnu(ctx, stage, instruction, command):
        flag, safe = "--progress=dot:giga", True
    elif family in (baseos.ALPINE, baseos.BUSYBOX, baseos.BASH_IMAGE):
        flag, safe = "-q", True
    else:
        flag, safe = "--progress=dot:giga", False
    edit = insert_after_word(ctx.dockerfile, command.words[0], flag)
    return Fix(f"add {flag}", (edit,), safe=safe) if edit is not None else None


def wget_is_gnu(ctx: LintContext, stage: Stage, instruction: Instruction, command: Command) -> bool:
    """Precondition of DA411's safe --progress fix: Debian and RHEL-family bases only package GNU wget;
    elsewhere (BusyBox's wget on Alpine) it takes an installed ``wget`` package."""
    if baseos.stage_family(stage) in (baseos.DEBIAN, baseos.RHEL):
        return True
    return baseos.installed_before(ctx, stage, instruction, command, "wget")


@rule(
    "DA412",
    "useradd-large-uid",
    family=FAMILY,
    severity="warning",
    summary="useradd with a high UID and no -l (sparse lastlog bloats the layer)",
    aliases=("DL3046",),
    fix="safe",
)
def find_useradd_without_no_log_init(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `useradd -u <UID>` with a UID of 100000 or more and without `-l`
    (`--no-log-init`).

    ## Why is this bad?
    useradd reserves a record for the UID in `/var/log/lastlog` and `faillog`; the
    sparse file is stored in full in the layer — gigabytes for a large UID.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN useradd -u 1000000 app
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN useradd -l -u 1000000 app
    ```
    """
    for _instruction, command in ctx.all_commands():
        if command.name != "useradd" or command.has_flag("-l", "--no-log-init"):
            continue
        words = command.args
        for index, word in enumerate(words):
            value = word.value
            uid = None
            if value in ("-u", "--uid") and index + 1 < len(words):
                uid = words[index + 1].value
            elif value.startswith("--uid="):
                uid = value.split("=", 1)[1]
            elif value.startswith("-u") and len(value) > 2 and value[2:].isdigit():
                uid = value[2:]
            if uid and uid.isdigit() and int(uid) >= 100000:
                edit = insert_after_word(ctx.dockerfile, command.words[0], "-l")
                yield Violation(
                    command.span,
                    f"add -l (--no-log-init): UID {uid} makes a sparse lastlog of gigabytes",
                    _fix("add -l", edit),
                )


_ARCHIVE = re.compile(r"\.(?:tar|tar\.\w+|tgz|tbz2?|txz|tzst|gz|bz2|xz|zst|lz|lzma|z)$", re.IGNORECASE)


@rule(
    "DA413",
    "add-for-local",
    family=FAMILY,
    severity="info",  # advice: ADD works, COPY says what it does (the build and the image are the same)
    summary="ADD of a local file or folder (not an archive to extract, not a URL)",
    aliases=("DL3020",),
    fix="safe",
)
def find_add_for_local_files(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `ADD` whose sources are local files or folders that ADD would copy as
    they are: not a tar archive it extracts, not a URL or git repository.

    ## Why is this bad?
    ADD's extra behaviours (auto-extracting archives, fetching URLs) make a plain
    copy surprising to read; COPY says exactly what happens.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ADD app.py /app/
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    COPY app.py /app/
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name != "ADD" or target.json and not target.args or len(target.args) < 2:
            continue
        sources = [s.value.strip("'\"") for s in target.args[:-1]]
        if any("://" in s or s.startswith("git@") or _ARCHIVE.search(s) or "$" in s for s in sources):
            continue
        fix = None
        if not any(f.name in ("checksum", "keep-git-dir", "unpack") for f in target.flags):
            keyword = "copy" if target.keyword.islower() else "COPY"
            fix = Fix("use COPY", (Edit(target.keyword_span, keyword),), reshapes=True)
        yield Violation(target.keyword_span, "use COPY: ADD of local files only copies them", fix)
