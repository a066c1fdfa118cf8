"""What a rule may look at: the tree, its stages and shell commands, the build context, options."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dockaudit.syntax.nodes import Dockerfile, Instruction
from dockaudit.syntax.shell import Command, run_commands
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage, build_stages


@dataclass(frozen=True)
class Options:
    """Settings that change what rules conclude (from the CLI or configuration)."""

    target: str | None = None  # the stage ``docker build --target`` names
    build_args: dict[str, str] = field(default_factory=dict)
    context_dir: Path | None = None
    trusted_registries: tuple[str, ...] = ()
    allowed_base_images: tuple[str, ...] = ()
    label_schema: dict[str, str] = field(default_factory=dict)
    min_driver: str | None = None


class LintContext:
    """One Dockerfile being linted, with derived views computed once and shared by all rules."""

    def __init__(self, dockerfile: Dockerfile, options: Options | None = None) -> None:
        self.dockerfile = dockerfile
        self.options = options or Options()
        self._commands: dict[int, list[Command]] = {}

    @property
    def path(self) -> str | None:
        return self.dockerfile.path

    @property
    def escape(self) -> str:
        return self.dockerfile.escape

    @cached_property
    def stages(self) -> list[Stage]:
        return build_stages(self.dockerfile, self.options.build_args)

    @cached_property
    def target_stage(self) -> Stage | None:
        """The stage that becomes the image: ``--target`` when given, else the last one."""
        if not self.stages:
            return None
        if self.options.target:
            wanted = self.options.target.lower()
            for stage in self.stages:
                if stage.name == wanted:
                    return stage
        return self.stages[-1]

    def stage_of(self, instruction: Instruction) -> Stage | None:
        return self._stage_by_instruction.get(id(instruction))

    @cached_property
    def _stage_by_instruction(self) -> dict[int, Stage]:
        found = {}
        for stage in self.stages:
            if stage.from_instruction is not None:
                found[id(stage.from_instruction)] = stage
            for instruction in stage.instructions:
                found[id(instruction)] = stage
        return found

    def commands(self, instruction: Instruction) -> list[Command]:
        """The shell view of a RUN (empty for other instructions), computed once."""
        key = id(instruction)
        found = self._commands.get(key)
        if found is None:
            found = run_commands(instruction)
            self._commands[key] = found
        return found

    def all_commands(self) -> list[tuple[Instruction, Command]]:
        return [(i, c) for i in self.dockerfile.instructions for c in self.commands(i)]

    def text(self, span: Span) -> str:
        return self.dockerfile.text(span)
