"""DA010–DA014 — instruction arguments that build but do not say what the author meant: undefined
variables (BuildKit scoping), legacy ``ENV key value`` and MAINTAINER, EXPOSE values, and several COPY
sources into a destination without a trailing ``/``.  Most mirror BuildKit's build checks or
hadolint's DL rules (their ids are the aliases).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.expand import ExpansionError, LexOptions, process
from dockaudit.syntax.nodes import Arg, Instruction
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import PLATFORM_ARGS, PROXY_ARGS, env_pairs

FAMILY = "syntax"


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
    for instruction in ctx.instructions_and_triggers():
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
    for instruction in ctx.instructions_and_triggers():
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
    for instruction in ctx.instructions_and_triggers():
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
    for instruction in ctx.instructions_and_triggers():
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
