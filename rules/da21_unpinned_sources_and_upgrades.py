"""DA210–DA213 — the rest of pinning: rpm-family and Go installs without versions, git clones
without a fixed ref, and whole-distribution upgrades.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.installs import installs, is_literal
from dockaudit.linting.wording import pin_message
from dockaudit.model import Violation
from dockaudit.plugin import rule

FAMILY = "pinning"


_RPM_VERSIONED = re.compile(r"-(?:\d+:)?\d[\w.+~^-]*$")


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
                if loose:
                    yield Violation(invocation.command.span, pin_message(loose, pin), alias=aliases[invocation.tool])


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
                if not is_literal(word) or value.startswith((".", "/")) or value.endswith(".go"):
                    continue
                module, _at, version = value.partition("@")
                if not version or version == "latest":
                    loose.append(module)
            if loose:
                yield Violation(invocation.command.span, pin_message(loose, "{}@<version>"))


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
