"""DA405–DA409 — rpm, conda and JS package caches, and compilers or dev tools left in the final stage.

As for DA401–DA404, only the stages whose layers end up in the image count, and a cache mount over
the cache directory satisfies the cache rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from dockaudit.context import LintContext
from dockaudit.facts.cleanups import (
    cache_mount_ends_with,
    command_index,
    removed_paths,
    removes_later,
    runs_later,
    shipped_runs,
)
from dockaudit.facts.installs import installs
from dockaudit.facts.mlfacts import image_stage_facts, run_time_compiles
from dockaudit.facts.requirements import requirement_files
from dockaudit.linting.edits import append_to_run, fix_of
from dockaudit.linting.wording import listing
from dockaudit.model import Violation
from dockaudit.plugin import rule
from dockaudit.syntax.mounts import caches_path
from dockaudit.syntax.shell import Command
from dockaudit.patterns import lazy_pattern

FAMILY = "cleanup"


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
    for instruction in shipped_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in _RPM_CACHES:
                continue
            if not (installs(invocation) or invocation.action == "upgrade"):
                continue
            index = command_index(commands, invocation)
            caches = _RPM_CACHES[invocation.tool]
            if caches_path(instruction, *caches) or removes_later(commands, index, *caches):
                continue
            if runs_later(commands, index, lambda c, p=invocation.program: _cleans_rpm_cache(p, c)):
                continue
            clean = "zypper clean" if invocation.tool == "zypper" else f"{invocation.program} clean all"
            yield Violation(
                invocation.command.span,
                f"add && {clean} in the same RUN",
                fix_of(f"add && {clean}", append_to_run(ctx.dockerfile, instruction, clean)),
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
    for instruction in shipped_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "conda" or invocation.action not in ("install", "create", "update"):
                continue
            index = command_index(commands, invocation)
            cleaned = runs_later(
                commands, index, lambda c: c.name in ("conda", "mamba", "micromamba") and "clean" in c.argv[1:2]
            )
            if cleaned or cache_mount_ends_with(instruction, "/pkgs") or removes_later(commands, index, "/opt/conda/pkgs"):
                continue
            if any("/pkgs" in p for c in commands[index + 1 :] for p in removed_paths(c)):
                continue
            clean = f"{invocation.program} clean -afy"
            yield Violation(
                invocation.command.span,
                f"add && {clean} in the same RUN",
                fix_of(f"add && {clean}", append_to_run(ctx.dockerfile, instruction, clean)),
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
    for instruction in shipped_runs(ctx):
        commands = ctx.commands(instruction)
        for invocation in ctx.invocations(instruction):
            index = command_index(commands, invocation)
            if invocation.tool == "yarn" and invocation.action in ("install", "global install", ""):
                if invocation.action == "" and invocation.verb is not None:
                    continue
                if caches_path(instruction, *_YARN_CACHES) or cache_mount_ends_with(instruction, ".cache/yarn"):
                    continue
                if runs_later(commands, index, lambda c: c.name == "yarn" and c.argv[1:3] == ["cache", "clean"]):
                    continue
                yield Violation(
                    invocation.command.span,
                    "add && yarn cache clean in the same RUN",
                    fix_of("add && yarn cache clean", append_to_run(ctx.dockerfile, instruction, "yarn cache clean")),
                    alias="DL3060",
                )
            elif invocation.tool == "npm" and invocation.action in ("install", "ci"):
                if cache_mount_ends_with(instruction, "/.npm") or removes_later(commands, index, "/root/.npm", "~/.npm"):
                    continue
                if runs_later(commands, index, lambda c: c.name == "npm" and c.argv[1:3] == ["cache", "clean"]):
                    continue
                clean = "npm cache clean --force"
                yield Violation(
                    invocation.command.span,
                    f"add && {clean} in the same RUN",
                    fix_of(f"add && {clean}", append_to_run(ctx.dockerfile, instruction, clean)),
                    alias="",
                )


_BUILD_TOOLS = lazy_pattern(
    r"^(?:build-essential|build-base|gcc|g\+\+|gcc-c\+\+|clang|make|cmake|ninja-build|gfortran|cuda-nvcc[\w.-]*"
    r"|[\w.+-]+-(?:dev|devel)|cuda-toolkit[\w.-]*|rust|cargo|golang|autoconf|automake|libtool|pkg-config|pkgconf)"
    r"(?:[=~<>].*|-\d.*)?$"
)


# What a JIT compile at run time needs: a C compiler and Python's headers (Triton's launcher, torch.compile),
# and for nvcc users (DeepSpeed ops, FlashInfer) also the CUDA compiler, headers and ninja.
_RUN_TIME_C = lazy_pattern(
    r"^(?:build-essential|build-base|gcc(?:-\d+)?|g\+\+(?:-\d+)?|gcc-c\+\+|clang(?:-\d+)?"
    r"|python3?(?:\.\d+)?-dev(?:el)?|libpython3(?:\.\d+)?-dev)$"
)


def _nvcc_tool(name: str) -> bool:
    """The CUDA compiler, toolkit, CUDA headers (``cuda-cudart-dev-12-4``, ``libcublas-dev``), ninja, or
    libaio's headers (DeepSpeed's async_io op compiles against them when first used)."""
    return name.startswith(("cuda-nvcc", "cuda-toolkit")) or name in ("ninja-build", "libaio-dev") or (
        name.startswith(("cuda-", "libcu")) and "-dev" in name
    )


def _needed_at_run_time(ctx: LintContext) -> Callable[[str], bool]:
    """Whether the image itself compiles with an installed tool when it runs (JIT kernels)."""
    facts = image_stage_facts(ctx)
    c_user, nvcc_user = run_time_compiles(facts) if facts is not None else (None, None)
    if nvcc_user:
        return lambda name: bool(_RUN_TIME_C.match(name) or _nvcc_tool(name))
    if c_user:
        return lambda name: bool(_RUN_TIME_C.match(name))
    return lambda name: False


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


@rule(
    "DA408",
    "build-tools-in-final",
    family=FAMILY,
    severity="info",
    summary="compilers and headers installed in the final stage of a single-stage build",
    enabled=False,  # precision ledger: 22 of 24 judged not worth reading
)
def find_build_tools_in_final_image(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes compilers, build systems and `-dev`/`-devel` header packages installed with
    apt, apk, yum/dnf or zypper in a Dockerfile that has only one stage, and not
    removed again in the same RUN (`apt-get purge`, `apk del`). Not the ones the image
    compiles with when it runs: a C compiler and Python headers (`build-essential`,
    `python3-dev`) next to torch, triton, vLLM, SGLang or unsloth (Triton builds its
    C launcher and `torch.compile` its C++ at the first run), and the CUDA compiler,
    CUDA headers, ninja (and `libaio-dev` for DeepSpeed's async_io op) too next to
    DeepSpeed or FlashInfer (their kernels are JIT-compiled with nvcc).

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
    needed = _needed_at_run_time(ctx)
    for instruction in shipped_runs(ctx):
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
                if _BUILD_TOOLS.match(word.value) and name not in removed and name not in tools and not needed(name):
                    tools.append(name)
            if tools:  # one finding per install command, naming every tool in it
                yield Violation(invocation.command.span, _build_tools_message(tools))


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
    for instruction in shipped_runs(ctx):
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
