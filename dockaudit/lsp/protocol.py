"""Findings as LSP objects: diagnostics, code actions (fixes, fix-all, ignore, docs) and hovers.

Positions: dockaudit counts 1-based lines and columns in characters (code points); LSP counts
0-based lines and UTF-16 code units (the protocol's default encoding), converted here per line.
"""

from __future__ import annotations

from functools import cache

from lsprotocol import types

from dockaudit.linting.catalogue import docs_url
from dockaudit.lsp.linting import COMPOSE, DocumentLint, mentioned_lines
from dockaudit.model import Edit, Finding, Severity
from dockaudit.syntax.source import Source

SOURCE = "dockaudit"
FIX_ALL_KIND = "source.fixAll.dockaudit"
SHOW_DOCS_COMMAND = "dockaudit.showRuleDocs"
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.STYLE: types.DiagnosticSeverity.Hint,
}


@cache  # the rules do not change in a session; a lookup is a scan of them
def rule_docs_url(rule_id: str) -> str | None:
    """The rule's section of docs/rules.md, the link the SARIF report gives (``helpUri``)."""
    from dockaudit.linting.engine import rule_by_id

    found = rule_by_id(rule_id) if rule_id.upper().startswith("DA") else None
    return docs_url(found) if found else None


class Positions:
    """dockaudit's positions in ``source`` as LSP positions in the session's encoding ("utf-16", the
    protocol's default, or "utf-8"/"utf-32" when the client offered one first)."""

    def __init__(self, source: Source, encoding: str) -> None:
        self.source = source
        self.encoding = encoding

    def _units(self, text: str) -> int:
        if self.encoding == types.PositionEncodingKind.Utf8:
            return len(text.encode("utf-8", "surrogateescape"))
        if self.encoding == types.PositionEncodingKind.Utf32:
            return len(text)
        return len(text.encode("utf-16-le", "surrogatepass")) // 2

    def at(self, line: int, column: int) -> types.Position:
        """The 1-based (line, character column), clamped into the text."""
        line = min(max(line, 1), self.source.line_count)
        return types.Position(line - 1, self._units(self.source.line_text(line)[: max(column - 1, 0)]))

    def offset(self, offset: int) -> types.Position:
        where = self.source.position(min(max(offset, 0), len(self.source.text)))
        return self.at(where.line, where.column)

    def finding(self, finding: Finding) -> types.Range:
        start = self.at(finding.line, finding.column)
        end = self.at(finding.end_line, finding.end_column)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start, end)


def diagnostic(positions: Positions, finding: Finding, uri: str) -> types.Diagnostic:
    href = rule_docs_url(finding.rule)
    related = [
        types.DiagnosticRelatedInformation(
            types.Location(uri, types.Range(positions.at(line, 1), positions.at(line, 1))), f"line {line}"
        )
        for line in mentioned_lines(finding)
        if line <= positions.source.line_count
    ]
    return types.Diagnostic(
        range=positions.finding(finding),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href) if href else None,
        source=SOURCE,
        related_information=related or None,
        data={"fingerprint": list(_identity(finding))},
    )


def diagnostics(lint: DocumentLint, uri: str, encoding: str) -> list[types.Diagnostic]:
    positions = Positions(lint_source_text(lint), encoding)
    return [diagnostic(positions, f, uri) for f in lint.findings]


def lint_source_text(lint: DocumentLint) -> Source:
    """The text the findings' positions refer to: the parsed tree's when there is one."""
    if lint.result is not None and lint.result.source is not None:
        return lint.result.source
    return Source(lint.text, lint.path)


def _identity(finding: Finding) -> tuple:
    return (finding.rule, finding.line, finding.column, finding.end_line, finding.end_column)


