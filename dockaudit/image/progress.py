"""A progress bar on standard error while an image's layers are read (layers, bytes unpacked).

Only on a terminal: a CI log, a pipe, a file or a test's captured output gets nothing, and neither
does a terminal a CI job runs in (``CI`` is set by GitHub, GitLab, Jenkins' plugins and most others)
or a ``TERM=dumb`` one.  It appears only once an image has taken ``DELAY`` seconds (a small image is read
before it would), is transient (erased when the image is read) and is redrawn only when ``read_image``
reports, which it does at each layer and every few MiB, never from a thread."""

from __future__ import annotations

import os
import time
from typing import Callable, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Column

from dockaudit.report import human_size

DELAY = 0.5  # seconds: shorter audits show no bar at all


class TerminalProgress:
    """One bar per image: which layer is being read, of how many, and how many bytes so far."""

    def __init__(self, stream: TextIO, delay: float = DELAY, clock: Callable[[], float] = time.monotonic) -> None:
        console = Console(file=stream, force_terminal=True)
        # what changes first, so that a long image reference is the part a narrow terminal cuts
        detail = TextColumn("{task.fields[detail]}", table_column=Column(no_wrap=True, min_width=22))
        name = TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis"))
        columns = (detail, BarColumn(bar_width=24, table_column=Column(no_wrap=True, min_width=24)), name)
        # (no redirection of sys.stdout/stderr: a report written meanwhile must reach its stream untouched)
        self._bar = Progress(*columns, console=console, transient=True, auto_refresh=False,
                             redirect_stdout=False, redirect_stderr=False)  # fmt: skip
        self._delay, self._clock = delay, clock
        self._task = None  # the bar's task once it is shown
        self._name, self._layers, self._since = "", 0, 0.0

    def start(self, name: str, layers: int) -> None:
        self._name, self._layers, self._since = name, layers, self._clock()

    def update(self, layer: int, unpacked: int) -> None:
        """``layer`` (0-based) is being read; ``unpacked`` bytes of the image's files read so far."""
        if self._task is None:
            if self._clock() - self._since < self._delay:
                return
            self._bar.start()
            self._task = self._bar.add_task(self._name, total=max(self._layers, 1), detail="")
        detail = f"layer {layer + 1}/{self._layers}  {human_size(unpacked)}"
        self._bar.update(self._task, completed=layer, detail=detail)
        self._bar.refresh()

    def finish(self) -> None:
        if self._task is not None:
            self._bar.stop()
            self._bar.remove_task(self._task)
            self._task = None


def progress_for(stream: TextIO) -> TerminalProgress | None:
    """A bar on ``stream`` if a person is watching it, else None (no progress output at all)."""
    if not _is_terminal(stream) or os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return None
    return TerminalProgress(stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
