"""Which files a run checks: the paths on the command line, and for a directory the Dockerfiles and
Compose files under it that no exclusion removes.

A directory scan skips, in this order of say:

* ``exclude`` (``--exclude``, else the configuration's ``exclude``, else ``DEFAULT_EXCLUDE``: VCS,
  virtualenv, cache and build folders, hidden folders) and ``extend-exclude`` (added to it) —
  gitignore-style globs relative to the configuration's folder (the working directory for flags);
* what the ``.gitignore`` files say (``respect-gitignore``, on by default): the scanned folders' own, and
  those of the folders above up to the top of the git repository that holds them;
* names that look like a Dockerfile but are not one: ``Dockerfile.dockerignore``, ``Dockerfile.md``,
  editor and patch leftovers (``*.bak``, ``*.orig``, ``*.rej``, ``*.swp``, ``*~`` …).

A path named on the command line is always checked, whatever the exclusions say (the user asked), unless
``force-exclude`` says the exclude globs apply to it too (pre-commit names every staged file itself).
Symlinked directories are not entered, a symlinked file counts only when it points inside the scanned
folder, and folders that cannot be read are reported and skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from dockaudit.files import COMPOSE_FILE_NAMES, InputError, is_dockerfile_name, read_regular_file, resolves_inside
from dockaudit.gitignore import Pattern, compile_patterns, decide
from dockaudit.records import field, record

DEFAULT_EXCLUDE = (
    ".git/", ".hg/", ".svn/", "node_modules/", "__pycache__/", ".venv/", "venv/", ".tox/", ".nox/", ".mypy_cache/",
    ".pytest_cache/", ".ruff_cache/", "site-packages/", "dist/", "build/", ".*/",
)  # fmt: skip
NOT_DOCKERFILE_SUFFIXES = (".dockerignore", ".md", ".rst", ".bak", ".orig", ".rej", ".swp", ".swo", ".tmp", "~")
MAX_GITIGNORE_BYTES = 1024 * 1024
MAX_PARENT_LEVELS = 64  # folders above a scanned one searched for the repository's top


def is_discovered_dockerfile(name: str) -> bool:
    """Whether a directory scan checks the file ``name``: a Dockerfile or Compose name that is not an
    ignore file, documentation or an editor/patch leftover (``Dockerfile.md``, ``Dockerfile~``)."""
    lower = name.lower()
    if lower.endswith(NOT_DOCKERFILE_SUFFIXES) or (lower.startswith(".#") or lower.startswith("#")):
        return False
    return is_dockerfile_name(name) or lower in COMPOSE_FILE_NAMES


@record(slots=False)
class Selection:
    """How directory scans choose files (see the module docstring)."""

    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    base: Path = field(default_factory=Path.cwd)  # the folder the exclude globs are relative to
    respect_gitignore: bool = True
    force_exclude: bool = False  # the exclude globs apply to files named on the command line too (pre-commit)


@record(frozen=False, slots=False)
class _Ignores:
    """The ``.gitignore`` pattern lists in force in one folder: (folder, patterns), outermost first."""

    levels: list[tuple[str, tuple[Pattern, ...]]]

    def excluded(self, path: str, is_dir: bool) -> bool:
        verdict = None
        for folder, patterns in self.levels:
            relative = os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/")
            level = decide(patterns, relative, is_dir)
            if level is not None:
                verdict = level  # a deeper .gitignore overrides a higher one
        return bool(verdict)


def _read_gitignore(folder: str, errors: list[InputError]) -> tuple[Pattern, ...]:
    path = os.path.join(folder, ".gitignore")
    if not os.path.lexists(path) or not resolves_inside(path, folder):
        return ()
    try:
        data = read_regular_file(path, MAX_GITIGNORE_BYTES)
    except InputError as error:
        errors.append(InputError(error.path, f"{error.reason}; not read (nothing it lists is excluded)"))
        return ()
    return compile_patterns(data.decode("utf-8", errors="replace").splitlines())


def _parent_ignores(directory: str, errors: list[InputError]) -> list[tuple[str, tuple[Pattern, ...]]]:
    """The .gitignore files above ``directory`` up to its repository's top (none outside a repository)."""
    parents = []
    current = os.path.abspath(directory)
    for _ in range(MAX_PARENT_LEVELS):
        if os.path.exists(os.path.join(current, ".git")):
            return [(folder, _read_gitignore(folder, errors)) for folder in reversed(parents)]
        parent = os.path.dirname(current)
        if parent == current:
            return []
        current = parent
        parents.append(current)
    return []


