"""DA015–DA019 — ONBUILD and ``--platform`` misuse, the configured label schema, pipes without
``pipefail`` and a /bin/sh replaced by a symlink: what a stage declares about how it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts import baseos
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage, env_pairs

FAMILY = "syntax"


@rule(
    "DA015",
    "onbuild-forbidden",
    family=FAMILY,
    severity="error",
    summary="ONBUILD ONBUILD, ONBUILD FROM and ONBUILD MAINTAINER are not allowed",
    aliases=("DL3043",),
)
def find_forbidden_onbuild(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `ONBUILD` wrapping `ONBUILD`, `FROM` or `MAINTAINER`.

    ## Why is this bad?
    BuildKit rejects these triggers when a child image builds `FROM` this one —
    the error surfaces in someone else's build.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ONBUILD FROM alpine:3.20
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    ONBUILD COPY . /app
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        trigger = instruction.trigger
        if trigger is not None and trigger.name in ("ONBUILD", "FROM", "MAINTAINER"):
            yield Violation(trigger.keyword_span, f"{trigger.name} isn't allowed as an ONBUILD trigger")


_SINGLE_PLATFORM_IMAGES = ("l4t-", "jetson", "jetpack")  # NVIDIA Jetson images exist for linux/arm64 only


def _platform_is_deliberate(stage: Stage, platform: str) -> bool:
    """A stage named for its platform (base-amd64, picked by base-${TARGETARCH}) or an image
    published for that platform only: the constant is the point."""
    arch = platform.lower().split("/")[1] if "/" in platform else platform.lower()
    if stage.name and (arch in stage.name or stage.name in platform.lower().replace("/", "-")):
        return True
    return any(marker in stage.image.lower() for marker in _SINGLE_PLATFORM_IMAGES)


@rule(
    "DA016",
    "platform-flag",
    family=FAMILY,
    severity="info",
    summary="FROM --platform with a constant value, or the redundant $TARGETPLATFORM",
    aliases=("DL3029", "DL3065", "FromPlatformFlagConstDisallowed", "RedundantTargetPlatform"),
)
def find_platform_flags(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `FROM --platform=linux/amd64` (a constant) and `FROM --platform=$TARGETPLATFORM`
    (what BuildKit does anyway). A stage named for its architecture (`base-amd64`, chosen
    later by `FROM base-${TARGETARCH}`) and images that exist for one platform only
    (NVIDIA Jetson `l4t-*`) keep their constant.

    ## Why is this bad?
    A constant platform forces emulation on other machines (an arm64 laptop builds
    amd64 under QEMU, many times slower) and ignores `--platform` on the command
    line. `$BUILDPLATFORM` is the usual reason to use the flag, for cross-compiling.

    ## Example
    ```dockerfile
    FROM --platform=linux/amd64 python:3.12-slim
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    ```
    """
    for stage in ctx.stages:
        flag = stage.from_instruction.flag("platform") if stage.from_instruction else None
        if flag is None or flag.value is None:
            continue
        value = flag.value
        if value in ("$TARGETPLATFORM", "${TARGETPLATFORM}"):
            yield Violation(flag.span, "--platform=$TARGETPLATFORM is redundant: it is the default", alias="DL3065")
        elif "$" not in value:
            if _platform_is_deliberate(stage, value):
                continue
            yield Violation(
                flag.span, f"--platform={value} is a constant: the image builds for {value} everywhere", alias="DL3029"
            )


_LABEL_KEY = re.compile(r"^[a-z](?:[a-z0-9.-]*[a-z0-9])?$")  # starts with a letter, ends alphanumeric


_RESERVED_LABEL_PREFIXES = ("com.docker.", "io.docker.", "org.dockerproject.")


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")


_SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


_GIT_HASH = re.compile(r"^(?:[0-9a-f]{7,40})$")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s][^@\s.]*\.[^@\s]+$")  # split at the domain's first inner dot: linear


_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s]+$")


_LABEL_ALIASES = {"url": "DL3052", "rfc3339": "DL3053", "spdx": "DL3054", "hash": "DL3055", "semver": "DL3056",
                  "email": "DL3058", "text": "DL3051"}  # fmt: skip


