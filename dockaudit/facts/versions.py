"""Version strings read as numbers, one way for every rule: CUDA (``12.4.1``), drivers (``535.104.05``),
Python (``3.11``), framework releases (``2.6.0+cu124``).  Only the digits count; what a version means
(which table row, which floor) stays with the rule that asks."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+")


def version_numbers(version: str, count: int | None = None) -> tuple[int, ...]:
    """The first ``count`` runs of digits in ``version`` (all of them when None), as ints:
    ``"535.104.05"`` → ``(535, 104, 5)``; ``"2.6.0+cu124", 2`` → ``(2, 6)``."""
    return tuple(int(n) for n in _NUMBER.findall(version)[:count])


def version_at_least(version: str, floor: tuple[int, ...]) -> bool:
    """``version`` has as many numbers as ``floor`` and is not below it (``"2.6"`` ≥ ``(2, 6)``;
    ``"2"`` is not: it does not say which 2.x)."""
    numbers = version_numbers(version, len(floor))
    return len(numbers) == len(floor) and numbers >= floor


def major_version(version: str | None) -> int | None:
    """The major of a dotted version (``"12.4"`` → 12); None when there is none or it does not start
    with a digit."""
    return int(version.split(".")[0]) if version and version[0].isdigit() else None


def major_minor(version: str) -> tuple[int, int]:
    """The first two parts of a dotted version (``"3.11.4"`` → ``(3, 11)``)."""
    major, minor = version.split(".")[:2]
    return int(major), int(minor)
