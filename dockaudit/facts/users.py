"""Who a ``USER`` instruction names: the user part of its value, and whether that is root."""

from __future__ import annotations

ROOT_USERS = frozenset({"root", "0"})


def user_name(value: str) -> str:
    """The user of a ``USER`` value without its group or quotes: ``'app:app'`` → ``app``."""
    return value.split(":", 1)[0].strip("'\"")
