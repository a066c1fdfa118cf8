"""Printing to standard output and error as ``click.echo`` does, without importing click: a plain
``dockaudit FILE`` never loads click (issue 21), and its reports and messages must print alike."""

from __future__ import annotations

import sys


def echo(text: str = "", nl: bool = True, err: bool = False) -> None:
    """``text`` (and a newline) on standard output, or standard error with ``err``, flushed."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no console (pythonw, a closed descriptor): click.echo prints nothing either
        return
    if nl:
        text += "\n"
    try:
        stream.write(text)
    except UnicodeEncodeError:  # an ASCII-only locale: write UTF-8, as click does for such a stream
        stream.flush()
        stream.buffer.write(text.encode("utf-8", "replace"))
    stream.flush()
