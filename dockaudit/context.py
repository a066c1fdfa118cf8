"""What a Dockerfile rule may look at: the tree, its stages and shell commands, the build context,
options, and (through ``resources``) the knowledge tables, tools and the registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from dockaudit.facts.contextreads import ContextReads
from dockaudit.facts.dockerignore import IgnorePattern
from dockaudit.facts.installs import Invocation, invocations
from dockaudit.facts.resources import Resources
from dockaudit.records import field, record
from dockaudit.syntax.nodes import Dockerfile, Instruction
from dockaudit.syntax.shell import Command, run_commands
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage, build_stages

if TYPE_CHECKING:
    from dockaudit.facts.knowledge import Knowledge

T = TypeVar("T")


@record(slots=False)
class Options:
    """Settings that change what rules conclude (from the CLI or configuration)."""

    target: str | None = None  # the stage ``docker build --target`` names
    build_args: dict[str, str] = field(default_factory=dict)
    context_dir: Path | None = None
    use_context: bool = True  # False: never read the build context, even next to the Dockerfile
    trusted_registries: tuple[str, ...] = ()
    allowed_base_images: tuple[str, ...] = ()
    label_schema: dict[str, str] = field(default_factory=dict)
    strict_labels: bool = False  # labels outside label_schema are findings too (hadolint's strict-labels)
    min_driver: str | None = None
    gpus: tuple[str, ...] = ()  # the fleet's GPUs (config ``gpus``): model names or sm_XY
    gpu_segment: str | None = None  # config ``gpu-segment``: for fleet entries the GPU table cannot place
    as_of: date | None = None  # the day end-of-life rules judge by (default: today; tests pin it)
    image_budget: tuple[float | None, float | None] | None = None  # (image MiB, layer MiB) for DA805
    online: bool = False  # --online: rules may ask registries (tag digests for DA201-DA203 fixes)

    @property
    def fleet_driver(self) -> str | None:
        """``min_driver`` when it reads as a driver version (535.104.05); None when unset or not one."""
        driver = self.min_driver
        return driver if driver and all(part.isascii() and part.isdigit() for part in driver.split(".")) else None


class LintContext:
    """One Dockerfile being linted, with derived views computed once and shared by all rules."""

    def __init__(self, dockerfile: Dockerfile, options: Options | None = None,
                 resources: Resources | None = None) -> None:  # fmt: skip
        self.dockerfile = dockerfile
        self.options = options or Options()
        self.resources = resources or Resources(online=self.options.online)
        self._commands: dict[Instruction, list[Command]] = {}
        self._invocations: dict[Instruction, list[Invocation]] = {}
        self._derived: dict[str, object] = {}
        self.reads = self.resources.reads or ContextReads()

    @property
    def path(self) -> str | None:
        return self.dockerfile.path

    @cached_property
    def knowledge(self) -> Knowledge:
        """The knowledge tables (CUDA, frameworks, bases, EOL), as ``resources`` provides them."""
        return self.resources.knowledge()

    @property
    def escape(self) -> str:
        return self.dockerfile.escape

    @cached_property
    def stages(self) -> list[Stage]:
        return build_stages(self.dockerfile, self.options.build_args)

    @cached_property
    def _first_stage_named(self) -> dict[str, int]:
        first: dict[str, int] = {}
        for stage in self.stages:
            if stage.name:
                first.setdefault(stage.name, stage.index)
        return first

    def names_earlier_stage(self, index: int, name: str) -> bool:
        """Whether ``name`` (a FROM image or ``--from``) is a stage defined before stage ``index``.

        A lookup, not a scan of the earlier stages: generated files with thousands of stages exist.
        """
        first = self._first_stage_named.get(name.lower())
        return first is not None and first < index

    def earlier_stage(self, index: int, name: str) -> Stage | None:
        """The stage before stage ``index`` that ``name`` (``COPY --from``'s alias or index) names; None
        for an image (or a name no earlier stage has)."""
        if name.isdigit():
            number = int(name)
            return self.stages[number] if number < index else None
        return self.stages[self._first_stage_named[name.lower()]] if self.names_earlier_stage(index, name) else None

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

    @cached_property
    def image_stages(self) -> list[Stage]:
        """The stages whose layers end up in the image: the target stage and those it is built FROM."""
        return self.target_stage.ancestry() if self.target_stage else []

    @cached_property
    def build_context(self) -> Path | None:
        """The build context directory: ``--context``, else the Dockerfile's directory when it is on disk."""
        if not self.options.use_context:
            return None
        if self.options.context_dir is not None:
            return self.options.context_dir
        if self.path and self.path != "-":
            folder = Path(self.path).parent
            if folder.is_dir():
                return folder
        return None

    @cached_property
    def dockerignore(self) -> list[IgnorePattern] | None:
        """The build context's ignore patterns; None when there is no context or no ignore file."""
        if self.build_context is None:
            return None
        return self.reads.dockerignore(self.build_context, self._dockerfile_path)

    @property
    def _dockerfile_path(self) -> Path | None:
        return Path(self.path) if self.path and self.path != "-" else None

    @cached_property
    def context_files(self) -> list[str]:
        """Files the build context sends (``.dockerignore`` applied), relative with ``/``; capped."""
        root = self.build_context
        return [] if root is None else self.reads.listing(root, self._dockerfile_path)

    def context_file(self, container_path: str) -> Path | None:
        """The build-context file a path inside the image most likely came from.

        ``pip install -r /app/requirements/prod.txt`` after ``COPY . /app``: try
        ``app/requirements/prod.txt``, ``requirements/prod.txt``, ``prod.txt`` in the context.
        """
        root = self.build_context
        if root is None or not container_path or "$" in container_path:
            return None
        parts = [p for p in container_path.replace("\\", "/").split("/") if p not in ("", ".")]
        for start in range(len(parts)):
            if ".." in parts[start:]:
                continue
            candidate = root.joinpath(*parts[start:])
            if self.reads.is_inside(candidate, root):
                return candidate  # (a symlink out of the context is not followed: BuildKit sends the link)
        return None

    def stage_of(self, instruction: Instruction) -> Stage | None:
        return self._stage_by_instruction.get(instruction)

    @cached_property
    def _stage_by_instruction(self) -> dict[Instruction, Stage]:
        # Instructions hash by identity: keyed by the node itself (an id() key is another int a line).
        found = {}
        for stage in self.stages:
            if stage.from_instruction is not None:
                found[stage.from_instruction] = stage
            for instruction in stage.instructions:
                found[instruction] = stage
        return found

    def commands(self, instruction: Instruction) -> list[Command]:
        """The shell view of a RUN (empty for other instructions), computed once."""
        found = self._commands.get(instruction)
        if found is None:
            found = run_commands(instruction)
            self._commands[instruction] = found
        return found

    def invocations(self, instruction: Instruction) -> list[Invocation]:
        """The package-manager calls of a RUN, computed once."""
        found = self._invocations.get(instruction)
        if found is None:
            found = invocations(self.commands(instruction))
            self._invocations[instruction] = found
        return found

    def derived(self, key: str, build: Callable[[], T]) -> T:
        """A view a rule pack derives from this file (ML facts …), built once and shared by its rules."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]  # type: ignore[return-value]

    def instructions_and_triggers(self) -> Iterator[Instruction]:
        """Every instruction, each ONBUILD's trigger right after the ONBUILD that holds it."""
        for instruction in self.dockerfile.instructions:
            yield instruction
            if instruction.trigger is not None:
                yield instruction.trigger

    def all_commands(self) -> list[tuple[Instruction, Command]]:
        return [(i, c) for i in self.dockerfile.instructions for c in self.commands(i)]

    def text(self, span: Span) -> str:
        return self.dockerfile.text(span)
