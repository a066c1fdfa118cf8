"""Shell completions (click's): the scripts for bash, zsh and fish, and what they complete."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli


def complete(shell: str, words: str, cword: int) -> str:
    env = {"_DOCKAUDIT_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = CliRunner().invoke(cli, [], prog_name="dockaudit", env=env)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nosort -F _dockaudit_completion dockaudit"),
                                               ("zsh", "#compdef dockaudit"), ("fish", "complete --no-files --command dockaudit")])  # fmt: skip
def test_completion_scripts(shell, marker):
    result = CliRunner().invoke(cli, [], prog_name="dockaudit", env={"_DOCKAUDIT_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0 and marker in result.output


def test_completes_commands_options_and_choices():
    commands = complete("bash", "dockaudit ", 1)
    assert {"plain,check", "plain,compose", "plain,image", "plain,rules"} <= set(commands.splitlines())
    assert "plain,--output-format" in complete("bash", "dockaudit check --output-f", 2).splitlines()
    assert complete("bash", "dockaudit check --output-format ", 3).splitlines() == [
        "plain,full", "plain,concise", "plain,grouped"]  # fmt: skip
    assert "plain,--show-fixes" in complete("bash", "dockaudit compose --show-f", 2).splitlines()


def test_readme_documents_every_shell():
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for shell in ("bash", "zsh", "fish"):
        assert f"_DOCKAUDIT_COMPLETE={shell}_source dockaudit" in readme
