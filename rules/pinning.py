"""DA2xx — pinning and reproducibility: base images and packages that move under you."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.imageref import parse_image_ref
from dockaudit.facts.installs import Invocation, installs
from dockaudit.model import Edit, Fix, Violation
from dockaudit.facts.online import tag_digest, version_tag
from dockaudit.plugin import rule
from dockaudit.facts.requirements import constrained_names, parse_requirement, requirement_files
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import ShellWord
from dockaudit.syntax.source import Span
from dockaudit.linting.wording import listing

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


# The fixes below need a registry, so they exist only with --online, and only when the FROM word is the
# image itself: with an ARG in it, an edit there would pin whatever the default happens to be.


def _version_tag_fix(ctx: LintContext, image: str, word: Span, target: Span, prefix: str) -> Fix | None:
    """Write the version tag that ``latest`` points at today (unsafe: the team must still choose to follow it)."""
    if not ctx.options.online or ctx.text(word) != image:
        return None
    tag = version_tag(image)
    if tag is None:
        return None
    return Fix(f"use :{tag} (what latest is today)", (Edit(target, prefix + tag),), safe=False)


def _digest_fix(ctx: LintContext, image: str, word: Span) -> Fix | None:
    """Append the digest the tag names today: the build stays the same, now reproducibly."""
    if not ctx.options.online or ctx.text(word) != image:
        return None
    digest = tag_digest(image)
    if digest is None:
        return None
    return Fix(f"pin {digest[:19]}…", (Edit(Span(word.end, word.end), f"@{digest}"),))


def _plain(word: ShellWord) -> bool:
    """A literal word: variables, globs and substitutions are settled only at build time."""
    return "$" not in word.value and "`" not in word.value and not word.value.startswith("<")


def _install_commands(ctx: LintContext, *tools: str) -> Iterator[tuple[Invocation, list[str]]]:
    """Each install by one of ``tools``, with its literal package words."""
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool in tools and installs(invocation):
                yield invocation, [word.value for word in invocation.packages if _plain(word)]


def pin_message(names: list[str], pin: str) -> str:
    """The one message for every unpinned name of one command.

    ``pin`` spells how one name is pinned, ``{}`` standing for it (``"{}=<version>"``): a single
    name reads ``pin 'curl' with curl=<version>``, several ``pin 'curl' and 'git' with
    <package>=<version>``."""
    if len(names) == 1:
        return f"pin '{names[0]}' with {pin.format(names[0])}"
    return f"pin {listing(names)} with {pin.format('<package>')}"


def _unpinned(invocation: Invocation, names: list[str], pin: str, alias: str | None = None) -> Iterator[Violation]:
    """One finding on the install command for all its unpinned ``names`` (none when there are none):
    the problem is the command, and one line per package buried real findings under thousands."""
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
                if not _plain(word):
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
                if _plain(word)
                and not any(c in word.value for c in "=<>")
                and "/" not in word.value.split("::")[-1]
                and not word.value.endswith((".tar.bz2", ".conda"))
            ]
            yield from _unpinned(invocation, loose, "{}=<version>")


_RPM_VERSIONED = re.compile(r"-(?:\d+:)?\d[\w.+~^-]*$")


@rule(
    "DA210",
    "rpm-unpinned",
    family=FAMILY,
    severity="warning",
    summary="yum/dnf/microdnf/zypper install without versions",
    aliases=("DL3033", "DL3041", "DL3037"),
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_unpinned_rpm_packages(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags packages given to `yum install`, `dnf install`/`microdnf install` without a
    `-version` suffix, `module install` streams without `:stream`, and `zypper
    install` packages without `=version` (or `>=`, `<` …). Local `.rpm` files and
    `group install` are fine. A version from an ARG or ENV in scope counts as pinned.

    ## Why is this bad?
    The repositories move; an unpinned install makes the image depend on the day it
    was built.

    ## Example
    ```dockerfile
    FROM rockylinux:9
    RUN dnf install -y httpd && dnf clean all
    ```

    ## Use instead
    ```dockerfile
    FROM rockylinux:9
    RUN dnf install -y httpd-2.4.57 && dnf clean all
    ```
    """
    aliases = {"yum": "DL3033", "dnf": "DL3041", "zypper": "DL3037"}
    for stage in ctx.stages:
        for instruction, scope in stage.scopes():
            for invocation in ctx.invocations(instruction):
                if invocation.tool not in aliases or not installs(invocation) or invocation.action.startswith("group"):
                    continue
                if invocation.action.startswith("module"):
                    pin, pinned = "{}:<stream>", lambda value: ":" in value
                elif invocation.tool == "zypper":
                    pin, pinned = "{}=<version>", lambda value: any(c in value for c in "=<>")
                else:
                    pin, pinned = "{}-<version>", lambda value: bool(_RPM_VERSIONED.search(value))
                loose = []
                for word in invocation.packages:
                    value = _resolve_known(word.value, scope)
                    if value is not None and not value.endswith(".rpm") and "/" not in value and not pinned(value):
                        loose.append(value)
                yield from _unpinned(invocation, loose, pin, aliases[invocation.tool])


