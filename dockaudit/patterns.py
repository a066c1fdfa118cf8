"""Module-level regular expressions compiled when first used, not when their module is imported.

Most of the ~160 patterns the rule pack and the facts define are never used linting a given
Dockerfile (image, Compose, requirements or conda patterns, rules a file never reaches), and
compiling them all at import was a fifth of a one-file run's start-up (issue 21).

``lazy_pattern(source, flags)`` stands in for ``re.compile(source, flags)`` at module level.  The
first method or attribute read compiles the pattern and stores what was read on the stand-in, so
every later ``PATTERN.match(...)`` is one instance-dict lookup, as cheap as on a compiled pattern.
"""

from __future__ import annotations

import re


class LazyPattern:
    """A ``re.Pattern`` compiled on first use; reads the compiled pattern's methods and attributes."""

    def __init__(self, source: str, flags: int = 0) -> None:
        self.pattern = source  # readable without compiling (patterns built from other patterns)
        self._flags = flags

    def __getattr__(self, name: str):
        # Only reached for names not stored yet: dunders (copy, pickle probes) stay the class's own.
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self.compiled(), name)
        setattr(self, name, value)
        return value

    def compiled(self) -> re.Pattern:
        """The compiled pattern (re's cache keeps one per source and flags)."""
        return re.compile(self.pattern, self._flags)

    def __repr__(self) -> str:
        return f"lazy_pattern({self.pattern!r}, {self._flags})"


def lazy_pattern(source: str, flags: int = 0) -> LazyPattern:
    """``re.compile(source, flags)``, deferred until the pattern is first used."""
    return LazyPattern(source, flags)
