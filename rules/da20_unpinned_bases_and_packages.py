"""DA201–DA209 — base images and packages that move under you: FROM without a tag, ``:latest`` or
without a digest (with registry fixes under ``--online``, through ``ctx.resources``), and apt, pip, apk,
npm, gem and conda installs without versions.  One finding per install command names all its
unpinned packages (``dockaudit.linting.wording.pin_message``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.imageref import parse_image_ref
from dockaudit.facts.installs import Invocation, installs, is_literal
from dockaudit.facts.requirements import constrained_names, parse_requirement, requirement_files
from dockaudit.linting.wording import listing, pin_message
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.source import Span

FAMILY = "pinning"


def _base_images(ctx: LintContext):
    """Each FROM that names a real image (not scratch, not an earlier stage, resolvable)."""
    for stage in ctx.stages:
        instruction = stage.from_instruction
        if instruction is None or not instruction.args or stage.is_scratch:
            continue
        if stage.unresolved or ctx.names_earlier_stage(stage.index, stage.image):
            continue
        ref = parse_image_ref(stage.image)
        if ref is not None:
            yield stage, instruction.args[0].span, ref


# The fixes below need a registry, so they exist only with --online, and only when the FROM word is the
# image itself: with an ARG in it, an edit there would pin whatever the default happens to be.
def _version_tag_fix(ctx: LintContext, image: str, word: Span, target: Span, prefix: str) -> Fix | None:
    """Write the version tag that ``latest`` points at today (unsafe: the team must still choose to follow it)."""
    if not ctx.options.online or ctx.text(word) != image:
        return None
    tag = ctx.resources.version_tag(image)
    if tag is None:
        return None
    return Fix(f"use :{tag} (what latest is today)", (Edit(target, prefix + tag),), safe=False)


@rule(
    "DA201",
    "base-image-untagged",
    family=FAMILY,
    severity="warning",
    summary="FROM without a tag or digest: the build takes whatever `latest` is today",
    aliases=("DL3006",),
    fix="unsafe",
    enabled=False,  # precision ledger: 8 of 20 judged not worth reading
)
def find_untagged_base_images(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `FROM` whose image has neither a tag nor a digest. `scratch`, earlier
    stages and images built from an ARG with no default are left alone; an ARG
    default is followed, as BuildKit does.

    ## Why is this bad?
    With no tag, docker pulls `:latest`, which moves: the same Dockerfile builds a
    different image next month, with a different Python, CUDA or libc, and nothing
    in the repository shows why.

    ## Example
    ```dockerfile
    FROM python
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    ```
    """
    for stage, span, ref in _base_images(ctx):
        if ref.tag is None and ref.digest is None:
            message = (f"tag the base image: '{stage.image}' has no tag, so it means ':latest' "
                       f"(e.g. {ref.short_name}:<version>)")  # fmt: skip
            yield Violation(span, message, _version_tag_fix(ctx, stage.image, span, Span(span.end, span.end), ":"))


