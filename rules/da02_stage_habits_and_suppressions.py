"""DA020–DA026 — stage-level habits and the suppression comments themselves: whole-stage copies,
a named final USER, COPY-then-extract, service images without HEALTHCHECK, and inline ignore comments
(used, unused, malformed).  DA025 and DA026 judge the comments the engine has read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.services import is_service_image
from dockaudit.model import Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Comment
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage

FAMILY = "syntax"


def _builds_something(stage: Stage) -> bool:
    """A stage on a real base whose own RUNs left build output (and caches) in its filesystem."""
    chain = stage.ancestry()
    return not any(s.is_scratch for s in chain) and any(s.instructions_named("RUN") for s in chain)


@rule(
    "DA020",
    "copy-whole-stage",
    family=FAMILY,
    severity="warning",
    summary="COPY --from=stage / / copies a whole filesystem, caches included",
    aliases=("DL3067",),
)
def find_whole_stage_copies(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `COPY --from=<stage> / <dest>`: copying the root of another stage that ran
    build steps (`RUN`) on a real base. Images, stages that only alias an image
    (`FROM tonistiigi/xx AS xx`) and scratch stages are left alone: they hold only
    the artifacts put there on purpose.

    ## Why is this bad?
    It brings the builder's compilers, package caches and pip wheels into the
    final image and defeats the point of a multi-stage build.

    ## Example
    ```dockerfile
    FROM python:3.12 AS build
    RUN pip install --prefix=/install torch==2.5.1
    FROM python:3.12-slim
    COPY --from=build / /
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12 AS build
    RUN pip install --prefix=/install torch==2.5.1
    FROM python:3.12-slim
    COPY --from=build /install /usr/local
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        flag = instruction.flag("from")
        if instruction.name != "COPY" or flag is None or flag.value is None or len(instruction.args) < 2:
            continue
        here = ctx.stage_of(instruction)
        source_stage = ctx.earlier_stage(here.index if here is not None else len(ctx.stages), flag.value)
        if source_stage is None or not _builds_something(source_stage):
            continue  # an image or an alias of one (tonistiigi/xx), or a scratch stage of chosen artifacts
        for source in instruction.args[:-1]:
            if source.value.strip("\"'") in ("/", "/.", "/*"):
                yield Violation(
                    source.span,
                    "copying '/' of another stage brings its whole filesystem: copy only what the image needs",
                )


_NUMERIC_USER = re.compile(r"^\d+(?::\d+)?$")


@rule(
    "DA021",
    "non-numeric-user",
    family=FAMILY,
    severity="info",
    summary="The final USER is a name, not a numeric UID",
    aliases=("DL3066",),
    enabled=False,  # precision ledger: 4 of 20 judged wrong
)
def find_non_numeric_user(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a final-stage `USER` given as a name (`USER app`) rather than a numeric
    UID (`USER 10001`). Values from build args (`USER $UID`) are left alone.

    ## Why is this bad?
    Kubernetes `runAsNonRoot` can only verify a numeric UID; with a name the pod is
    refused ("image has non-numeric user").

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN useradd --uid 10001 app
    USER app
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN useradd --uid 10001 app
    USER 10001
    ```
    """
    stage = ctx.target_stage
    if stage is None:
        return
    users = stage.instructions_named("USER")
    if not users or not users[-1].args:
        return
    arg = users[-1].args[0]
    if "$" in arg.value or _NUMERIC_USER.match(arg.value) or arg.value.split(":")[0] in ("root", "0"):
        return
    yield Violation(arg.span, f"USER {arg.value} is a name: use a numeric UID so runAsNonRoot can verify it")


_PRAGMA = re.compile(r"^(?:hadolint\s+(?:global\s+|stage\s+)?ignore\s*=|dockaudit:\s*ignore)", re.IGNORECASE)