def _resolve_known(value: str, scope) -> str | None:
    """Substitute ``$NAME``/``${NAME}`` from the scope; None when a variable is unknown (the base
    image may set it: stay silent rather than guess)."""
    if "$" not in value:
        return value
    unknown = False

    def substitute(match: re.Match) -> str:
        nonlocal unknown
        variable = scope.get(match.group(1) or match.group(2))
        if variable is None or variable.value is None:
            unknown = True
            return ""
        return variable.value

    resolved = re.sub(r"\$\{(\w+)(?:[^}\w][^}]*)?\}|\$(\w+)", substitute, value)
    return None if unknown else resolved


@rule(
    "DA211",
    "go-unpinned",
    family=FAMILY,
    severity="warning",
    summary="go install/get/run of a module at @latest or without @version",
    aliases=("DL3062",),
    enabled=False,  # precision ledger: 7 of 20 judged wrong
)
def find_unpinned_go_modules(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `go install`, `go get` and `go run` of a remote module path without
    `@version` or with `@latest`. Local packages (`.`, `./cmd/x`, absolute paths)
    are fine.

    ## Why is this bad?
    `@latest` resolves at build time; the tool you tested is not the tool you ship.

    ## Example
    ```dockerfile
    FROM golang:1.23
    RUN go install golang.org/x/tools/gopls@latest
    ```

    ## Use instead
    ```dockerfile
    FROM golang:1.23
    RUN go install golang.org/x/tools/gopls@v0.16.2
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "go" or invocation.action not in ("install", "get", "run"):
                continue
            words = invocation.packages[:1] if invocation.action == "run" else invocation.packages
            loose = []
            for word in words:
                value = word.value
                if not _plain(word) or value.startswith((".", "/")) or value.endswith(".go"):
                    continue
                module, _at, version = value.partition("@")
                if not version or version == "latest":
                    loose.append(module)
            yield from _unpinned(invocation, loose, "{}@<version>")


@rule(
    "DA212",
    "vcs-unpinned",
    family=FAMILY,
    severity="info",
    summary="git clone (or cargo install --git) without a fixed ref",
)
def find_unpinned_git_sources(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `git clone` without `--branch/-b <tag>` and with no `git checkout` later in
    the same RUN, and `cargo install --git` without `--rev`/`--tag`. (pip and npm git
    links are checked by DA205 and DA207.)

    ## Why is this bad?
    The default branch moves; the image contains whatever was pushed before the
    build, and the layer cache hides that it changed.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN git clone https://github.com/Dao-AILab/flash-attention.git /src
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN git clone --branch v2.6.3 --depth 1 https://github.com/Dao-AILab/flash-attention.git /src
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        commands = ctx.commands(instruction)
        for index, command in enumerate(commands):
            argv = command.argv
            if command.name == "git" and "clone" in argv[1:3]:
                if command.has_flag("-b", "--branch", "--revision"):
                    continue
                later = commands[index + 1 :]
                if any(c.name == "git" and ({"checkout", "reset", "switch"} & set(c.argv[1:4])) for c in later):
                    continue
                yield Violation(
                    command.span, "clone a fixed tag or commit: git clone --branch <tag> (or git checkout <sha>)"
                )
            elif command.name == "cargo" and "install" in argv[1:2] and command.has_flag("--git"):
                if not command.has_flag("--rev", "--tag"):
                    yield Violation(command.span, "pin the cargo git source with --tag or --rev")


_UPGRADES = {
    "apt-get": ("upgrade",), "apt": ("upgrade",), "aptitude": ("upgrade", "safe-upgrade", "full-upgrade"),
    "yum": ("update", "upgrade"), "dnf": ("update", "upgrade"), "zypper": ("update", "upgrade"), "apk": ("upgrade",),
}  # fmt: skip
_UPGRADE_ALIASES = {
    "apt-get": "DL3005",
    "apt": "DL3005",
    "apk": "DL3017",
    "yum": "DL3031",
    "dnf": "DL3039",
    "zypper": "DL3035",
}


@rule(
    "DA213",
    "distro-upgrade",
    family=FAMILY,
    severity="info",
    summary="apt-get upgrade, yum/dnf update, zypper up/dup, apk upgrade of the whole distribution",
    aliases=("DL3005", "DL3017", "DL3031", "DL3035", "DL3039"),
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_distribution_upgrades(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes a whole-distribution upgrade in a RUN: `apt-get upgrade`/`dist-upgrade`,
    `yum update`, `dnf upgrade`, `zypper update`/`dup`, `apk upgrade` with no
    package named.

    ## Why is this bad?
    The result depends on the build date and can drift far from the base image that
    was tested; rebuilding on a newer base tag gets the fixes reproducibly.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN apt-get update && apt-get -y upgrade && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            verbs = _UPGRADES.get(invocation.tool, ())
            verb = invocation.verb.value if invocation.verb else ""
            if invocation.action in ("upgrade", "update") and (verb in verbs or invocation.action == "upgrade"):
                if invocation.tool in ("apt-get", "apt", "aptitude") and invocation.action == "update":
                    continue  # refreshing the index is not an upgrade
                if invocation.tool not in _UPGRADES or invocation.packages:
                    continue
                yield Violation(
                    invocation.command.span,
                    f"'{invocation.program} {verb}' upgrades the distribution at build time: use a newer base image",
                    alias=_UPGRADE_ALIASES.get(invocation.tool, ""),
                )
