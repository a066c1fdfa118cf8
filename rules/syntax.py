"""DA0xx — syntax and structure: what BuildKit rejects or silently reinterprets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from dockaudit.facts import baseos
from dockaudit.context import LintContext
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.facts.services import is_service_image
from dockaudit.syntax.expand import ExpansionError, LexOptions, process
from dockaudit.syntax.nodes import Arg, Comment, Instruction
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import PLATFORM_ARGS, PROXY_ARGS, Stage, env_pairs

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


def _all_instructions(ctx: LintContext) -> Iterator[Instruction]:
    """Every instruction, ONBUILD triggers included."""
    for instruction in ctx.dockerfile.instructions:
        yield instruction
        if instruction.trigger is not None:
            yield instruction.trigger


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
    for instruction in _all_instructions(ctx):
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
        rejected = sum(1 for i in _all_instructions(ctx) if not i.is_known and i.keyword)
        yield Violation(
            template.keyword_span,
            f"template markup ({template.keyword!r} on line {template.start_line}): BuildKit rejects "
            f"{rejected} line{'s' if rejected > 1 else ''} of this file; lint the Dockerfile it renders",
        )
        return
    for instruction in _all_instructions(ctx):
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
    instructions = [i for i in _all_instructions(ctx) if i.keyword and i.is_known]  # DA001 reports the rest
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


def _variables_used(text: str, escape: str) -> tuple[set[str], bool]:
    """Names referenced in ``text``; False when the text does not expand cleanly."""
    try:
        result = process(text, {}, LexOptions(escape=escape))
    except ExpansionError:
        return set(), False
    return result.unmatched, True


_KNOWN_IMAGE_ENV = frozenset({"PATH", "HOME", "HOSTNAME", "TERM", "LANG", "LC_ALL", "PWD", "USER", "SHELL"})


@rule(
    "DA010",
    "undefined-variable",
    family=FAMILY,
    severity="warning",
    summary="A variable used where no ARG/ENV defines it (BuildKit scoping)",
    aliases=("DL3044", "UndefinedVar", "UndefinedArgInFrom", "InvalidDefaultArgInFrom"),
    enabled=False,  # precision ledger: 2 of 11 judged wrong
)
def find_undefined_variables(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags variables that BuildKit will expand to an empty string: a `$VAR` in a
    `FROM` line that no `ARG` before the first `FROM` declares (or declares without
    a default), an `ENV` that refers to a key set in the same `ENV` instruction,
    and — in stages built on `scratch` or on stages of this file — a variable no
    `ARG`/`ENV` defines. (A base image may define variables this file cannot see,
    so those are not judged.)

    ## Why is this bad?
    An empty expansion silently changes the base image (`FROM python:$PY` becomes
    `python:`) or a path. Inside one `ENV`, later pairs see the values from before
    that `ENV`, not the ones it sets.

    ## Example
    ```dockerfile
    FROM python:${PYTHON_VERSION}-slim
    ```

    ## Use instead
    ```dockerfile
    ARG PYTHON_VERSION=3.12
    FROM python:${PYTHON_VERSION}-slim
    ```
    """
    escape = ctx.escape
    meta = ctx.stages[0].meta if ctx.stages else {}
    for stage in ctx.stages:
        instruction = stage.from_instruction
        for name in sorted(stage.unresolved):
            if name in PLATFORM_ARGS:
                continue
            span = instruction.args[0].span if instruction.args else instruction.span
            if name in meta and meta[name].value is None:
                yield Violation(
                    span,
                    f"ARG {name} has no default: FROM expands it to an empty string unless --build-arg sets it",
                    severity=Severity.INFO,
                )
            else:
                yield Violation(span, f"FROM uses ${name}, but no ARG before the first FROM declares it")
    for instruction in _all_instructions(ctx):
        if instruction.name != "ENV":
            continue
        set_here: set[str] = set()
        for key, value, _sep in env_pairs(instruction):
            used, _ok = _variables_used(value, escape)
            for name in sorted(used & set_here):
                yield Violation(
                    instruction.keyword_span, f"ENV {key} uses ${name}, which this same ENV sets: it sees the old value"
                )
            set_here.add(key)
    for stage in ctx.stages:
        root = stage
        while root.parent is not None and root.parent is not root:
            root = root.parent
        if not root.is_scratch:
            continue
        for instruction, env in stage.scopes():
            if instruction.name not in ("COPY", "ADD", "WORKDIR", "USER", "VOLUME", "EXPOSE", "LABEL", "STOPSIGNAL"):
                continue
            for arg in instruction.args:
                used, _ok = _variables_used(arg.value, escape)
                for name in sorted(used - set(env) - PROXY_ARGS - _KNOWN_IMAGE_ENV):
                    yield Violation(arg.span, f"${name} is not defined by any ARG or ENV in this stage")


