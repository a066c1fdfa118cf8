"""DA001–DA009 — what BuildKit rejects or silently reinterprets: unknown instructions and flags,
instructions before FROM, broken continuations, stage names, COPY --from targets, repeated CMD/ENTRYPOINT,
shell-form entrypoints and relative paths.  They read the tree only (ONBUILD triggers included).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.source import Span

FAMILY = "syntax"


# Flags each instruction accepts (BuildKit's instructions/parse.go).
ALLOWED_FLAGS = {
    "FROM": {"platform"},
    "RUN": {"mount", "network", "security", "device"},
    "COPY": {"from", "chown", "chmod", "link", "parents", "exclude"},
    "ADD": {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack"},
    "HEALTHCHECK": {"interval", "timeout", "start-period", "start-interval", "retries"},
}


# The boolean ones among them (bflag.go's AddBool); every other flag takes a value (AddString/AddStrings).
_BOOL_FLAGS = {"COPY": {"link", "parents"}, "ADD": {"link", "keep-git-dir", "unpack"}}


_MIN_ARGS = {"ADD": 2, "COPY": 2, "FROM": 1, "RUN": 1, "WORKDIR": 1, "USER": 1, "EXPOSE": 1, "VOLUME": 1,
             "ENV": 1, "LABEL": 1, "ARG": 1, "STOPSIGNAL": 1, "MAINTAINER": 1, "SHELL": 1, "HEALTHCHECK": 1,
             "ONBUILD": 1}  # fmt: skip


def _argument_count(instruction: Instruction) -> int:
    if instruction.name == "ONBUILD":
        return 1 if instruction.trigger else 0
    return len(instruction.args) + (len(instruction.heredocs) if instruction.name in ("COPY", "ADD") else 0)


def _arity_problem(instruction: Instruction) -> str | None:
    name = instruction.name
    count = _argument_count(instruction)
    needed = _MIN_ARGS.get(name, 0)
    if count < needed:
        if name in ("ADD", "COPY"):
            return f"{name} requires at least two arguments, but only {count} provided"
        return f"{name} requires at least one argument"
    if name == "FROM" and count not in (1, 3):
        return "FROM requires either one or three arguments"
    if name == "FROM" and count == 3 and instruction.args[1].value.lower() != "as":
        return "FROM with three arguments must read FROM image AS name"
    if name in ("MAINTAINER", "STOPSIGNAL", "WORKDIR", "USER") and count > 1:
        return f"{name} requires exactly one argument"
    if name == "SHELL" and not instruction.json:
        return "SHELL requires the arguments to be in JSON form"
    if name == "HEALTHCHECK" and instruction.args:
        kind = instruction.args[0].value.upper()
        if kind not in ("CMD", "NONE"):
            return f"Unknown type {kind!r} in HEALTHCHECK (try CMD)"
        if kind == "NONE" and len(instruction.args) > 1:
            return "HEALTHCHECK NONE takes no arguments"
    return None


def _flag_value_problem(instruction: str, name: str, value: str | None) -> str | None:
    """BuildKit's BFlags.Parse: a value flag written without ``=`` (``COPY --chmod 777 a b``) and a
    boolean flag with an empty or non-boolean value are refused, in BuildKit's words."""
    if name in _BOOL_FLAGS.get(instruction, ()):
        if value == "":
            return f"missing a value on flag: {name}"
        if value is not None and value.lower() not in ("true", "false"):
            return f"expecting boolean value for flag {name}, not: {value}"
        return None
    if value is None:
        return f"missing a value on flag: {name} (write --{name}=<value>)"
    return None


def template_markup(ctx: LintContext) -> Instruction | None:
    """The first line of Go-template / jq / Jinja markup (``{{ if … }}``, ``{% … %}``) when the file is a
    template a build system renders into a Dockerfile, else None. Each markup line is an unknown
    instruction to BuildKit; reporting every one (82 in docker-library's ruby template) says one thing."""
    for instruction in ctx.instructions_and_triggers():
        keyword = instruction.keyword or ""
        if not instruction.is_known and ("{{" in keyword or "}}" in keyword or keyword.startswith(("{%", "{#"))):
            return instruction
    return None


