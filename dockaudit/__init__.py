"""dockaudit: a Dockerfile and container-image auditor for AI/ML containers.

Public API::

    import dockaudit
    tree = dockaudit.parse(text, path=None)      # lossless tree; raises DockerfileSyntaxError
    findings = dockaudit.lint("Dockerfile")      # a path, or Dockerfile text
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from dockaudit.context import Options
    from dockaudit.model import Finding
    from dockaudit.syntax.nodes import Dockerfile


def parse(text: str | bytes, path: str | None = None) -> Dockerfile:
    """Parse Dockerfile text into its lossless tree (``tree.to_source() == text``)."""
    from dockaudit.syntax.parser import parse as parse_text

    return parse_text(text, path)


def lint(path_or_text: str | bytes, config: Options | None = None, select: list[str] | None = None) -> list[Finding]:
    """Lint a Dockerfile given as a path or as its text; a parse error is a DA001 finding.

    A string that names an existing file is read as a path; anything else is text.
    """
    import os

    from pathlib import Path

    from dockaudit.files import is_compose_file
    from dockaudit.linting.engine import lint_source, load_rules, select_rules

    path = None
    data: str | bytes = path_or_text
    if isinstance(path_or_text, str) and "\n" not in path_or_text and os.path.isfile(path_or_text):
        path = path_or_text
        with open(path, "rb") as handle:
            data = handle.read()
    rules = select_rules(load_rules(), select=select or ())
    if path is not None and is_compose_file(path):
        from dockaudit.compose.lint import lint_compose

        results = lint_compose([Path(path)], rules, config)
        return sorted((f for r in results for f in r.findings), key=lambda f: f.sort_key())
    return lint_source(data, path, rules, config).findings


__all__ = ["__version__", "lint", "parse"]