@rule(
    "DA011",
    "legacy-key-value",
    family=FAMILY,
    severity="style",
    summary="`ENV key value` / `LABEL key value` legacy syntax",
    aliases=("LegacyKeyValueFormat",),
    fix="safe",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_legacy_key_values(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `ENV` and `LABEL` written as `KEY value` instead of `KEY=value`.

    ## Why is this bad?
    In the legacy form everything after the key is one value, spaces included, so
    `ENV A 1 B 2` sets `A` to `1 B 2`. BuildKit deprecates the form.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    ENV MODEL_DIR /models
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    ENV MODEL_DIR=/models
    ```
    """
    for instruction in _all_instructions(ctx):
        if instruction.name not in ("ENV", "LABEL") or len(instruction.args) != 3 or instruction.args[2].value != "":
            continue
        key, value = instruction.args[0], instruction.args[1]
        fix = None
        # Only a plain key can be rewritten: quotes, "=" or "$" in it would change how the new line splits.
        if instruction.start_line == instruction.end_line and re.fullmatch(r"[^\s\"'\\$`=]+", key.value):
            raw = value.value
            if re.fullmatch(r"[^\s\"'\\$`]+", raw):
                new_value = raw
            elif not re.search(r"[\"\\$`]", raw):
                new_value = '"' + raw + '"'
            else:
                new_value = None
            if new_value is not None:
                fix = Fix(
                    f"write {key.value}={new_value}",
                    (Edit(Span(key.span.start, value.span.end), f"{key.value}={new_value}"),),
                )
        yield Violation(
            instruction.span if instruction.start_line == instruction.end_line else instruction.keyword_span,
            f"use {instruction.name} {key.value}=<value> instead of the legacy '{instruction.name} key value' form",
            fix,
        )


@rule(
    "DA012",
    "maintainer-deprecated",
    family=FAMILY,
    severity="style",
    summary="MAINTAINER is deprecated",
    aliases=("DL4000", "MaintainerDeprecated"),
    fix="safe",
    enabled=False,  # precision ledger: 11 of 11 judged not worth reading
)
def find_maintainer(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags the `MAINTAINER` instruction.

    ## Why is this bad?
    It is deprecated; the OCI label `org.opencontainers.image.authors` carries the
    same information where registries and scanners look for it.

    ## Example
    ```dockerfile
    FROM alpine:3.20
    MAINTAINER Jane Doe <jane@example.com>
    ```

    ## Use instead
    ```dockerfile
    FROM alpine:3.20
    LABEL org.opencontainers.image.authors="Jane Doe <jane@example.com>"
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        if instruction.name != "MAINTAINER":
            continue
        fix = None
        value = instruction.args[0].value if instruction.args else ""
        if instruction.start_line == instruction.end_line and value and not re.search(r"[\"\\$`]", value):
            label = f'LABEL org.opencontainers.image.authors="{value}"'
            fix = Fix("use LABEL org.opencontainers.image.authors", (Edit(instruction.span, label),), reshapes=True)
        yield Violation(
            instruction.keyword_span, "MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors", fix
        )


_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/([A-Za-z]+))?$")


