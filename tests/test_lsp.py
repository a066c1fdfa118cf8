"""``dockaudit lsp``: a real session over stdio against ``python -m dockaudit lsp``, driven by a small
JSON-RPC client (Content-Length framing); and ``check --stdin-filename``.

Every read has a timeout (``WAIT``): a server that hangs fails the test instead of hanging it."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli

pytest.importorskip("pygls")

WAIT = 60.0  # a hang guard, not a speed budget
DOCKERFILE = 'FROM python:3.12-slim\nRUN pip install flask==3.0.0\nEXPOSE 8000\nCMD ["python", "app.py"]\n'
# The example findings: DA101 (a service image, port exposed, running as root) and DA403 (pip cache), which is
# off by default; every session's folder selects it (tests that write their own configuration say so too).
SELECT_DA403 = 'extend-select = ["DA403"]\n'


class Session:
    """One server process and the messages it sent, read by a thread into a queue."""

    def __init__(self, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockaudit", "lsp"], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.messages: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            self.messages.put(json.loads(stream.read(length)))

    def send_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.send_raw(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def notify(self, method: str, params: dict) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict | None) -> dict:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)

    def wait(self, wanted) -> dict:
        """The first message (already seen and not yet taken, or arriving within ``WAIT``) ``wanted`` accepts."""
        for index, message in enumerate(self.seen):
            if wanted(message):
                return self.seen.pop(index)
        while True:
            try:
                message = self.messages.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError(f"no such message within {WAIT} s; seen: {self.seen[-5:]}") from None
            if message is None:
                stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise AssertionError(f"the server closed its output; stderr: {stderr[-2000:]}")
            if wanted(message):
                return message
            self.seen.append(message)

    def diagnostics(self, uri: str, version: int | None = None) -> list[dict]:
        def wanted(m: dict) -> bool:
            if m.get("method") != "textDocument/publishDiagnostics" or m["params"]["uri"] != uri:
                return False
            return version is None or m["params"].get("version") == version

        return self.wait(wanted)["params"]["diagnostics"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def start(folder: Path, capabilities: dict) -> tuple[Session, dict]:
    (folder / ".dockaudit.toml").write_text(SELECT_DA403)
    started = Session(folder)
    reply = started.request("initialize", {"processId": None, "rootUri": folder.as_uri(), "capabilities": capabilities})
    started.notify("initialized", {})
    return started, reply["result"]


@pytest.fixture
def session(tmp_path):
    started, result = start(tmp_path, {})
    assert result["serverInfo"]["name"] == "dockaudit"
    yield started
    started.close()


def open_document(session: Session, path: Path, text: str, language: str = "dockerfile") -> str:
    uri = path.as_uri()
    session.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": 1,
                                                             "text": text}})  # fmt: skip
    return uri


def change(session: Session, uri: str, version: int, text: str) -> None:
    session.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                              "contentChanges": [{"text": text}]})  # fmt: skip


def apply_edits(text: str, edits: list[dict]) -> str:
    """LSP text edits (UTF-16 positions; ASCII here) applied bottom-up."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: dict) -> int:
        return starts[position["line"]] + position["character"] if position["line"] < len(lines) else len(text)

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        text = text[: offset(edit["range"]["start"])] + edit["newText"] + text[offset(edit["range"]["end"]) :]
    return text


def edits_of(action: dict) -> list[dict]:
    return [e for change in action["edit"]["documentChanges"] for e in change["edits"]]


def test_open_publishes_diagnostics_with_exact_ranges_codes_and_links(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    found = session.diagnostics(uri)
    by_code = {d["code"]: d for d in found}
    assert set(by_code) == {"DA101", "DA403"}
    pip = by_code["DA403"]
    assert pip["range"] == {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 28}}
    assert pip["severity"] == 2 and pip["source"] == "dockaudit"
    assert pip["codeDescription"]["href"].endswith("docs/rules.md#da403-pip-cache")


def test_quickfix_edit_applied_then_change_clears_the_diagnostic(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    pip = next(d for d in session.diagnostics(uri) if d["code"] == "DA403")
    reply = session.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": pip["range"],
                                                        "context": {"diagnostics": [pip]}})  # fmt: skip
    fix = next(a for a in reply["result"] if a["kind"] == "quickfix" and a["title"].startswith("add --no-cache-dir"))
    assert fix["isPreferred"] is True
    fixed = apply_edits(DOCKERFILE, edits_of(fix))
    assert fixed.splitlines()[1] == "RUN pip install --no-cache-dir flask==3.0.0"
    change(session, uri, 2, fixed)
    assert [d["code"] for d in session.diagnostics(uri, version=2)] == ["DA101"]


def test_unsafe_fix_is_titled_unsafe_and_not_preferred(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    user = next(d for d in session.diagnostics(uri) if d["code"] == "DA101")
    reply = session.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": user["range"],
                                                        "context": {"diagnostics": [user]}})  # fmt: skip
    unsafe = [a for a in reply["result"] if a["title"].startswith("(unsafe) ")]
    assert unsafe and all(not a.get("isPreferred") for a in unsafe)
    docs = next(a for a in reply["result"] if a["title"] == "Show docs for DA101")
    assert docs["command"] == {"title": "Show docs for DA101", "command": "dockaudit.showRuleDocs",
                               "arguments": ["DA101"]}  # fmt: skip


