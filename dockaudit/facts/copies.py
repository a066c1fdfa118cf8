"""What COPY and ADD take from the build context: each source word, quotes removed."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.records import record
from dockaudit.syntax.mounts import run_mounts
from dockaudit.syntax.nodes import Arg, Dockerfile, Instruction

if TYPE_CHECKING:
    from dockaudit.context import LintContext

# Sources that mean "the whole build context".
WHOLE_CONTEXT = frozenset({".", "./", "*", "./*", "/", "./."})


@record
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


def _absolute(path: str, workdir: str) -> str:
    """``path`` as the image sees it, relative ones joined to the WORKDIR in force."""
    return posixpath.normpath(posixpath.join(workdir, path.strip("'\"")))


def copied_context_file(ctx: LintContext, instruction: Instruction, container_path: str) -> Path | None:
    """The build-context file behind a path a RUN names (``pip install -r /app/req/prod.txt``).

    A bind mount of the context on the RUN itself answers first. Then the COPY/ADD instructions of the
    RUN's stage that ran before it, latest first, with
    the WORKDIRs in force: ``COPY backend/requirements.txt /app/`` makes ``/app/requirements.txt``
    mean ``backend/requirements.txt``, not a ``requirements.txt`` at the context root.  When no COPY
    of this stage delivers the path (it came with ``COPY . .`` through a parent, or through a
    variable), ``ctx.context_file``'s guess by path suffix is the answer.  Only files inside the
    context count."""
    root = ctx.build_context
    stage = ctx.stage_of(instruction)
    if root is None or stage is None or not container_path or "$" in container_path:
        return ctx.context_file(container_path)
    workdir = "/"
    copies: list[tuple[Instruction, str]] = []  # each context COPY with its destination, absolute
    for earlier in stage.instructions:
        if earlier is instruction:
            break
        if earlier.name == "WORKDIR" and earlier.args:
            workdir = _absolute(earlier.args[0].value, workdir)
        elif earlier.name in ("COPY", "ADD") and earlier.flag("from") is None and len(earlier.args) >= 2:
            copies.append((earlier, workdir))
    wanted = _absolute(container_path, workdir)
    mounted = _bind_mounted(instruction, workdir, wanted, root)
    if mounted is not None:
        return mounted if ctx.reads.is_inside(mounted, root) else None
    for copy, at in reversed(copies):
        candidate = _delivered_by(copy, at, wanted, root)
        if candidate is not None:
            return candidate if ctx.reads.is_inside(candidate, root) else None  # the latest COPY to that path wins
    return ctx.context_file(container_path)


def _bind_mounted(run: Instruction, workdir: str, wanted: str, root: Path) -> Path | None:
    """``RUN --mount=type=bind,source=requirements.txt,target=/tmp/req.txt``: the context file the RUN
    itself mounts at ``wanted`` (mounts from another stage or image are not the context)."""
    for mount in run_mounts(run):
        if mount.type != "bind" or mount.option("from") or not mount.target:
            continue
        source = (mount.option("source") or mount.option("src") or ".").strip("'\"")
        target = _absolute(mount.target, workdir)
        parts = [p for p in source.split("/") if p not in ("", ".")]
        if wanted == target:
            return root.joinpath(*parts)
        if wanted.startswith(target.rstrip("/") + "/"):
            return root.joinpath(*parts, posixpath.relpath(wanted, target))
    return None


def _delivered_by(copy: Instruction, workdir: str, wanted: str, root: Path) -> Path | None:
    """The context path ``copy`` puts at ``wanted``, or None when it puts nothing there."""
    sources = [arg.value.strip("'\"") for arg in copy.args[:-1]]
    raw_destination = copy.args[-1].value.strip("'\"")
    destination = _absolute(raw_destination, workdir)
    into_folder = raw_destination.endswith("/") or len(sources) > 1
    for source in sources:
        if "$" in source or "://" in source or any(c in source for c in "*?["):
            continue
        inside = posixpath.relpath(wanted, destination) if wanted.startswith(destination.rstrip("/") + "/") else None
        if source in WHOLE_CONTEXT or (root / source).is_dir():
            if inside is not None:  # a folder's contents land in the destination
                return root.joinpath(*[p for p in source.split("/") if p not in ("", ".")], inside)
            continue
        if into_folder and inside == posixpath.basename(source):
            return root / source
        if not into_folder and wanted == destination:
            return root / source
    return None
