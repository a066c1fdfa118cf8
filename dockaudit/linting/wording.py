"""How a finding names several things at once: a short list a reader takes in at a glance."""

from __future__ import annotations

# How many names a message spells out before "and N more".
NAMES_SHOWN = 5


def listing(names: list[str], quoted: bool = True) -> str:
    """``'a'``, ``'a' and 'b'``, ``'a', 'b', 'c', 'd', 'e' and 3 more``; quoting left to the caller
    when ``quoted`` is false (names that carry a note: ``'flask' (line 3)``)."""
    shown = [f"'{name}'" if quoted else name for name in names[:NAMES_SHOWN]]
    rest = len(names) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"
