"""DA101–DA105 — who the container runs as and what secrets it carries: root, credentials in
ENV/ARG or copied files, sudo, scripts piped to a shell.  Secret detection comes from
``dockaudit.facts.secrets``, shared with the image and Compose rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.copies import context_sources
from dockaudit.facts.dockerignore import IgnorePattern, is_ignored, parse_dockerignore
from dockaudit.facts.secrets import contains_access_token, could_be_credential, looks_like_secret_name
from dockaudit.facts.services import is_service_image
from dockaudit.facts.users import ROOT_USERS, user_name
from dockaudit.files import InputError
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import SHELLS, Command
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage, env_pairs

FAMILY = "security"


# Bases whose default user is not root: judging them "runs as root" would be a false positive.
# Bases whose image config already names a non-root user: Jupyter's docker-stacks (jovyan), Bitnami,
# distroless and Chainguard nonroot, Nano Server (ContainerUser), .NET chiseled images (app), and Red Hat's
# UBI language images (1001).
_NON_ROOT_BASES = re.compile(
    r"(?:^|/)(?:jupyter/|quay\.io/jupyter/|bitnami/)|[:-]nonroot\b|^cgr\.dev/chainguard/|^gcr\.io/distroless/.*:nonroot"
    r"|nanoserver|-chiseled\b|(?:^|/)ubi\d+/(?:python|nodejs|ruby|php|perl)-\d+",
    re.IGNORECASE,
)


# Windows bases: no useradd, no numeric UIDs; users are ContainerUser / ContainerAdministrator.
_WINDOWS_BASES = re.compile(r"mcr\.microsoft\.com/windows|servercore|nanoserver", re.IGNORECASE)


# A FROM the build system fills in (``ARG BASE=<jupyter>``): which image it is, nobody here knows.
_PLACEHOLDER = re.compile(r"<[^<>]*>")


def unknown_base(stage: Stage) -> bool:
    """The stage's FROM names a placeholder the build system replaces, not an image."""
    return bool(_PLACEHOLDER.search(stage.image))


def windows_base(stage: Stage) -> bool:
    """The stage (through the stages it is built FROM) starts from a Windows image."""
    root = stage.ancestry()[-1]
    return bool(_WINDOWS_BASES.search(root.image) or _WINDOWS_BASES.search(root.image_raw))


# A CMD/ENTRYPOINT that only opens a shell or an interpreter prompt: a base or tool image for others to build on.
_PROMPTS = frozenset({"sh", "bash", "ash", "zsh", "dash", "python", "python2", "python3", "node", "irb", "ruby",
                      "pwsh", "powershell", "powershell.exe", "cmd", "cmd.exe", "ghci", "jshell", "iex", "erl"})  # fmt: skip


_DEV_TARGET = re.compile(r"^(?:dev|devel|development|dev-envs?|test|tests|testing|ci)$")


# Entrypoints that start as root only to step down to a service user (docker-library postgres, redis …).
_STEP_DOWN = re.compile(r"\b(?:gosu|su-exec|setpriv|runuser|chpst|s6-setuidgid|setuidgid)\b")


def _starts_an_application(stage: Stage) -> bool:
    """The image runs something of its own: its last CMD or ENTRYPOINT starts a program that is not a
    bare shell or interpreter prompt. Without one (base and language images, CI and dev images,
    scratch stages of artifacts) there is no process to run as root yet: the image that adds one
    is where a USER belongs. Judged on the real corpus, 16 of 18 findings without this were such images."""
    starts = [i for s in reversed(stage.ancestry()) for i in s.instructions if i.name in ("CMD", "ENTRYPOINT")]
    if not starts:
        return False
    words = (
        [a.value for a in starts[-1].args]
        if starts[-1].json
        else starts[-1].args[0].value.split()
        if starts[-1].args
        else []
    )
    program = words[0].rsplit("/", 1)[-1].lower() if words else ""
    return bool(program) and not (program in _PROMPTS and all(w.startswith("-") for w in words[1:]))


def _drops_privileges_at_run_time(ctx: LintContext) -> bool:
    return any(_STEP_DOWN.search(instruction.original) for instruction in ctx.dockerfile.instructions)


def _continues_at_end_of_file(ctx: LintContext, instruction) -> bool:
    """The file ends inside the instruction's continuation (its last line of code ends with the escape)."""
    code = [line.strip() for line in ctx.text(instruction.span).splitlines() if line.strip()[:1] not in ("", "#")]
    return bool(code) and code[-1].endswith(ctx.escape) and not instruction.heredocs


