"""The pygls server: documents in, diagnostics out, on stdio.

Edits are debounced (``DEBOUNCE_SECONDS``) and linted in one worker thread; a lint whose document
changed or closed meanwhile is dropped, never published.  Requests that need findings (code actions,
hover) lint the current version at once when the last lint is stale.  A Compose document is linted
with the other open documents' buffers standing in for the files it includes and the Dockerfiles
it builds, so it is linted again when one of them changes.  The editor's settings
(``initializationOptions``, ``workspace/didChangeConfiguration``) apply on top of each folder's
configuration; settings that cannot apply are one ``window/showMessage`` and the old ones stay.  Every handler logs its
exceptions to the client (``window/logMessage``) and carries on; the framing reader bounds header
lines and message bodies, so garbage on stdin costs a log line, not the server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from dockaudit import __version__
from dockaudit.facts.contextreads import ContextReads
from dockaudit.files import MAX_FILE_BYTES
from dockaudit.lsp import protocol
from dockaudit.lsp.hover import hover_markdown
from dockaudit.lsp.linting import COMPOSE, DocumentLint, document_kind, lint_document
from dockaudit.lsp.settings import Settings, SettingsError, read_settings
from dockaudit.records import record

DEBOUNCE_SECONDS = 0.15
# Configuration files and build-context reads are kept between lints, dropped on a save, a watched-file
# event or new settings, and at the latest after this long: files changed outside the editor (a git
# checkout, a build) show within it, and a burst of keystrokes still reads them once.
FRESH_SECONDS = 5.0
MAX_HEADER_LINE = 64 * 1024
# A message carries a whole document: room for one at the reading cap (16 MiB), JSON-escaped.
MAX_MESSAGE_BYTES = 8 * MAX_FILE_BYTES
_READ_CHUNK = 1 << 20
log = logging.getLogger(__name__)


class BoundedReader:
    """stdin for pygls' framing loop with caps: a header line is cut at ``MAX_HEADER_LINE`` bytes,
    and a body over ``MAX_MESSAGE_BYTES`` is read through and discarded (the framing stays in step)
    and handed on as ``null``, which the loop logs as a message it cannot handle."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def readline(self) -> bytes:
        return self.stream.readline(MAX_HEADER_LINE)

    def read(self, size: int) -> bytes:
        if size <= MAX_MESSAGE_BYTES:
            return self.stream.read(size)
        left = size
        while left > 0:
            chunk = self.stream.read(min(left, _READ_CHUNK))
            if not chunk:
                return b""
            left -= len(chunk)
        log.error("a message of %d bytes (over %d) was discarded", size, MAX_MESSAGE_BYTES)
        return b"null"


@record(frozen=False, slots=False)
class _Open:
    """What the server keeps per open document: the last lint and the pending one."""

    kind: str
    version: int | None = None  # the version ``lint`` is of
    lint: DocumentLint | None = None
    pending: asyncio.Task | None = None


class DockauditServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("dockaudit", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.documents: dict[str, _Open] = {}
        self.plans: dict = {}  # per folder; emptied on any save (a configuration file may have changed)
        self.lints = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockaudit-lint")
        self.plans_lock = threading.Lock()
        self.settings = Settings()
        self.reads = ContextReads()
        self.read_since = time.monotonic()
        self.settings_error: str | None = None  # from initializationOptions, shown once the client is ready

    def report_server_error(self, error: Exception, source) -> None:
        self.log(types.MessageType.Error, f"dockaudit lsp: {type(error).__name__}: {error}")

    def log(self, kind: types.MessageType, message: str) -> None:
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # the client is gone: stderr is all that is left
            log.exception("cannot log to the client: %s", message)

    def lint_now(self, uri: str) -> DocumentLint | None:
        """The current version's lint, computed here when the last one is stale (or None: not ours)."""
        state = self.documents.get(uri)
        if state is None:
            return None
        document = self.workspace.get_text_document(uri)
        if state.lint is None or state.version != document.version:
            state.lint = self._lint(uri, document.source, state.kind, self.buffers(state.kind))
            state.version = document.version
        return state.lint

    def buffers(self, kind: str) -> dict[str, str]:
        """The open documents' texts by real path, for a Compose lint (called on the event loop, where
        the workspace changes; the worker thread gets a copy)."""
        if kind != COMPOSE:
            return {}
        found = {}
        for uri, document in self.workspace.text_documents.items():
            if uri.startswith("file:") and uri in self.documents:
                found[os.path.realpath(to_fs_path(uri))] = document.source
        return found

    def _lint(self, uri: str, text: str, kind: str, buffers: dict[str, str]) -> DocumentLint:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        with self.plans_lock:  # the worker thread and a request may build plans at the same time
            if time.monotonic() - self.read_since > FRESH_SECONDS:
                self._forget()
            return lint_document(text, path, kind, self.plans, self.settings.flags, buffers, self.reads)

    def forget_plans(self) -> None:
        """Drop what was read of configuration files and build contexts (a save, a changed file or
        new settings may change them)."""
        with self.plans_lock:
            self._forget()

    def _forget(self) -> None:
        from dockaudit.config import find_config

        self.plans.clear()
        find_config.cache_clear()
        self.reads = ContextReads()
        self.read_since = time.monotonic()

    def apply_settings(self, value: object) -> None:
        """New settings from the client; on an error, one message and the old settings stay."""
        try:
            settings = read_settings(value, Path(self.workspace.root_path) if self.workspace.root_path else None)
        except SettingsError as exc:
            self.show_error(str(exc))
            return
        if settings != self.settings:
            self.settings = settings
            self.forget_plans()
            for uri in self.documents:
                self.schedule(uri, 0)

    def show_error(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))

    def lint_compose_documents(self, besides: str) -> None:
        """Re-lint the open Compose documents other than ``besides``, whose buffer they may read."""
        for uri, state in self.documents.items():
            if state.kind == COMPOSE and uri != besides:
                self.schedule(uri, DEBOUNCE_SECONDS)

    def schedule(self, uri: str, delay: float) -> None:
        """Lint ``uri`` after ``delay`` seconds, cancelling the lint pending for it."""
        state = self.documents.get(uri)
        if state is None:
            return
        if state.pending is not None:
            state.pending.cancel()
        state.pending = asyncio.get_running_loop().create_task(self._lint_and_publish(uri, delay))

    async def _lint_and_publish(self, uri: str, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            state = self.documents.get(uri)
            if state is None:
                return
            document = self.workspace.get_text_document(uri)
            version, text, buffers = document.version, document.source, self.buffers(state.kind)
            lint = await asyncio.get_running_loop().run_in_executor(
                self.lints, self._lint, uri, text, state.kind, buffers
            )
            current = self.documents.get(uri)
            if current is not state or self.workspace.get_text_document(uri).version != version:
                return  # closed or edited while linting: the next lint publishes
            state.lint, state.version = lint, version
            self.publish(uri, lint, version)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - logged; the document keeps its last diagnostics
            self.log(types.MessageType.Error, f"dockaudit lsp: linting {uri} failed: {type(exc).__name__}: {exc}")

    def publish(self, uri: str, lint: DocumentLint, version: int | None) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=protocol.diagnostics(lint, uri, self.workspace.position_encoding), version=version
            )
        )


