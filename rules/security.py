"""DA1xx — security: who the container runs as, what secrets it carries, what it trusts."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.copies import context_sources
from dockaudit.facts.dockerignore import IgnorePattern, is_ignored, parse_dockerignore
from dockaudit.files import InputError, read_regular_file
from dockaudit.facts.imageref import parse_image_ref, registry_matches
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.facts.services import is_service_image
from dockaudit.syntax.mounts import run_mounts
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import SHELLS, Command, start_commands
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage, env_pairs

FAMILY = "security"

_ROOT_USERS = frozenset({"root", "0"})
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


def _user_name(value: str) -> str:
    return value.split(":", 1)[0].strip("'\"")


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
        name = _user_name(last_user.args[0].value)
        if name in _ROOT_USERS:
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


_SECRET_WORDS = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASS|PWD|SECRET|SECRETS|TOKEN|APIKEY|API_KEY|ACCESS_KEY|PRIVATE_KEY|SECRET_KEY|"
    r"CREDENTIALS?|AUTH_KEY|CLIENT_SECRET|ACCESS_KEY_ID|SESSION_KEY|SIGNING_KEY|ENCRYPTION_KEY)(?:_|$)"
)
# A name that ends like this holds where a secret lives or how it is used, not the secret.
_NOT_A_SECRET = re.compile(
    r"_(?:FILE|FILES|PATH|DIR|URL|URI|HOST|PORT|ENDPOINT|NAME|TYPE|LENGTH|TTL|HEADER|EXPIRY|EXPIRES|REGION|"
    r"MODE|ENABLED|FORMAT|CMD|COMMAND|SIZE|ID_FILE|LOCATION|VAR|ENV|PREFIX|SUFFIX|POLICY|PROVIDER)$"
)
_TOKEN_PREFIXES = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{30,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20}|npm_[A-Za-z0-9]{36}"
    r"|AIza[0-9A-Za-z_-]{35}|wandb_v1_[A-Za-z0-9]{20,})"
)


def looks_like_secret_name(name: str) -> bool:
    upper = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).upper().replace("-", "_")
    return bool(_SECRET_WORDS.search(upper)) and not _NOT_A_SECRET.search(upper)


def _literal_secret_value(value: str) -> bool:
    """A value that could be a credential: not empty, not a variable, not a path or a boolean."""
    plain = value.strip("'\"")
    if not plain or "$" in plain or plain.startswith(("/", "./", "~")):
        return False
    return plain.lower() not in ("true", "false", "yes", "no", "0", "1", "none", "null", "changeme")


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
                if looks_like_secret_name(name) and (not eq or _literal_secret_value(value)):
                    yield Violation(
                        arg.span,
                        f"ARG {name} looks like a secret: build args stay in the image history; "
                        "use RUN --mount=type=secret",
                    )
                elif eq and _TOKEN_PREFIXES.search(value):
                    yield Violation(arg.span, f"ARG {name} has a value that looks like an access token")
        elif target.name in ("ENV", "LABEL"):
            pairs = env_pairs(target)
            for index, (key, value, _sep) in enumerate(pairs):
                span = target.args[index * 3].span if index * 3 < len(target.args) else target.keyword_span
                key = key.strip("'\"")
                if _TOKEN_PREFIXES.search(value):
                    yield Violation(span, f"{target.name} {key} holds a value that looks like an access token")
                elif looks_like_secret_name(key) and _literal_secret_value(value):
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
        text = read_regular_file(path, _CONFIG_READ_LIMIT, label=context_path).decode("utf-8", errors="replace")
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


_PYTORCH_INDEX = "download.pytorch.org"


def _insecure_source_problems(command: Command) -> Iterator[str]:
    name = command.name
    argv = command.argv
    joined = " ".join(argv)
    if name.startswith("pip") or (name.startswith("python") and "pip" in argv[1:3]) or name == "uv":
        for index, word in enumerate(argv):
            option, eq, value = word.partition("=")
            if not eq and index + 1 < len(argv):
                value = argv[index + 1]
            if option == "--trusted-host":
                yield f"--trusted-host {value} turns off TLS verification for that host"
            elif option in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links") and value.startswith(
                "http://"
            ):
                yield f"{option} {value} is plain HTTP: packages can be swapped in transit"
            elif option == "--extra-index-url" and _PYTORCH_INDEX not in value and "$" not in value:
                yield (
                    f"--extra-index-url {value}: pip takes the highest version from either index "
                    "(dependency confusion); use --index-url with a proxy that mirrors PyPI"
                )
    elif name in ("apt-get", "apt", "aptitude"):
        for flag in ("--allow-unauthenticated", "--allow-insecure-repositories"):
            if flag in argv:
                yield f"{name} {flag} installs unsigned packages"
    elif name == "apk" and "--allow-untrusted" in argv:
        yield "apk --allow-untrusted installs unsigned packages"
    elif name in ("yum", "dnf", "microdnf") and "--nogpgcheck" in argv:
        yield f"{name} --nogpgcheck installs unsigned packages"
    elif name in ("npm", "yarn", "pnpm") and "strict-ssl" in joined and "false" in joined:
        yield f"{name} strict-ssl false turns off TLS verification for the registry"
    elif name == "curl" and command.has_flag("-k", "--insecure"):
        yield "curl -k turns off TLS verification"
    elif name == "wget" and "--no-check-certificate" in argv:
        yield "wget --no-check-certificate turns off TLS verification"
    elif name == "git" and re.search(r"http\.sslverify\s*(?:=\s*)?false", joined, re.IGNORECASE):
        yield "git http.sslVerify false turns off TLS verification"
    for assignment in command.assignments:
        if assignment.split("=", 1)[0] in ("GIT_SSL_NO_VERIFY", "PIP_TRUSTED_HOST", "NODE_TLS_REJECT_UNAUTHORIZED"):
            if assignment.split("=", 1)[0] != "NODE_TLS_REJECT_UNAUTHORIZED" or assignment.endswith("=0"):
                yield f"{assignment} turns off TLS verification"


@rule(
    "DA110",
    "insecure-package-source",
    family=FAMILY,
    severity="warning",
    summary="TLS or signature checks turned off: --trusted-host, http:// indexes, curl -k, --allow-unauthenticated",
    enabled=False,  # precision ledger: 8 of 9 judged not worth reading
)
def find_insecure_package_sources(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags package sources whose integrity is not checked: `pip --trusted-host`,
    `--index-url http://…`, `--extra-index-url` to a private index (dependency
    confusion; the PyTorch index is DA518's business), `apt-get
    --allow-unauthenticated`, `apk --allow-untrusted`, `dnf --nogpgcheck`,
    `npm config set strict-ssl false`, `curl -k`, `wget --no-check-certificate`,
    `git config http.sslVerify false`, `GIT_SSL_NO_VERIFY`.

    ## Why is this bad?
    Anyone on the network path — or anyone who registers your internal package name
    on PyPI — decides what gets installed into the image.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir --trusted-host pypi.internal --index-url http://pypi.internal/simple app==1.0
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir --index-url https://pypi.internal/simple app==1.0
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for command in ctx.commands(instruction):
            for message in _insecure_source_problems(command):
                yield Violation(command.span, message)
        target = instruction.trigger or instruction
        if target.name == "ENV":
            for key, value, _sep in env_pairs(target):
                if key == "PIP_TRUSTED_HOST" or (key == "GIT_SSL_NO_VERIFY" and value.strip("'\"") not in ("", "0")):
                    yield Violation(target.keyword_span, f"ENV {key} turns off TLS verification")


def _external_images(ctx: LintContext) -> Iterator[tuple[Instruction, str, Span]]:
    """(instruction, image, span) for every image pulled: FROM, COPY --from, RUN --mount from=."""
    for stage in ctx.stages:
        instruction = stage.from_instruction
        if instruction is not None and instruction.args and not stage.is_scratch and not stage.unresolved:
            if not ctx.names_earlier_stage(stage.index, stage.image):
                yield instruction, stage.image, instruction.args[0].span
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        source = target.flag("from") if target.name in ("COPY", "ADD") else None
        if source is not None and source.value:
            yield instruction, source.value, source.span
        if target.name == "RUN":
            for mount in run_mounts(target):
                image = mount.option("from")
                if image:
                    flag = next((f for f in target.flags if f.name == "mount" and image in (f.value or "")), None)
                    yield instruction, image, flag.span if flag else target.keyword_span


@rule(
    "DA111",
    "untrusted-registry",
    family=FAMILY,
    severity="error",
    summary="an image from a registry not in trusted-registries, or a base not in allowed-base-images (when configured)",
    aliases=("DL3026",),
)
def find_untrusted_registries(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    When `allowed-base-images` is configured (globs such as `python:3.12-*`,
    `nvidia/cuda:12.*`), flags base images that match none. When `trusted-registries`
    is configured, flags every image the build pulls —
    `FROM`, `COPY --from=<image>`, `RUN --mount=from=<image>` — from a registry not
    on the list. Entries are hosts, `*.example.com` or `*`; images without a
    registry come from `docker.io`.

    ## Why is this bad?
    Organisations mirror and scan approved registries; an image from anywhere else
    skipped that review.

    ## Example
    ```dockerfile
    # with trusted-registries = ["registry.example.com"]
    FROM docker.io/library/python:3.12-slim
    ```

    ## Use instead
    ```dockerfile
    # with trusted-registries = ["registry.example.com"]
    FROM registry.example.com/mirror/python:3.12-slim
    ```
    """
    trusted = ctx.options.trusted_registries
    allowed = ctx.options.allowed_base_images
    if allowed:
        for stage in ctx.stages:
            instruction = stage.from_instruction
            if instruction is None or not instruction.args or stage.is_scratch or stage.unresolved:
                continue
            if ctx.names_earlier_stage(stage.index, stage.image):
                continue
            ref = parse_image_ref(stage.image)
            names = {stage.image, str(ref) if ref else "", ref.repository if ref else ""}
            if not any(fnmatch.fnmatch(name, pattern) for name in names for pattern in allowed):
                yield Violation(instruction.args[0].span, f"'{stage.image}' is not in allowed-base-images")
    if not trusted:
        return
    stage_names = {s.name for s in ctx.stages if s.name}
    for _instruction, image, span in _external_images(ctx):
        if image.lower() in stage_names or image.isdigit() or "$" in image:
            continue
        ref = parse_image_ref(image)
        if ref is None or any(registry_matches(ref.registry, p) for p in trusted):
            continue
        yield Violation(span, f"'{image}' comes from {ref.registry}, which is not a trusted registry")


