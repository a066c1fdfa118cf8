"""How a finding names several things at once: a short list a reader takes in at a glance, a size, and
the one message for a command's unpinned packages."""

from __future__ import annotations

# How many names a message spells out before "and N more".
NAMES_SHOWN = 5
_MIB = 1024 * 1024


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


def pin_message(names: list[str], pin: str) -> str:
    """The one message for every unpinned name of one command (the problem is the command: one line
    per package buried real findings under thousands).

    ``pin`` spells how one name is pinned, ``{}`` standing for it (``"{}=<version>"``): a single
    name reads ``pin 'curl' with curl=<version>``, several ``pin 'curl' and 'git' with
    <package>=<version>``."""
    if len(names) == 1:
        return f"pin '{names[0]}' with {pin.format(names[0])}"
    return f"pin {listing(names)} with {pin.format('<package>')}"


def mebibytes(size: int) -> str:
    """``size`` bytes as ``12.3 MiB``, or ``40 KiB`` below a tenth of a MiB."""
    return f"{size / _MIB:.1f} MiB" if size >= _MIB / 10 else f"{size / 1024:.0f} KiB"