def test_fix_all_applies_every_safe_fix(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA401", "DA402", "DA403"]\n')  # off by default
    text = (
        "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl=8.5.0-2\nRUN pip install flask==3.0.0\n"
        'EXPOSE 8000\nCMD ["python", "app.py"]\n'
    )
    uri = open_document(session, tmp_path / "Dockerfile", text)
    session.diagnostics(uri)
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 5, "character": 0}}
    reply = session.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": whole,
                                                        "context": {"diagnostics": [],
                                                                    "only": ["source.fixAll.dockaudit"]}})  # fmt: skip
    (action,) = reply["result"]
    assert action["kind"] == "source.fixAll.dockaudit"
    fixed = apply_edits(text, edits_of(action))
    assert "--no-cache-dir" in fixed and "rm -rf /var/lib/apt/lists/*" in fixed
    assert "--no-install-recommends" not in fixed  # DA402's fix is unsafe: not in fix-all
    change(session, uri, 2, fixed)
    assert {d["code"] for d in session.diagnostics(uri, version=2)} == {"DA101", "DA402"}  # their fixes are unsafe


def test_ignore_action_writes_an_indented_comment_that_silences_the_finding(session, tmp_path):
    text = "FROM python:3.12-slim\nRUN echo hi && \\\n    pip install flask==3.0.0\nUSER 10001\n"
    indented = text.replace("RUN echo", "  RUN echo")
    uri = open_document(session, tmp_path / "Dockerfile", indented)
    pip = next(d for d in session.diagnostics(uri) if d["code"] == "DA403")
    assert pip["range"]["start"]["line"] == 2
    reply = session.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": pip["range"],
                                                        "context": {"diagnostics": [pip]}})  # fmt: skip
    ignore = next(a for a in reply["result"] if a["title"] == "Ignore DA403 for this instruction")
    (edit,) = edits_of(ignore)
    assert edit == {"range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}},
                    "newText": "  # dockaudit: ignore=DA403 -- reason\n"}  # fmt: skip
    change(session, uri, 2, apply_edits(indented, [edit]))
    assert session.diagnostics(uri, version=2) == []


def test_no_ignore_action_for_a_finding_outside_any_instruction(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA025", "DA403"]\n')  # DA403 runs, unsuppressed
    text = "FROM python:3.12-slim\n# dockaudit: ignore=DA403 -- old\nUSER 1\n"
    uri = open_document(session, tmp_path / "Dockerfile", text)
    (unused,) = session.diagnostics(uri)
    assert unused["code"] == "DA025"
    reply = session.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": unused["range"],
                                                        "context": {"diagnostics": [unused]}})  # fmt: skip
    titles = [a["title"] for a in reply["result"]]
    assert "Show docs for DA025" in titles and not any(t.startswith("Ignore") for t in titles)


def test_plans_never_go_online(tmp_path):
    from dockaudit.lsp.linting import document_plan

    (tmp_path / ".dockaudit.toml").write_text('select = ["DA2"]\n')
    assert document_plan(str(tmp_path / "Dockerfile"), {}).options.online is False


def test_hover_on_from_shows_base_facts_and_on_pip_torch_the_release(session, tmp_path):
    text = ("FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\n"
            "RUN pip install --no-cache-dir torch==2.4.1 --index-url https://download.pytorch.org/whl/cu124\n")  # fmt: skip
    uri = open_document(session, tmp_path / "Dockerfile", text)
    session.diagnostics(uri)
    hover = session.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 1}}
    )
    value = hover["result"]["contents"]["value"]
    assert hover["result"]["contents"]["kind"] == "markdown"
    for fact in ("| CUDA | 12.4.1 |", "| cuDNN | 9 |", "| OS | ubuntu22.04 |", "| driver floor | 550.54.15",
                 "ubuntu 22.04: end of life 2027-05-31", "| flavour | runtime |"):  # fmt: skip
        assert fact in value, value
    hover = session.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 20}}
    )
    value = hover["result"]["contents"]["value"]
    assert "**torch**" in value and "| version | 2.4.1 |" in value and "| variant | cu124 (CUDA 12.4) |" in value