class Walker:
    """Directory scans under one ``Selection``."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.patterns = compile_patterns([*selection.exclude, *selection.extend_exclude])
        self.base = os.path.abspath(selection.base)

    def _anchor(self, directory: str) -> str:
        """The folder exclude globs are relative to for a scan of ``directory``: the base, or the
        scanned folder itself when it lies outside the base."""
        absolute = os.path.abspath(directory)
        inside = os.path.commonpath([absolute, self.base]) == self.base
        return self.base if inside else absolute

    def _excluded(self, path: str, is_dir: bool, anchor: str) -> bool:
        relative = os.path.relpath(os.path.abspath(path), anchor).replace(os.sep, "/")
        return relative != "." and bool(decide(self.patterns, relative, is_dir))

    def _root_excluded(self, directory: str, anchor: str) -> bool:
        """Whether the scanned folder, or a folder between it and the anchor, is excluded."""
        relative = os.path.relpath(os.path.abspath(directory), anchor).replace(os.sep, "/")
        if relative == ".":
            return False
        parts = relative.split("/")
        return any(decide(self.patterns, "/".join(parts[:depth]), True) for depth in range(1, len(parts) + 1))

    def excludes_named_file(self, path: str) -> bool:
        """Whether the exclude globs remove ``path`` (a file named on the command line), or a folder
        above it up to the base: for ``force_exclude``, as pre-commit names the files itself."""
        anchor = self._anchor(os.path.dirname(path) or ".")
        folder = os.path.dirname(path) or "."
        return self._root_excluded(folder, anchor) or self._excluded(path, False, anchor)

    def walk(self, directory: str, errors: list[InputError]) -> Iterator[str]:
        """The files a scan of ``directory`` checks, in a stable order."""
        directory = os.path.normpath(directory)
        root_real = os.path.realpath(directory)
        anchor = self._anchor(directory)
        if self._root_excluded(directory, anchor):
            return
        ignores: dict[str, _Ignores] = {}
        if self.selection.respect_gitignore:
            ignores[os.path.dirname(directory) or "."] = _Ignores(_parent_ignores(directory, errors))

        def unreadable(error: OSError) -> None:
            errors.append(InputError(error.filename or directory, f"{error.strerror or error}; skipped"))

        def skipped(path: str, is_dir: bool, here: _Ignores | None) -> bool:
            return self._excluded(path, is_dir, anchor) or (here is not None and here.excluded(path, is_dir))

        for root, dirs, files in os.walk(directory, onerror=unreadable, followlinks=False):
            here = self._ignores_here(root, ignores, errors)
            dirs[:] = sorted(d for d in dirs if not skipped(os.path.join(root, d), True, here))
            for name in sorted(files):
                path = os.path.join(root, name)
                if not is_discovered_dockerfile(name) or skipped(path, False, here):
                    continue
                if not os.path.islink(path) or (os.path.isfile(path) and resolves_inside(path, root_real)):
                    yield path

    def _ignores_here(self, root: str, ignores: dict[str, _Ignores], errors: list[InputError]) -> _Ignores | None:
        """The .gitignore lists in force in ``root``: its parent's, then its own."""
        if not self.selection.respect_gitignore:
            return None
        above = ignores.get(os.path.dirname(root) or ".", _Ignores([]))
        here = _Ignores([*above.levels, (root, _read_gitignore(root, errors))])
        ignores[root] = here
        return here


def expand_paths(paths: list[str], selection: Selection | None = None) -> tuple[list[str], set[str], list[InputError]]:
    """Files to lint from command-line paths (``-`` is stdin), the subset found by scanning folders
    (not named by the user), and the problems met (returned, not raised)."""
    walker = Walker(selection or Selection())
    files: list[str] = []
    discovered: set[str] = set()
    errors: list[InputError] = []
    for path in paths:
        if path == "-":
            files.append(path)
        elif os.path.isdir(path):
            found = list(walker.walk(path, errors))
            if not found:
                errors.append(InputError(path, "no Dockerfiles found in this directory"))
            files.extend(found)
            discovered.update(found)
        elif os.path.exists(path):
            if not (walker.selection.force_exclude and walker.excludes_named_file(path)):
                files.append(path)
        else:
            errors.append(InputError(path, "no such file or directory"))
    return files, discovered, errors