@rule(
    "DA112",
    "root-home-for-user",
    family=FAMILY,
    severity="error",
    summary="non-root USER whose PATH/PYTHONPATH or copied packages live under /root",
)
def find_root_home_for_non_root_user(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    In the image's final stage, when the last USER is not root: flags `ENV PATH`,
    `PYTHONPATH` or `PYTHONUSERBASE` pointing under `/root`, and COPY/ADD into
    `/root` (the classic `COPY --from=builder /root/.local /root/.local`), unless a
    RUN opens `/root` up with chmod or hands it to the user with chown.

    ## Why is this bad?
    `/root` is mode 700 on Debian, Ubuntu and Alpine: the non-root user cannot enter
    it, so the packages are there but `import` fails at startup — only in
    production, where the image first runs as that user.

    ## Example
    ```dockerfile
    FROM python:3.12-slim AS build
    RUN pip install --user --no-cache-dir fastapi==0.115.0
    FROM python:3.12-slim
    COPY --from=build /root/.local /root/.local
    ENV PATH=/root/.local/bin:$PATH
    USER 10001
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim AS build
    RUN pip install --prefix=/install --no-cache-dir fastapi==0.115.0
    FROM python:3.12-slim
    COPY --from=build /install /usr/local
    USER 10001
    ```
    """
    stage = ctx.target_stage
    if stage is None:
        return
    instructions = [i for s in reversed(stage.ancestry()) for i in s.instructions]
    users = [i for i in instructions if i.name == "USER" and i.args]
    if not users or _user_name(users[-1].args[0].value) in _ROOT_USERS or "$" in users[-1].args[0].value:
        return
    # ``chmod 755 /root`` opens it to everyone; ``chown app /root`` hands it to the user.
    opened = any(
        c.name in ("chmod", "chown") and any(w.value.rstrip("/") == "/root" for w in c.args)
        for i in instructions
        for c in ctx.commands(i)
    )
    if opened:
        return
    for instruction in instructions:
        if instruction.name == "ENV":
            for index, (key, value, _sep) in enumerate(env_pairs(instruction)):
                if key in ("PATH", "PYTHONPATH", "PYTHONUSERBASE") and re.search(r"(?:^|:)/root(?:/|:|$)", value):
                    yield Violation(
                        instruction.args[index * 3].span,
                        f"{key} points into /root, which the non-root user cannot read",
                    )
        elif instruction.name in ("COPY", "ADD") and len(instruction.args) >= 2:
            destination = instruction.args[-1]
            if destination.value.rstrip("/") == "/root" or destination.value.startswith("/root/"):
                yield Violation(
                    destination.span,
                    f"copied into {destination.value}: the non-root USER cannot read /root; copy to /opt or /usr/local",
                )
