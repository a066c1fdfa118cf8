"""Many files at once: a process pool over files, only when it pays, and never slower than one process.

Workers return slim results (findings and text, not trees) in input order; a worker that dies takes
down only its own files, which are retried alone.
"""

from __future__ import annotations

import os

from dockaudit.run import FilePlan, Flags, cached_plan, lint_file

MIN_FILES_PER_WORKER = 16  # below this a pool costs more than it saves (see benchmarks/RESULTS.md)


def worker_count(jobs: int, files: int) -> int:
    """Processes worth starting for ``files`` files when the user allows ``jobs`` (0: decide).

    Never more than the cores, and one process (no pool) unless each worker gets a real share of the
    work (``MIN_FILES_PER_WORKER``).  By default, only the cores idle right now count: on a busy
    machine a pool's workers wait for the cores the parent would use, and the run is slower than one
    process (measured: 1.1-1.7x slower with one of two cores busy; 0.6x, i.e. faster, when idle)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    wanted = min(jobs, cores) if jobs else cores
    workers = max(1, min(wanted, files // MIN_FILES_PER_WORKER))
    if not jobs and workers > 1:
        workers = max(1, min(workers, round(idle_cores(cores))))
    return workers


def idle_cores(cores: int, window: float = 0.05) -> float:
    """How many of ``cores`` were idle over the last ``window`` seconds (/proc/stat; all of them where
    that cannot be read).  Measured now rather than taken from the load average, which counts this
    very process and the runs just before it (back-to-back runs would always see a busy machine)."""
    import time

    try:
        before = _cpu_ticks()
        time.sleep(window)
        after = _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return float(cores)
    total, idle = after[0] - before[0], after[1] - before[1]
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
    workers = 1 if "-" in paths else worker_count(jobs, len(paths))
    if workers == 1:
        return [lint_file(flags, path, plans[path], stdin if path == "-" else None) for path in paths]
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
    results = [lint_file(flags, path, cached_plan(flags, path, _WORKER_PLANS)) for path in paths]
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