def _is_spdx_expression(value: str) -> bool:
    """Checked against the SPDX license list that ships with ``packaging`` (24.2+)."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    try:
        canonicalize_license_expression(value)
    except InvalidLicenseExpression:
        return False
    return True


def _label_value_problem(kind: str, value: str) -> str | None:
    checks = {
        "url": (_URL, "a URL"),
        "hash": (_GIT_HASH, "a git commit hash"),
        "rfc3339": (_RFC3339, "an RFC 3339 timestamp"),
        "semver": (_SEMVER, "a semantic version"),
        "email": (_EMAIL, "an email address"),
    }
    if kind == "spdx":
        return None if _is_spdx_expression(value) else "an SPDX license expression"
    if kind in checks:
        pattern, what = checks[kind]
        return None if pattern.match(value) else what
    return None


@rule(
    "DA017",
    "label-schema",
    family=FAMILY,
    severity="info",
    summary="Labels checked against the configured label schema (missing, empty, invalid)",
    aliases=("DL3048", "DL3049", "DL3050", "DL3051", "DL3052", "DL3053", "DL3054", "DL3055", "DL3056", "DL3058"),
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_label_schema_problems(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    With a `label-schema` configured (label name → `text`, `url`, `hash`,
    `rfc3339`, `semver`, `email` or `spdx`), reports labels the final image lacks,
    labels outside the schema when `strict-labels` is on,
    labels that are empty, values of the wrong kind, and label keys that are not
    valid reverse-DNS names or use the reserved `com.docker.` / `io.docker.` /
    `org.dockerproject.` prefixes. Without a schema only the key checks run.

    ## Why is this bad?
    Registries, scanners and SBOM tools read these labels; a team that agreed on a
    schema wants the build to keep it.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    LABEL com.docker.version="1"
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    LABEL org.opencontainers.image.version="1.0.0"
    ```
    """
    schema = ctx.options.label_schema
    for instruction in ctx.instructions_and_triggers():
        if instruction.name != "LABEL":
            continue
        for key, value, _sep in env_pairs(instruction):
            key_span = instruction.args[[a.value for a in instruction.args].index(key)].span
            bare = key.strip("\"'")
            if bare.startswith(_RESERVED_LABEL_PREFIXES):
                yield Violation(key_span, f"label key '{bare}' uses a prefix reserved for Docker", alias="DL3048")
            elif not _LABEL_KEY.match(bare) or ".." in bare or "--" in bare:
                yield Violation(key_span, f"label key '{bare}' is not a lower-case reverse-DNS name", alias="DL3048")
            if schema and ctx.options.strict_labels and bare not in schema:
                yield Violation(key_span, f"label '{bare}' is not in the label schema (strict labels)", alias="DL3050")
            if bare in schema:
                plain = value.strip("\"'")
                if not plain:
                    yield Violation(key_span, f"label '{bare}' is empty", alias="DL3051")
                    continue
                what = _label_value_problem(schema[bare], plain)
                if what and "$" not in plain:
                    yield Violation(
                        key_span, f"label '{bare}' should be {what}, got '{plain}'", alias=_LABEL_ALIASES[schema[bare]]
                    )
    stage = ctx.target_stage
    if schema and stage is not None:
        present = set()
        for s in stage.ancestry():
            for instruction in s.instructions_named("LABEL"):
                present.update(k.strip("\"'") for k, _v, _s in env_pairs(instruction))
        for name in sorted(set(schema) - present):
            yield Violation(stage.anchor, f"label '{name}' required by the label schema is missing", alias="DL3049")


def _shell_has_pipefail(words: list[str]) -> bool:
    return any(w == "pipefail" for w in words) or any(
        w.startswith("-") and "o" in w and "pipefail" in words for w in words
    )


_NON_POSIX_SHELLS = ("pwsh", "pwsh.exe", "powershell", "powershell.exe", "cmd", "cmd.exe")


def _pipefail_shell(ctx: LintContext, stage: Stage, instruction: Instruction) -> tuple[str, bool] | None:
    """The SHELL line that turns on pipefail for this stage, and whether writing it is safe.

    Precondition of the safe fix (``shell_is_on_base``): the shell it names is known at that path
    on the stage's base (baseos: bash at /bin/bash on Debian/Ubuntu and RHEL families, at
    /usr/local/bin/bash in the bash image, BusyBox ash at /bin/ash on Alpine, or a bash this
    stage installs).  On an unknown base the bash line is offered as an unsafe fix; on a base
    known to have no bash and no ash (busybox) there is none."""
    family = baseos.stage_family(stage)
    bash = baseos.shell_path(family, "bash")
    if bash is None and family != baseos.BUSYBOX and baseos.installed_before(ctx, stage, instruction, None, "bash"):
        bash = "/bin/bash"  # apk add bash and apt-get install bash both put it there
    if bash is not None:
        return f'["{bash}", "-o", "pipefail", "-c"]', True
    ash = baseos.shell_path(family, "ash")
    if ash is not None:
        return f'["{ash}", "-eo", "pipefail", "-c"]', True
    if family is None:
        return '["/bin/bash", "-o", "pipefail", "-c"]', False
    return None