def test_hover_on_a_finding_shows_the_rule_docs(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    session.diagnostics(uri)
    hover = session.request(
        "textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 8}}
    )
    assert "# DA403 pip-cache" in hover["result"]["contents"]["value"]


def test_syntax_error_edit_gives_one_diagnostic_and_the_server_goes_on(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    session.diagnostics(uri)
    change(session, uri, 2, "FROM python:3.12-slim\nRUN <<EOF\necho never closed\n")
    (only,) = session.diagnostics(uri, version=2)
    assert only["code"] == "DA001" and only["severity"] == 1
    change(session, uri, 3, DOCKERFILE)
    assert {d["code"] for d in session.diagnostics(uri, version=3)} == {"DA101", "DA403"}


def test_configuration_of_the_documents_folder_applies(session, tmp_path):
    project = tmp_path / "svc"
    project.mkdir()
    (project / ".dockaudit.toml").write_text(SELECT_DA403 + 'ignore = ["DA403"]\n')
    uri = open_document(session, project / "Dockerfile", DOCKERFILE)
    assert [d["code"] for d in session.diagnostics(uri)] == ["DA101"]


def test_per_file_ignores_and_severity_overrides_apply(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text(
        SELECT_DA403 + '[severity]\nDA403 = "error"\n[per-file-ignores]\n"docker/*" = ["DA101"]\n'
    )
    (tmp_path / "docker").mkdir()
    uri = open_document(session, tmp_path / "docker" / "api.Dockerfile", DOCKERFILE)
    assert [(d["code"], d["severity"]) for d in session.diagnostics(uri)] == [("DA403", 1)]


def test_a_finding_naming_another_line_relates_to_it(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA303"]\n')
    text = "FROM python:3.12-slim\nRUN pip install --no-cache-dir a==1\nRUN pip install --no-cache-dir b==1\nUSER 1\n"
    uri = open_document(session, tmp_path / "Dockerfile", text)
    (merge,) = session.diagnostics(uri)
    assert merge["code"] == "DA303" and merge["message"].startswith("merge with the RUN on line 2")
    assert merge["relatedInformation"] == [
        {"location": {"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}},
         "message": "line 2"}
    ]  # fmt: skip


def test_a_bad_configuration_is_one_diagnostic(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('select = ["DA9999"]\n')
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    (only,) = session.diagnostics(uri)
    assert only["code"] == "config-error" and "DA9999" in only["message"] and "codeDescription" not in only


def test_a_crash_while_linting_is_one_da000_diagnostic(monkeypatch, tmp_path):
    from dockaudit.lsp import linting

    def crash(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(linting, "lint_source", crash)
    lint = linting.lint_document(DOCKERFILE, str(tmp_path / "Dockerfile"), linting.DOCKERFILE, {})
    assert [(f.rule, f.message) for f in lint.findings] == [
        ("DA000", "linting crashed: RuntimeError: boom; please report it")
    ]


def test_compose_file_diagnostics_from_the_saved_file(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA901", "DA909"]\n')  # both off by default
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  app:\n    image: nginx\n    privileged: true\n")
    uri = open_document(session, compose, compose.read_text(), "dockercompose")
    found = {d["code"]: d["range"] for d in session.diagnostics(uri)}
    assert found == {
        "DA901": {"start": {"line": 2, "character": 11}, "end": {"line": 2, "character": 16}},
        "DA909": {"start": {"line": 3, "character": 16}, "end": {"line": 3, "character": 20}},
    }


@pytest.mark.parametrize(("encodings", "chosen", "first", "last"), [
    ([], "utf-16", 18, 34),  # the protocol's default: "é" is 1 unit, "🚀" 2
    (["utf-8", "utf-16"], "utf-8", 21, 37),  # the client's first choice: "é" is 2 bytes, "🚀" 4
    (["utf-32"], "utf-32", 17, 33),
])  # fmt: skip
def test_columns_follow_the_negotiated_position_encoding(tmp_path, encodings, chosen, first, last):
    text = 'FROM python:3.12-slim\nRUN echo "é🚀" && pip install y==1\nUSER 1\n'
    capabilities = {"general": {"positionEncodings": encodings}} if encodings else {}
    session, result = start(tmp_path, capabilities)
    try:
        assert result["capabilities"]["positionEncoding"] == chosen
        uri = open_document(session, tmp_path / "Dockerfile", text)
        pip = next(d for d in session.diagnostics(uri) if d["code"] == "DA403")
        assert pip["range"] == {"start": {"line": 1, "character": first}, "end": {"line": 1, "character": last}}
        hover = session.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                       "position": {"line": 1, "character": first + 1}})  # fmt: skip
        assert "# DA403 pip-cache" in hover["result"]["contents"]["value"]
    finally:
        session.close()


def test_garbage_keeps_the_server_running(session, tmp_path):
    session.send_raw(b"Content-Length: 9\r\n\r\n{not json")  # bad JSON
    logged = session.wait(lambda m: m.get("method") == "window/logMessage")
    assert logged["params"]["type"] == 1 and "dockaudit lsp" in logged["params"]["message"]
    session.send_raw(b"this is no header at all\r\n")  # bad framing
    reply = session.request("dockaudit/noSuchMethod", {})
    assert reply["error"]["code"] == -32601
    session.notify("$/noSuchNotification", {})
    huge = "FROM scratch\n" + "# padding\n" * (17 * 1024 * 1024 // 10)
    big_uri = open_document(session, tmp_path / "big.Dockerfile", huge)
    (too_large,) = session.diagnostics(big_uri)
    assert "over the 16 MiB" in too_large["message"]
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    change(session, uri, 2, DOCKERFILE + "RUN true\n")
    session.notify("textDocument/didClose", {"textDocument": {"uri": uri}})  # closed while its lint is pending
    other = open_document(session, tmp_path / "b.Dockerfile", DOCKERFILE)
    assert {d["code"] for d in session.diagnostics(other)} == {"DA101", "DA403"}
    # Whatever was published for the closed document before, the last word is "no diagnostics".
    published = [
        m["params"]["diagnostics"]
        for m in session.seen
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
    ]
    assert published and published[-1] == []


def test_hover_on_a_document_never_opened_is_null_and_the_server_goes_on(session, tmp_path):
    reply = session.request("textDocument/hover", {"textDocument": {"uri": "file:///nowhere/Dockerfile"},
                                                   "position": {"line": 0, "character": 0}})  # fmt: skip
    assert reply.get("result") is None
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    assert session.diagnostics(uri)


def test_shutdown_then_exit_ends_with_code_0(session):
    assert session.request("shutdown", None)["result"] is None
    session.notify("exit", None)
    assert session.process.wait(timeout=WAIT) == 0


def test_stdin_filename_uses_the_files_configuration_and_name(tmp_path, monkeypatch):
    project = tmp_path / "svc"
    project.mkdir()
    (project / ".dockaudit.toml").write_text(SELECT_DA403 + 'ignore = ["DA101"]\n')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["check", "-", "--stdin-filename", "svc/Dockerfile", "--format", "json"],
                                input=DOCKERFILE)  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    findings = report["findings"]
    assert [f["rule"] for f in findings] == ["DA403"]
    assert [f["path"] for f in report["files"]] == ["svc/Dockerfile"]
    assert {f["path"] for f in findings} == {"svc/Dockerfile"}


CONTEXT_DOCKERFILE = ("FROM python:3.12-slim\nWORKDIR /app\nCOPY requirements.txt .\n"
                      "RUN pip install --no-cache-dir -r requirements.txt\nUSER 1\n")  # fmt: skip


def test_stdin_filename_reads_the_build_context_of_paths_folder(tmp_path, monkeypatch):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("flask\n")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    da205 = ["--extend-select", "DA205"]  # off by default
    named = runner.invoke(cli, ["check", "-", *da205, "--stdin-filename", "svc/Dockerfile", "-q"],
                          input=CONTEXT_DOCKERFILE)  # fmt: skip
    assert "svc/Dockerfile:4:32  DA205  warning  requirements.txt:1: pin 'flask'" in named.stdout
    assert "DA205" not in runner.invoke(cli, ["check", "-", *da205, "-q"], input=CONTEXT_DOCKERFILE).stdout


def test_the_documents_folder_is_its_build_context(session, tmp_path):
    (tmp_path / "requirements.txt").write_text("flask\n")
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA205"]\n')  # off by default
    uri = open_document(session, tmp_path / "Dockerfile", CONTEXT_DOCKERFILE)
    (pin,) = session.diagnostics(uri)
    assert pin["code"] == "DA205" and pin["message"].startswith("requirements.txt:1: pin 'flask'")


def test_stdin_filename_without_stdin_or_with_fix_is_a_usage_error(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "Dockerfile", "--stdin-filename", "x/Dockerfile"]).exit_code == 2
    assert (
        runner.invoke(cli, ["check", "-", "--fix", "--stdin-filename", "x/Dockerfile"], input="FROM a\n").exit_code == 2
    )


def test_bounded_reader_discards_an_oversized_body_and_keeps_the_framing(monkeypatch):
    import io

    from dockaudit.lsp import server

    monkeypatch.setattr(server, "MAX_MESSAGE_BYTES", 10)
    monkeypatch.setattr(server, "_READ_CHUNK", 4)
    reader = server.BoundedReader(io.BytesIO(b"x" * 25 + b"Content-Length: 2\r\n"))
    assert reader.read(25) == b"null"  # read through in chunks, not held
    assert reader.readline() == b"Content-Length: 2\r\n"
    assert (
        server.BoundedReader(io.BytesIO(b"a" * (server.MAX_HEADER_LINE + 5))).readline()
        == b"a" * server.MAX_HEADER_LINE
    )


def test_a_handler_exception_is_logged_to_the_client_and_answered_with_nothing(monkeypatch, tmp_path):
    from lsprotocol import types

    from dockaudit.lsp import server as server_module

    server = server_module.build_server()
    logged: list[str] = []
    monkeypatch.setattr(server, "log", lambda kind, message: logged.append(message))

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(server, "lint_now", broken)
    hover = server.protocol.fm.features[types.TEXT_DOCUMENT_HOVER]
    params = types.HoverParams(types.TextDocumentIdentifier((tmp_path / "Dockerfile").as_uri()), types.Position(0, 0))
    assert hover(params) is None
    assert logged == ["dockaudit lsp: hover: RuntimeError: boom"]


EDITORS = Path(__file__).resolve().parents[1] / "editors"
NVIM_INIT = """
vim.lsp.config("dockaudit", {
  cmd = { vim.env.DOCKAUDIT_PYTHON, "-m", "dockaudit", "lsp" },
  filetypes = { "dockerfile" },
  root_markers = { ".git" },
})
vim.lsp.enable("dockaudit")
vim.api.nvim_create_autocmd("VimEnter", { callback = function()
  local arrived = vim.wait(50000, function() return #vim.diagnostic.get(0) > 0 end, 50)
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do table.insert(codes, d.code .. " " .. d.lnum .. ":" .. d.col) end
  table.sort(codes)
  vim.fn.writefile(arrived and codes or { "no diagnostics" }, vim.env.DOCKAUDIT_NVIM_OUT)
  vim.cmd("qa!")
end })
"""


def _neovim() -> str | None:
    """An nvim with ``vim.lsp.config`` (0.11 or later), or None."""
    import shutil

    nvim = shutil.which("nvim")
    if nvim is None:
        return None
    probe = subprocess.run([nvim, "--headless", "--clean", "-c", "lua io.stdout:write(vim.lsp.config and 'yes' or 'no')",
                            "-c", "qa!"], check=False, capture_output=True, text=True, timeout=WAIT)  # fmt: skip
    return nvim if "yes" in probe.stdout else None


@pytest.mark.slow
def test_neovim_attaches_and_shows_diagnostics(tmp_path):
    nvim = _neovim()
    if nvim is None:
        pytest.skip("no Neovim 0.11 or later (vim.lsp.config) on PATH")
    (tmp_path / "init.lua").write_text(NVIM_INIT)
    (tmp_path / ".dockaudit.toml").write_text(SELECT_DA403)
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    out = tmp_path / "codes.txt"
    env = {**os.environ, "DOCKAUDIT_PYTHON": sys.executable, "DOCKAUDIT_NVIM_OUT": str(out),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state")}  # fmt: skip
    subprocess.run([nvim, "--headless", "-i", "NONE", "-u", str(tmp_path / "init.lua"), "Dockerfile"], cwd=tmp_path,
                   env=env, timeout=WAIT + 30, capture_output=True, check=True)  # fmt: skip
    assert out.read_text().splitlines() == ["DA101 0:0", "DA403 1:4"]


def test_vscode_extension_manifest_starts_the_server_for_dockerfiles_and_compose():
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text())
    assert manifest["activationEvents"] == ["onLanguage:dockerfile", "onLanguage:dockercompose"]
    assert "vscode-languageclient" in manifest["dependencies"]
    script = (EDITORS / "vscode" / manifest["main"]).read_text()
    assert 'args: ["lsp"]' in script


def test_vscode_extension_script_is_valid_javascript():
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    subprocess.run([node, "--check", str(EDITORS / "vscode" / "extension.js")], check=True, timeout=WAIT)


@pytest.mark.slow
def test_vscode_extension_builds(tmp_path):
    """``vsce package`` of editors/vscode, offline: its dependencies are installed beforehand from the
    lock file (``npm ci``, as .ci/run does), since tests touch no network."""
    import shutil

    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are not installed")
    if not (EDITORS / "vscode" / "node_modules").is_dir():
        pytest.skip("editors/vscode has no node_modules: run `npm ci` there first (.ci/run does)")
    folder = tmp_path / "vscode"
    shutil.copytree(EDITORS / "vscode", folder, symlinks=True, ignore=shutil.ignore_patterns("*.vsix"))
    subprocess.run([npm, "run", "package", "--offline"], cwd=folder, check=True, timeout=600, capture_output=True)
    assert (folder / "dockaudit-0.1.0.vsix").stat().st_size > 0


def test_a_new_edit_cancels_the_pending_lint_of_the_document(tmp_path):
    import asyncio

    from dockaudit.lsp import server as server_module

    server = server_module.build_server()
    uri = (tmp_path / "Dockerfile").as_uri()

    async def two_edits():
        server.documents[uri] = server_module._Open("dockerfile")
        server.schedule(uri, 60)
        first = server.documents[uri].pending
        server.schedule(uri, 60)
        second = server.documents[uri].pending
        await asyncio.sleep(0)
        assert first.cancelled() and not second.done()
        second.cancel()

    asyncio.run(two_edits())


def test_the_server_ends_when_the_editor_closes_its_input(session):
    assert session.process.stdin is not None
    session.process.stdin.close()
    assert session.process.wait(timeout=WAIT) == 0


def test_lsp_without_the_extra_says_how_to_install_it(monkeypatch):
    for name in [n for n in sys.modules if n.startswith(("pygls.", "dockaudit.lsp."))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pygls", None)  # as if not installed: importing it raises ImportError
    result = CliRunner().invoke(cli, ["lsp"])
    assert result.exit_code == 2
    assert result.stderr == "dockaudit: lsp: pygls is not installed: pip install 'dockaudit-lint[lsp]'\n"


def published_where(session: Session, uri: str, wanted) -> list[dict]:
    """The diagnostics of the first publish for ``uri`` whose codes ``wanted`` accepts (a document is
    published again at the same version when a buffer a Compose file reads or a configuration changes)."""

    def accepts(m: dict) -> bool:
        return (m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
                and wanted({d["code"] for d in m["params"]["diagnostics"]}))  # fmt: skip

    return session.wait(accepts)["params"]["diagnostics"]


def test_an_unsaved_compose_buffer_is_linted_at_its_own_positions(session, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA901", "DA909"]\n')  # both off by default
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  app:\n    image: nginx\n")
    edited = "# edited, not saved\nservices:\n  app:\n    image: nginx\n    privileged: true\n"
    uri = open_document(session, compose, edited, "dockercompose")
    found = {d["code"]: d["range"] for d in session.diagnostics(uri, version=1)}
    assert found == {
        "DA901": {"start": {"line": 3, "character": 11}, "end": {"line": 3, "character": 16}},
        "DA909": {"start": {"line": 4, "character": 16}, "end": {"line": 4, "character": 20}},
    }
    change(session, uri, 2, "services:\n  app:\n    image:   nginx\n")
    assert [(d["code"], d["range"]["start"]) for d in session.diagnostics(uri, version=2)] == [
        ("DA901", {"line": 2, "character": 13})
    ]


def test_a_compose_buffer_that_does_not_parse_is_one_diagnostic(session, tmp_path):
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  app:\n    image: nginx:1.27.3\n")
    uri = open_document(session, compose, "services:\n  app: [unclosed\n", "dockercompose")
    (only,) = session.diagnostics(uri, version=1)
    assert only["code"] == "DA001" and only["severity"] == 1


def test_compose_reads_the_open_buffer_of_the_dockerfile_a_service_builds(session, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nWORKDIR /app\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  api:\n    build: .\n    volumes:\n      - ./:/srv\n")
    compose_uri = open_document(session, compose, compose.read_text(), "dockercompose")
    assert "DA908" not in {d["code"] for d in session.diagnostics(compose_uri, version=1)}  # /app on disk
    dockerfile_uri = open_document(session, tmp_path / "Dockerfile", "FROM python:3.12-slim\nWORKDIR /srv\n")
    (bind,) = [d for d in published_where(session, compose_uri, lambda codes: "DA908" in codes) if d["code"] == "DA908"]
    assert bind["range"] == {"start": {"line": 4, "character": 8}, "end": {"line": 4, "character": 15}}
    session.notify("textDocument/didClose", {"textDocument": {"uri": dockerfile_uri}})  # back to the saved file
    published_where(session, compose_uri, lambda codes: "DA908" not in codes)


def start_with_settings(folder: Path, options: object) -> Session:
    (folder / ".dockaudit.toml").write_text(SELECT_DA403)
    started = Session(folder)
    started.request("initialize", {"processId": None, "rootUri": folder.as_uri(), "capabilities": {},
                                   "initializationOptions": options})  # fmt: skip
    started.notify("initialized", {})
    return started


def shown_messages(session: Session) -> list[dict]:
    return [m["params"] for m in session.seen if m.get("method") == "window/showMessage"]


def test_initialization_options_apply_over_the_folders_configuration(tmp_path):
    session = start_with_settings(tmp_path, {"ignore": ["DA403"], "extendSelect": ["DA205"]})
    try:
        (tmp_path / "requirements.txt").write_text("flask\n")
        text = ('FROM python:3.12-slim\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nEXPOSE 8000\n'
                'CMD ["python", "app.py"]\n')  # DA403 (the folder selects it, the settings ignore it), DA205, DA101
        uri = open_document(session, tmp_path / "Dockerfile", text)
        assert {d["code"] for d in session.diagnostics(uri)} == {"DA101", "DA205"}
    finally:
        session.close()


def test_changed_settings_relint_open_documents(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    assert {d["code"] for d in session.diagnostics(uri)} == {"DA101", "DA403"}
    session.notify("workspace/didChangeConfiguration", {"settings": {"dockaudit": {"select": ["DA403"]}}})
    assert [d["code"] for d in session.diagnostics(uri, version=1)] == ["DA403"]
    session.notify("workspace/didChangeConfiguration", {"settings": None})  # a pull-model client: nothing changes
    session.notify("workspace/didChangeConfiguration", {"settings": {"dockaudit": {}}})  # back to the defaults
    assert {d["code"] for d in session.diagnostics(uri, version=1)} == {"DA101", "DA403"}


def test_a_config_setting_replaces_discovery(session, tmp_path):
    (tmp_path / "team.toml").write_text('select = ["DA101"]\n')
    session.notify("workspace/didChangeConfiguration", {"settings": {"config": "team.toml"}})  # from the root
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    assert [d["code"] for d in session.diagnostics(uri)] == ["DA101"]


@pytest.mark.parametrize(("settings", "said"), [
    ({"select": ["DA9999"]}, "select: unknown rule selector 'DA9999'"),
    ({"ignore": "DA403"}, "ignore must be a list of rule codes"),
    ({"extend-select": ["DA205"]}, "unknown setting 'extend-select' (known: config, select, extendSelect"),
    ({"unsafeFixes": "yes"}, "unsafeFixes must be true or false"),
    ({"config": "missing.toml"}, "missing.toml: cannot read: No such file or directory"),
    ({"dockaudit": ["select"]}, "'dockaudit' must be an object, got list"),
])  # fmt: skip
def test_invalid_settings_are_one_message_and_the_old_settings_stay(session, tmp_path, settings, said):
    session.notify("workspace/didChangeConfiguration", {"settings": {"dockaudit": {"ignore": ["DA101"]}}})
    session.notify("workspace/didChangeConfiguration", {"settings": settings})
    shown = session.wait(lambda m: m.get("method") == "window/showMessage")["params"]
    assert shown["type"] == 1 and said in shown["message"], shown
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    assert [d["code"] for d in session.diagnostics(uri)] == ["DA403"]  # still ignoring DA101
    assert shown_messages(session) == []  # the one message was taken above; no other came before this publish


def test_invalid_initialization_options_are_one_message_after_initialized(tmp_path):
    session = start_with_settings(tmp_path, {"select": "DA403"})
    try:
        shown = session.wait(lambda m: m.get("method") == "window/showMessage")["params"]
        assert shown["type"] == 1 and "select must be a list of rule codes" in shown["message"]
        uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
        assert {d["code"] for d in session.diagnostics(uri)} == {"DA101", "DA403"}  # the defaults
        assert shown_messages(session) == []
    finally:
        session.close()


def test_unsafe_fixes_setting_puts_unsafe_fixes_into_fix_all(tmp_path):
    session = start_with_settings(tmp_path, {"dockaudit": {"unsafeFixes": True, "extendSelect": ["DA402"]}})
    try:
        text = "FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl=8.5.0-2 && rm -rf /var/lib/apt/lists/*\n"
        uri = open_document(session, tmp_path / "Dockerfile", text)
        assert "DA402" in {d["code"] for d in session.diagnostics(uri)}
        whole = {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
        reply = session.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": whole,
                                                            "context": {"diagnostics": [],
                                                                        "only": ["source.fixAll.dockaudit"]}})  # fmt: skip
        (action,) = reply["result"]
        assert action["title"].startswith("Fix all dockaudit findings, unsafe fixes included")
        assert "--no-install-recommends" in apply_edits(text, edits_of(action))
    finally:
        session.close()


@pytest.mark.parametrize("lint_on_change", [True, False])
def test_lint_on_change_false_leaves_edits_to_the_save(tmp_path, lint_on_change):
    import asyncio

    from lsprotocol import types

    from dockaudit.lsp import server as server_module
    from dockaudit.lsp.settings import Settings

    server = server_module.build_server()
    server.settings = Settings(lint_on_change=lint_on_change)
    uri = (tmp_path / "Dockerfile").as_uri()
    changed = server.protocol.fm.features[types.TEXT_DOCUMENT_DID_CHANGE]
    params = types.DidChangeTextDocumentParams(types.VersionedTextDocumentIdentifier(2, uri), [])

    async def edit():
        server.documents[uri] = server_module._Open("dockerfile")
        changed(params)
        pending = server.documents[uri].pending
        assert (pending is not None) is lint_on_change
        if pending is not None:
            pending.cancel()

    asyncio.run(edit())


def test_settings_read_from_a_section_or_flat():
    from dockaudit.lsp.settings import Settings, read_settings

    assert read_settings(None, None) == Settings()
    assert read_settings({"dockaudit": {"select": ["DA4"], "lintOnChange": False}}, None) == Settings(
        select=("DA4",), lint_on_change=False
    )
    assert read_settings({"ignore": ["DA101"], "config": "", "select": []}, None) == Settings(ignore=("DA101",))
    assert read_settings({"select": ["DA4"]}, None).flags.select == ("DA4",)


def test_a_saved_configuration_change_applies(session, tmp_path):
    uri = open_document(session, tmp_path / "Dockerfile", DOCKERFILE)
    assert {d["code"] for d in session.diagnostics(uri)} == {"DA101", "DA403"}
    (tmp_path / ".dockaudit.toml").write_text(SELECT_DA403 + 'ignore = ["DA101"]\n')
    session.notify("textDocument/didSave", {"textDocument": {"uri": (tmp_path / ".dockaudit.toml").as_uri()}})
    published_where(session, uri, lambda codes: codes == {"DA403"})


def test_vscode_settings_are_the_servers_and_their_defaults_are_valid():
    import re

    from dockaudit.lsp.settings import KNOWN, Settings, read_settings

    properties = json.loads((EDITORS / "vscode" / "package.json").read_text())["contributes"]["configuration"]
    served = {k.removeprefix("dockaudit."): v["default"] for k, v in properties["properties"].items()}
    served.pop("path")  # the extension's own: which executable to start
    assert set(served) == set(KNOWN)
    assert read_settings({"dockaudit": served}, None) == Settings()
    script = (EDITORS / "vscode" / "extension.js").read_text()
    listed = re.search(r"SERVER_SETTINGS = \[(.*?)\]", script).group(1)
    assert set(re.findall(r'"(\w+)"', listed)) == set(KNOWN)


ZED = EDITORS / "zed"


def test_zed_extension_declares_the_server_for_dockerfile_and_compose():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from dockaudit.lsp.linting import COMPOSE, DOCKERFILE, document_kind

    manifest = tomllib.loads((ZED / "extension.toml").read_text())
    assert manifest["schema_version"] == 1 and manifest["id"] == "dockaudit"
    for key in ("name", "version", "description", "authors", "repository"):
        assert manifest[key], key
    (server_id,) = manifest["language_servers"]
    server = manifest["language_servers"][server_id]
    assert server["languages"] == ["Dockerfile", "Docker Compose"]
    ids = server["language_ids"]
    assert set(ids) == set(server["languages"])
    assert [document_kind(None, ids[name]) for name in server["languages"]] == [DOCKERFILE, COMPOSE]


def test_zed_extension_crate_is_a_wasm_library_that_starts_dockaudit_lsp():
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    crate = tomllib.loads((ZED / "Cargo.toml").read_text())
    assert crate["lib"]["crate-type"] == ["cdylib"]  # what Zed loads: a wasm32-wasip1 module
    assert "zed_extension_api" in crate["dependencies"]
    assert crate["package"]["version"] == tomllib.loads((ZED / "extension.toml").read_text())["version"]
    source = (ZED / crate["lib"]["path"]).read_text()
    assert re.search(r"zed::register_extension!\(\w+\);", source)
    assert 'worktree.which("dockaudit")' in source and 'vec!["lsp".to_string()]' in source
    for method in ("language_server_command", "language_server_initialization_options",
                   "language_server_workspace_configuration"):  # fmt: skip
        assert f"fn {method}(" in source


@pytest.mark.slow
def test_zed_extension_builds(tmp_path):
    """``cargo build --target wasm32-wasip1 --offline``: needs the target and the crate's dependencies
    already fetched (tests touch no network)."""
    import shutil

    cargo, rustup = shutil.which("cargo"), shutil.which("rustup")
    if cargo is None or rustup is None:
        pytest.skip("cargo and rustup are not installed")
    targets = subprocess.run([rustup, "target", "list", "--installed"], capture_output=True, text=True, check=False)
    if "wasm32-wasip1" not in targets.stdout:
        pytest.skip("the wasm32-wasip1 target is not installed (rustup target add wasm32-wasip1)")
    folder = tmp_path / "zed"
    shutil.copytree(ZED, folder)
    fetched = subprocess.run([cargo, "fetch", "--offline"], cwd=folder, capture_output=True, check=False)
    if fetched.returncode != 0:
        pytest.skip("zed_extension_api is not in cargo's local registry (cargo fetch, online, first)")
    subprocess.run([cargo, "build", "--offline", "--release", "--target", "wasm32-wasip1"], cwd=folder, check=True,
                   timeout=900, capture_output=True, env={**os.environ, "CARGO_TARGET_DIR": str(tmp_path / "target")})  # fmt: skip
    assert list((tmp_path / "target" / "wasm32-wasip1" / "release").glob("*.wasm"))


@pytest.mark.parametrize("notice", ["textDocument/didSave", "workspace/didChangeWatchedFiles"])
def test_a_save_or_a_watched_change_rereads_the_build_context(session, tmp_path, notice):
    """The server keeps what it read of build contexts between edits (``test_context_reads_answer_each_
    question_once``); a save or a file event from the client makes it read them again."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("flask\n")
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA205"]\n')  # off by default
    uri = open_document(session, tmp_path / "Dockerfile", CONTEXT_DOCKERFILE)
    assert [d["code"] for d in session.diagnostics(uri, version=1)] == ["DA205"]
    requirements.write_text("flask==3.0.0\n")
    params = ({"textDocument": {"uri": requirements.as_uri()}} if notice == "textDocument/didSave"
              else {"changes": [{"uri": requirements.as_uri(), "type": 2}]})  # fmt: skip
    session.notify(notice, params)
    published_where(session, uri, lambda codes: codes == set())


def test_context_reads_answer_each_question_once(tmp_path):
    from dockaudit.facts.contextreads import ContextReads

    (tmp_path / "requirements.txt").write_text("flask\n")
    reads = ContextReads()
    assert reads.is_inside(tmp_path / "requirements.txt", tmp_path)
    assert [r.name for r in reads.requirements(tmp_path / "requirements.txt", tmp_path).requirements] == ["flask"]
    assert reads.listing(tmp_path, None) == ["requirements.txt"]
    (tmp_path / "requirements.txt").unlink()
    (tmp_path / "other.txt").write_text("")
    assert reads.is_inside(tmp_path / "requirements.txt", tmp_path)  # the first answer, kept
    assert reads.listing(tmp_path, None) == ["requirements.txt"]
    fresh = ContextReads()
    assert not fresh.is_inside(tmp_path / "requirements.txt", tmp_path)
    assert fresh.listing(tmp_path, None) == ["other.txt"]
