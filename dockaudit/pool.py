"""Many files at once: a process pool over files, only when it pays, and never slower than one process.

Workers return slim results (findings and text, not trees) in input order; a worker that dies takes
down only its own files, which are retried alone.
"""

from __future__ import annotations

import os

from dockaudit.run import FilePlan, Flags, cached_plan, lint_in_order

MIN_FILES_PER_WORKER = 16  # an explicit --jobs N still gives each worker at least this many files

# What linting costs, estimated before a run from the files' sizes (fitted over the 725 corpus files,
# CPU time per file: benchmarks/RESULTS.md) and what a pool's worker must get of it to pay for itself:
# a 2-process pool costs ~10 ms to fork and join, and the workers redo the per-folder plans.
FILE_COST = 0.75e-3  # seconds per file (reading, context, the rules' fixed work)
BYTE_COST = 0.48e-6  # seconds per byte of Dockerfile
MIN_WORK_PER_WORKER = 0.12  # seconds of estimated serial work a default pool's worker must get
IDLE_WINDOW = 0.05  # seconds of /proc/stat counters an idle-core estimate needs at least


def worker_count(jobs: int, files: int, work: float | None = None) -> int:
    """Processes worth starting for ``files`` files when the user allows ``jobs`` (0: decide).

    Never more than the cores or the files.  ``--jobs N`` gives each worker at least
    ``MIN_FILES_PER_WORKER`` files.  By default a pool starts only when each worker gets
    ``MIN_WORK_PER_WORKER`` of the ``work`` (estimated seconds, ``estimated_work``), and only as many
    workers as cores idle right now (this process's own counts as idle).  With one of two cores busy
    a pool of two is a gamble: measured from 0.87x to 1.3x the wall time of --jobs 1 on 725 files,
    as the other load comes and goes; one process is never slower than itself
    (benchmarks/RESULTS.md)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if jobs:
        return max(1, min(jobs, cores, files // MIN_FILES_PER_WORKER))
    by_work = files // MIN_FILES_PER_WORKER if work is None else int(work / MIN_WORK_PER_WORKER)
    workers = max(1, min(cores, files, by_work))
    if workers > 1:
        workers = max(1, min(workers, round(idle_cores(cores))))
    return workers


def estimated_work(paths: list[str]) -> float:
    """Seconds one process would take to lint ``paths``, from their sizes (unreadable ones: a file's
    fixed cost)."""
    total = 0
    for path in paths:
        try:
            total += os.stat(path).st_size
        except (OSError, ValueError):
            pass
    return len(paths) * FILE_COST + total * BYTE_COST


class _CpuSample:
    """The machine's CPU counters and this process's CPU time at one moment."""

    __slots__ = ("when", "ticks", "idle_ticks", "own_seconds")

    def __init__(self) -> None:
        import time

        self.ticks, self.idle_ticks = _cpu_ticks()
        times = os.times()
        self.when, self.own_seconds = time.monotonic(), times.user + times.system


_STARTED: _CpuSample | None = None  # taken when the command starts (note_start), if it could be


def note_start() -> None:
    """Start the idle-core measurement when the command starts: the imports and the rule pack's
    loading are its window, so deciding on a pool costs no waiting."""
    global _STARTED
    try:
        _STARTED = _CpuSample()
    except (OSError, ValueError, IndexError):
        _STARTED = None


def idle_cores(cores: int, window: float = IDLE_WINDOW) -> float:
    """How many of ``cores`` were idle since the command started (``note_start``), waiting only for
    what is missing of ``window`` seconds; the CPU this process used meanwhile counts as idle (it is
    the core a pool's parent leaves to its workers).  From /proc/stat (all cores where that cannot be
    read); measured rather than taken from the load average, which counts this very process and the
    runs just before it (back-to-back runs would always see a busy machine)."""
    import time

    try:
        before = _STARTED or _CpuSample()
        time.sleep(max(0.0, before.when + window - time.monotonic()))
        after = _CpuSample()
    except (OSError, ValueError, IndexError):
        return float(cores)
    total = after.ticks - before.ticks
    own = (after.own_seconds - before.own_seconds) * os.sysconf("SC_CLK_TCK")
    idle = min(total, after.idle_ticks - before.idle_ticks + own)
    return cores * idle / total if total > 0 else float(cores)


def _cpu_ticks() -> tuple[int, int]:
    """(all ticks, idle ticks) of every CPU since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4]  # user … steal; idle + iowait


def lint_files(
    flags: Flags, paths: list[str], plans: dict[str, FilePlan], jobs: int, stdin: bytes | None = None
) -> list:
    """Every file's result (a ``FileResult`` or an ``InputError``) in input order; many files are
    spread over worker processes.  ``stdin`` is the input already read for the path ``-``.

    A worker that dies (killed, out of memory) or raises takes down only its files: each is
    linted again alone in a fresh worker, and a file that kills that one too is reported as an
    error of its own, while every other file's result stands."""
    workers = 1 if "-" in paths else worker_count(jobs, len(paths), None if jobs else estimated_work(paths))
    if workers == 1:
        return list(lint_in_order(flags, paths, plans.__getitem__, stdin))
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, len(paths) // (workers * 8))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    results: list = []
    with ProcessPoolExecutor(max_workers=workers) as pool:  # workers build their own plans: rules do not pickle
        futures = [pool.submit(_lint_chunk, flags, chunk) for chunk in chunks]
        for chunk, future in zip(chunks, futures):
            try:
                results.extend(future.result())
            except Exception:  # noqa: BLE001 - whatever killed the worker, the files are retried alone
                results.extend(_lint_alone(flags, path) for path in chunk)
    return results


def _lint_chunk(flags: Flags, paths: list[str]) -> list:
    """A worker's share: slim results (findings and text, no trees) or ``InputError``s."""
    results = lint_in_order(flags, paths, lambda path: cached_plan(flags, path, _WORKER_PLANS))
    return [r if isinstance(r, Exception) else r.slim() for r in results]


_WORKER_PLANS: dict = {}  # filled only in worker processes, which live for one run's pool


def _lint_alone(flags: Flags, path: str):
    """``path`` linted in a fresh single-use worker; the error that ended it when it fails again."""
    from concurrent.futures import ProcessPoolExecutor

    from dockaudit.files import InputError

    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            return pool.submit(_lint_chunk, flags, [path]).result()[0]
    except Exception as exc:  # noqa: BLE001 - reported for this file, the run goes on
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return InputError(path, f"linting this file ended its worker process ({reason}); not linted")
