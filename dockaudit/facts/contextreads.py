"""What a lint reads of the build context, each answer computed once.

Rules ask the same questions of the file system many times over (is ``app/requirements.txt`` a file
inside the context? what does it require?), and a language server re-lints a document on every
edit while its folder stays the same.  A ``ContextReads`` answers each question once: one lint has a
fresh one (``LintContext`` makes it) unless its caller passes one: ``dockaudit check`` shares one between
the files of one folder linted one after another (each listing its folder again was ~7% of a corpus
run), and ``dockaudit lsp`` keeps one across lints until a file may have changed (a save, a
watched-file event, new settings, or a few seconds passing).

Answers depend on the file system only, never on the Dockerfile being linted, so they can be shared
between lints; what they return is never mutated by their readers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from dockaudit.facts.dockerignore import IgnorePattern
    from dockaudit.facts.requirements import RequirementsFile

T = TypeVar("T")
CONTEXT_FILE_LIMIT = 50_000  # stop listing a huge build context; rules then judge what they saw
CONTEXT_ENTRY_LIMIT = 500_000  # entries looked at, ignored ones included: a `!` pattern stops the pruning


class ContextReads:
    def __init__(self) -> None:
        self._answers: dict[tuple, object] = {}

    def _once(self, key: tuple, compute: Callable[[], T]) -> T:
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]  # type: ignore[return-value]

    def is_inside(self, candidate: Path, root: Path) -> bool:
        """Whether ``candidate`` is a regular file that, links resolved, lies inside the context
        ``root`` (BuildKit sends a link out of the context as the link, not its target)."""
        return self._once(
            ("inside", candidate, root), lambda: candidate.is_file() and candidate.resolve().is_relative_to(root.resolve())
        )

    def requirements(self, path: Path, root: Path | None) -> RequirementsFile:
        """``path`` read as a requirements file, its ``-r`` includes resolved inside ``root``."""
        from dockaudit.facts.requirements import read_requirements_file

        return self._once(("requirements", path, root), lambda: read_requirements_file(path, root))

    def dockerignore(self, root: Path, dockerfile: Path | None) -> list[IgnorePattern] | None:
        """The context's ignore patterns for this Dockerfile (``read_dockerignore``)."""
        from dockaudit.facts.dockerignore import read_dockerignore

        return self._once(("dockerignore", root, dockerfile), lambda: read_dockerignore(root, dockerfile))

    def listing(self, root: Path, dockerfile: Path | None) -> list[str]:
        """The files the build context sends (its ignore file applied), relative with ``/``; capped.
        Dockerfiles whose context ignores the same patterns share one listing."""
        patterns = tuple(self.dockerignore(root, dockerfile) or ())
        return self._once(("listing", root, patterns), lambda: _list_context(root, list(patterns)))


def _list_context(root: Path, patterns: list[IgnorePattern] | None) -> list[str]:
    from dockaudit.facts.dockerignore import is_ignored

    patterns = patterns or []
    can_reinclude = any(p.exclusion for p in patterns)
    found: list[str] = []
    looked_at = 0
    for folder, dirs, files in os.walk(root):  # symlinked directories are not followed
        looked_at += len(dirs) + len(files)
        if looked_at > CONTEXT_ENTRY_LIMIT:
            return found
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        if not can_reinclude:
            dirs[:] = [d for d in dirs if not is_ignored(prefix + d, patterns)]
        for name in files:
            if not is_ignored(prefix + name, patterns):
                found.append(prefix + name)
                if len(found) >= CONTEXT_FILE_LIMIT:
                    return found
    return found
