"""One open document linted as the CLI lints the file on disk: its configuration (found from the
document's folder), the folder as build context, inline suppressions and the plan's findings filter.

Never touches the network (``online`` is off in every plan built here) and never raises: a document
that cannot be linted (too large, a bad configuration, a crash) gives one finding that says why.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from dockaudit.facts.contextreads import ContextReads
from dockaudit.facts.resources import Resources
from dockaudit.linting.engine import INTERNAL_ERROR, PARSE_ERROR, lint_source
from dockaudit.model import FileResult
from dockaudit.files import MAX_FILE_BYTES, is_compose_file, is_dockerfile_name
from dockaudit.model import Finding, Severity
from dockaudit.records import record, replace
from dockaudit.run import FilePlan, Flags, cached_plan

DOCKERFILE, COMPOSE = "dockerfile", "compose"
CONFIG_ERROR = "config-error"  # a finding code of its own: no rule has it, so no docs link
# The language ids editors give these files (VS Code's, Neovim's filetypes, Helix's, Zed's).
_DOCKERFILE_LANGUAGES = frozenset({"dockerfile", "containerfile"})
_COMPOSE_LANGUAGES = frozenset({"dockercompose", "yaml.docker-compose", "docker-compose"})
_LINE_MENTION = re.compile(r"\bline (\d{1,7})\b")


@record(slots=False)
class DocumentLint:
    """What a lint of one document version found, and what code actions and hovers need of it.

    ``result`` is the Dockerfile's ``FileResult`` (tree, source, instruction spans), None for a
    Compose file and for a document that was not linted; ``plan`` is None when none could be built."""

    text: str
    path: str | None
    kind: str
    findings: list[Finding]
    result: FileResult | None = None
    plan: FilePlan | None = None


def document_kind(path: str | None, language_id: str | None) -> str | None:
    """``DOCKERFILE``, ``COMPOSE``, or None for a document this server does not lint: by the file
    name as the CLI decides (``Dockerfile``, ``*.Dockerfile``, ``Containerfile``, ``compose.yaml`` …),
    else by the editor's language id (an unsaved buffer has no useful name)."""
    name = os.path.basename(path) if path else ""
    if name and is_compose_file(name):
        return COMPOSE
    if name and is_dockerfile_name(name):
        return DOCKERFILE
    language = (language_id or "").lower()
    if language in _DOCKERFILE_LANGUAGES:
        return DOCKERFILE
    if language in _COMPOSE_LANGUAGES:
        return COMPOSE
    return None


def document_plan(path: str | None, plans: dict, flags: Flags = Flags()) -> FilePlan:
    """The plan for ``path`` (``None``: an unsaved buffer, judged from the working directory) under the
    editor's ``flags``, one per folder in ``plans``; raises ``ConfigError`` for a bad configuration file."""
    return cached_plan(replace(flags, online=False), "-" if path is None else path, plans)


def lint_document(
    text: str,
    path: str | None,
    kind: str,
    plans: dict,
    flags: Flags = Flags(),
    buffers: Mapping[str, str] | None = None,
    reads: ContextReads | None = None,
) -> DocumentLint:
    """Lint ``text`` (the editor's buffer) as the file at ``path``.  The files a Compose file includes
    or extends and the Dockerfiles its services build are read from ``buffers`` (real path → text:
    the other open documents) where they are open, else from disk; ``reads`` keeps what was read of
    build contexts from one lint to the next (the caller drops it when files may have changed)."""
    from dockaudit.config import ConfigError

    shown = path or "-"
    size = len(text) if len(text) * 4 <= MAX_FILE_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:  # as the CLI refuses such a file (a UTF-8 character is at most 4 bytes)
        message = (
            f"this document is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB dockaudit "
            "reads: not linted"
        )
        return DocumentLint(text, path, kind, [_document_finding(PARSE_ERROR, message, shown)])
    try:
        plan = document_plan(path, plans, flags)
    except ConfigError as exc:
        return DocumentLint(text, path, kind, [_document_finding((CONFIG_ERROR, CONFIG_ERROR), str(exc), shown)])
    resources = Resources(online=plan.options.online, reads=reads)
    try:
        if kind == COMPOSE:
            return DocumentLint(text, path, kind, _lint_compose(text, path, plan, buffers or {}, resources), None, plan)
        result = lint_source(text, path, plan.rules, plan.options, resources)
    except Exception as exc:  # noqa: BLE001 - a bug must cost this document its diagnostics, not the server
        message = f"linting crashed: {type(exc).__name__}: {exc}; please report it"
        return DocumentLint(text, path, kind, [_document_finding(INTERNAL_ERROR, message, shown)], None, plan)
    findings = plan.findings_filter(result.path)(result.findings)
    return DocumentLint(text, path, kind, findings, result, plan)


def _lint_compose(text: str, path: str | None, plan: FilePlan, buffers: Mapping[str, str],
                  resources: Resources) -> list[Finding]:  # fmt: skip
    """The DA9xx findings of the compose buffer ``text`` (the Dockerfiles its services build are
    documents of their own)."""
    from dockaudit.compose.lint import lint_compose

    if path is None:
        return []  # an untitled compose buffer: no folder to resolve its includes and .env from
    wanted = os.path.realpath(path)
    # Only the DA9xx rules: the services' Dockerfiles are parsed for them, but their own findings are
    # their documents' (running every Dockerfile rule here would be thrown away on each keystroke).
    rules = [r for r in plan.rules if r.target == "compose"]
    found: list[Finding] = []
    for result in lint_compose([Path(path)], rules, plan.options, buffers={**buffers, wanted: text},
                               resources=resources):  # fmt: skip
        if os.path.realpath(result.path) != wanted:
            continue
        if result.error and not result.findings:
            found.append(_document_finding(PARSE_ERROR, result.error, path))
        found.extend(plan.findings_filter(result.path)(result.findings))
    return found


def _document_finding(rule: tuple[str, str], message: str, path: str) -> Finding:
    return Finding(rule[0], rule[1], Severity.ERROR, message, path, 1, 1, 1, 1)


def mentioned_lines(finding: Finding) -> list[int]:
    """Other lines of the file a finding's message names ("merge with the RUN on line 3")."""
    return [int(n) for n in _LINE_MENTION.findall(finding.message) if int(n) != finding.line]
