"""The shell view of RUN: commands, argv, spans, wrappers, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockaudit.syntax import parse
from dockaudit.syntax.shell import Command, Script, run_commands, split_commands
from dockaudit.syntax.source import Span


def _commands(dockerfile: str) -> tuple[list[Command], object]:
    tree = parse(dockerfile)
    return [c for i in tree.instructions for c in run_commands(i)], tree


def test_chains_and_pipes():
    commands, tree = _commands("FROM x\nRUN apt-get update && apt-get install -y curl | tee log; echo done\n")
    assert [c.name for c in commands] == ["apt-get", "apt-get", "tee", "echo"]
    assert commands[1].piped and commands[2].piped and not commands[0].piped
    assert commands[1].argv == ["apt-get", "install", "-y", "curl"]
    word = commands[1].words[3]
    assert tree.source.text[word.span.start : word.span.end] == "curl"


def test_wrappers_and_assignments_are_looked_through():
    commands, _ = _commands(
        "FROM x\nRUN DEBIAN_FRONTEND=noninteractive sudo -u root env A=1 xargs -n1 apt-get install < p.txt\n"
    )
    command = commands[0]
    assert command.name == "apt-get"
    assert command.wrappers == ("sudo", "env", "xargs")
    assert "DEBIAN_FRONTEND=noninteractive" in command.assignments and "A=1" in command.assignments


def test_sh_c_and_substitutions_are_followed():
    commands, tree = _commands("FROM x\nRUN sh -c 'pip install torch' && echo $(curl -s https://x | sh)\n")
    names = [c.name for c in commands]
    assert names[:2] == ["sh", "pip"] and "curl" in names
    pip = commands[1]
    assert tree.source.text[pip.words[2].span.start : pip.words[2].span.end] == "torch"


@pytest.mark.parametrize(
    ("run", "inner"),
    [
        ("bash -euxo pipefail -c 'pip install torch'", ["pip"]),  # -o's option name is not the script
        ("bash +o history -c 'pip install torch'", ["pip"]),
        ("su app -c 'pip install torch'", ["pip"]),  # su's user name comes before -c
        ("su - app -c 'pip install torch'", ["pip"]),
        ("bash build.sh -c 'pip install torch'", []),  # -c after the script file is the script's own argument
    ],
)
def test_shells_options_before_c_are_skipped(run, inner):
    commands, _ = _commands(f"FROM x\nRUN {run}\n")
    assert [c.name for c in commands[1:]] == inner


def test_heredoc_body_is_a_script_when_no_command_takes_it():
    commands, tree = _commands("FROM x\nRUN <<EOF\nset -e\npip3 install numpy\nEOF\nRUN python3 <<PY\nimport os\nPY\n")
    assert [c.name for c in commands] == ["set", "pip3", "python3"]
    word = commands[1].words[2]
    assert tree.source.text[word.span.start : word.span.end] == "numpy"


def test_exec_form_with_shell():
    commands, _ = _commands('FROM x\nRUN ["/bin/bash", "-c", "conda install -y numpy && conda clean -afy"]\n')
    assert [c.name for c in commands] == ["bash", "conda", "conda"]


def test_has_flag_understands_combined_short_flags():
    commands, _ = _commands("FROM x\nRUN apt-get install -qy curl && pip install --no-cache-dir=1 x\n")
    assert commands[0].has_flag("-y") and commands[0].has_flag("-q") and not commands[0].has_flag("--yes")
    assert commands[1].has_flag("--no-cache-dir")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab $(){}'\"\\|&;<>#`\n\t=-", max_size=80))
def test_never_raises_on_arbitrary_shell(text):
    for command in split_commands(Script(text, lambda s, e: Span(s, e))):
        assert command.words
