"""The start-up and hot-path savings of the performance issue keep what they save, and change nothing.

No test here is timed: each checks the work itself (what a lint run imports and parses, which
values are computed once, which strings are shared), or that a faster path gives the old answer.
"""

from __future__ import annotations

import pickle
import re
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
        "import dockaudit.entry\n"
        "from dockaudit.entry import main\n"
        "dockaudit.entry._exit_now = sys.exit  # the probe goes on after the run\n"
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


def test_a_dockerfile_run_loads_no_compose_reader_and_compiles_no_image_or_compose_patterns(tmp_path):
    """The Compose reader (and its YAML guard), shutil (bz2, lzma), csv and the other commands load only
    when a run needs them; click, dataclasses and inspect never do for a plain command line; the rule pack's patterns compile on first use, so the image and Compose rules'
    never do here."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nRUN pip install torch\nCMD python app.py\n")
    probe = (
        "import sys\n"
        "import dockaudit.entry\n"
        "from dockaudit.entry import main\n"
        "dockaudit.entry._exit_now = sys.exit  # the probe goes on after the run\n"
        "from dockaudit.patterns import LazyPattern\n"
        f"sys.argv = ['dockaudit', '--exit-zero', '--quiet', {str(dockerfile)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "lazy = {(n, k): v for n, m in list(sys.modules.items()) if n.startswith('dockaudit')\n"
        "        for k, v in vars(m).items() if isinstance(v, LazyPattern)}\n"
        "compiled = sorted(n + '.' + k for (n, k), v in lazy.items() if set(vars(v)) - {'pattern', '_flags'})\n"
        "print('lazy', len(lazy), file=sys.stderr)\n"
        "print('compiled', [c for c in compiled if '_da8' in c or '_da9' in c], file=sys.stderr)\n"
        "print('some compiled', bool(compiled), file=sys.stderr)\n"
        "print('loaded', [m for m in ('dockaudit.compose.project', 'dockaudit.yamlguard', 'yaml', 'shutil', 'csv',\n"
        "                              'dockaudit.commands', 'click', 'dataclasses', 'inspect')\n"
        "                 if m in sys.modules], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lazy, *rest = done.stderr.splitlines()[-4:]
    assert int(lazy.split()[1]) > 50, done.stderr  # the rule pack's patterns are lazy ones
    assert rest == ["compiled []", "some compiled True", "loaded []"], done.stderr


def test_the_lazily_loaded_commands_are_the_ones_listed():
    from click.testing import CliRunner

    from dockaudit.cli import LAZY_COMMANDS, cli

    listed = cli.list_commands(None)  # loads them: help and completion show every command
    assert set(listed) == {"check", "compose", *LAZY_COMMANDS}
    assert CliRunner().invoke(cli, ["rule", "DA401"]).exit_code == 0


def test_a_lazy_pattern_matches_as_the_compiled_one():
    from dockaudit.patterns import lazy_pattern

    lazy, compiled = lazy_pattern(r"(\w+)=(\d+)", re.IGNORECASE), re.compile(r"(\w+)=(\d+)", re.IGNORECASE)
    assert lazy.pattern == compiled.pattern and set(vars(lazy)) == {"pattern", "_flags"}  # nothing compiled yet
    subject = "a=1 B=22 c=x"
    assert lazy.findall(subject) == compiled.findall(subject) == [("a", "1"), ("B", "22")]
    assert lazy.sub(r"\2", subject) == compiled.sub(r"\2", subject)
    assert lazy.flags == compiled.flags and lazy.groups == 2
    assert lazy.match is lazy.match  # the compiled method is kept: later calls skip the stand-in


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


def test_a_lints_context_is_freed_when_the_lint_ends_without_the_cycle_collector(monkeypatch):
    """The context holds the file's views (shell commands, stages, ML facts: ~1 KB a line); a cycle
    through it (the ML facts kept their context) left them for the cyclic collector, which a CLI run
    calls rarely (``entry.main``'s thresholds)."""
    import gc
    import weakref

    from dockaudit.linting import engine
    from dockaudit.linting.engine import load_rules

    contexts = []
    real_check = engine.check_dockerfile
    monkeypatch.setattr(engine, "check_dockerfile", lambda ctx, rules: contexts.append(weakref.ref(ctx)) or real_check(ctx, rules))
    text = "FROM nvidia/cuda:12.1.1-devel-ubuntu22.04\nRUN pip install torch==2.3.1 && apt-get update\nCOPY . /app\n"
    gc.disable()
    try:
        engine.lint_tree(parse(text), load_rules())
        assert contexts and contexts[0]() is None
    finally:
        gc.enable()
