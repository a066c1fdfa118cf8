"""BuildKit's variable-expansion and word-splitting tables (frontend/dockerfile/shell)."""

from __future__ import annotations

import pytest

from dockaudit.syntax.expand import ExpansionError, LexOptions, process
from tests.conftest import CORPUS

SHELL = CORPUS / "buildkit-parser" / "shell"
ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


def _env_var_cases():
    if not (SHELL / "envVarTest").exists():
        return []
    cases = []
    for number, line in enumerate((SHELL / "envVarTest").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        platform, text, expected = (part.strip() for part in line.split("|", 2))
        if platform in ("A", "U"):
            cases.append(pytest.param(text, expected, id=f"line{number}"))
    return cases


def _words_cases():
    if not (SHELL / "wordsTest").exists():
        return []
    env: dict[str, str] = {}
    cases = []
    for number, line in enumerate((SHELL / "wordsTest").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("ENV "):
            key, _, value = line[4:].partition("=")
            env[key] = value
            continue
        text, _, expected = line.partition("|")
        cases.append(pytest.param(text.strip(), expected.lstrip(), dict(env), id=f"line{number}"))
    return cases


@pytest.mark.parametrize(("text", "expected"), _env_var_cases())
def test_env_var_table(text, expected):
    if expected == "error":
        with pytest.raises(ExpansionError):
            process(text, ENV)
    else:
        assert process(text, ENV).result == expected


@pytest.mark.parametrize(("text", "expected", "env"), _words_cases())
def test_words_table(text, expected, env):
    if expected == "error":
        with pytest.raises(ExpansionError):
            process(text, env)
    else:
        assert process(text, env).words == expected.split(",")


def test_tables_are_present_and_substantial():
    if not SHELL.exists():
        pytest.skip("shell tables not available")
    assert len(_env_var_cases()) > 200 and len(_words_cases()) > 20


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${a:-b}", "b"),
        ("${x:-b}", "1"),
        ("${e:-b}", "b"),
        ("${e-b}", ""),
        ("${x:+y}", "y"),
        ("${e+y}", "y"),
        ("${path#*/}", "usr/local/bin"),
        ("${path##*/}", "bin"),
        ("${path%/*}", "/usr/local"),
        ("${path%%/l*}", "/usr"),
        ("${path/local/opt}", "/usr/opt/bin"),
        ("${dots//./-}", "a-b-c"),
    ],
)
def test_modifiers(text, expected):
    env = {"x": "1", "e": "", "path": "/usr/local/bin", "dots": "a.b.c"}
    assert process(text, env).result == expected


def test_unset_variables_are_reported_and_kept_when_asked():
    result = process("$A-${B:-x}", {}, LexOptions(skip_unset=True))
    assert result.result == "$A-${B:-x}"
    assert result.unmatched == {"A", "B"}


def test_deep_nesting_is_an_error_not_a_crash():
    text = "${a:-" * 5000 + "x" + "}" * 5000
    with pytest.raises(ExpansionError):
        process(text, {})
