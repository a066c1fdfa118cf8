"""What a rule may use beyond the input it is given: the knowledge tables, capped file reads, the tools
it runs (shellcheck, git) and the registry.  One door, carried by every rule context
(``LintContext``, ``ComposeContext``, ``ImageContext``), so a test swaps one object and a rule has no
way to the file system, a subprocess or the network that the run did not hand it.

The registry answers only when the run is ``--online``; offline, every lookup is None (no fix, no wait).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockaudit.records import field, record

if TYPE_CHECKING:
    from dockaudit.facts.contextreads import ContextReads
    from dockaudit.facts.knowledge import Knowledge

TOOL_SECONDS = 10.0  # one tool run: a lint must not hang on a wedged shellcheck or git


@record(slots=False)
class ToolRun:
    """What a finished tool run said."""

    returncode: int
    stdout: bytes
    stderr: bytes


@record(slots=False)
class Resources:
    """The shipped implementation: the installed tables, the local disk, local tools, and the registry
    when ``online``.  Subclass (or pass another object with these methods) to swap any of them."""

    online: bool = False
    # The build context's answers, kept across lints by a caller that knows when files change (the
    # language server); None: each lint reads afresh.
    reads: ContextReads | None = field(default=None, compare=False, repr=False)

    def knowledge(self) -> Knowledge:
        from dockaudit.facts.knowledge import load_knowledge

        return load_knowledge()

    def read_file(self, path: object, limit: int, label: str | None = None) -> bytes:
        """A regular file's bytes, at most ``limit``; ``InputError`` for anything else (FIFO, device,
        link out, too large) — the reader every planted file goes through."""
        from dockaudit.files import read_regular_file

        return read_regular_file(path, limit, label=label)

    def run_tool(self, argv: Sequence[str], stdin: bytes | None = None, seconds: float = TOOL_SECONDS) -> ToolRun | None:
        """``argv`` run to completion with its output captured; None when it cannot start or overruns."""
        import subprocess  # only for the rare runs that need it: a pre-commit run saves the import

        try:
            done = subprocess.run(list(argv), input=stdin, capture_output=True, timeout=seconds, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return ToolRun(done.returncode, done.stdout, done.stderr)

    def tag_digest(self, image: str) -> str | None:
        """The registry's digest for ``image``'s tag (``--online`` only)."""
        if not self.online:
            return None
        from dockaudit.facts.online import tag_digest

        return tag_digest(image)

    def version_tag(self, image: str) -> str | None:
        """The version tag that points where ``image``'s ``latest`` does (``--online`` only)."""
        if not self.online:
            return None
        from dockaudit.facts.online import version_tag

        return version_tag(image)
