"""conda ``environment.yml`` files: the ``dependencies`` list and its nested ``pip:`` list.

Only the part dockaudit needs is read, line by line (block lists of plain or quoted
scalars, comments, any indentation); flow-style lists (``[a, b]``) are read too. A file
that is not shaped like this yields nothing rather than a guess.
"""

from __future__ import annotations

import re
from pathlib import Path

from dockaudit.files import InputError, read_regular_file
from dockaudit.patterns import lazy_pattern
from dockaudit.records import record

MAX_ENVIRONMENT_BYTES = 1024 * 1024  # real environment files are a few KiB
# The value runs from its first to its last non-space (no lazy ".*?\s*$": quadratic on a long line).
_KEY = lazy_pattern(r"^(\s*)([A-Za-z_][\w-]*)\s*:\s*((?:\S(?:.*\S)?)?)")
_ITEM = lazy_pattern(r"^(\s*)-\s*((?:\S(?:.*\S)?)?)")


@record
class CondaEnvironment:
    conda: tuple[str, ...]  # "python=3.10", "pytorch=2.1.0", "pip"
    pip: tuple[str, ...]  # "transformers==4.30.0", "-r requirements.txt"
    python: str | None  # "3.10"


def _scalar(text: str) -> str:
    text = re.sub(r"\s+#.*$", "", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _flow(text: str) -> list[str]:
    inner = text.strip()[1:-1]
    return [_scalar(part) for part in inner.split(",") if part.strip()]


def parse_environment(text: str) -> CondaEnvironment:
    conda: list[str] = []
    pip: list[str] = []
    section_indent: int | None = None  # indent of "dependencies:"
    pip_indent: int | None = None  # indent of the "- pip:" item
    for raw in text.splitlines():
        line = raw.split("\t", 1)[0] if raw.strip().startswith("#") else raw
        if not line.strip() or line.strip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        key = _KEY.match(line)
        if key and not line.lstrip().startswith("-"):
            if indent == 0:
                section_indent = 0 if key.group(2) == "dependencies" else None
                pip_indent = None
                if section_indent == 0 and key.group(3).startswith("["):
                    conda.extend(_flow(key.group(3)))
            continue
        item = _ITEM.match(line)
        if section_indent is None or item is None:
            continue
        value = item.group(2)
        if pip_indent is not None and indent > pip_indent:
            pip.extend(_flow(value) if value.startswith("[") else [_scalar(value)])
            continue
        pip_indent = None
        nested = re.match(r"^pip\s*:\s*(.*)$", value)
        if nested:
            pip_indent = indent
            if nested.group(1).startswith("["):
                pip.extend(_flow(nested.group(1)))
            continue
        conda.append(_scalar(value))
    python = next((m.group(1) for d in conda if (m := re.match(r"^python\s*(?:[=<>]+\s*)?(\d+\.\d+)", d))), None)
    return CondaEnvironment(tuple(conda), tuple(p for p in pip if p), python)


def read_environment(path: Path) -> CondaEnvironment | None:
    """The file's environment; None when it is not a regular file or is over ``MAX_ENVIRONMENT_BYTES``."""
    try:
        return parse_environment(read_regular_file(path, MAX_ENVIRONMENT_BYTES).decode("utf-8", errors="replace"))
    except InputError:
        return None
