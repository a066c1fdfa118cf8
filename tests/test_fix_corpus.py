"""Every fix, on every real Dockerfile: a safe fix is safe on every base.

``--fix`` and ``--fix --unsafe-fixes`` are applied to each file of ``../shared/corpus/real``.
Each fixed file must parse, keep its instruction sequence (except the instructions a fix
documents that it inserts, renames or removes), be a fixed point (a second run changes
nothing), write only options the tool takes, once (dockaudit.facts.toolflags), in a SHELL it
inserts name only a shell its base is known to have (dockaudit.facts.baseos; a safe fix may not
name one on a base dockaudit cannot identify), and remove nothing a later step reads (the
apt lists a later ``apt-get install`` needs).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from dockaudit.facts import baseos

from dockaudit.facts import toolflags
from dockaudit.context import LintContext, Options
from dockaudit.linting.engine import load_rules, select_rules
from dockaudit.linting.fix import fix_text
from dockaudit.facts.installs import installs, read_invocation
from dockaudit.syntax import DockerfileSyntaxError, parse
from dockaudit.syntax.nodes import Dockerfile, Instruction
from dockaudit.syntax.shell import Command
from tests.conftest import CORPUS

REAL = CORPUS / "real"
RULES = select_rules(load_rules(), extend_select=["ALL"], ignore=["DA703"])  # every rule; DA703 runs shellcheck: no fix
OPTIONS = Options(use_context=False, as_of=date(2026, 11, 23))

# What fixes may do to the instruction sequence, as their rules document it.
INSERTED = {"SHELL": "DA018", "USER": "DA101", "COPY": "DA301"}
RENAMED = {"MAINTAINER": "LABEL", "ADD": "COPY"}  # DA012, DA413
REMOVED = {"ENV": "DA526"}  # removes an ENV that only set NVIDIA_VISIBLE_DEVICES=all


def _real_files() -> list[Path]:
    if not REAL.exists():
        pytest.skip("../shared/corpus/real is not available")
    return sorted(p for p in REAL.iterdir() if p.is_file() and p.name not in ("README.md", "manifest.tsv"))


def _shape_problems(before: Dockerfile, after: Dockerfile, applied: set[str]) -> tuple[list[str], list[tuple]]:
    """Differences in the instruction keywords no applied fix accounts for, and the (before, after)
    instruction pairs that correspond."""
    old = [RENAMED.get(i.name, i.name) for i in before.instructions]
    new = [RENAMED.get(i.name, i.name) for i in after.instructions]
    problems: list[str] = []
    pairs: list[tuple[Instruction, Instruction]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            pairs += zip(before.instructions[a1:a2], after.instructions[b1:b2])
        elif (op == "insert" and all(INSERTED.get(n) in applied for n in new[b1:b2])) or (
            op == "delete" and all(REMOVED.get(n) in applied for n in old[a1:a2])
        ):
            continue
        else:
            problems.append(f"{op} {old[a1:a2]} -> {new[b1:b2]}")
    return problems, pairs


def _tool_of(command: Command, ctx: LintContext, instruction: Instruction) -> tuple[str, str]:
    """The (tool, subcommand) row of toolflags that ``command`` is checked against."""
    invocation = read_invocation(command)
    if invocation is not None:
        return invocation.tool, invocation.action.rsplit(" ", 1)[-1]
    if command.name == "wget":
        stage = ctx.stage_of(instruction)
        family = baseos.stage_family(stage) if stage is not None else None
        busybox = family in (baseos.ALPINE, baseos.BUSYBOX, baseos.BASH_IMAGE)
        if busybox and not baseos.installed_before(ctx, stage, instruction, command, "wget"):
            return "busybox-wget", ""
    return command.name, ""


def _written_options(old: Command | None, new: Command) -> Iterator[str]:
    """Option words of ``new`` that ``old`` (the same command before the fix; None: a new command) lacks."""
    before = [w.value for w in old.words] if old is not None else []
    for word in new.words[1:]:
        if word.value in before:
            before.remove(word.value)
        elif word.value.startswith("-") and word.value != "-":
            yield word.value


def _flag_problems(old_ctx: LintContext, new_ctx: LintContext, pairs: list[tuple]) -> list[str]:
    problems = []
    for before, after in pairs:
        if (after.trigger or after).name != "RUN":
            continue
        old_commands, new_commands = old_ctx.commands(before), new_ctx.commands(after)
        if len(new_commands) < len(old_commands):
            problems.append(f"line {after.start_line}: a fix removed a command")
            continue
        for index, command in enumerate(new_commands):
            old = old_commands[index] if index < len(old_commands) else None
            tool, sub = _tool_of(command, new_ctx, after)
            present = [w.value.split("=", 1)[0] for w in command.words[1:]]
            for option in _written_options(old, command):
                name = option.split("=", 1)[0]
                if toolflags.accepts(tool, sub, name) is not True:
                    problems.append(f"line {after.start_line}: {tool} {sub} does not take {name}")
                twins = toolflags.spellings(tool, name)
                if sum(present.count(s) for s in twins) > 1:
                    problems.append(f"line {after.start_line}: {name} given twice to {tool} {sub}")
    return problems


def _shell_problems(new_ctx: LintContext, pairs: list[tuple], unsafe: bool) -> list[str]:
    """Each SHELL a fix inserted names a shell known at that path on the stage's base."""
    kept = {id(after) for _before, after in pairs}
    problems = []
    for instruction in new_ctx.dockerfile.instructions:
        if instruction.name != "SHELL" or id(instruction) in kept:
            continue
        stage = new_ctx.stage_of(instruction)
        path = json.loads(instruction.args_text)[0]
        family = baseos.stage_family(stage) if stage is not None else None
        known = baseos.shell_path(family, path.rsplit("/", 1)[-1]) == path
        installed = (
            stage is not None
            and path == "/bin/bash"
            and baseos.installed_before(new_ctx, stage, instruction, None, "bash")
        )
        if known or installed or (family is None and unsafe):
            continue
        problems.append(f"line {instruction.start_line}: SHELL {path} on a {family or 'unknown'} base")
    return problems


