"""Whether a RUN cleans up after itself: the RUNs whose layers ship, what a later ``rm`` in the same
RUN removes, and cache mounts that keep a cache out of the layer.  Shared by the cache rules
(DA401–DA407) and the final-stage rules (DA408, DA409)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from dockaudit.syntax.mounts import run_mounts

if TYPE_CHECKING:
    from dockaudit.context import LintContext
    from dockaudit.facts.installs import Invocation
    from dockaudit.syntax.nodes import Instruction
    from dockaudit.syntax.shell import Command


def shipped_runs(ctx: LintContext) -> Iterator[Instruction]:
    """RUN instructions of the stages that end up in the image, and every ONBUILD RUN
    (it runs in the images built FROM this one, whichever stage declares it)."""
    in_image = {id(s) for s in ctx.image_stages}
    for stage in ctx.stages:
        for instruction in stage.instructions:
            if instruction.trigger is not None:
                if instruction.trigger.name == "RUN":
                    yield instruction
            elif instruction.name == "RUN" and id(stage) in in_image:
                yield instruction


def removed_paths(command: Command) -> list[str]:
    """The paths an ``rm`` command names (its options left out); none for any other command."""
    if command.name != "rm":
        return []
    return [w.value for w in command.args if not w.value.startswith("-")]


def removes_later(commands: list[Command], after: int, *prefixes: str) -> bool:
    """A later ``rm`` in the same RUN deletes a path at or under one of ``prefixes``."""
    for command in commands[after + 1 :]:
        for path in removed_paths(command):
            cleaned = path.rstrip("*").rstrip("/")
            if any(cleaned == p or cleaned.startswith(p + "/") or p.startswith(cleaned + "/") for p in prefixes):
                if cleaned and cleaned.count("/") >= 2:
                    return True
    return False


def runs_later(commands: list[Command], after: int, test: Callable[[Command], bool]) -> bool:
    """A command after position ``after`` in the same RUN passes ``test``."""
    return any(test(c) for c in commands[after + 1 :])


def command_index(commands: list[Command], invocation: Invocation) -> int:
    """Where ``invocation``'s command stands in the RUN's ``commands``; -1 when it is not among them."""
    for index, command in enumerate(commands):
        if command is invocation.command:
            return index
    return -1


def cache_mount_ends_with(instruction: Instruction, suffix: str) -> bool:
    """A cache or tmpfs mount whose target ends with ``suffix`` (the cache of any user's home)."""
    return any(m.type in ("cache", "tmpfs") and m.target.endswith(suffix) for m in run_mounts(instruction))
