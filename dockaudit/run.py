"""A run, for every input kind: plan → lint → filter → fix → baseline → exit code.

The plan (``FilePlan``, the one settings object a file is linted with) is the command line's flags
merged over the file's configuration: ``--select`` replaces the configured selection, ``--ignore`` and
``--extend-select`` add to it, options given on the command line replace the configured ones; files
under different configurations get different plans.  Printing is the caller's (``cli.py``, the LSP):
what stops a run here is a ``RunError``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.config import Config, find_config, read_config
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules, select_rules, unknown_selectors
from dockaudit.linting.selectors import names_part
from dockaudit.model import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from dockaudit.plugin import Rule
from dockaudit.records import field, record, replace

if TYPE_CHECKING:
    from dockaudit.facts.contextreads import ContextReads


@record(slots=False)
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

    def option_overrides(self) -> dict[str, object]:
        """The rule options the command line sets, which replace the configured ones."""
        given = {"target": self.target, "build_args": self.build_args, "context_dir": self.context_dir,
                 "min_driver": self.min_driver, "trusted_registries": self.trusted_registries}  # fmt: skip
        overrides = {name: value for name, value in given.items() if value}
        if not self.use_context:
            overrides["use_context"] = False
        if self.online:
            overrides["online"] = True
        return overrides


@record(slots=False)
class FilePlan:
    """What one file is linted with: its configuration, the selected rules, the rules' options, and the
    findings filter those imply."""

    config: Config
    rules: tuple[Rule, ...]
    options: Options
    ignored_parts: tuple[str, ...] = ()  # ignore codes that name one part of a rule: filtered, not deselected

    @property
    def rules_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def findings_filter(self, path: str):
        """The configuration's per-file ignores, ignored rule parts and severity overrides for ``path``, as
        a function of findings: what the linter reports and what the fixer may fix go through this one."""
        from dockaudit.config import apply_config

        rules = self.rules_by_id
        return lambda findings: apply_config(findings, self.config, path, rules, self.ignored_parts)


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
    options = replace(config.options, **flags.option_overrides())
    if options.context_dir is None and options.use_context and path != "-":
        options = replace(options, context_dir=folder)
    return _plan(config, flags.select or config.select, (*config.ignore, *flags.ignore),
                 (*config.extend_select, *flags.extend_select), options)  # fmt: skip


def image_plan(flags: Flags, max_image_size: float | None = None, max_layer_size: float | None = None) -> FilePlan:
    """The rules and options for ``dockaudit image``: the configuration found from the working directory,
    the DA8xx rules unless ``--select`` names others, and the image budgets (DA805) of the flags over
    the configured ones."""
    config = config_for(flags, Path.cwd())
    image, layer = config.options.image_budget or (None, None)
    image, layer = max_image_size or image, max_layer_size or layer
    options = replace(config.options, image_budget=(image, layer) if image or layer else None)
    return _plan(config, flags.select or ("DA8",), (*config.ignore, *flags.ignore), (), options)


def _plan(config: Config, select, ignore: tuple[str, ...], extend_select, options: Options) -> FilePlan:
    """The selected rules, and the ignore codes that name one part of a selected rule (``names_part``):
    those stay for the findings filter, since the selection keeps the rule."""
    rules = tuple(select_rules(load_rules(), select, ignore, extend_select))
    parts = tuple(code for code in ignore if any(names_part(code, r) for r in rules))
    return FilePlan(config, rules, options, parts)


def _check_config_selectors(config: Config) -> None:
    from dockaudit.config import ConfigError

    keys = {"select": config.select, "ignore": config.ignore, "extend-select": config.extend_select,
            "severity": tuple(config.severity), "per-file-ignores": tuple(c for codes in config.per_file_ignores.values()
                                                                          for c in codes)}  # fmt: skip
    for key, codes in keys.items():
        unknown = unknown_selectors(load_rules(), codes)
        if unknown:
            raise ConfigError(f"{config.path}: {key}: unknown rule selector {unknown[0]!r} (see `dockaudit rules`)")


def lint_file(flags: Flags, path: str, plan: FilePlan | None = None, data: bytes | None = None,
              reads: ContextReads | None = None):  # fmt: skip
    """Read (unless ``data`` is given: standard input, read once by the caller), lint and configure
    one file: a ``FileResult``, or the ``InputError`` that stopped it.  ``reads``: the build-context
    answers to share with the files linted before it (``lint_in_order``); None, its own.

    A top-level function so that ``--jobs`` can run it in worker processes.
    """
    from dockaudit.facts.resources import Resources
    from dockaudit.files import InputError, check_dockerfile_bytes, read_dockerfile
    from dockaudit.linting.engine import lint_source

    plan = plan or plan_for(flags, path)
    try:
        data = read_dockerfile(path) if data is None else check_dockerfile_bytes(path, data)
    except InputError as error:
        return error
    shown = (flags.stdin_filename or None) if path == "-" else path
    result = lint_source(data, shown, plan.rules, plan.options, Resources(online=plan.options.online, reads=reads))
    if flags.target and result.dockerfile is not None:
        missing = missing_target(result.dockerfile, flags.target)
        if missing:
            return InputError(result.path, missing)
    result.findings = plan.findings_filter(result.path)(result.findings)
    return result


def lint_in_order(flags: Flags, paths: list[str], plan_of: Callable[[str], FilePlan], stdin: bytes | None = None):
    """``lint_file`` over ``paths``, in order; the files of one plan (one folder) linted one after
    another share one ``ContextReads``, so the folder's build context is listed and read once
    (while a run lints, its context is taken not to change).  ``stdin``: the bytes of the path ``-``."""
    from dockaudit.facts.contextreads import ContextReads

    reads, last_plan = None, None
    for path in paths:
        plan = plan_of(path)
        if plan is not last_plan:
            reads, last_plan = ContextReads(), plan
        yield lint_file(flags, path, plan, stdin if path == "-" else None, reads)


def missing_target(tree, target: str) -> str | None:
    """Why ``--target`` cannot be built from ``tree`` (no stage of that name), or None when it can:
    docker build fails there, so judging the last stage instead would report on another image."""
    from dockaudit.syntax.stages import build_stages

    names = [stage.name for stage in build_stages(tree) if stage.name]
    if target.lower() in names:
        return None
    return f"--target {target!r} names no stage of this file (stages: {', '.join(names) or 'none named'})"


def cached_plan(flags: Flags, path: str, cache: dict) -> FilePlan:
    """``plan_for``, computed once per folder in ``cache`` (a plan depends on the flags and the file's
    folder only; ``cache`` must not outlive one run's flags and configuration files)."""
    key = None if path == "-" else Path(path).resolve().parent
    if key not in cache:
        cache[key] = plan_for(flags, path)
    return cache[key]


class RunError(Exception):
    """What stops a whole run (exit 2): one line, naming the file."""


def configured(flags: Flags, results: list, plans: dict[str, FilePlan]) -> list:
    """``results`` through their configuration's findings filter (per-file ignores, severity overrides),
    each with the plan of its own file (a Compose service's Dockerfile gets the one nearest to it)."""
    cache: dict = {}
    for result in results:
        if result.error is None:
            plan = plans.get(result.path) or cached_plan(flags, result.path, cache)
            result.findings = plan.findings_filter(result.path)(result.findings)
    return results


def lint_compose_files(flags: Flags, compose_files: list[str], plans: dict[str, FilePlan], env_files=None,
                       merged: bool = False, project_directory: Path | None = None, environ=None,
                       scanned: tuple[str, ...] = ()) -> list:  # fmt: skip
    """Each compose file as its own project (or, with ``merged``, all of them as ``-f a -f b``), every
    result through its configuration's filter.

    The project directory, which confines what the project may read, is ``--project-directory``; else,
    for a file found by scanning a folder named on the command line, that folder (the user named it
    as the project: ``docker/compose.yaml`` may build ``context: ..`` inside it); else the file's folder."""
    from dockaudit.compose.lint import lint_compose

    groups = [compose_files] if merged else [[f] for f in compose_files]
    results = []
    for group in groups:
        plan = plans[group[0]]
        root = project_directory or _scanned_folder(group[0], scanned)
        results.extend(lint_compose([Path(f) for f in group], plan.rules, plan.options, env_files, root, environ))
    return configured(flags, results, plans)


def _scanned_folder(path: str, scanned: tuple[str, ...]) -> Path | None:
    """The outermost folder of ``scanned`` that holds ``path`` (None when it was named itself)."""
    from dockaudit.files import resolves_inside

    holders = [Path(os.path.realpath(folder)) for folder in scanned if resolves_inside(path, folder)]
    return min(holders, key=lambda p: len(p.parts)) if holders else None


def compute_fixes(flags: Flags, results: list, plans: dict[str, FilePlan], unsafe: bool) -> dict[int, tuple]:
    """Every file's fix outcome with the bytes it was computed from, keyed by ``id(result)``, all
    computed before anything is written: a failure here (``RunError``) writes nothing, so one run
    never leaves half its files fixed.  The fix loop lints with the same rules and filter as the report."""
    from dockaudit.files import MAX_FILE_BYTES, InputError, is_compose_file, read_regular_file
    from dockaudit.linting.fix import fix_compose_text, fix_text

    outcomes = {}
    for result in results:
        if result.error:
            continue  # not read or not parsed: nothing to fix
        try:
            if result.source is None:
                if not is_compose_file(result.path):
                    continue
                original = read_regular_file(result.path, MAX_FILE_BYTES)
                outcome = fix_compose_text(original.decode("utf-8"), result.findings, unsafe)
            else:
                original = result.source.to_bytes()
                plan = plans.get(result.path)
                if plan is None:  # a Dockerfile a compose service builds
                    if result.path == "-" or not os.path.isfile(result.path):
                        continue  # an inline dockerfile_inline: it lives in the compose file
                    plan = plan_for(flags, result.path)
                path = None if result.path == "-" else result.path
                outcome = fix_text(result.source.text, path, plan.rules, plan.options, unsafe,
                                   plan.findings_filter(result.path))  # fmt: skip
        except (InputError, UnicodeDecodeError) as exc:
            raise RunError(f"{result.path}: cannot fix: {exc}; no file was rewritten") from None
        except Exception as exc:  # noqa: BLE001 - a bug in a fix must not leave the run half written
            raise RunError(f"{result.path}: fixing crashed ({type(exc).__name__}: {exc}); no file was rewritten") from None
        outcomes[id(result)] = (outcome, original)
    return outcomes


def write_fixes(results: list, outcomes: dict[int, tuple], follow_symlinks: bool) -> tuple[list, bytes | None]:
    """Write each fixed file and return the results as they are on disk now (the fixed text's findings
    where the write went through; the original ones, with the reason as ``error``, where not), and the
    fixed bytes of standard input, which the caller prints."""
    from dockaudit.model import FileResult, tree_result
    from dockaudit.syntax.source import Source

    on_disk, stdin_fixed = [], None
    for result in results:
        if id(result) not in outcomes:
            on_disk.append(result)
            continue
        outcome, original = outcomes[id(result)]
        data = Source(outcome.text).to_bytes()
        if result.path == "-":
            stdin_fixed = data
        elif outcome.changed:
            problem = _write_fixed(Path(result.path), data, original, follow_symlinks)
            if problem:
                result.error = problem
                on_disk.append(result)
                continue
        findings = sorted(outcome.remaining + outcome.dropped, key=lambda f: f.sort_key())
        rest = {"suppressed": result.suppressed, "fixed": len(outcome.applied)}
        if outcome.tree is None:  # a Compose file
            on_disk.append(FileResult(result.path, findings, None, **rest))
        else:
            on_disk.append(tree_result(result.path, findings, outcome.tree, **rest))
    return on_disk, stdin_fixed


def _write_fixed(target: Path, data: bytes, original: bytes, follow_symlinks: bool) -> str | None:
    """Why the fixed ``data`` was not written to ``target``, or None when it was (``original``: the bytes
    the fix was computed from; a file that no longer holds them is left alone)."""
    from dockaudit.atomic import ChangedSinceRead, write_atomically

    if target.is_symlink() and follow_symlinks:
        target = target.resolve()
    if target.is_symlink():
        return "a symlink; not rewriting its target (fix the file it points to, or pass --fix-symlink-targets)"
    try:
        write_atomically(target, data, expected=original)
    except ChangedSinceRead:
        return "changed since it was read; not rewritten"
    except OSError as exc:
        return f"cannot write the fixed file: {exc.strerror or exc}; left unchanged"
    return None


def record_baseline(results: list, path: str) -> int:
    """Write the findings of ``results`` to the baseline file ``path``; how many were recorded."""
    from dockaudit.linting.baseline import write_baseline

    try:
        return write_baseline(results, Path(path))
    except OSError as exc:
        raise RunError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from None


def without_baseline(results: list, path: str) -> list:
    """``results`` without the findings the baseline file ``path`` records."""
    from dockaudit.linting.baseline import BaselineError, filter_results, read_baseline

    try:
        known = read_baseline(Path(path))
    except BaselineError as exc:
        raise RunError(str(exc)) from None
    return filter_results(results, known)


def failed(results: list) -> bool:
    """Whether the run must exit 2 whatever its findings: an input that could not be read or parsed, or
    a crash (a DA000 finding) — a crash never passes for the "findings" code 1."""
    from dockaudit.linting.engine import INTERNAL_ERROR

    return any(r.error or any(f.rule == INTERNAL_ERROR[0] for f in r.findings) for r in results)


def exit_code(results: list, threshold_name: str, exit_zero: bool) -> int:
    """2 when the run ``failed``; else 1 when findings reach the threshold (``never``: never); else 0."""
    from dockaudit.model import Severity

    if failed(results):
        return EXIT_ERROR
    if threshold_name != "never" and not exit_zero:
        threshold = Severity.parse(threshold_name)
        if any(f.severity >= threshold for r in results for f in r.findings):
            return EXIT_FINDINGS
    return EXIT_CLEAN