def _text_edits(positions: Positions, edits: tuple[Edit, ...]) -> list[types.TextEdit]:
    """The fix's edits as LSP edits; a CRLF file gets CRLF in inserted newlines (as ``apply_edits``)."""
    text = positions.source.text
    crlf = "\r\n" in text and text.count("\r\n") * 2 >= text.count("\n")
    out = []
    for edit in edits:
        replacement = edit.replacement.replace("\r\n", "\n").replace("\n", "\r\n") if crlf else edit.replacement
        rng = types.Range(positions.offset(edit.span.start), positions.offset(edit.span.end))
        out.append(types.TextEdit(rng, replacement))
    return out


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def code_actions(
    lint: DocumentLint,
    uri: str,
    wanted: types.Range,
    kinds: list[str] | None,
    version: int | None,
    encoding: str,
    unsafe_fixes: bool = False,
) -> list[types.CodeAction]:
    """The actions for the findings touching ``wanted``, plus the file-wide fix-all (unsafe fixes
    included with ``unsafe_fixes``); ``kinds`` is the client's filter (``context.only``), a prefix
    match as the protocol says."""
    positions = Positions(lint_source_text(lint), encoding)
    actions: list[types.CodeAction] = []
    for finding in lint.findings:
        if not _overlaps(positions.finding(finding), wanted):
            continue
        diag = diagnostic(positions, finding, uri)
        fix = finding.fix
        if fix is not None and fix.edits and lint.kind != COMPOSE:
            title = (
                f"{fix.description} ({finding.rule})" if fix.safe else f"(unsafe) {fix.description} ({finding.rule})"
            )
            actions.append(types.CodeAction(
                title, kind=types.CodeActionKind.QuickFix, diagnostics=[diag], is_preferred=fix.safe,
                edit=_workspace_edit(uri, version, _text_edits(positions, fix.edits))))  # fmt: skip
        ignore = _ignore_edit(lint, positions.source, finding)
        if ignore is not None:
            actions.append(types.CodeAction(
                f"Ignore {finding.rule} for this instruction", kind=types.CodeActionKind.QuickFix,
                diagnostics=[diag], edit=_workspace_edit(uri, version, [ignore])))  # fmt: skip
        if rule_docs_url(finding.rule):
            actions.append(types.CodeAction(
                f"Show docs for {finding.rule}", kind=types.CodeActionKind.QuickFix, diagnostics=[diag],
                command=types.Command(title=f"Show docs for {finding.rule}", command=SHOW_DOCS_COMMAND, arguments=[finding.rule])))  # fmt: skip
    fix_all = fix_all_action(lint, uri, version, encoding, unsafe_fixes)
    if fix_all is not None:
        actions.append(fix_all)
    if kinds:
        actions = [a for a in actions if any(a.kind == k or (a.kind or "").startswith(k + ".") for k in kinds)]
    return actions


def _workspace_edit(uri: str, version: int | None, edits: list[types.TextEdit]) -> types.WorkspaceEdit:
    if version is None:
        return types.WorkspaceEdit(changes={uri: edits})
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(document, edits)])


def _ignore_edit(lint: DocumentLint, source: Source, finding: Finding) -> types.TextEdit | None:
    """``# dockaudit: ignore=DAxxx -- reason`` on a line of its own above the finding's instruction,
    indented like it (a placeholder reason: the suppression comment wants the why)."""
    if lint.result is None or not lint.result.instruction_spans or not finding.rule.startswith("DA"):
        return None
    if finding.rule in ("DA000", "DA001"):
        return None  # a crash or a parse error is not silenced by a comment
    offset = source.line_start(min(max(finding.line, 1), source.line_count)) + finding.column - 1
    spans = lint.result.instruction_spans
    start = next((s for s, e in spans if s <= offset < max(e, s + 1)), None)
    if start is None:
        return None  # on a comment or blank line: a suppression covers only the instruction below it
    line = source.position(start).line
    line_start = source.line_start(line)
    text = source.line_text(line)
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    newline = "\r\n" if source.text[line_start:].split("\n", 1)[0].endswith("\r") else "\n"
    comment = f"{indent}# dockaudit: ignore={finding.rule} -- reason{newline}"
    at = types.Position(line - 1, 0)
    return types.TextEdit(types.Range(at, at), comment)


def fix_all_action(
    lint: DocumentLint, uri: str, version: int | None, encoding: str, unsafe: bool = False
) -> types.CodeAction | None:
    """Every safe fix (and with ``unsafe`` the unsafe ones, as ``--fix --unsafe-fixes``) at once through
    ``fix_text`` (fixed point, re-parsed, the plan's filter), as one whole-document edit; None when
    nothing would change."""
    from dockaudit.linting.fix import fix_text
    from dockaudit.syntax.parser import DockerfileSyntaxError

    if lint.kind == COMPOSE or lint.result is None or lint.plan is None or lint.result.dockerfile is None:
        return None
    if not any(f.fix is not None and (f.fix.safe or unsafe) and f.fix.edits for f in lint.findings):
        return None
    plan = lint.plan
    try:
        outcome = fix_text(lint.text, lint.path, plan.rules, plan.options, unsafe,
                           plan.findings_filter(lint.result.path))  # fmt: skip
    except DockerfileSyntaxError:
        return None
    if not outcome.changed:
        return None
    whole = types.Range(types.Position(0, 0), Positions(Source(lint.text), encoding).offset(len(lint.text)))
    count = len(outcome.applied)
    return types.CodeAction(
        f"Fix all dockaudit findings, unsafe fixes included ({count})" if unsafe else f"Fix all safe dockaudit findings ({count})",
        kind=FIX_ALL_KIND,
        edit=_workspace_edit(uri, version, [types.TextEdit(whole, outcome.text)]),
    )
