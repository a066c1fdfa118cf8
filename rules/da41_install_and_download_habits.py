"""DA410–DA414 — install and download habits that cost a build its log or its layer size: prompts
without ``-y``, wget's progress bar, ``useradd`` with a high UID and no ``-l``, ADD of local files, and
curl next to wget.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts import baseos
from dockaudit.facts.installs import Invocation, installs
from dockaudit.linting.edits import fix_of, insert_after_word
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command
from dockaudit.syntax.stages import Stage

FAMILY = "cleanup"


_APT_YES = ("-y", "--yes", "--assume-yes")


_YES_FLAGS = {
    "apt-get": _APT_YES, "apt": _APT_YES, "aptitude": _APT_YES, "yum": ("-y", "--assumeyes"),
    "dnf": ("-y", "--assumeyes"), "zypper": ("-n", "--non-interactive", "-y", "--no-confirm"),
}  # fmt: skip


_YES_ALIASES = {"apt-get": "DL3014", "apt": "DL3014", "aptitude": "DL3014", "yum": "DL3030", "dnf": "DL3038",
                "zypper": "DL3034"}  # fmt: skip


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
                fix_of("add -y", edit),
                alias=_YES_ALIASES[invocation.tool],
            )


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
                    fix_of("add -l", edit),
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
