"""Work per finding and per instruction stays bounded as files grow (the "Scaling" issue).

No test here is timed: each counts or measures the work itself (characters encoded per byte offset,
texts rebuilt per install, scope objects per stage), so the quadratic versions fail on any machine.
"""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

import pytest

from dockaudit.context import LintContext
from dockaudit.linting.engine import load_rules, check_dockerfile, select_rules
from dockaudit.syntax import parse
from dockaudit.syntax.nodes import Dockerfile
from dockaudit.syntax.stages import build_stages
from dockaudit.syntax.source import CHECKPOINT_CHARS, Source
from dockaudit.syntax.stages import PLATFORM_ARGS, Stage, Variable, arg_declarations, env_pairs
from dockaudit.syntax.stages import _expand_or_raw as expand_or_raw

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"


# --- byte offsets ---------------------------------------------------------------------------------


def _peak_bytes_of(call) -> int:
    """Peak bytes allocated while ``call()`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("where", ["first line", "last line"])
def test_a_byte_offset_deep_in_a_non_ascii_file_does_not_encode_the_text_before_it(where):
    # One "©" made every offset re-encode the whole prefix: 16x slower lint of a 100k-line file.
    lines = ["RUN echo " + "x" * 70] * 20_000
    lines[0 if where == "first line" else -1] = "# © 2026"
    source = Source("\n".join(lines) + "\n")
    offset = len(source.text) - 5
    source.position(0)  # the one pass that builds the checkpoints
    peak = _peak_bytes_of(lambda: source.position(offset))
    assert peak < 16 * CHECKPOINT_CHARS < len(source.text) // 50  # the prefix is 1.5 MB; a lookup sees 1 KiB


@pytest.mark.parametrize(
    "text",
    [
        "",
        "©",
        "a©b\n\n€😀\n",
        "x" * (CHECKPOINT_CHARS - 1) + "©" + "y" * (3 * CHECKPOINT_CHARS) + "\n€",
        "\udc80\udcff" * CHECKPOINT_CHARS + "é",  # undecodable bytes kept by surrogateescape: one byte each
        ("é" * 7 + "\n") * 1000,
    ],
)
def test_byte_offsets_equal_the_length_of_the_encoded_prefix(text):
    source = Source(text)
    encoded = len(text.encode("utf-8", "surrogateescape"))
    for offset in [*range(0, len(text), max(1, len(text) // 97)), len(text), min(CHECKPOINT_CHARS, len(text))]:
        assert source.position(offset).offset == len(text[:offset].encode("utf-8", "surrogateescape"))
    assert source.position(len(text)).offset == encoded


# --- DA308 ----------------------------------------------------------------------------------------


def test_da308_does_not_rebuild_the_file_for_each_install(monkeypatch):
    rebuilt = []
    original = Dockerfile.to_source
    monkeypatch.setattr(Dockerfile, "to_source", lambda self: rebuilt.append(1) or original(self))
    installs = "".join(f"RUN pip install pkg{n}==1.0\n" for n in range(200))
    text = f"FROM python:3.12\n{installs}RUN rm -rf /root/.cache/pip\n"
    findings = check_dockerfile(LintContext(parse(text)), select_rules(load_rules(), select=["DA308"]))
    assert [f.rule for f in findings] == ["DA308"]
    assert rebuilt == []


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("FROM python:3.12\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n", True),
        ("FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n", False),
        ("FROM python:3.12\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n# PIP_NO_CACHE_DIR\n", False),
        ("FROM python:3.12\nRUN uv pip install a==1\nRUN rm -rf /root/.cache/uv\n", True),
        ("FROM python:3.12\nARG UV_NO_CACHE=1\nRUN uv pip install a==1\nRUN rm -rf /root/.cache/uv\n", False),
        ("FROM python:3.12\nENV UV_NO_CACHE=1\nRUN pip install a==1\nRUN rm -rf /root/.cache/pip\n", True),
    ],
)
def test_da308_still_trusts_a_no_cache_variable_named_anywhere_in_the_file(text, fires):
    findings = check_dockerfile(LintContext(parse(text)), select_rules(load_rules(), select=["DA308"]))
    assert bool(findings) == fires


# --- scopes ---------------------------------------------------------------------------------------


def test_instructions_between_two_arg_or_env_share_one_scope():
    text = "FROM alpine\nRUN a\nRUN b\nCOPY x /x\nENV A=1\nRUN c\nWORKDIR /w\nARG B\nARG C=2\nRUN d\nUSER u\n"
    (stage,) = build_stages(parse(text))
    scopes = [scope for _instruction, scope in stage.scopes()]
    assert len({id(s) for s in scopes}) == 4  # before ENV A, before ARG B, before ARG C, after it
    assert scopes[0] is scopes[1] is scopes[2] is scopes[3]
    assert scopes[4] is scopes[5] is scopes[6]
    assert scopes[8] is scopes[9]
    assert stage.scopes() is stage.scopes()  # computed once per stage
    assert dict(scopes[9]) == {
        "A": Variable("A", "1", "env", stage.instructions[3]),
        "B": Variable("B", None, "arg", stage.instructions[6]),
        "C": Variable("C", "2", "arg", stage.instructions[7]),
    }


def test_a_long_stage_without_arg_or_env_holds_one_scope_and_no_copies():
    text = "FROM alpine\nENV A=1 B=2 C=3\n" + "RUN echo $A\n" * 5000
    (stage,) = build_stages(parse(text))
    assert len({id(scope) for _instruction, scope in stage.scopes()}) == 2


def test_scope_at_finds_each_instructions_scope():
    (stage,) = build_stages(parse("FROM alpine\nENV A=1\nRUN x\n"))
    env, run = stage.instructions
    assert stage.scope_at(env) == {}
    assert dict(stage.scope_at(run)) == {"A": Variable("A", "1", "env", env)}
    assert stage.scope_at(parse("FROM a\nRUN x\n").instructions[1]) is None


def test_da403_looks_up_the_scope_of_each_install_instead_of_scanning_the_stage(monkeypatch):
    scans = []
    original = Stage.scopes
    monkeypatch.setattr(Stage, "scopes", lambda self: scans.append(1) or original(self))
    installs = "".join(f"RUN pip install pkg{n}==1.0\n" for n in range(200))
    text = f"FROM python:3.12\nENV PIP_NO_CACHE_DIR=1\n{installs}FROM python:3.12\nRUN pip install a==1\n"
    findings = check_dockerfile(LintContext(parse(text)), select_rules(load_rules(), select=["DA403"]))
    assert [f.line for f in findings] == [204]  # the second stage has no PIP_NO_CACHE_DIR
    assert scans == []


def test_scopes_survive_pickling():
    stages = build_stages(parse("FROM alpine AS a\nENV A=1\nFROM a\nRUN x\n"))
    stages[-1].scopes()  # built before pickling
    copy = pickle.loads(pickle.dumps(stages))
    stage = copy[-1]
    env = copy[0].instructions[0]
    assert dict(stage.scope_at(stage.instructions[0])) == {"A": Variable("A", "1", "env", env)}


def test_a_long_chain_of_stages_does_not_recurse():
    chain = "".join(f"FROM s{n - 1} AS s{n}\nENV A{n}=$A{n - 1}\n" for n in range(1, 3000))
    text = "FROM alpine AS s0\nENV A0=0\n" + chain
    stages = build_stages(parse(text))
    last_env = stages[-1].instructions[0]
    assert stages[-1].scope_at(last_env)["A2998"].value == "0"


# The scoping as it was computed before scopes were shared: a fresh dict per instruction. The shared
# version must agree with it on every file.


def _reference_scopes(stage: Stage, memo: dict[int, dict[str, Variable]]) -> list[tuple[object, dict]]:
    env = {}
    if stage.parent is not None and stage.parent is not stage:
        env = {k: v for k, v in _reference_final(stage.parent, memo).items() if v.kind == "env"}
    scopes = []
    for instruction in stage.instructions:
        scopes.append((instruction, dict(env)))
        _reference_apply(instruction, env, stage)
    return scopes


def _reference_final(stage: Stage, memo: dict[int, dict[str, Variable]]) -> dict[str, Variable]:
    if id(stage) not in memo:
        env = {}
        if stage.parent is not None and stage.parent is not stage:
            env = {k: v for k, v in _reference_final(stage.parent, memo).items() if v.kind == "env"}
        for instruction in stage.instructions:
            _reference_apply(instruction, env, stage)
        memo[id(stage)] = env
    return memo[id(stage)]


def _reference_apply(instruction, env: dict[str, Variable], stage: Stage) -> None:
    values = {k: v.value for k, v in env.items() if v.value is not None}
    if instruction.name == "ARG":
        for name, default in arg_declarations(instruction):
            if default is not None:
                value = expand_or_raw(default, values, stage.escape)
            elif name in stage.meta:
                value = stage.meta[name].value
            elif name in PLATFORM_ARGS:
                value = PLATFORM_ARGS[name]
            else:
                value = None
            if name in env and env[name].kind == "env":
                continue
            env[name] = Variable(name, value, "arg", instruction)
            if value is not None:
                values[name] = value
    elif instruction.name == "ENV":
        before = dict(values)
        for key, raw_value, _separator in env_pairs(instruction):
            env[key] = Variable(key, expand_or_raw(raw_value, before, stage.escape), "env", instruction)


TRICKY_SCOPES = [
    "ARG V=1\nFROM alpine:$V AS base\nARG V\nARG V\nENV E=$V\nARG E=no\nRUN x\n",
    "FROM alpine\nARG A=1 B=$A A C=$A\nRUN x\nARG A=2\nENV A=$A B=$A\nENV C=$B\nRUN y\n",
    "FROM alpine AS a\nENV P=1\nARG Q=2\nFROM a AS b\nENV P=$P$Q\nFROM b\nARG P\nRUN $P\n",
    "FROM alpine\nARG TARGETARCH\nARG BUILDOS=x\nENV T=${TARGETARCH}-${BUILDOS:-none}\nRUN x\n",
    "FROM alpine\nENV A=1\nENV A=2 A=$A\nARG A=3\nRUN x\n",
    "FROM alpine\nARG A=1\nARG A\nENV B=${A:-unset}\n",
    "FROM a AS a\nENV X=1\nFROM a\nRUN x\n",  # FROM its own name: the image, not the stage
]


def _corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix not in (".md", ".tsv"))[:400]


@pytest.mark.parametrize("text", TRICKY_SCOPES)
def test_shared_scopes_agree_with_a_fresh_dict_per_instruction(text):
    _assert_same_scopes(parse(text))


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not checked out")
def test_shared_scopes_agree_with_a_fresh_dict_per_instruction_on_the_real_corpus():
    for path in _corpus_files():
        try:
            tree = parse(path.read_bytes())
        except Exception:  # noqa: BLE001 - files that do not parse have no scopes to compare
            continue
        _assert_same_scopes(tree, path.name)


def _assert_same_scopes(tree, label: str = "") -> None:
    memo: dict[int, dict[str, Variable]] = {}
    for stage in build_stages(tree):
        expected = _reference_scopes(stage, memo)
        actual = stage.scopes()
        assert [i for i, _ in actual] == [i for i, _ in expected], label
        for (instruction, scope), (_, reference) in zip(actual, expected):
            assert dict(scope) == reference, (label, instruction.start_line)
            assert list(scope) == list(reference), (label, instruction.start_line)  # the same order
            assert len(scope) == len(reference)
            assert all(name in scope and scope.get(name) == v for name, v in reference.items())
            assert "NO_SUCH_VARIABLE" not in scope and scope.get("NO_SUCH_VARIABLE") is None