@rule(
    "DA018",
    "pipefail",
    family=FAMILY,
    severity="warning",
    summary="RUN with a pipe but no `set -o pipefail`: a failing left side is hidden",
    aliases=("DL4006",),
    fix="safe",
    enabled=False,  # precision ledger: 13 of 20 judged not worth reading
)
def find_pipes_without_pipefail(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `RUN` that pipes one command into another when neither `SHELL` nor the
    script turns on `pipefail`. The fix adds a `SHELL` line naming a shell the base
    image is known to have there: `/bin/bash` on Debian, Ubuntu and RHEL-family
    bases, BusyBox `ash` on Alpine, `/usr/local/bin/bash` in the `bash` image. On a
    base dockaudit cannot identify (`FROM $BASE`, an unlisted image) the bash line is
    an unsafe fix; Windows stages (cmd has no pipefail) are not checked.

    ## Why is this bad?
    A pipeline's status is its last command's: `RUN wget -O- $URL | tar xz` succeeds
    when the download fails, and the image ships without the files.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN wget -qO- https://example.com/model.tar.gz | tar xz -C /models
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    SHELL ["/bin/bash", "-o", "pipefail", "-c"]
    RUN wget -qO- https://example.com/model.tar.gz | tar xz -C /models
    ```
    """
    shell_at_end: dict[int, tuple[bool, bool]] = {}  # id(stage) → (pipefail on, non-POSIX) after its last line
    for stage in ctx.stages:
        if baseos.stage_family(stage) == baseos.WINDOWS:
            continue  # RUN runs cmd /S /C there, which has no pipefail to turn on
        # A stage built FROM an earlier one inherits its SHELL.
        shell_ok, non_posix = shell_at_end.get(id(stage.parent), (False, False))
        inserted = False
        for instruction in stage.instructions:
            if instruction.name == "SHELL":
                words = instruction.values
                shell_ok = _shell_has_pipefail(words)
                non_posix = bool(words) and words[0].rsplit("/", 1)[-1].lower().rsplit("\\", 1)[-1] in _NON_POSIX_SHELLS
                continue
            if instruction.name != "RUN" or instruction.json or shell_ok or non_posix:
                continue
            commands = ctx.commands(instruction)
            pipefail_set = False
            for command in commands:
                if command.name == "set" and any(
                    "pipefail" in w.value
                    or (w.value.startswith("-") and "o" in w.value and any(x.value == "pipefail" for x in command.args))
                    for w in command.args
                ):
                    pipefail_set = True
                if command.piped and command.operator == "|" and not pipefail_set:
                    fix = None
                    shell = _pipefail_shell(ctx, stage, instruction)
                    if not inserted and shell is not None:
                        line, shell_is_on_base = shell
                        at = Span(instruction.line_span.start, instruction.line_span.start)
                        description = f"add SHELL {line} before this RUN"
                        if not shell_is_on_base:
                            description += " (check that the base image has /bin/bash)"
                        fix = Fix(description, (Edit(at, f"SHELL {line}\n"),), safe=shell_is_on_base, reshapes=True)
                    advice = f"set SHELL {shell[0]} or" if shell is not None else "this base has no bash or ash:"
                    yield Violation(
                        command.span or instruction.keyword_span,
                        f"pipe without pipefail: {advice} start the script with set -o pipefail",
                        fix,
                    )
                    inserted = True
                    break
        shell_at_end[id(stage)] = (shell_ok, non_posix)


@rule(
    "DA019",
    "shell-override",
    family=FAMILY,
    severity="warning",
    summary="Replacing /bin/sh with a symlink instead of using SHELL",
    aliases=("DL4005",),
)
def find_shell_symlinks(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `RUN ln -sf … /bin/sh`, which swaps the system shell. Without `-f`, `ln`
    fails when `/bin/sh` exists, so `ln -s` only adds a shell to an image that has
    none (distroless) and is left alone.

    ## Why is this bad?
    Every script in the image that expects a POSIX `sh` now runs under another
    shell; `SHELL` changes only what the Dockerfile's own `RUN`s use.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN ln -sf /bin/bash /bin/sh
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    SHELL ["/bin/bash", "-c"]
    ```
    """
    for _instruction, command in ctx.all_commands():
        if command.name == "ln" and command.args and command.args[-1].value == "/bin/sh":
            # Without -f, ln fails when /bin/sh exists: it can only add a shell (distroless), not replace one.
            letters = "".join(w.value[1:] for w in command.args[:-1] if w.value.startswith("-") and w.value[1:2] != "-")
            long = {w.value for w in command.args[:-1] if w.value.startswith("--")}
            if ("s" in letters or "--symbolic" in long) and ("f" in letters or "--force" in long):
                yield Violation(command.span, "use SHELL to change the default shell instead of replacing /bin/sh")