def build_server() -> DockauditServer:
    server = DockauditServer()

    def guarded(handler):
        """Log a handler's exception to the client and answer as if there were nothing to say."""

        def run(ls: DockauditServer, params):
            try:
                return handler(ls, params)
            except Exception as exc:  # noqa: BLE001 - one bad request must not end the session
                ls.log(types.MessageType.Error, f"dockaudit lsp: {handler.__name__}: {type(exc).__name__}: {exc}")
                return None

        run.__name__ = handler.__name__
        return run

    @server.feature(types.INITIALIZE)
    @guarded
    def initialize(ls: DockauditServer, params: types.InitializeParams) -> None:
        try:
            ls.settings = read_settings(params.initialization_options, Path(ls.workspace.root_path)
                                        if ls.workspace.root_path else None)  # fmt: skip
        except SettingsError as exc:
            ls.settings_error = str(exc)

    @server.feature(types.INITIALIZED)
    @guarded
    def initialized(ls: DockauditServer, params: types.InitializedParams) -> None:
        if ls.settings_error is not None:
            ls.show_error(ls.settings_error)
            ls.settings_error = None

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @guarded
    def did_change_configuration(ls: DockauditServer, params: types.DidChangeConfigurationParams) -> None:
        if params.settings is not None:  # null: a client that expects to be asked (workspace/configuration)
            ls.apply_settings(params.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded
    def did_open(ls: DockauditServer, params: types.DidOpenTextDocumentParams) -> None:
        document = params.text_document
        path = to_fs_path(document.uri) if document.uri.startswith("file:") else None
        kind = document_kind(path, document.language_id)
        if kind is None:
            return
        ls.documents[document.uri] = _Open(kind)
        ls.schedule(document.uri, 0)
        ls.lint_compose_documents(besides=document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded
    def did_change(ls: DockauditServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in ls.documents and ls.settings.lint_on_change:
            ls.schedule(uri, DEBOUNCE_SECONDS)
            ls.lint_compose_documents(besides=uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @guarded
    def did_save(ls: DockauditServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.forget_plans()
        for uri in ls.documents:  # a saved configuration file changes its folder's plan
            ls.schedule(uri, 0)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @guarded
    def did_change_watched_files(ls: DockauditServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.forget_plans()  # a configuration file, a requirements file or the context's listing changed
        for uri in ls.documents:
            ls.schedule(uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded
    def did_close(ls: DockauditServer, params: types.DidCloseTextDocumentParams) -> None:
        state = ls.documents.pop(params.text_document.uri, None)
        if state is None:
            return
        if state.pending is not None:
            state.pending.cancel()
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                            diagnostics=[]))  # fmt: skip
        ls.lint_compose_documents(besides=params.text_document.uri)  # they read the file on disk again

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, protocol.FIX_ALL_KIND]),
    )
    @guarded
    def code_action(ls: DockauditServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        lint = ls.lint_now(uri)
        if lint is None:
            return None
        version = ls.workspace.get_text_document(uri).version
        return protocol.code_actions(
            lint, uri, params.range, params.context.only, version, ls.workspace.position_encoding,
            ls.settings.unsafe_fixes,
        )  # fmt: skip

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded
    def hover(ls: DockauditServer, params: types.HoverParams) -> types.Hover | None:
        lint = ls.lint_now(params.text_document.uri)
        if lint is None:
            return None
        text = hover_markdown(lint, params.position, ls.workspace.position_encoding)
        if text is None:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text))

    @server.command(protocol.SHOW_DOCS_COMMAND)
    @guarded
    def show_docs(ls: DockauditServer, arguments) -> None:
        """Open the rule's docs in the client's browser (``window/showDocument``)."""
        rule_id = str(arguments[0]) if arguments else ""
        url = protocol.rule_docs_url(rule_id)
        if url is None:
            ls.log(types.MessageType.Warning, f"dockaudit lsp: no docs for {rule_id!r}")
            return
        ls.window_show_document(types.ShowDocumentParams(uri=url, external=True))

    return server


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Run the server on these streams until the client sends ``exit`` or closes stdin."""
    build_server().start_io(BoundedReader(stdin), stdout)
