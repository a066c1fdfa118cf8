"""DA106–DA109 — what the image lets in or out: remote ADDs without a checksum or ref,
world-writable paths, SSH servers and notebooks without authentication.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.model import Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.shell import Command, start_commands

FAMILY = "security"


@rule(
    "DA106",
    "remote-add",
    family=FAMILY,
    severity="warning",
    summary="ADD of a URL without --checksum, or of a git repository without a ref",
    enabled=False,  # precision ledger: 7 of 9 judged not worth reading
)
def find_unverified_remote_add(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `ADD https://…` without `--checksum=sha256:…`, and `ADD` of a git
    repository (`https://…/repo.git`, `git@…`) without a `#ref`.

    ## Why is this bad?
    The URL's content can change or be tampered with; with `--checksum` BuildKit
    verifies it and the build fails loudly instead of shipping something else.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    ADD https://example.com/tool.tar.gz /tmp/
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool.tar.gz /tmp/
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name != "ADD" or len(target.args) < 2:
            continue
        for source in target.args[:-1]:
            value = source.value.strip("'\"")
            is_git = value.startswith("git@") or re.search(r"\.git(?:#|$)", value) is not None
            if is_git:
                if "#" not in value:
                    yield Violation(source.span, "pin the git source with #<tag or commit>")
            elif re.match(r"^https?://", value) and target.flag("checksum") is None:
                yield Violation(source.span, "add --checksum=sha256:<digest> so BuildKit verifies the download")


_SAFE_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


def _world_writable(mode: str) -> bool:
    if re.fullmatch(r"[0-7]{3,4}", mode):
        sticky = len(mode) == 4 and int(mode[0]) & 1
        return int(mode[-1]) & 2 != 0 and not sticky
    for part in mode.split(","):
        clause = re.fullmatch(r"([ugoa]*)[+=]([rwxXst]*)", part)  # who, op, perms (no nested stars: linear)
        if clause and ("o" in clause.group(1) or "a" in clause.group(1)) and "w" in clause.group(2):
            return True
    return False


@rule(
    "DA107",
    "world-writable",
    family=FAMILY,
    severity="warning",
    summary="chmod 777 / a+w on application paths",
    enabled=False,  # precision ledger: 6 of 17 judged not worth reading
)
def find_world_writable_paths(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `chmod` (in RUN, or `COPY/ADD --chmod`) that makes files writable by every
    user: `777`, `666`, `o+w`, `a+rwx`. Temporary directories and sticky-bit modes
    (`1777 /tmp`) are fine.

    ## Why is this bad?
    Any process in the container — a compromised dependency, an exploited model
    loader — can then rewrite your code or its configuration.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY . /app
    RUN chmod -R 777 /app
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    COPY --chown=10001:10001 . /app
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        chmod_flag = target.flag("chmod") if target.name in ("COPY", "ADD") else None
        if chmod_flag is not None and chmod_flag.value and _world_writable(chmod_flag.value):
            yield Violation(chmod_flag.span, f"--chmod={chmod_flag.value} makes the files writable by every user")
        for command in ctx.commands(instruction):
            if command.name != "chmod":
                continue
            words = [w.value for w in command.args if not w.value.startswith("-") or re.fullmatch(r"-[rwx]+", w.value)]
            if len(words) < 2 or not _world_writable(words[0]):
                continue
            paths = words[1:]
            if all(p.rstrip("/").startswith(_SAFE_WRITABLE) for p in paths):
                continue
            yield Violation(command.span, f"chmod {words[0]} makes {', '.join(paths)} writable by every user")


@rule(
    "DA108",
    "ssh-exposed",
    family=FAMILY,
    severity="warning",
    summary="EXPOSE 22 or sshd started in the image",
    enabled=False,  # precision ledger: 9 of 9 judged not worth reading
)
def find_ssh_servers(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `EXPOSE 22` and an SSH daemon started by RUN, CMD or ENTRYPOINT (`sshd`,
    `service ssh start`).

    ## Why is this bad?
    An SSH server in a container is a second way in, with its own keys and
    passwords to leak; `docker exec` and `kubectl exec` already give a shell.

    ## Example
    ```dockerfile
    FROM ubuntu:24.04
    EXPOSE 22
    CMD ["/usr/sbin/sshd", "-D"]
    ```

    ## Use instead
    ```dockerfile
    FROM ubuntu:24.04
    CMD ["python3", "-m", "http.server"]
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name == "EXPOSE":
            for arg in target.args:
                if arg.value.split("/")[0] == "22":
                    yield Violation(arg.span, "port 22 exposed: do not run an SSH server in a container")
        for command in ctx.commands(instruction) + start_commands(instruction):
            argv = command.argv
            starts_service = command.name in ("service", "systemctl") and bool({"ssh", "sshd"} & set(argv[1:]))
            if command.name == "sshd" or starts_service:
                yield Violation(command.span, "an SSH daemon is started: use docker exec / kubectl exec instead")


_EMPTY_AUTH = re.compile(
    r"^--(?:NotebookApp|ServerApp|IdentityProvider)\.(?:token|password)=(?:''|\"\"|)$", re.IGNORECASE
)


def _notebook_problems(command: Command) -> Iterator[tuple[str, Severity]]:
    """What is wrong with how ``command`` starts a notebook server: one message per command, however
    many of its words are wrong (an empty token, an empty password and --allow-root are one open door)."""
    argv = command.argv
    if command.name in ("jupyter", "jupyter-lab", "jupyter-notebook") or (
        command.name.startswith("python") and "jupyter" in argv[1:3]
    ):
        empty = []
        for word in argv[1:]:
            if _EMPTY_AUTH.match(word):
                what = word.split(".")[1].split("=")[0].lower()
                if what not in empty:
                    empty.append(what)
        as_root = "--allow-root" in argv[1:]
        if empty:
            also = " and --allow-root" if as_root else ""
            yield (
                f"Jupyter started with an empty {' and '.join(empty)}{also}: anyone who reaches the port runs code"
                + (" as root" if as_root else ""),
                Severity.ERROR,
            )
        elif as_root:
            yield "Jupyter started with --allow-root: notebooks run code as root", Severity.ERROR
    elif command.name == "tensorboard" and ("--bind_all" in argv or "0.0.0.0" in " ".join(argv)):
        yield "TensorBoard bound to all interfaces without authentication", Severity.INFO
    elif command.name == "streamlit" and any("0.0.0.0" in w for w in argv):
        yield "Streamlit bound to 0.0.0.0 has no authentication of its own", Severity.INFO


@rule(
    "DA109",
    "notebook-no-auth",
    family=FAMILY,
    severity="error",
    summary="Jupyter started without a token/password or with --allow-root; TensorBoard/Streamlit open to all",
    enabled=False,  # precision ledger: 3 of 3 judged not worth reading
)
def find_unauthenticated_notebooks(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags Jupyter (notebook or lab) started by CMD, ENTRYPOINT or RUN with an empty
    `token` or `password` (`--NotebookApp.token=''`, `--ServerApp.token=`,
    `--IdentityProvider.token=`) or with `--allow-root`; notes (info) TensorBoard
    and Streamlit bound to all interfaces, which have no authentication of their own.

    ## Why is this bad?
    A Jupyter server without a token is remote code execution for anyone who can
    reach the port; scanners find exposed ones within hours.

    ## Example
    ```dockerfile
    FROM quay.io/jupyter/base-notebook:2024-10-02
    CMD ["jupyter", "lab", "--ip=0.0.0.0", "--ServerApp.token="]
    ```

    ## Use instead
    ```dockerfile
    FROM quay.io/jupyter/base-notebook:2024-10-02
    CMD ["jupyter", "lab", "--ip=0.0.0.0"]
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for command in ctx.commands(instruction) + start_commands(instruction):
            for message, severity in _notebook_problems(command):
                yield Violation(command.span, message, severity=severity)