@rule(
    "DA022",
    "ignore-pragma-used",
    family=FAMILY,
    severity="info",
    summary="An inline ignore comment is used (for teams that forbid them)",
    aliases=("DL1001",),
    enabled=False,
)
def find_ignore_pragmas(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `# dockaudit: ignore=…` and `# hadolint ignore=…` comments. Off by
    default; turn it on where every exception must go through the configuration.

    ## Why is this bad?
    Inline ignores are easy to add and never revisited; some teams require
    exceptions to be recorded centrally instead.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    # hadolint ignore=DL3018
    RUN apk add --no-cache curl
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl=8.9.1-r2
    ```
    """
    comments: list[Comment] = list(ctx.dockerfile.comments)
    for instruction in ctx.dockerfile.instructions:
        comments.extend(instruction.comments)
    for comment in comments:
        if _PRAGMA.match(comment.text):
            span = Span(comment.span.start, comment.span.start + len(ctx.dockerfile.source.line_text(comment.line)))
            yield Violation(span, "inline ignore comment: record the exception in the configuration instead")


_ARCHIVE = re.compile(r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$", re.IGNORECASE)


def _basename(path: str) -> str:
    """The file name of a Unix or Windows path, quotes removed."""
    return re.split(r"[/\\]", path.strip("\"'"))[-1]


@rule(
    "DA023",
    "copy-then-extract",
    family=FAMILY,
    severity="info",
    summary="COPY of a local archive that a later RUN extracts with tar (ADD extracts it)",
    aliases=("DL3010",),
)
def find_copied_archives_extracted(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `COPY` of a local `.tar*` archive that a later `RUN tar -x` in the same
    stage unpacks.

    ## Why is this bad?
    The archive's bytes stay in the COPY layer forever, next to the extracted
    files. `ADD archive.tar.gz /dest/` extracts in one layer without keeping the archive.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    COPY model.tar.gz /tmp/
    RUN tar -xzf /tmp/model.tar.gz -C /opt && rm /tmp/model.tar.gz
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    ADD model.tar.gz /opt/
    ```
    """
    for stage in ctx.stages:
        copied: list[tuple[str, Span]] = []
        for instruction in stage.instructions:
            if instruction.name == "COPY" and instruction.flag("from") is None and len(instruction.args) >= 2:
                dest = _basename(instruction.args[-1].value)
                renamed = len(instruction.args) == 2 and not instruction.args[-1].value.rstrip("\"'").endswith(
                    ("/", "\\")
                )
                for source in instruction.args[:-1]:
                    if _ARCHIVE.search(source.value.strip("\"'")):
                        # "COPY app.tar /opt/x.tar" is extracted under its new name
                        copied.append(
                            (dest if renamed and _ARCHIVE.search(dest) else _basename(source.value), source.span)
                        )
            elif instruction.name == "RUN" and copied:
                for command in ctx.commands(instruction):
                    if command.name != "tar":
                        continue
                    flags = [w.value for w in command.args if w.value.startswith("-") or w.value.isalpha()]
                    if not any("x" in f or f == "--extract" for f in flags):
                        continue
                    targets = {_basename(w.value) for w in command.args}
                    for name, span in copied:
                        if name in targets:
                            yield Violation(
                                span,
                                f"'{name}' is copied then extracted with tar: ADD extracts it without keeping the archive",
                            )
                            copied = [(n, s) for n, s in copied if n != name]


@rule(
    "DA024",
    "healthcheck-missing",
    family=FAMILY,
    severity="info",
    summary="A service image (EXPOSE or a server command) with no HEALTHCHECK",
    aliases=("DL3057",),
    enabled=False,
)
def find_missing_healthcheck(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a final stage that exposes a port or starts a server (uvicorn, gunicorn,
    vLLM, Triton …) but declares no `HEALTHCHECK` (`HEALTHCHECK NONE` counts as a
    decision). Off by default: orchestrators often probe health themselves.

    ## Why is this bad?
    Without a health check, `docker ps` and Compose's `service_healthy` cannot tell
    a model server that is still loading weights — or wedged — from a ready one.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    EXPOSE 8000
    CMD ["uvicorn", "app:app", "--host", "0.0.0.0"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    EXPOSE 8000
    HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"]
    CMD ["uvicorn", "app:app", "--host", "0.0.0.0"]
    ```
    """
    stage = ctx.target_stage
    if stage is None:
        return
    instructions = [i for s in stage.ancestry() for i in s.instructions]
    if any(i.name == "HEALTHCHECK" for i in instructions):
        return
    if is_service_image(stage):
        yield Violation(stage.anchor, "service image without HEALTHCHECK")


@rule(
    "DA025",
    "unused-suppression",
    family=FAMILY,
    severity="info",
    summary="an ignore comment that suppresses nothing (off by default)",
    enabled=False,
)
def find_unused_suppressions(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Reports `# dockaudit: ignore=…`, `# hadolint ignore=…` and `ignore-file` comments
    that suppressed no finding in this run. The engine computes it after every other
    selected rule has run; a comment that names only rules not selected is not judged.
    Off by default.

    ## Why is this bad?
    A suppression outlives the problem it silenced; left in place it will hide the
    next, different problem on that line.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    # dockaudit: ignore
    RUN echo nothing to suppress here
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    RUN echo nothing to suppress here
    ```
    """
    return iter(())  # computed by the engine from the suppressions no finding used


@rule(
    "DA026",
    "invalid-suppression",
    family=FAMILY,
    severity="warning",
    summary="an ignore comment that is malformed or names a rule that does not exist",
)
def find_invalid_suppressions(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Reports `# dockaudit: …`, `# hadolint ignore=…` and `# check=skip=…` comments that
    dockaudit cannot use: a directive it cannot read (`ignore DA008` without `=`, an
    empty list after `=`, rules separated by spaces), and rule codes no rule answers to
    (`DA999`, a misspelt name). The codes are read with the same grammar as `--select`.
    A hadolint id or BuildKit check name dockaudit does not map is reported as info:
    the comment may be meant for hadolint or BuildKit.

    ## Why is this bad?
    Such a comment silences nothing, silently: the finding it was written for comes
    back, or, worse, the author believes a rule is off when it is not.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    # dockaudit: ignore DA008
    CMD python app.py
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    # dockaudit: ignore=DA008 -- the app handles no signals
    CMD python app.py
    ```
    """
    from dockaudit.linting.engine import load_rules  # every installed rule, not only the selected ones
    from dockaudit.linting.suppressions import comment_problems

    for problem in comment_problems(ctx.dockerfile, load_rules()):
        yield Violation(problem.span, problem.message, severity=Severity.INFO if problem.foreign else None)
