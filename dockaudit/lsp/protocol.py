"""Findings as LSP objects: diagnostics, code actions (fixes, fix-all, ignore, docs) and hovers.

Positions: dockaudit counts 1-based lines and columns in characters (code points); LSP counts
0-based lines and UTF-16 code units (the protocol's default encoding), converted here per line.
"""

from __future__ import annotations

from lsprotocol import types

from dockaudit.lsp.linting import COMPOSE, DocumentLint, mentioned_lines
from dockaudit.model import Edit, Finding, Severity
from dockaudit.report.sarif import DOCS_URL
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


def rule_docs_url(rule_id: str) -> str | None:
    """The rule's section of docs/rules.md, the link the SARIF report gives (``helpUri``)."""
    from dockaudit.engine import rule_by_id

    found = rule_by_id(rule_id) if rule_id.upper().startswith("DA") else None
    return f"{DOCS_URL}#{found.id.lower()}-{found.name}" if found else None


def _utf16_column(line_text: str, column: int) -> int:
    """UTF-16 units before the 1-based character ``column`` of a line (past the end: the end)."""
    prefix = line_text[: max(column - 1, 0)]
    return len(prefix.encode("utf-16-le", "surrogatepass")) // 2


def position(source: Source, line: int, column: int) -> types.Position:
    """The LSP position of dockaudit's 1-based (line, character column), clamped into the text."""
    line = min(max(line, 1), source.line_count)
    return types.Position(line - 1, _utf16_column(source.line_text(line), column))


def offset_position(source: Source, offset: int) -> types.Position:
    where = source.position(min(max(offset, 0), len(source.text)))
    return position(source, where.line, where.column)


def finding_range(source: Source, finding: Finding) -> types.Range:
    start = position(source, finding.line, finding.column)
    end = position(source, finding.end_line, finding.end_column)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    return types.Range(start, end)


def diagnostic(source: Source, finding: Finding, uri: str) -> types.Diagnostic:
    href = rule_docs_url(finding.rule)
    related = [
        types.DiagnosticRelatedInformation(
            types.Location(uri, types.Range(position(source, line, 1), position(source, line, 1))),
            f"line {line}",
        )
        for line in mentioned_lines(finding)
        if line <= source.line_count
    ]
    return types.Diagnostic(
        range=finding_range(source, finding),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href) if href else None,
        source=SOURCE,
        related_information=related or None,
        data={"fingerprint": list(_identity(finding))},
    )


def diagnostics(lint: DocumentLint, uri: str) -> list[types.Diagnostic]:
    source = lint_source_text(lint)
    return [diagnostic(source, f, uri) for f in lint.findings]


def lint_source_text(lint: DocumentLint) -> Source:
    """The text the findings' positions refer to: the parsed tree's when there is one."""
    if lint.result is not None and lint.result.source is not None:
        return lint.result.source
    return Source(lint.text, lint.path)


def _identity(finding: Finding) -> tuple:
    return (finding.rule, finding.line, finding.column, finding.end_line, finding.end_column)


def _text_edits(source: Source, edits: tuple[Edit, ...]) -> list[types.TextEdit]:
    """The fix's edits as LSP edits; a CRLF file gets CRLF in inserted newlines (as ``apply_edits``)."""
    text = source.text
    crlf = "\r\n" in text and text.count("\r\n") * 2 >= text.count("\n")
    out = []
    for edit in edits:
        replacement = edit.replacement.replace("\r\n", "\n").replace("\n", "\r\n") if crlf else edit.replacement
        rng = types.Range(offset_position(source, edit.span.start), offset_position(source, edit.span.end))
        out.append(types.TextEdit(rng, replacement))
    return out


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def code_actions(
    lint: DocumentLint, uri: str, wanted: types.Range, kinds: list[str] | None, version: int | None
) -> list[types.CodeAction]:
    """The actions for the findings touching ``wanted``, plus the file-wide fix-all; ``kinds`` is the
    client's filter (``context.only``), a prefix match as the protocol says."""
    source = lint_source_text(lint)
    actions: list[types.CodeAction] = []
    for finding in lint.findings:
        rng = finding_range(source, finding)
        if not _overlaps(rng, wanted):
            continue
        diag = diagnostic(source, finding, uri)
        fix = finding.fix
        if fix is not None and fix.edits and lint.kind != COMPOSE:
            title = f"{fix.description} ({finding.rule})" if fix.safe else f"(unsafe) {fix.description} ({finding.rule})"
            actions.append(types.CodeAction(
                title, kind=types.CodeActionKind.QuickFix, diagnostics=[diag], is_preferred=fix.safe,
                edit=_workspace_edit(uri, version, _text_edits(source, fix.edits))))  # fmt: skip
        ignore = _ignore_edit(lint, source, finding)
        if ignore is not None:
            actions.append(types.CodeAction(
                f"Ignore {finding.rule} for this instruction", kind=types.CodeActionKind.QuickFix,
                diagnostics=[diag], edit=_workspace_edit(uri, version, [ignore])))  # fmt: skip
        if rule_docs_url(finding.rule):
            actions.append(types.CodeAction(
                f"Show docs for {finding.rule}", kind=types.CodeActionKind.QuickFix, diagnostics=[diag],
                command=types.Command(title=f"Show docs for {finding.rule}", command=SHOW_DOCS_COMMAND, arguments=[finding.rule])))  # fmt: skip
    fix_all = fix_all_action(lint, uri, version)
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
        start = next((s for s, _e in reversed(spans) if s <= offset), spans[0][0])
    line = source.position(start).line
    line_start = source.line_start(line)
    text = source.line_text(line)
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    newline = "\r\n" if source.text[line_start:].split("\n", 1)[0].endswith("\r") else "\n"
    comment = f"{indent}# dockaudit: ignore={finding.rule} -- reason{newline}"
    at = types.Position(line - 1, 0)
    return types.TextEdit(types.Range(at, at), comment)


def fix_all_action(lint: DocumentLint, uri: str, version: int | None) -> types.CodeAction | None:
    """Every safe fix at once through ``fix_text`` (fixed point, re-parsed, the plan's filter), as one
    whole-document edit; None when nothing would change."""
    from dockaudit.fix import fix_text
    from dockaudit.syntax.parser import DockerfileSyntaxError

    if lint.kind == COMPOSE or lint.result is None or lint.plan is None or lint.result.dockerfile is None:
        return None
    if not any(f.fix is not None and f.fix.safe and f.fix.edits for f in lint.findings):
        return None
    plan = lint.plan
    try:
        outcome = fix_text(lint.text, lint.path, plan.rules, plan.options, False,
                           plan.findings_filter(lint.result.path))  # fmt: skip
    except DockerfileSyntaxError:
        return None
    if not outcome.changed:
        return None
    source = Source(lint.text)
    whole = types.Range(types.Position(0, 0), offset_position(source, len(lint.text)))
    count = len(outcome.applied)
    return types.CodeAction(
        f"Fix all safe dockaudit findings ({count})",
        kind=FIX_ALL_KIND,
        edit=_workspace_edit(uri, version, [types.TextEdit(whole, outcome.text)]),
    )
