"""What to run on each file: command-line flags merged over the file's configuration.

Flags win: ``--select`` replaces the configured selection, ``--ignore`` and
``--extend-select`` add to it; options given on the command line replace the
configured ones.  Files under different configurations get different plans.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dockaudit.config import Config, find_config, read_config
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules, select_rules, unknown_selectors
from dockaudit.plugin import Rule


@dataclass(frozen=True)
class Flags:
    """The command line's say, before any configuration file is read."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    config: Path | None = None  # --config
    isolated: bool = False  # --isolated
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    context_dir: Path | None = None
    use_context: bool = True
    min_driver: str | None = None
    trusted_registries: tuple[str, ...] = ()
    online: bool = False
    stdin_filename: str | None = None  # --stdin-filename: standard input is judged as this file


@dataclass(frozen=True)
class FilePlan:
    config: Config
    rules: tuple[Rule, ...]
    options: Options

    @property
    def rules_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def findings_filter(self, path: str):
        """The configuration's per-file ignores and severity overrides for ``path``, as a function of
        findings: what the linter reports and what the fixer may fix go through the same one."""
        from dockaudit.config import apply_config

        rules = self.rules_by_id
        return lambda findings: apply_config(findings, self.config, path, rules)


def config_for(flags: Flags, folder: Path) -> Config:
    if flags.config is not None:
        return read_config(flags.config)
    if flags.isolated:
        return Config()
    return find_config(folder.resolve())


def plan_for(flags: Flags, path: str) -> FilePlan:
    """The rules and options for one file (``-`` is judged from the working directory, or as the
    ``--stdin-filename`` file: from its folder, with that folder as build context)."""
    if path == "-" and flags.stdin_filename:
        path = flags.stdin_filename
    folder = Path.cwd() if path == "-" else Path(path).resolve().parent
    config = config_for(flags, folder)
    if config.path is not None and config.path.suffix == ".toml":  # hadolint configs may name ShellCheck codes
        _check_config_selectors(config)
    rules = select_rules(
        load_rules(),
        flags.select or config.select,
        (*config.ignore, *flags.ignore),
        (*config.extend_select, *flags.extend_select),
    )
    context = flags.context_dir or config.context
    if context is None and flags.use_context and path != "-":
        context = folder
    options = Options(
        target=flags.target,
        build_args=flags.build_args,
        context_dir=context,
        use_context=flags.use_context,
        trusted_registries=flags.trusted_registries or config.trusted_registries,
        allowed_base_images=config.allowed_base_images,
        label_schema=config.label_schema,
        strict_labels=config.strict_labels,
        min_driver=flags.min_driver or config.min_driver,
        gpus=config.gpus,
        gpu_segment=config.gpu_segment,
        online=flags.online,
    )
    return FilePlan(config, tuple(rules), options)


def _check_config_selectors(config: Config) -> None:
    from dockaudit.config import ConfigError

    keys = {"select": config.select, "ignore": config.ignore, "extend-select": config.extend_select,
            "severity": tuple(config.severity), "per-file-ignores": tuple(c for codes in config.per_file_ignores.values()
                                                                          for c in codes)}  # fmt: skip
    for key, codes in keys.items():
        unknown = unknown_selectors(load_rules(), codes)
        if unknown:
            raise ConfigError(f"{config.path}: {key}: unknown rule selector {unknown[0]!r} (see `dockaudit rules`)")


def lint_file(flags: Flags, path: str, plan: FilePlan | None = None, data: bytes | None = None):
    """Read (unless ``data`` is given: standard input, read once by the caller), lint and configure
    one file: a ``FileResult``, or the ``InputError`` that stopped it.

    A top-level function so that ``--jobs`` can run it in worker processes.
    """
    from dockaudit.linting.engine import lint_source
    from dockaudit.files import InputError, check_dockerfile_bytes, read_dockerfile

    plan = plan or plan_for(flags, path)
    try:
        data = read_dockerfile(path) if data is None else check_dockerfile_bytes(path, data)
    except InputError as error:
        return error
    shown = (flags.stdin_filename or None) if path == "-" else path
    result = lint_source(data, shown, plan.rules, plan.options)
    if flags.target and result.dockerfile is not None:
        missing = missing_target(result.dockerfile, flags.target)
        if missing:
            return InputError(result.path, missing)
    result.findings = plan.findings_filter(result.path)(result.findings)
    return result


def missing_target(tree, target: str) -> str | None:
    """Why ``--target`` cannot be built from ``tree`` (no stage of that name), or None when it can:
    docker build fails there, so judging the last stage instead would report on another image."""
    names = [stage.name for stage in tree.stages if stage.name]
    if target.lower() in names:
        return None
    return f"--target {target!r} names no stage of this file (stages: {', '.join(names) or 'none named'})"


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


def cached_plan(flags: Flags, path: str, cache: dict) -> FilePlan:
    """``plan_for``, computed once per folder in ``cache`` (a plan depends on the flags and the file's
    folder only; ``cache`` must not outlive one run's flags and configuration files)."""
    key = None if path == "-" else Path(path).resolve().parent
    if key not in cache:
        cache[key] = plan_for(flags, path)
    return cache[key]


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