@rule(
    "DA013",
    "invalid-expose",
    family=FAMILY,
    severity="error",
    summary="EXPOSE with a bad port, a bad or upper-case protocol, or a host mapping",
    aliases=("DL3011", "ExposeInvalidFormat", "ExposeProtoCasing"),
    fix="safe",
)
def find_invalid_expose(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Checks every `EXPOSE` port: in 0–65535, protocol `tcp`, `udp` or `sctp` in
    lower case, and no `host:container` mapping (that belongs to `docker run -p`).

    ## Why is this bad?
    BuildKit rejects bad ports at build time, and silently drops the host part of
    a mapping, so the image does not do what the line says.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    EXPOSE 80:8000 8000/TCP
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    EXPOSE 8000/tcp
    ```
    """
    for instruction in _all_instructions(ctx):
        if instruction.name != "EXPOSE":
            continue
        for arg in instruction.args:
            value = arg.value
            if "$" in value:
                continue
            if ":" in value:
                yield Violation(
                    arg.span, f"EXPOSE {value}: IP addresses and host-port mappings do not belong in EXPOSE"
                )
                continue
            match = _PORT.match(value)
            if not match:
                yield Violation(arg.span, f"EXPOSE {value}: not a port, port range or port/protocol")
                continue
            low, high, proto = match.groups()
            if int(low) > 65535 or (high and int(high) > 65535):
                yield Violation(arg.span, f"EXPOSE {value}: ports go from 0 to 65535")
            elif high and int(high) < int(low):
                yield Violation(arg.span, f"EXPOSE {value}: the range ends before it starts")
            if proto:
                if proto.lower() not in ("tcp", "udp", "sctp"):
                    yield Violation(arg.span, f"EXPOSE {value}: protocol must be tcp, udp or sctp")
                elif proto != proto.lower():
                    proto_start = arg.span.end - len(proto)
                    fix = Fix(f"write /{proto.lower()}", (Edit(Span(proto_start, arg.span.end), proto.lower()),))
                    yield Violation(
                        arg.span, f"EXPOSE {value}: write the protocol in lower case", fix, severity=Severity.STYLE
                    )


@rule(
    "DA014",
    "copy-multi-source-dest",
    family=FAMILY,
    severity="error",
    summary="COPY/ADD of several sources to a destination without a trailing /",
    aliases=("DL3021",),
    fix="safe",
    enabled=False,  # precision ledger: 5 of 6 judged wrong
)
def find_multi_source_without_slash(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `COPY`/`ADD` with more than one source whose destination does not end in `/`
    (a heredoc counts as one source: `COPY <<EOF /etc/app.conf` writes a file). Also
    flags a `# …` after the arguments: Dockerfiles have no inline comments, so its
    words become more sources and the destination. A `.` destination is a warning:
    BuildKit takes it as the working directory, the legacy builder fails on it.

    ## Why is this bad?
    With several sources the destination must be a directory; BuildKit fails the
    build when it does not end with `/`.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY requirements.txt setup.py /app
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    COPY requirements.txt setup.py /app/
    ```
    """
    for instruction in _all_instructions(ctx):
        if instruction.name not in ("COPY", "ADD") or not instruction.args:
            continue
        comment = _inline_comment(instruction)
        if comment is not None:
            yield Violation(
                comment.span,
                f"'{comment.value}' does not start a comment: Dockerfiles have no inline comments, so "
                f"{instruction.name} reads it and what follows as sources and destination; put the comment "
                "on its own line",
            )
            continue
        if any(f.value is None and f.name in _VALUED_COPY_FLAGS for f in instruction.flags):
            continue  # "--chmod 777 src dst": the build fails on the flag, and 777 is not a source
        markers = sum(1 for a in instruction.args[:-1] if a.value.startswith("<<"))
        sources = len(instruction.args) - 1 - markers + len(instruction.heredocs)
        dest = instruction.args[-1]
        value = dest.value.strip("\"'")
        if sources < 2 or value.endswith(("/", "\\")) or "$" in value or value.startswith("<<"):
            continue  # ("<<EOF" last: a heredoc with no destination at all, which the build itself reports)
        fix = None
        if _slash_appends_to_destination(instruction, dest.value, value):
            fix = Fix(f"write {value}/", (Edit(Span(dest.span.end, dest.span.end), "/"),))
        message = f"{instruction.name} with {sources} sources needs a directory destination ending in '/'"
        if value == ".":  # BuildKit takes "." as the working directory; the legacy builder does not
            message += " (BuildKit accepts '.', the legacy builder fails on it)"
            yield Violation(dest.span, message, fix, severity=Severity.WARNING)
            continue
        yield Violation(dest.span, message, fix)


_VALUED_COPY_FLAGS = frozenset({"from", "chown", "chmod", "exclude", "checksum", "keep-git-dir", "unpack"})


def _inline_comment(instruction: Instruction) -> Arg | None:
    """The first argument after the first that starts with ``#`` (``COPY . .  # note``): BuildKit
    reads it as a path, not as a comment."""
    if instruction.json:
        return None  # a JSON array names its paths exactly: "#notes" is a file there
    return next((a for a in instruction.args[1:] if a.value.startswith("#")), None)


def _slash_appends_to_destination(instruction: Instruction, written: str, value: str) -> bool:
    """Precondition of DA014's safe fix: the last word is the destination as written (shell form, no
    quotes) and several sources really are listed (a heredoc is one source, its ``<<EOF`` word is
    not another; a ``# …`` tail was reported as a comment before this is asked).  Appending
    ``/`` then only makes explicit the directory BuildKit requires for several sources."""
    return not instruction.json and written == value


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


_SINGLE_PLATFORM_IMAGES = ("l4t-", "jetson", "jetpack")  # NVIDIA Jetson images exist for linux/arm64 only


def _platform_is_deliberate(stage: Stage, platform: str) -> bool:
    """A stage named for its platform (base-amd64, picked by base-${TARGETARCH}) or an image
    published for that platform only: the constant is the point."""
    arch = platform.lower().split("/")[1] if "/" in platform else platform.lower()
    if stage.name and (arch in stage.name or stage.name in platform.lower().replace("/", "-")):
        return True
    return any(marker in stage.image.lower() for marker in _SINGLE_PLATFORM_IMAGES)


_LABEL_KEY = re.compile(r"^[a-z](?:[a-z0-9.-]*[a-z0-9])?$")  # starts with a letter, ends alphanumeric
_RESERVED_LABEL_PREFIXES = ("com.docker.", "io.docker.", "org.dockerproject.")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_GIT_HASH = re.compile(r"^(?:[0-9a-f]{7,40})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s][^@\s.]*\.[^@\s]+$")  # split at the domain's first inner dot: linear
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s]+$")
_LABEL_ALIASES = {"url": "DL3052", "rfc3339": "DL3053", "spdx": "DL3054", "hash": "DL3055", "semver": "DL3056",
                  "email": "DL3058", "text": "DL3051"}  # fmt: skip
LABEL_TYPES = ("text", "url", "hash", "rfc3339", "semver", "email", "spdx")


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
    for instruction in _all_instructions(ctx):
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


def _builds_something(stage: Stage) -> bool:
    """A stage on a real base whose own RUNs left build output (and caches) in its filesystem."""
    chain = stage.ancestry()
    return not any(s.is_scratch for s in chain) and any(s.instructions_named("RUN") for s in chain)


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


def _basename(path: str) -> str:
    """The file name of a Unix or Windows path, quotes removed."""
    return re.split(r"[/\\]", path.strip("\"'"))[-1]


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
