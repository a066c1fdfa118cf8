"""BuildKit's own parser cases: our dump, lines, heredocs and errors must match Docker's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import dockaudit
from dockaudit.syntax import DockerfileSyntaxError, parse
from dockaudit.syntax.dump import dump
from dockaudit.syntax.heredoc import HeredocError, heredocs_in_line, parse_heredoc_word
from dockaudit.syntax.lineparse import LineParseError, parse_json_array, parse_words
from tests.conftest import CORPUS

ROOT = CORPUS / "buildkit-parser"
CASES = sorted(p.parent for p in ROOT.glob("**/Dockerfile")) if ROOT.exists() else []
POSITIVE = [c for c in CASES if not (c / "error").exists()]
NEGATIVE = [c for c in CASES if (c / "error").exists()]

# Where each rejected file goes wrong (checked by hand against the files).
NEGATIVE_LINES = {
    "empty_dockerfile": 1,
    "only_comments": 3,
    "env_no_value": 3,
    "shykes-nested-json": 1,
    "neg-duplicate-directive": 2,
    "neg-env-missing-equals": 2,
    "neg-heredoc-greedy-word": 2,
    "neg-heredoc-unterminated": 2,
    "neg-invalid-escape": 1,
    "neg-json-non-string": 2,
    "neg-label-no-value": 2,
}


def _case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_corpus_is_complete():
    if not ROOT.exists():
        pytest.skip("../shared/corpus/buildkit-parser is not available")
    assert len(CASES) == 66
    assert len(POSITIVE) == 55 and len(NEGATIVE) == 11


@pytest.mark.parametrize("case", POSITIVE, ids=_case_id)
def test_dump_matches_buildkit(case: Path):
    data = (case / "Dockerfile").read_bytes()
    expected = (case / "result").read_bytes().decode("utf-8", "surrogateescape")
    tree = parse(data)
    assert dump(tree) == expected
    assert tree.to_bytes() == data


@pytest.mark.parametrize("case", [c for c in POSITIVE if (c / "parse.json").exists()], ids=_case_id)
def test_lines_heredocs_and_warnings_match_buildkit(case: Path):
    expected = json.loads((case / "parse.json").read_text(encoding="utf-8"))
    tree = parse((case / "Dockerfile").read_bytes())
    assert tree.escape == expected["escape_token"]
    got = [
        {
            "start_line": i.start_line,
            "end_line": i.end_line,
            "original": i.original,
            "json": i.json,
            "heredocs": [
                {"name": h.name, "fd": h.fd, "expand": h.expand, "chomp": h.chomp, "content": h.content}
                for h in i.heredocs
            ]
            or None,
        }
        for i in tree.instructions
    ]
    want = [{k: v for k, v in i.items() if k != "instruction"} for i in expected["instructions"]]
    assert got == want
    assert [message for _line, message in tree.warnings] == expected["warnings"]


@pytest.mark.parametrize("case", NEGATIVE, ids=_case_id)
def test_rejected_files_give_da001_at_the_line(case: Path):
    message = (case / "error").read_text(encoding="utf-8").strip()
    data = (case / "Dockerfile").read_bytes()
    with pytest.raises(DockerfileSyntaxError) as error:
        parse(data)
    assert message in error.value.message or error.value.message in message
    findings = dockaudit.lint(data)
    assert [(f.rule, f.line) for f in findings] == [("DA001", NEGATIVE_LINES[case.name])]


def test_line_longer_than_64k_is_rejected():
    with pytest.raises(DockerfileSyntaxError, match="greater than max allowed size of 65535") as error:
        parse("FROM alpine\nRUN echo " + "a" * 70000 + "\n")
    assert error.value.line == 2


def _directive_cases():
    path = ROOT / "extra" / "directives" / "cases.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def test_directive_table_cases():
    cases = _directive_cases()
    if cases is None:
        pytest.skip("directive cases not available")
    for case in cases["parse_all"]:
        tree = parse(case["input"] + "FROM busybox\n")
        assert {n: d.value for n, d in tree.directives.items()} == {e["name"]: e["value"] for e in case["expect"]}
    for text, expected in cases["json_arrays"]["valid"].items():
        assert [w.value for w in parse_json_array(text, 0)] == expected
    for text in cases["json_arrays"]["invalid_not_string_array_error"]:
        with pytest.raises(LineParseError):
            parse_json_array(text, 0)
    for text, expected in cases["parse_words"]["cases"]:
        assert [w.value for w in parse_words(text, "\\", 0)] == expected
    for word in cases["heredoc_words"]["valid_name_EOF"]:
        assert parse_heredoc_word(word).name == "EOF", word
    for word in cases["heredoc_words"]["invalid_error"]:
        with pytest.raises(HeredocError):
            parse_heredoc_word(word)
    for word in cases["heredoc_words"]["not_heredoc"]:
        assert parse_heredoc_word(word) is None, word
    for line, names in cases["heredoc_words"]["from_line"]:
        assert [h.name for h in heredocs_in_line(line)] == names, line


def test_syntax_directive_and_check_directive_are_recorded():
    tree = parse("# syntax=docker/dockerfile:1\n# check=skip=JSONArgsRecommended\nFROM alpine\n")
    assert tree.directives["syntax"].value == "docker/dockerfile:1"
    assert tree.directives["check"].value == "skip=JSONArgsRecommended"


def test_directive_after_an_instruction_is_a_comment():
    tree = parse("FROM alpine\n# escape=`\nRUN echo \\\n  hi\n")
    assert tree.escape == "\\" and "escape" not in tree.directives
    assert tree.instructions[1].original == "RUN echo   hi"