def _installs_without_lists(ctx: LintContext) -> int:
    """RUNs that install with apt after an earlier RUN of the stage removed the package lists and none
    fetched them again (``apt-get install`` then finds no package)."""
    count = 0
    for stage in ctx.stages:
        lists = False  # the same start before and after the fix: only what fixes change counts
        for instruction in stage.instructions:
            if instruction.name != "RUN":
                continue
            apt = [i for i in ctx.invocations(instruction) if i.tool in ("apt-get", "apt")]
            removes = any(
                c.name == "rm" and any("/var/lib/apt/lists" in w.value for w in c.args)
                for c in ctx.commands(instruction)
            )
            if any(i.action == "update" for i in apt):
                lists = not removes
            elif any(installs(i) for i in apt) and not lists:
                count += 1
            elif removes:
                lists = False
    return count


@pytest.mark.slow
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_every_fix_on_real_files_keeps_the_build_working(unsafe):
    problems: dict[str, list[str]] = {}
    fixed = 0
    for path in _real_files():
        text = path.read_bytes().decode("utf-8", "replace")
        try:
            before = parse(text, str(path))
        except DockerfileSyntaxError:
            continue  # the one empty file
        outcome = fix_text(text, str(path), RULES, OPTIONS, unsafe=unsafe)
        if not outcome.changed:
            continue
        fixed += 1
        found = [f"DA000: {f.message}" for f in outcome.dropped]
        try:
            after = parse(outcome.text, str(path))
        except DockerfileSyntaxError as error:
            problems[path.name] = [f"the fixed file does not parse: {error}"]
            continue
        shape, pairs = _shape_problems(before, after, {f.rule for f in outcome.applied})
        found += shape
        found += _flag_problems(LintContext(before, OPTIONS), LintContext(after, OPTIONS), pairs)
        found += _shell_problems(LintContext(after, OPTIONS), pairs, unsafe)
        if _installs_without_lists(LintContext(after, OPTIONS)) > _installs_without_lists(LintContext(before, OPTIONS)):
            found.append("a fix removed the apt lists a later RUN installs from")
        again = fix_text(outcome.text, str(path), RULES, OPTIONS, unsafe=unsafe)
        if again.changed:
            found.append(f"not a fixed point: a second run applies {sorted({f.rule for f in again.applied})}")
        if found:
            problems[path.name] = found
    assert fixed > 300  # the corpus is there and fixes apply
    assert problems == {}
