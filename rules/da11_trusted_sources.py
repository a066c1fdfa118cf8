"""DA110–DA112 — what the build trusts and where a non-root user's files live: package sources with
TLS or signatures turned off, registries and bases outside the configured allow-lists, and a non-root
USER whose PATH, PYTHONPATH or copied packages are under /root.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.imageref import parse_image_ref, registry_matches
from dockaudit.facts.mlfacts import PYTORCH_WHEEL_HOST
from dockaudit.facts.users import ROOT_USERS, user_name
from dockaudit.model import Violation
from dockaudit.plugin import rule
from dockaudit.syntax.mounts import run_mounts
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import env_pairs

FAMILY = "security"


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
            elif option == "--extra-index-url" and PYTORCH_WHEEL_HOST not in value and "$" not in value:
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
    if not users or user_name(users[-1].args[0].value) in ROOT_USERS or "$" in users[-1].args[0].value:
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