@rule(
    "DA001",
    "parse-error",
    family=FAMILY,
    severity="error",
    summary="Text BuildKit would reject: unknown instruction, bad flag, wrong arguments",
)
def find_parse_errors(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Reports text that BuildKit refuses to build: an unknown instruction, a flag the
    instruction does not take or takes with a value, the wrong number of arguments.
    A template (`{{ … }}` markup a build system renders) gets one finding. Files that BuildKit
    cannot parse at all (unterminated heredoc, bad JSON array, invalid directive)
    are reported under the same id by the parser, with the line.

    ## Why is this bad?
    `docker build` stops at the first of these, often after minutes of earlier
    steps; a typo such as `RUNN` or `COPY --chwon` is cheap to catch before.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY --chwon=app:app . /app
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    COPY --chown=app:app . /app
    ```
    """
    template = template_markup(ctx)
    if template is not None:
        rejected = sum(1 for i in ctx.instructions_and_triggers() if not i.is_known and i.keyword)
        yield Violation(
            template.keyword_span,
            f"template markup ({template.keyword!r} on line {template.start_line}): BuildKit rejects "
            f"{rejected} line{'s' if rejected > 1 else ''} of this file; lint the Dockerfile it renders",
        )
        return
    for instruction in ctx.instructions_and_triggers():
        if not instruction.is_known:
            if instruction.keyword:
                yield Violation(instruction.keyword_span, f"unknown instruction: {instruction.keyword}")
            continue
        allowed = ALLOWED_FLAGS.get(instruction.name, set())
        for flag in instruction.flags:
            if flag.name not in allowed:
                where = (
                    f"{instruction.name} takes no flags"
                    if not allowed
                    else f"{instruction.name} takes --" + ", --".join(sorted(allowed))
                )
                yield Violation(flag.span, f"unknown flag: --{flag.name} ({where})")
            else:
                problem = _flag_value_problem(instruction.name, flag.name, flag.value)
                if problem:
                    yield Violation(flag.span, problem)
        problem = _arity_problem(instruction)
        if problem:
            yield Violation(
                instruction.span if instruction.start_line == instruction.end_line else instruction.keyword_span,
                problem,
            )


@rule(
    "DA002",
    "instruction-before-from",
    family=FAMILY,
    severity="error",
    summary="Only ARG (and comments) may come before the first FROM",
    aliases=("DL3061",),
)
def find_instructions_before_from(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags any instruction other than `ARG` that appears before the first `FROM`. A
    file with no `FROM` at all (a fragment or template) gets one finding.

    ## Why is this bad?
    BuildKit rejects the file: there is no image yet to run or copy into.

    ## Example
    ```dockerfile
    RUN echo hello
    FROM alpine:3.20
    ```

    ## Use instead
    ```dockerfile
    ARG ALPINE=3.20
    FROM alpine:${ALPINE}
    RUN echo hello
    ```
    """
    if template_markup(ctx) is not None:
        return  # DA001 reports the template once; its markup lines are not instructions
    instructions = ctx.dockerfile.instructions
    early = []
    for instruction in instructions:
        if instruction.name == "FROM":
            break
        if instruction.name != "ARG":
            early.append(instruction)
    else:
        # No FROM at all: a fragment or template that a build system splices into a Dockerfile.
        # One finding says so; one per instruction said the same thing dozens of times.
        if early:
            first = early[0]
            yield Violation(
                first.keyword_span,
                f"no FROM in this file ({len(early)} instruction{'s' if len(early) > 1 else ''} from line "
                f"{first.start_line} need one): a fragment or template cannot be built on its own",
            )
        return
    for instruction in early:
        yield Violation(instruction.keyword_span, f"{instruction.name} before the first FROM: only ARG may come first")


@rule(
    "DA003",
    "empty-continuation",
    family=FAMILY,
    severity="style",
    summary="Empty line inside a line continuation",
    aliases=("NoEmptyContinuation",),
    fix="safe",
)
def find_empty_continuation_lines(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags blank lines inside a multi-line instruction joined with `\\`.

    ## Why is this bad?
    BuildKit warns that empty continuation lines will become errors; they also
    make it look as if the instruction ended.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl \\

        git
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    RUN apk add --no-cache curl \\
        git
    ```
    """
    source = ctx.dockerfile.source
    for instruction in ctx.dockerfile.instructions:
        for line in instruction.empty_continuation_lines:
            start = source.line_start(line)
            end = source.line_start(line + 1) if line < source.line_count else len(source.text)
            fix = Fix("remove the empty line", (Edit(Span(start, end), ""),))
            yield Violation(Span(start, start + len(source.line_text(line))), "empty line inside a continuation", fix)


def _case_of(word: str) -> str:
    if word.isupper():
        return "upper"
    if word.islower():
        return "lower"
    return "mixed"


@rule(
    "DA004",
    "inconsistent-casing",
    family=FAMILY,
    severity="style",
    summary="Instruction keywords mix upper and lower case; FROM … AS casing differs",
    aliases=("ConsistentInstructionCasing", "FromAsCasing"),
    fix="safe",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_inconsistent_casing(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags instruction keywords whose case differs from the file's majority (all
    upper or all lower case), and `FROM … AS` where the two keywords differ in case.

    ## Why is this bad?
    Mixed casing reads as carelessness and hides instructions when scanning a file;
    BuildKit's checks report it too.

    ## Example
    ```dockerfile
    FROM alpine:3.20 as build
    run echo hi
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20 AS build
    RUN echo hi
    ```
    """
    instructions = [i for i in ctx.instructions_and_triggers() if i.keyword and i.is_known]  # DA001 reports the rest
    cases = [_case_of(i.keyword) for i in instructions]
    lower, upper = cases.count("lower"), cases.count("upper")
    majority = "lower" if lower > upper else "upper"
    for instruction, case in zip(instructions, cases):
        if case != majority:
            wanted = instruction.keyword.lower() if majority == "lower" else instruction.keyword.upper()
            fix = Fix(f"write {wanted}", (Edit(instruction.keyword_span, wanted),))
            yield Violation(
                instruction.keyword_span,
                f"'{instruction.keyword}' should match the case of the other instructions ({majority} case)",
                fix,
            )
        if instruction.name == "FROM" and len(instruction.args) == 3 and instruction.args[1].value.lower() == "as":
            as_word = instruction.args[1]
            from_case = _case_of(instruction.keyword)
            if from_case in ("upper", "lower") and _case_of(as_word.value) != from_case:
                wanted = "AS" if from_case == "upper" else "as"
                yield Violation(
                    as_word.span,
                    f"'{as_word.value}' and '{instruction.keyword}' keywords' casing do not match",
                    Fix(f"write {wanted}", (Edit(as_word.span, wanted),)),
                )


_RESERVED_STAGE_NAMES = frozenset({"scratch", "context"})


@rule(
    "DA005",
    "stage-name",
    family=FAMILY,
    severity="error",
    summary="Duplicate, reserved or non-lowercase stage names",
    aliases=("DL3024", "DL3063", "DuplicateStageName", "ReservedStageName", "StageNameCasing"),
    enabled=False,  # precision ledger: 2 of 2 judged not worth reading
)
def find_bad_stage_names(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `FROM … AS name` whose name is used by an earlier stage, is reserved
    (`scratch`, `context`), or is not lower case.

    ## Why is this bad?
    BuildKit refuses duplicate names; `scratch` and `context` mean something else
    in `FROM` and `COPY --from`; stage names are matched case-insensitively, so a
    mixed-case name invites mismatches.

    ## Example
    ```dockerfile
    FROM golang:1.23 AS build
    FROM alpine:3.20 AS build
    ```

    ## Use instead
    ```dockerfile
    FROM golang:1.23 AS build
    FROM alpine:3.20 AS runtime
    ```
    """
    seen: set[str] = set()
    for stage in ctx.stages:
        if stage.name_raw is None:
            continue
        span = stage.from_instruction.args[2].span
        name = stage.name
        if name in seen:
            yield Violation(span, f"duplicate stage name '{stage.name_raw}': stage names must be unique")
        elif name in _RESERVED_STAGE_NAMES:
            yield Violation(span, f"'{stage.name_raw}' is reserved and cannot name a stage")
        elif stage.name_raw != stage.name_raw.lower():
            yield Violation(span, f"stage name '{stage.name_raw}' should be lower case", severity=Severity.WARNING)
        seen.add(name)


_IMAGE_LIKE = re.compile(r"[:/@.]")


@rule(
    "DA006",
    "copy-from-unknown-stage",
    family=FAMILY,
    severity="error",
    summary="COPY --from names no earlier stage (or its own stage)",
    aliases=("DL3022", "DL3023"),
)
def find_copy_from_unknown_stage(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `COPY --from=x` where `x` is neither an earlier stage's name or index nor
    something that looks like an image reference, and `COPY --from` that names the
    stage it is in.

    ## Why is this bad?
    An unknown name is pulled as an image from Docker Hub — usually a typo that
    fails late or, worse, pulls someone else's image. A stage cannot copy from itself.

    ## Example
    ```dockerfile
    FROM golang:1.23 AS build
    RUN go build -o /app .
    FROM alpine:3.20
    COPY --from=biuld /app /app
    ```

    ## Use instead
    ```dockerfile
    FROM golang:1.23 AS build
    RUN go build -o /app .
    FROM alpine:3.20
    COPY --from=build /app /app
    ```
    """
    for stage in ctx.stages:
        for instruction in stage.instructions:
            target = instruction.trigger or instruction
            if target.name != "COPY":
                continue
            flag = target.flag("from")
            if flag is None or not flag.value:
                continue
            value = flag.value
            if "$" in value:
                continue  # resolved at build time; cannot judge
            lowered = value.lower()
            if stage.name and lowered == stage.name:
                yield Violation(flag.span, f"COPY --from={value} refers to its own stage")
            elif value.isdigit():
                if int(value) >= stage.index:
                    yield Violation(
                        flag.span, f"COPY --from={value}: stage index must be an earlier stage (< {stage.index})"
                    )
            elif not ctx.names_earlier_stage(stage.index, lowered) and not _IMAGE_LIKE.search(value):
                later = {s.name for s in ctx.stages[stage.index + 1 :] if s.name}
                hint = " (it is defined later: stages can only copy from earlier ones)" if lowered in later else ""
                yield Violation(flag.span, f"COPY --from={value} names no earlier stage{hint}")


_SINGLETONS = ("CMD", "ENTRYPOINT", "HEALTHCHECK")


@rule(
    "DA007",
    "duplicate-singleton",
    family=FAMILY,
    severity="warning",
    summary="More than one CMD, ENTRYPOINT or HEALTHCHECK in a stage: only the last counts",
    aliases=("DL4003", "DL4004", "DL3012", "MultipleInstructionsDisallowed"),
)
def find_duplicate_singletons(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags every `CMD`, `ENTRYPOINT` or `HEALTHCHECK` in a stage that a later one of
    the same kind overrides.

    ## Why is this bad?
    Only the last one takes effect; the earlier ones are dead code that misleads
    the reader about how the container starts.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    CMD ["python", "train.py"]
    CMD ["python", "serve.py"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    CMD ["python", "serve.py"]
    ```
    """
    for stage in ctx.stages:
        for name in _SINGLETONS:
            found = stage.instructions_named(name)
            for instruction in found[:-1]:
                yield Violation(
                    instruction.keyword_span,
                    f"multiple {name} instructions in one stage: only the last (line {found[-1].start_line}) takes effect",
                    stage=stage.index,
                )


_PLAIN_WORD = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def _exec_form_fix(instruction: Instruction) -> Fix | None:
    text = instruction.args_text
    words = text.split()
    if not words or not all(_PLAIN_WORD.match(w) for w in words):
        return None  # quotes, variables, operators: converting could change the meaning
    if len(instruction.args) != 1 or instruction.start_line != instruction.end_line:
        return None
    replacement = json.dumps(words)
    return Fix("use the exec (JSON) form", (Edit(instruction.args[0].span, replacement),))


@rule(
    "DA008",
    "json-args",
    family=FAMILY,
    severity="warning",
    summary="CMD/ENTRYPOINT in shell form, or a JSON array that silently fell back to shell form",
    aliases=("DL3025", "JSONArgsRecommended"),
    fix="safe",
    enabled=False,  # precision ledger: 12 of 20 judged not worth reading
)
def find_shell_form_entrypoints(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `CMD` and `ENTRYPOINT` written in shell form, and ones that look like a
    JSON array but are not valid JSON (single quotes, a missing bracket), which
    BuildKit silently runs as a shell string instead.

    ## Why is this bad?
    In shell form the process runs under `/bin/sh -c`, which does not forward
    SIGTERM: `docker stop` waits out its timeout and then kills the model server
    mid-request.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    CMD python serve.py --port 8000
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    CMD ["python", "serve.py", "--port", "8000"]
    ```
    """
    shell_changed = False
    for instruction in ctx.dockerfile.instructions:
        if instruction.name == "FROM":
            shell_changed = False
        if instruction.name == "SHELL":
            shell_changed = True
        if instruction.name not in ("CMD", "ENTRYPOINT") or instruction.json or not instruction.args:
            continue
        text = instruction.args_text.strip()
        span = instruction.source_span(*instruction.args_range)
        if text.startswith("["):
            yield Violation(
                span, f"{instruction.name} looks like a JSON array but is not valid JSON: it runs as a shell command"
            )
        elif not shell_changed:
            yield Violation(
                span,
                f"use the JSON form for {instruction.name} so signals reach the process (shell form runs under /bin/sh -c)",
                _exec_form_fix(instruction),
            )


_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\|/)")


def _is_absolute(path: str) -> bool:
    path = path.strip("\"'")
    return bool(_WINDOWS_ABSOLUTE.match(path)) or path.startswith("$") or path.startswith("${")


@rule(
    "DA009",
    "relative-workdir",
    family=FAMILY,
    severity="warning",
    summary="Relative WORKDIR, or COPY/ADD to a relative path with no WORKDIR set",
    aliases=("DL3000", "DL3045", "WorkdirRelativePath"),
    enabled=False,  # precision ledger: 19 of 20 judged not worth reading
)
def find_relative_paths(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a relative `WORKDIR` and a `COPY`/`ADD` to a relative destination in a
    stage that has not set a `WORKDIR` yet.

    ## Why is this bad?
    A relative path resolves against whatever working directory the base image
    left — which changes when the base image does.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    WORKDIR app
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    WORKDIR /app
    ```
    """
    workdir_set: dict[int, bool] = {}
    for stage in ctx.stages:
        has_workdir = workdir_set.get(stage.parent.index, False) if stage.parent else False
        for instruction in stage.instructions:
            target = instruction.trigger or instruction
            if target.name == "WORKDIR" and target.args:
                if not _is_absolute(target.args[0].value):
                    yield Violation(target.args[0].span, f"use an absolute WORKDIR path, not '{target.args[0].value}'")
                has_workdir = True
            elif target.name in ("COPY", "ADD") and not has_workdir and instruction.trigger is None:
                if _argument_count(target) < 2 or not target.args:
                    continue
                dest = target.args[-1]
                if not _is_absolute(dest.value):
                    yield Violation(
                        dest.span,
                        f"{target.name} to relative destination '{dest.value}' with no WORKDIR set: "
                        "set WORKDIR or use an absolute path",
                    )
        workdir_set[stage.index] = has_workdir
