"""Rules reach the knowledge tables, files, tools and the registry only through their context
(``ctx.knowledge``, ``ctx.resources``): a swapped ``Resources`` is what they use, and no rule module
imports a way around it."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from dockaudit import records
from dockaudit.compose.lint import ComposeContext
from dockaudit.compose.project import load_project
from dockaudit.context import LintContext
from dockaudit.facts.knowledge import load_knowledge
from dockaudit.facts.resources import Resources, ToolRun
from dockaudit.linting.engine import rule_by_id
from dockaudit.syntax.parser import parse
from tests.conftest import REPO


class RecordingResources(Resources):
    """Answers from the test, and notes every question a rule asked."""

    def __init__(self, knowledge=None, tool_answer: ToolRun | None = None) -> None:
        super().__init__(online=False)
        object.__setattr__(self, "asked", [])
        object.__setattr__(self, "_knowledge", knowledge)
        object.__setattr__(self, "_tool_answer", tool_answer)

    def knowledge(self):
        self.asked.append(("knowledge",))
        return self._knowledge if self._knowledge is not None else load_knowledge()

    def run_tool(self, argv, stdin=None, seconds=10.0):
        self.asked.append(("run_tool", tuple(argv), stdin))
        return self._tool_answer


def _check(rule_id: str, text: str, resources: Resources) -> tuple[LintContext, list]:
    ctx = LintContext(parse(text), resources=resources)
    return ctx, list(rule_by_id(rule_id).check(ctx))


SHELLCHECK_SAYS = json.dumps({"comments": [{"line": 1, "endLine": 1, "column": 4, "endColumn": 10, "level": "info",
                                             "code": 2086, "message": "Double quote to prevent globbing."}]})  # fmt: skip


def test_da703_runs_shellcheck_through_the_context(monkeypatch):
    monkeypatch.setenv("DOCKAUDIT_SHELLCHECK", "shellcheck-of-the-test")  # no binary needed: nothing is spawned
    resources = RecordingResources(tool_answer=ToolRun(1, SHELLCHECK_SAYS.encode(), b""))
    ctx, found = _check("DA703", "FROM debian:12-slim\nARG FILES\nRUN cp $FILES /tmp/\n", resources)
    [(_kind, argv, stdin)] = [q for q in resources.asked if q[0] == "run_tool"]
    assert argv[0] == "shellcheck-of-the-test" and "--shell=sh" in argv and stdin == b"cp $FILES /tmp/"
    [violation] = found
    assert violation.message.startswith("SC2086: ") and ctx.text(violation.span) == "$FILES"


def test_da703_is_silent_when_the_tool_cannot_run(monkeypatch):
    monkeypatch.setenv("DOCKAUDIT_SHELLCHECK", "shellcheck-of-the-test")
    resources = RecordingResources(tool_answer=None)
    _ctx, found = _check("DA703", "FROM debian:12-slim\nARG FILES\nRUN cp $FILES /tmp/\n", resources)
    assert found == [] and [q[0] for q in resources.asked] == ["run_tool"]


TORCH_ON_CUDA_11 = "FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04\nRUN pip install --no-cache-dir torch==2.5.1\n"


def test_da501_judges_by_the_knowledge_the_context_hands_it():
    shipped = RecordingResources()
    _ctx, found = _check("DA501", TORCH_ON_CUDA_11, shipped)
    assert len(found) == 1 and "CUDA 12.4" in found[0].message and ("knowledge",) in shipped.asked

    tables = load_knowledge()
    cuda_11_torch = records.replace(tables.torch["2.5"], pypi_default_cuda="11.8")
    edited = RecordingResources(knowledge=records.replace(tables, torch={**tables.torch, "2.5": cuda_11_torch}))
    _ctx, found = _check("DA501", TORCH_ON_CUDA_11, edited)
    assert found == []  # the same file, other tables: the rule read the context's, not the installed ones


def test_da912_asks_git_through_the_context(tmp_path: Path):
    (tmp_path / ".git").mkdir()  # a repository is there; whether the file is committed, git (the fake) says
    (tmp_path / "secrets.env").write_text("API_TOKEN=ghp_0123456789abcdef0123456789abcdef0123\n")
    (tmp_path / "compose.yaml").write_text("services:\n  api:\n    image: ghcr.io/org/api:1.4.2\n"
                                           "    env_file: [secrets.env]\n")  # fmt: skip
    project = load_project([tmp_path / "compose.yaml"])
    findings = {}
    for returncode in (0, 1):
        resources = RecordingResources(tool_answer=ToolRun(returncode, b"", b""))
        findings[returncode] = list(rule_by_id("DA912").check(ComposeContext(project, resources=resources)))
        assert [q[1][0] for q in resources.asked if q[0] == "run_tool"] == ["git"]
    assert len(findings[0]) == 1 and "API_TOKEN" in findings[0][0].message and findings[1] == []


# What a rule module must not use: each is a way to the file system, a process or the network that
# the context's Resources does not see.
FORBIDDEN_MODULES = ("subprocess", "socket", "requests", "urllib", "http", "ftplib", "multiprocessing",
                     "ctypes", "importlib", "dockaudit.facts.online", "dockaudit.facts.resources.subprocess")  # fmt: skip
FORBIDDEN_NAMES = ("open", "load_knowledge", "read_regular_file", "tag_digest", "version_tag", "__import__", "eval",
                   "exec")  # fmt: skip
FORBIDDEN_METHODS = ("read_text", "read_bytes", "write_text", "write_bytes", "open", "system", "popen", "urlopen")


def forbidden_uses(source: str) -> list[str]:
    """Each way around the context in ``source``, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        modules = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [f"{node.lineno}: {a.name}" for a in node.names if a.name in FORBIDDEN_NAMES]
        for module in modules:
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN_MODULES):
                found.append(f"{node.lineno}: import {module}")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{node.lineno}: {node.id}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_METHODS:
            found.append(f"{node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted((REPO / "rules").glob("*.py")), ids=lambda p: p.name)
def test_no_rule_module_reaches_around_the_context(path: Path):
    assert forbidden_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "snippet",
    ["import subprocess", "from subprocess import run", "import urllib.request", "from dockaudit.facts.online import tag_digest",
     "from dockaudit.facts.knowledge import load_knowledge", "from dockaudit.files import read_regular_file",
     "data = open('x').read()", "text = path.read_text()", "import socket as s", "__import__('subprocess')"],
)  # fmt: skip
def test_the_scan_sees_each_way_around(snippet: str):
    assert forbidden_uses(snippet) != []


def test_the_scan_leaves_docs_and_context_calls_alone():
    allowed = (
        "def check(ctx):\n"
        "    \"\"\"RUN python -c 'import subprocess; open(1)'\"\"\"\n"
        "    return ctx.resources.read_file(ctx.path, 10), ctx.knowledge\n"
    )
    assert forbidden_uses(allowed) == []