def _add_user(ctx: LintContext, stage: Stage) -> Fix | None:
    """``USER 10001:10001`` before the stage's CMD/ENTRYPOINT, or after its last instruction.

    Precondition: a Linux base. Windows images have no numeric UIDs (their users are ContainerUser
    and ContainerAdministrator), so there the fix is not offered."""
    if windows_base(stage):
        return None
    starts = [i for i in stage.instructions if i.name in ("CMD", "ENTRYPOINT")]
    text = "USER 10001:10001\n"
    if starts:
        at = starts[0].line_span.start
    else:
        last = (stage.instructions or [stage.from_instruction])[-1]
        if _continues_at_end_of_file(ctx, last):
            return None  # a line added after it would join it
        at = last.line_span.end
        if not ctx.dockerfile.source.text[:at].endswith("\n"):
            text = "\n" + text.rstrip("\n")
    return Fix("add USER 10001:10001 (check file ownership and ports below 1024)", (Edit(Span(at, at), text),),
               safe=False, reshapes=True)  # fmt: skip


@rule(
    "DA101",
    "runs-as-root",
    family=FAMILY,
    severity="warning",
    summary="The image runs as root: no USER in the final stage, or the last USER is root/0",
    aliases=("DL3002",),
    fix="unsafe",
)
def find_root_final_user(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Looks at the stage that becomes the image (the last one, or `--target`) and the
    stages it is built FROM: flags a last `USER` of `root`/`0`, and a service image
    with no `USER` at all — one whose `CMD`/`ENTRYPOINT` starts a program (not a bare
    shell or interpreter prompt, as base images have) and that exposes a port or
    starts a server (CLI tools run once by a user are left alone). Builder stages
    may run as root. Bases known to default to a non-root user (`jupyter/*`,
    `*:nonroot`, distroless nonroot, Chainguard) pass, and so do entrypoints that step
    down to a service user (`gosu`, `su-exec`, `setpriv`) and a last stage named as a
    development target (`dev`, `development`, `dev-envs`, `test`).

    ## Why is this bad?
    A process running as root inside the container is root on the host's kernel: a
    container escape or a writable host mount becomes a host compromise. Model
    servers parse untrusted input (pickles, images, prompts) all day.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY app.py /app/
    EXPOSE 8000
    CMD ["python", "/app/app.py"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN useradd --create-home --uid 10001 app
    COPY app.py /app/
    USER 10001
    EXPOSE 8000
    CMD ["python", "/app/app.py"]
    ```
    """
    stage = ctx.target_stage
    if stage is None:
        return
    last_user = None
    for ancestor in reversed(stage.ancestry()):
        for instruction in ancestor.instructions:
            if instruction.name == "USER" and instruction.args:
                last_user = instruction
    if last_user is not None:
        name = user_name(last_user.args[0].value)
        if name in ROOT_USERS:
            word = last_user.args[0]
            fix = None
            if ctx.text(word.span) == word.value:
                replacement = ":".join("10001" for _part in word.value.split(":"))
                fix = Fix("switch to UID 10001 (check file ownership)", (Edit(word.span, replacement),), safe=False)
            yield Violation(word.span, "the image runs as root: switch to a non-root USER last", fix, alias="DL3002")
        return
    root = stage.ancestry()[-1]
    if root.is_implicit or _NON_ROOT_BASES.search(root.image) or unknown_base(root):
        return
    if not (_starts_an_application(stage) and is_service_image(stage)) or _drops_privileges_at_run_time(ctx):
        return
    if stage.name and _DEV_TARGET.match(stage.name):
        return  # a development target (Docker Dev Environments' dev-envs, development, test): not what ships
    yield Violation(stage.anchor, "no USER in the final stage: the image runs as root", _add_user(ctx, stage), alias="")


@rule(
    "DA102",
    "secret-in-env-or-arg",
    family=FAMILY,
    severity="error",
    summary="ENV/ARG that carries a credential (TOKEN, PASSWORD, HF_TOKEN, known token prefixes)",
    aliases=("DL3064", "SecretsUsedInArgOrEnv"),
    enabled=False,  # precision ledger: 2 of 4 judged not worth reading
)
def find_secrets_in_env_and_args(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags an `ARG` whose name looks like a credential (`HF_TOKEN`, `AWS_SECRET_ACCESS_KEY`,
    `DB_PASSWORD` …), an `ENV` or `LABEL` that sets such a name to a literal value, and
    any ENV/ARG/LABEL value with a known token prefix (`hf_`, `ghp_`, `sk-`, `AKIA` …)
    whatever its name. Names that point at a secret (`PASSWORD_FILE`, `TOKEN_URL`) and
    values taken from `${VAR}` are not secrets.

    ## Why is this bad?
    ENV values are stored in the image config and ARG values in its history: anyone
    who can pull the image can read them with `docker history` or `docker inspect`.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ARG HF_TOKEN
    RUN HF_TOKEN=$HF_TOKEN python -c "import huggingface_hub"
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN --mount=type=secret,id=hf_token,env=HF_TOKEN python -c "import huggingface_hub"
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name == "ARG":
            for arg in target.args:
                name, eq, value = arg.value.partition("=")
                if looks_like_secret_name(name) and (not eq or could_be_credential(value)):
                    yield Violation(
                        arg.span,
                        f"ARG {name} looks like a secret: build args stay in the image history; "
                        "use RUN --mount=type=secret",
                    )
                elif eq and contains_access_token(value):
                    yield Violation(arg.span, f"ARG {name} has a value that looks like an access token")
        elif target.name in ("ENV", "LABEL"):
            pairs = env_pairs(target)
            for index, (key, value, _sep) in enumerate(pairs):
                span = target.args[index * 3].span if index * 3 < len(target.args) else target.keyword_span
                key = key.strip("'\"")
                if contains_access_token(value):
                    yield Violation(span, f"{target.name} {key} holds a value that looks like an access token")
                elif looks_like_secret_name(key) and could_be_credential(value):
                    yield Violation(
                        span,
                        f"{target.name} {key} sets a secret in the image config: "
                        "pass it at run time or use RUN --mount=type=secret",
                    )


_SECRET_FILES = re.compile(
    r"(?:^|/)(?:\.env(?:\.(?!example$|sample$|template$|dist$|defaults?$)[\w.-]+)?|id_(?:rsa|dsa|ecdsa|ed25519)"
    r"|[^/]*\.(?:pem|key|p12|pfx|jks|keystore)|\.netrc|\.pypirc|\.npmrc|\.git-credentials|credentials(?:\.\w+)?"
    r"|kubeconfig|\.aws(?:/.*)?|\.kube/config|\.docker/config\.json|\.ssh(?:/.*)?|service[-_]account[\w-]*\.json)$"
)


# Config files that are credentials only when they hold one: an .npmrc naming a registry, a .pypirc
# naming an index. ``${NPM_TOKEN}`` is npm's own interpolation from the environment, not a secret.
_CREDENTIAL_IN_CONFIG = {
    ".npmrc": re.compile(r"(?im)^\s*[^#;\s]*(?:_authToken|_auth|_password|password)\s*=\s*(?!\$\{)\S"),
    ".pypirc": re.compile(r"(?im)^\s*password\s*[=:]\s*(?!\$)\S"),
}


_CONFIG_READ_LIMIT = 256 * 1024  # an .npmrc or .pypirc is a few lines


def _holds_credential(ctx: LintContext, context_path: str) -> bool:
    """Whether the context file at ``context_path`` may hold a credential: true for every credential
    file name, except a config file (.npmrc, .pypirc) whose content, read from the build context, has
    none. Unreadable or absent content counts as a credential (the name is the only evidence)."""
    pattern = _CREDENTIAL_IN_CONFIG.get(context_path.rstrip("/").rsplit("/", 1)[-1])
    root = ctx.build_context
    if pattern is None or root is None:
        return True
    path = root.joinpath(*[p for p in context_path.split("/") if p not in ("", ".")])
    if ".." in context_path.split("/") or not path.resolve().is_relative_to(root.resolve()):
        return True
    try:
        text = ctx.resources.read_file(path, _CONFIG_READ_LIMIT, label=context_path).decode("utf-8", errors="replace")
    except InputError:
        return True
    return bool(pattern.search(text))


def _copy_excludes(instruction: Instruction) -> list[IgnorePattern]:
    """``COPY --exclude=.env . .``: the patterns (dockerignore syntax) this COPY leaves out."""
    values = [f.value for f in instruction.flags if f.name == "exclude" and f.value]
    return parse_dockerignore("\n".join(v.strip("'\"") for v in values))


@rule(
    "DA103",
    "secret-file-copied",
    family=FAMILY,
    severity="error",
    summary="COPY/ADD of .env, keys, .netrc, cloud credentials; COPY . with such files in the context",
)
def find_secret_files_copied(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags COPY/ADD whose source names a credential file (`.env`, `id_rsa`, `*.pem`,
    `*.key`, `.netrc`, `.pypirc`, `.npmrc`, `.aws/`, `credentials*`, kube configs,
    service-account JSON). For `COPY . .` it reads the build context: each such file
    that neither `.dockerignore` nor the COPY's `--exclude` leaves out is reported.
    `.env.example` and friends are fine, and so are an `.npmrc` or `.pypirc` whose
    content (read from the build context) holds no credential.

    ## Why is this bad?
    Every file copied into a layer can be read by anyone who pulls the image, even if
    a later layer deletes it.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY .env /app/.env
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    COPY .env.example /app/.env.example
    ```
    """
    patterns = ctx.dockerignore or []
    reported_context = False
    for source in context_sources(ctx.dockerfile):
        excluded = _copy_excludes(source.instruction)
        if _SECRET_FILES.search(source.path.rstrip("/")):
            if ctx.build_context is not None and is_ignored(source.path, patterns):
                continue  # .dockerignore keeps it out of the context: the COPY would fail, not leak
            if not _holds_credential(ctx, source.path):
                continue
            yield Violation(source.arg.span, f"'{source.path}' looks like a credential file: it ships in the layer")
        elif source.whole_context and not reported_context:
            leaked = [
                f
                for f in ctx.context_files
                if _SECRET_FILES.search(f) and not is_ignored(f, excluded) and _holds_credential(ctx, f)
            ]
            if leaked:
                reported_context = True
                shown = ", ".join(leaked[:5]) + (f" and {len(leaked) - 5} more" if len(leaked) > 5 else "")
                yield Violation(
                    source.arg.span,
                    f"the build context sends credential files that .dockerignore does not exclude: {shown}",
                )


@rule(
    "DA104",
    "sudo",
    family=FAMILY,
    severity="warning",
    summary="sudo in RUN",
    aliases=("DL3004",),
    enabled=False,  # precision ledger: 11 of 11 judged not worth reading
)
def find_sudo(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `sudo` in a RUN.

    ## Why is this bad?
    RUN already runs as the current USER; sudo adds a setuid binary and a TTY-bound
    tool with unpredictable behaviour in builds. Switch with `USER root` around the
    steps that need it, then back.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN sudo apt-get update
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    USER root
    RUN apt-get update
    ```
    """
    for _instruction, command in ctx.all_commands():
        if "sudo" in command.wrappers or command.name == "sudo":
            yield Violation(command.span, "do not use sudo in RUN: switch USER for the steps that need root")


_INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php"}


def _runs_stdin(command: Command) -> bool:
    """``sh``, ``bash -s -- args``, ``python3 -``: the interpreter executes what it reads on stdin."""
    args = [w.value for w in command.args]
    if not args:
        return True
    first = args[0]
    return first in ("-", "--") or (first.startswith("-") and "s" in first[1:] and not first.startswith("--"))


@rule(
    "DA105",
    "pipe-to-shell",
    family=FAMILY,
    severity="warning",
    summary="curl … | sh, wget -O- … | bash: running a script nobody checked",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_pipe_to_shell(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a download piped straight into a shell or interpreter (`curl … | sh`,
    `wget -qO- … | bash`, `sh -c "$(curl …)"`).

    ## Why is this bad?
    The script is not pinned or verified: whatever the server returns at build time
    runs as root in your image, and a truncated download runs half a script.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN curl -fsSL https://example.com/install.sh | sh
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/install.sh /tmp/install.sh
    RUN sh /tmp/install.sh
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        commands = ctx.commands(instruction)
        for index, command in enumerate(commands[:-1]):
            following = commands[index + 1]
            piped = command.name in ("curl", "wget") and command.operator in ("|", "|&")
            if piped and following.name in _INTERPRETERS and _runs_stdin(following):
                yield Violation(
                    command.span, f"{command.name} piped into {following.name}: download, verify a checksum, then run"
                )
        for command in commands:
            if command.name in SHELLS and any(
                re.search(r"(?:\$\(|<\()\s*(?:curl|wget)\b", w.raw) for w in command.args
            ):
                yield Violation(command.span, "a downloaded script is run unverified: download, check, then run")
