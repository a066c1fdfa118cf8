"""The ``dockaudit`` command: process set-up (signals, the garbage collector, the idle-core sample),
then a plain check (paths and on/off switches, ``check.plain_request``) without loading click, or
the click command line (``dockaudit.cli``) for everything else.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it; 2 usage, I/O or parse
errors, and bugs (one line, never a traceback).
"""

from __future__ import annotations

import gc
import os
import sys

from dockaudit.options import EXIT_ERROR, fail


class _Signalled(BaseException):
    """SIGTERM or SIGINT, raised where the program is so that ``finally`` blocks and ``except
    BaseException`` clean-ups (the fix engine's temp files) run.  A BaseException click does not
    catch: click turns KeyboardInterrupt into "Aborted!" and exit 1, the "findings" code."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signalled(signum, _frame) -> None:
    raise _Signalled(signum)


def main() -> None:
    import signal

    from dockaudit.pool import note_start

    note_start()  # the idle-core measurement behind the default --jobs runs while the rules load

    # A run allocates many small objects that live until the report, and reference counting frees
    # them; with the default thresholds the cyclic collector rescans them over and over (a third of
    # the time on a 50k-line file). Freeze what the imports made, and collect rarely.
    gc.freeze()
    gc.set_threshold(100_000, 20, 100)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _raise_signalled)
    try:
        _run(sys.argv[1:])
    except _Signalled as stop:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not interrupt the exit
        fail("interrupted" if stop.signum == signal.SIGINT else "terminated")
        sys.exit(128 + stop.signum)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, exit 2, never a traceback with exit 1
        import traceback
        from pathlib import Path

        where = traceback.extract_tb(exc.__traceback__)[-1]
        fail(f"internal error: {type(exc).__name__}: {exc} [{Path(where.filename).name}:{where.lineno}]; "
              "please report it")  # fmt: skip
        sys.exit(EXIT_ERROR)


def _run(argv: list[str]) -> None:
    from dockaudit.check import plain_request, run_check

    # Shell completion is click's: it runs the program with no arguments and _DOCKAUDIT_COMPLETE set.
    # On Windows click expands the globs of the arguments (the shell does not).
    completing = any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ)
    request = None if completing or sys.platform == "win32" else plain_request(argv)
    if request is None:
        from dockaudit.cli import cli

        cli(standalone_mode=True)
        return
    try:
        run_check(*request)
    except BrokenPipeError:  # the reader went away (``| head``): exit as click's standalone mode does
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        sys.exit(1)
    except SystemExit as done:
        if isinstance(done.code, int):
            _exit_now(done.code)
        raise


def _exit_now(code: int) -> None:
    """End the process once the check has written everything: tearing the interpreter down (every
    module and object freed one by one) was ~5 ms of a ~55 ms ``dockaudit FILE``.  Nothing of the
    check is left to run: reports and fixed files are written and closed, worker pools joined."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # as above: the reader of a report went away
        code = 1
    os._exit(code)
