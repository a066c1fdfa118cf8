"""The start-up and hot-path savings of the performance issue keep what they save, and change nothing.

No test here is timed: each checks the work itself (what a lint run imports and parses, which
values are computed once, which strings are shared), or that a faster path gives the old answer.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from dockaudit import lint
from dockaudit.plugin import RuleDefinitionError, parse_docs, rule
from dockaudit.syntax import parse
from dockaudit.syntax.shell import Script, run_commands, split_commands
from dockaudit.syntax.source import Span

REPO = Path(__file__).resolve().parents[1]

# What the tokenizer gave before it copied plain runs with one regex match: (value, raw) per word,
# per command.  Quotes, escapes, substitutions, operators, comments and unterminated text.
TOKENIZER_CASES = [
    ('apt-get install -y "a b" c\\ d \'e"f\'',
     [[("apt-get", "apt-get"), ("install", "install"), ("-y", "-y"), ("a b", '"a b"'), ("c d", "c\\ d"),
       ('e"f', "'e\"f'")]]),
    ('echo "x $(date +%s) y" `uname` ${HOME}/bin $((1+2))',
     [[("date", "date"), ("+%s", "+%s")], [("1+2", "1+2")],
      [("echo", "echo"), ("x $(date +%s) y", '"x $(date +%s) y"'), ("`uname`", "`uname`"),
       ("${HOME}/bin", "${HOME}/bin"), ("$((1+2))", "$((1+2))")]]),
    ('FOO=1 BAR="two words" env -i A=b sudo -u root pip install x>/dev/null 2>&1',
     [[("pip", "pip"), ("install", "install"), ("x>/dev/null", "x>/dev/null")], [("1", "1")]]),
    ("a && b || c; d | e |& f & g",
     [[("a", "a")], [("b", "b")], [("c", "c")], [("d", "d")], [("e", "e")], [("f", "f")], [("g", "g")]]),
    ('sh -c "apt-get update && apt-get install -y curl"',
     [[("sh", "sh"), ("-c", "-c"),
       ("apt-get update && apt-get install -y curl", '"apt-get update && apt-get install -y curl"')],
      [("apt-get", "apt-get"), ("update", "update")],
      [("apt-get", "apt-get"), ("install", "install"), ("-y", "-y"), ("curl", "curl")]]),
    ('echo "esc \\" \\\\ \\$ done" "unterminated',
     [[("echo", "echo"), ('esc " \\ $ done', '"esc \\" \\\\ \\$ done"'), ("unterminated", '"unterminated')]]),
    ("cat <<EOF > /etc/x\n", [[("cat", "cat")]]),
    ("echo a#b # comment\necho c", [[("echo", "echo"), ("a#b", "a#b")], [("echo", "echo"), ("c", "c")]]),
    ('x=$(echo "$(inner "q")") cmd "${A:-"d e"}"',
     [[("inner", "inner"), ("q", '"q"')], [("echo", "echo"), ('$(inner "q")', '"$(inner "q")"')],
      [("cmd", "cmd"), ("${A:-d", '"${A:-"d'), ("e}", 'e"}"')]]),
    ('printf "%s\\n" "\\q" tail\\',
     [[("printf", "printf"), ("%s\\n", '"%s\\n"'), ("\\q", '"\\q"'), ("tail", "tail\\")]]),
]  # fmt: skip


@pytest.mark.parametrize(("script", "expected"), TOKENIZER_CASES)
def test_the_fast_tokenizer_splits_as_before(script, expected):
    commands = split_commands(Script(script, lambda s, e: Span(s, e)))
    assert [[(w.value, w.raw) for w in c.words] for c in commands] == expected


def test_a_word_written_as_it_is_meant_holds_one_string():
    (command,) = split_commands(Script("apt-get install curl 'quoted'", lambda s, e: Span(s, e)))
    plain, quoted = command.words[2], command.words[3]
    assert plain.value is plain.raw  # one string, not two equal copies (memory per shell word)
    assert (quoted.value, quoted.raw) == ("quoted", "'quoted'")


def test_names_are_computed_once_and_survive_pickling():
    tree = parse("FROM x\nrun /usr/bin/apt-get update\nRun echo hi\n")
    run = tree.instructions[1]
    assert run.name == "RUN" and tree.instructions[2].name is run.name  # interned: one "RUN" for the file
    (command,) = run_commands(run)
    assert command.name == "apt-get"
    copy = pickle.loads(pickle.dumps(run))
    assert (copy.name, copy.keyword) == ("RUN", "run")
    assert pickle.loads(pickle.dumps(command)).name == "apt-get"
    assert "name" not in repr(command) and "name=" not in repr(run)


def test_the_findings_of_one_line_share_its_text(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM ubuntu\nRUN apt-get update && apt-get install -y curl\n")
    # DA401 and DA204 (off by default) both report line 2
    on_line_2 = [f for f in lint(str(dockerfile), select=["DA401", "DA204"]) if f.line == 2]
    assert len(on_line_2) >= 2
    assert all(f.source_line is on_line_2[0].source_line for f in on_line_2)
    assert on_line_2[0].source_line == "RUN apt-get update && apt-get install -y curl"


def test_a_lint_run_parses_no_rule_docs_and_imports_only_what_it_runs(tmp_path):
    """`dockaudit FILE` needs no rule's docs, no traceback machinery (only a crashing rule does) and no
    heredoc patterns for a file without heredocs."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nRUN pip install torch\nCMD python app.py\n")
    probe = (
        "import re, sys\n"
        "from dockaudit.cli import main\n"
        "from dockaudit.plugin import parse_docs\n"
        "from dockaudit.syntax import heredoc\n"
        f"sys.argv = ['dockaudit', '--exit-zero', '--quiet', {str(dockerfile)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('docs parsed', parse_docs.cache_info().misses, file=sys.stderr)\n"
        "print('traceback', 'traceback' in sys.modules, file=sys.stderr)\n"
        "print('heredoc patterns', isinstance(heredoc._HEREDOC, re.Pattern), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.stderr.splitlines()[-3:] == ["docs parsed 0", "traceback False", "heredoc patterns False"], done.stderr


def test_docs_are_parsed_on_demand_and_a_missing_section_still_fails_at_definition():
    from dockaudit.linting.engine import rule_by_id

    docs = rule_by_id("DA401").docs
    assert docs.what and "apt-get" in docs.example
    assert rule_by_id("DA401").docs is docs  # parsed once

    def check(ctx):
        """
        ## What it does
        Nothing.
        """
        return iter(())

    with pytest.raises(RuleDefinitionError, match="lack section"):
        rule("DA999", "no-docs", family="test", severity="info", summary="x")(check)
    assert parse_docs.cache_info().currsize >= 1
