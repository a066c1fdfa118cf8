"""pip requirement specifiers and requirement files, as pip reads them.

Used on the command line (``pip install 'torch>=2,<2.2'``) and for files in the
build context (``-r requirements.txt`` with nested ``-r``/``-c`` and ``--hash``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.facts.copies import copied_context_file
from dockaudit.files import InputError, read_regular_file
from dockaudit.patterns import lazy_pattern
from dockaudit.records import record

if TYPE_CHECKING:
    from dockaudit.context import LintContext
    from dockaudit.facts.installs import Invocation, Option
    from dockaudit.syntax.nodes import Instruction

_NAME = lazy_pattern(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$", re.DOTALL)
_EXACT = lazy_pattern(r"(?:===|==)\s*[^,;*\s]+(?:\s*[;,]|\s*$)")
_ANY_SPEC = lazy_pattern(r"(?:===|==|~=|!=|<=|>=|<|>)")
_ARCHIVE = (".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar")
_MAX_DEPTH = 10  # nested -r files
MAX_REQUIREMENTS_BYTES = 4 * 1024 * 1024  # a pip-compile file with hashes for a large ML stack is ~1 MiB


@record
class Requirement:
    text: str  # as written
    name: str | None  # normalised project name; None for paths, URLs and editable installs
    specifier: str  # "==2.1.0", ">=2,<2.2", "" …
    local: bool  # a path, archive, URL or VCS link: nothing on an index to pin
    vcs_ref: str | None = None  # the ``@ref`` of a ``git+…`` URL
    is_vcs: bool = False
    hashed: bool = False
    line: int = 0  # in its file, when read from one
    file: Path | None = None

    @property
    def exact(self) -> bool:
        """Pinned to one version (``==`` without a wildcard, or ``===``)."""
        return bool(_EXACT.search(self.specifier)) or self.hashed

    @property
    def constrained(self) -> bool:
        """Any version specifier at all: ``>=2``, ``~=1.4``, ``==2.*`` …"""
        return bool(_ANY_SPEC.search(self.specifier)) or self.hashed

    @property
    def version(self) -> str | None:
        """The exact version when pinned: ``2.1.0+cu121`` for ``torch==2.1.0+cu121``."""
        match = re.search(r"===?\s*([^,;\s]+)", self.specifier)
        return match.group(1) if match else None


def normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text: str) -> Requirement:
    """One requirement as written on a command line or a requirements line (options stripped)."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered.startswith(("git+", "hg+", "svn+", "bzr+")) or " @ git+" in lowered or "@git+" in lowered:
        url = stripped.split("@", 1)[1].strip() if not lowered.startswith(("git+", "hg+", "svn+", "bzr+")) else stripped
        return Requirement(text, None, "", True, _vcs_ref(url), True)
    if "://" in stripped or stripped.startswith((".", "/", "~")) or lowered.endswith(_ARCHIVE) or "/" in stripped:
        return Requirement(text, None, "", True)
    match = _NAME.match(stripped)
    if not match:
        return Requirement(text, None, "", True)
    name, _extras, rest = match.groups()
    rest = rest.split(";", 1)[0].strip()
    if rest.startswith("@"):  # name @ https://…
        return Requirement(text, normalise_name(name), "", True)
    return Requirement(text, normalise_name(name), rest, False)


def _vcs_ref(url: str) -> str | None:
    """``git+https://host/repo.git@v1.2#egg=x`` → ``v1.2``; None when no ref is given."""
    body = url.split("#", 1)[0]
    scheme_end = body.find("://")
    path = body[scheme_end + 3 :] if scheme_end != -1 else body
    host_and_path = path.split("/", 1)
    tail = host_and_path[1] if len(host_and_path) == 2 else ""
    if "@" in tail:
        return tail.rsplit("@", 1)[1] or None
    return None


@record
class RequirementsFile:
    path: Path
    requirements: tuple[Requirement, ...]
    constraints: tuple[Path, ...]  # -c files met while reading (they pin what they name)
    missing: tuple[str, ...]  # -r/-c files named but not found


def read_requirements_file(
    path: Path, root: Path | None = None, _depth: int = 0, _seen: frozenset[Path] = frozenset()
) -> RequirementsFile:
    """Read ``path`` and the files it includes with ``-r``; ``-c`` files are noted, not expanded.

    With ``root`` (the build context), an include that resolves outside it counts as missing: the build
    cannot see it either, and a linted pull request must not make CI read files elsewhere."""
    requirements: list[Requirement] = []
    constraints: list[Path] = []
    missing: list[str] = []
    try:  # a FIFO or a link to /dev/zero must neither block nor fill memory
        text = read_regular_file(path, MAX_REQUIREMENTS_BYTES).decode("utf-8", errors="replace")
    except InputError:
        return RequirementsFile(path, (), (), (str(path),))
    for line_number, line in _logical_lines(text):
        words = line.split()
        if not words:
            continue
        head = words[0]
        option, eq, attached = head.partition("=")
        value = attached if eq else (words[1] if len(words) > 1 else "")
        if option in ("-r", "--requirement", "-c", "--constraint"):
            nested = (path.parent / value).resolve() if value else None
            if (
                nested is None
                or not nested.is_file()
                or (root is not None and not nested.is_relative_to(root.resolve()))
            ):
                missing.append(value)
            elif option in ("-c", "--constraint"):
                constraints.append(nested)
            elif nested not in _seen and _depth < _MAX_DEPTH:
                inner = read_requirements_file(nested, root, _depth + 1, _seen | {path.resolve()})
                requirements.extend(inner.requirements)
                constraints.extend(inner.constraints)
                missing.extend(inner.missing)
            continue
        if option in ("-e", "--editable"):
            requirements.append(Requirement(line, None, "", True, line=line_number, file=path))
            continue
        if head.startswith("-"):
            continue  # --index-url, --extra-index-url, -f, --pre …
        hashed = "--hash" in line
        requirement_text = line.split(" --", 1)[0]
        parsed = parse_requirement(requirement_text)
        requirements.append(
            Requirement(
                parsed.text.strip(), parsed.name, parsed.specifier, parsed.local, parsed.vcs_ref, parsed.is_vcs,
                hashed, line_number, path,
            )
        )  # fmt: skip
    return RequirementsFile(path, tuple(requirements), tuple(constraints), tuple(missing))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with comments removed and ``\\`` continuations joined, each with its first line number."""
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append((start, (pending + line).strip()))
        pending = ""
    if pending:
        lines.append((start, pending.strip()))
    return lines


def constrained_names(paths: tuple[Path, ...]) -> set[str]:
    """The project names pinned by constraint files."""
    names: set[str] = set()
    for path in paths:
        for requirement in read_requirements_file(path).requirements:
            if requirement.name and requirement.constrained:
                names.add(requirement.name)
    return names


def requirement_files(
    ctx: LintContext, instruction: Instruction, invocation: Invocation
) -> Iterator[tuple[Option, RequirementsFile]]:
    """Each ``-r`` file of a pip/uv install, read from the build context where the stage's COPYs
    took it from (the one reader for every rule that looks inside requirement files)."""
    for option in invocation.options:
        if option.name not in ("-r", "--requirement") or not option.value:
            continue
        found = copied_context_file(ctx, instruction, option.value)
        if found is not None:
            yield option, ctx.reads.requirements(found, ctx.build_context)
