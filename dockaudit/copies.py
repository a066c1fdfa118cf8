"""What COPY and ADD take from the build context: each source word, quotes removed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from dockaudit.syntax.nodes import Arg, Dockerfile, Instruction

# Sources that mean "the whole build context".
WHOLE_CONTEXT = frozenset({".", "./", "*", "./*", "/", "./."})


@dataclass(frozen=True, slots=True)
class ContextSource:
    instruction: Instruction  # the COPY/ADD (the ONBUILD trigger when it is one)
    arg: Arg
    path: str  # the source as written, quotes removed

    @property
    def whole_context(self) -> bool:
        return self.path in WHOLE_CONTEXT


def context_sources(dockerfile: Dockerfile) -> Iterator[ContextSource]:
    """Sources of COPY/ADD that come from the build context (not ``--from`` a stage or image, not URLs)."""
    for instruction in dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name not in ("COPY", "ADD") or target.flag("from") is not None or len(target.args) < 2:
            continue
        for arg in target.args[:-1]:
            path = arg.value.strip("'\"")
            if "://" not in path and not path.startswith("git@"):
                yield ContextSource(target, arg, path)