@rule(
    "DA202",
    "base-image-latest",
    family=FAMILY,
    severity="warning",
    summary="FROM …:latest: the base changes without the Dockerfile changing",
    aliases=("DL3007",),
    fix="unsafe",
)
def find_latest_base_images(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `FROM` that names the `latest` tag without a digest.

    ## Why is this bad?
    `latest` is whatever was pushed last. Builds stop being reproducible and a
    base-image major upgrade (a new Python, a new CUDA) arrives unannounced.

    ## Example
    ```dockerfile
    FROM ubuntu:latest
    ```

    ## Use instead
    ```dockerfile
    FROM ubuntu:24.04
    ```
    """
    for stage, span, ref in _base_images(ctx):
        if ref.tag == "latest" and ref.digest is None:
            latest = Span(span.end - len("latest"), span.end)
            fix = _version_tag_fix(ctx, stage.image, span, latest, "")
            yield Violation(span, f"pin '{ref.repository}' to a version tag instead of ':latest'", fix)


def _digest_fix(ctx: LintContext, image: str, word: Span) -> Fix | None:
    """Append the digest the tag names today: the build stays the same, now reproducibly."""
    if not ctx.options.online or ctx.text(word) != image:
        return None
    digest = ctx.resources.tag_digest(image)
    if digest is None:
        return None
    return Fix(f"pin {digest[:19]}…", (Edit(Span(word.end, word.end), f"@{digest}"),))


@rule(
    "DA203",
    "base-image-not-digest",
    family=FAMILY,
    severity="info",
    summary="FROM with a tag but no digest (tags can be re-pushed)",
    enabled=False,
    fix="safe",
)
def find_base_images_without_digest(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes a `FROM` that pins a tag but no `@sha256:` digest. Off by default; turn it
    on where builds must be bit-for-bit reproducible.

    ## Why is this bad?
    Tags are mutable: `python:3.12-slim` is re-pushed for every security update. A
    digest names exactly one image; keep the tag next to it for readers.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim@sha256:2b0079146a74e23bf4ae8f6a28e1b484c6292f6fb904cbb51825b4a19812fcd8
    ```
    """
    for stage, span, ref in _base_images(ctx):
        if ref.tag is not None and ref.digest is None:
            yield Violation(span, f"add the digest of '{ref}' (keep the tag for readers: {ref}@sha256:…)",
                            _digest_fix(ctx, stage.image, span))  # fmt: skip


def _install_commands(ctx: LintContext, *tools: str) -> Iterator[tuple[Invocation, list[str]]]:
    """Each install by one of ``tools``, with its literal package words."""
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool in tools and installs(invocation):
                yield invocation, [word.value for word in invocation.packages if is_literal(word)]


def _unpinned(invocation: Invocation, names: list[str], pin: str, alias: str | None = None) -> Iterator[Violation]:
    """One finding on the install command for all its unpinned ``names`` (none when there are none)."""
    if names:
        yield Violation(invocation.command.span, pin_message(names, pin), alias=alias)


@rule(
    "DA204",
    "apt-unpinned",
    family=FAMILY,
    severity="warning",
    summary="apt-get install without pkg=version",
    aliases=("DL3008",),
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_unpinned_apt_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags packages given to `apt-get install` (or `apt`, `aptitude`) without a
    `=version`. Local `.deb` files are fine.

    ## Why is this bad?
    The package index changes daily; an unpinned install gets a different version on
    every cache miss, and a broken upstream release breaks your build with no diff.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8 && rm -rf /var/lib/apt/lists/*
    ```
    """
    for invocation, packages in _install_commands(ctx, "apt-get", "apt", "aptitude"):
        loose = [value for value in packages if "=" not in value and not value.endswith(".deb") and "/" not in value]
        yield from _unpinned(invocation, loose, "{}=<version>")


_PIP_BOOTSTRAP = frozenset({"pip", "setuptools", "wheel"})


def _unpinned_requirement_files(
    ctx: LintContext, instruction: Instruction, invocation: Invocation
) -> Iterator[Violation]:
    """One finding per ``-r`` file read (nested includes counted with the file that holds the line),
    on the ``-r`` word: the fix is in that file, not on the command line."""
    for option, contents in requirement_files(ctx, instruction, invocation):
        pinned_by_constraints = constrained_names(contents.constraints)
        loose = [
            r
            for r in contents.requirements
            if (r.is_vcs and r.vcs_ref is None)
            or (
                not r.local
                and r.name is not None
                and not r.constrained
                and r.name not in pinned_by_constraints
                and r.name not in _PIP_BOOTSTRAP
            )
        ]
        by_file: dict[str, list] = {}
        for requirement in loose:
            by_file.setdefault(requirement.file.name if requirement.file else option.value, []).append(requirement)
        for where, requirements in by_file.items():
            yield Violation(option.word.span, _requirement_file_message(where, requirements))


def _requirement_file_message(where: str, requirements: list) -> str:
    """``req.txt:3: pin 'flask' with ==<version>`` for one line; the lines listed for several."""
    if len(requirements) == 1:
        (requirement,) = requirements
        how = "to a tag or commit with @<ref>" if requirement.is_vcs else "with ==<version>"
        return f"{where}:{requirement.line}: pin '{requirement.text}' {how}"
    lines = listing([f"'{r.text}' (line {r.line})" for r in requirements], quoted=False)
    vcs_note = " (VCS links with @<ref>)" if any(r.is_vcs for r in requirements) else ""
    return f"{where}: pin {lines} with ==<version>{vcs_note}"


@rule(
    "DA205",
    "pip-unpinned",
    family=FAMILY,
    severity="warning",
    summary="pip/uv/pipx install of a package without a version; unpinned lines in -r files",
    aliases=("DL3013",),
    enabled=False,  # precision ledger: 15 of 20 judged not worth reading
)
def find_unpinned_pip_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install` (also `pip3`, `python -m pip`, `uv pip`, `pipx`) of a package
    named without a version, and VCS links (`git+https://…`) without an `@ref`. A
    version specifier (`==`, `===`, `~=`, a `>=,<` range), a constraint file (`-c`),
    local paths, archives and `.` count as pinned; `pip`, `setuptools` and `wheel`
    themselves are not reported. For `-r requirements.txt` the file is read from the
    build context (`--context`, else the Dockerfile's folder), nested `-r` included,
    and each unpinned line is named; `--hash` lines are pinned.

    ## Why is this bad?
    An unpinned package resolves to the newest release at build time. For ML stacks
    that is how a working image starts pulling a torch built for another CUDA.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir fastapi
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("pip", "uv", "pipx") or not installs(invocation):
                continue
            if invocation.values("-c", "--constraint"):
                continue  # a constraint file pins what it names
            loose_vcs, loose = [], []
            for word in invocation.packages:
                if not is_literal(word):
                    continue
                requirement = parse_requirement(word.value)
                if requirement.is_vcs:
                    if requirement.vcs_ref is None:
                        loose_vcs.append(word.value)
                elif not (requirement.local or requirement.name is None or requirement.constrained):
                    if requirement.name not in _PIP_BOOTSTRAP:
                        loose.append(word.value)
            if loose_vcs:
                yield Violation(
                    invocation.command.span,
                    f"pin the VCS link{'s' if len(loose_vcs) > 1 else ''} {listing(loose_vcs)} to a tag or commit "
                    "with @<ref>",
                )
            yield from _unpinned(invocation, loose, "{}==<version>")
            yield from _unpinned_requirement_files(ctx, instruction, invocation)


@rule(
    "DA206",
    "apk-unpinned",
    family=FAMILY,
    severity="warning",
    summary="apk add without pkg=version",
    aliases=("DL3018",),
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_unpinned_apk_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags packages given to `apk add` without a version constraint (`=`, `~`, `<`,
    `>`). Local `.apk` files are fine.

    ## Why is this bad?
    Alpine's repositories move within a release branch; pinning makes a rebuild
    reproduce the image you tested.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl=8.9.1-r1
    ```
    """
    for invocation, packages in _install_commands(ctx, "apk"):
        loose = [v for v in packages if not any(c in v for c in "=~<>") and not v.endswith(".apk") and "/" not in v]
        yield from _unpinned(invocation, loose, "{}=<version>")


_NPM_LOCAL = re.compile(r"^(?:\.{0,2}/|~/|file:)|\.(?:tgz|tar|tar\.gz)$")


_NPM_GIT = re.compile(r"^(?:git\+\w+|git|github|gitlab|bitbucket):|^[\w.-]+/[\w.-]+$")


@rule(
    "DA207",
    "npm-unpinned",
    family=FAMILY,
    severity="warning",
    summary="npm/yarn/pnpm add or install of a package without a version",
    aliases=("DL3016",),
    enabled=False,  # precision ledger: 7 of 7 judged not worth reading
)
def find_unpinned_js_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `npm install <pkg>`, `yarn add <pkg>`, `pnpm add <pkg>` (global ones too)
    where the package has no `@version`, and git URLs without a `#ref`. A bare
    `npm install` / `npm ci` installs from the lockfile and is fine.

    ## Why is this bad?
    A floating version pulls whatever was published last, including a compromised
    release; the lockfile does not cover packages added on the command line.

    ## Example
    ```dockerfile
    FROM node:22-slim
    RUN npm install -g pm2
    ```

    ## Use instead
    ```dockerfile
    FROM node:22-slim
    RUN npm install -g pm2@5.4.2
    ```
    """
    for invocation, packages in _install_commands(ctx, "npm", "yarn", "pnpm"):
        alias = "DL3016" if invocation.tool == "npm" else ""
        remote = [value for value in packages if not _NPM_LOCAL.search(value)]
        from_git = [value for value in remote if _NPM_GIT.search(value) or "://" in value]
        yield from _unpinned(invocation, [value for value in from_git if "#" not in value], "{}#<tag or commit>", alias)
        loose = [value for value in remote if value not in from_git and "@" not in value[1:]]
        yield from _unpinned(invocation, loose, "{}@<version>", alias)


@rule(
    "DA208",
    "gem-unpinned",
    family=FAMILY,
    severity="warning",
    summary="gem install without :version or -v",
    aliases=("DL3028",),
    enabled=False,  # precision ledger: 6 of 6 judged not worth reading
)
def find_unpinned_gems(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `gem install` of a gem without `name:version` or `-v/--version`.

    ## Why is this bad?
    Gems resolve to the newest release at build time, so rebuilding the same
    Dockerfile can install a different, possibly incompatible, version.

    ## Example
    ```dockerfile
    FROM ruby:3.3-slim
    RUN gem install bundler
    ```

    ## Use instead
    ```dockerfile
    FROM ruby:3.3-slim
    RUN gem install bundler:2.5.18
    ```
    """
    for invocation, packages in _install_commands(ctx, "gem"):
        if invocation.values("-v", "--version"):
            continue
        loose = [v for v in packages if ":" not in v and v not in ("true", "false") and not v.endswith(".gem")]
        yield from _unpinned(invocation, [v for v in loose if "/" not in v], "{}:<version>")


@rule(
    "DA209",
    "conda-unpinned",
    family=FAMILY,
    severity="warning",
    summary="conda/mamba/micromamba install of packages without =version",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_unpinned_conda_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags packages given to `conda install`, `conda create`, `mamba` or `micromamba`
    without a version (`=`, `==`, `>=` …). `--file` and `env create -f` installs are
    left to the file.

    ## Why is this bad?
    Conda's solver picks the newest compatible build of everything unpinned; the
    same command solves differently from one week to the next.

    ## Example
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y numpy && conda clean -afy
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y numpy=2.1.1 && conda clean -afy
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "conda" or invocation.action not in ("install", "create"):
                continue
            loose = [
                word.value
                for word in invocation.packages
                if is_literal(word)
                and not any(c in word.value for c in "=<>")
                and "/" not in word.value.split("::")[-1]
                and not word.value.endswith((".tar.bz2", ".conda"))
            ]
            yield from _unpinned(invocation, loose, "{}=<version>")
