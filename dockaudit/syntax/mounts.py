"""``RUN --mount=…`` options, read as BuildKit's CSV form (``type=cache,target=/root/.cache/pip``)."""

from __future__ import annotations

from dockaudit.records import record
from dockaudit.syntax.nodes import Instruction


@record
class RunMount:
    type: str  # "bind" (BuildKit's default), "cache", "tmpfs", "secret", "ssh"
    target: str
    options: tuple[tuple[str, str], ...]

    def option(self, name: str) -> str | None:
        return next((v for k, v in self.options if k == name), None)


def run_mounts(instruction: Instruction) -> list[RunMount]:
    target = instruction.trigger or instruction
    mounts = []
    for flag in target.flags:
        if flag.name != "mount" or not flag.value:
            continue
        import csv  # BuildKit splits --mount as CSV; most files have no --mount, so csv loads here

        try:
            fields = next(csv.reader([flag.value]), [])
        except csv.Error:
            continue
        pairs = []
        for field in fields:
            key, _eq, value = field.partition("=")
            pairs.append((key.strip().lower(), value.strip()))
        options = tuple(pairs)
        kind = next((v for k, v in options if k == "type"), "bind").lower()
        where = next((v for k, v in options if k in ("target", "dst", "destination")), "")
        mounts.append(RunMount(kind, where.rstrip("/") or where, options))
    return mounts


def caches_path(instruction: Instruction, *paths: str) -> bool:
    """True when a cache or tmpfs mount covers any of ``paths`` (the mount at or above it)."""
    for mount in run_mounts(instruction):
        if mount.type not in ("cache", "tmpfs") or not mount.target:
            continue
        for path in paths:
            if path == mount.target or path.startswith(mount.target + "/"):
                return True
    return False
