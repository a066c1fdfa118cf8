"""The ``check`` command's run, without click: what it was asked (``Flags`` for the rules, ``CheckRun``
for the rest) → plan → lint → fix → baseline → reports → exit code; each step's work is in
``dockaudit.run``.  ``dockaudit.cli`` builds the request from click's options; ``plain_request``
builds it for a command line of paths and on/off flags only, which then runs without loading click
(``dockaudit FILE`` and the pre-commit hook's ``dockaudit check --force-exclude FILE…``: ~15 ms of a
~70 ms run, issue 21).  ``tests/test_plain_check.py`` checks that both build the same request.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dockaudit.console import echo
from dockaudit.files import InputError, is_compose_file
from dockaudit.options import COMMANDS, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, fail, split_list
from dockaudit.records import record
from dockaudit.report.output import ReportWriteError, report_targets, valid_utf8, write_report
from dockaudit.run import Flags


@record(slots=False)
class CheckRun:
    """What ``check`` was asked to do beyond choosing rules (that is ``Flags``): outputs, fixes, gates.
    The defaults are the command line's."""

    paths: tuple[str, ...] = (".",)
    formats: tuple[str, ...] = ()
    output: str | None = None
    fail_on: str | None = None
    exit_zero: bool = False
    no_color: bool = False
    quiet: bool = False
    statistics: bool = False
    output_format: str = "full"
    show_fixes: bool = False
    apply_fixes: bool = False
    unsafe_fixes: bool = False
    show_diff: bool = False
    fix_symlink_targets: bool = False
    show_suppressed: bool = False
    baseline: str | None = None
    write_baseline: str | None = None
    jobs: int = 0
    env_files: tuple[str, ...] = ()
    project_directory: str | None = None
    compose_environment: bool = False
    merge_compose: bool = False
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool | None = None
    force_exclude: bool = False
    show_files: bool = False
    show_settings: str | None = None


# The on/off options ``plain_request`` understands: option → (Flags or CheckRun, field, value).
PLAIN_SWITCHES = {
    "--exit-zero": (CheckRun, "exit_zero", True),
    "--no-color": (CheckRun, "no_color", True),
    "--quiet": (CheckRun, "quiet", True),
    "-q": (CheckRun, "quiet", True),
    "--statistics": (CheckRun, "statistics", True),
    "--show-fixes": (CheckRun, "show_fixes", True),
    "--fix": (CheckRun, "apply_fixes", True),
    "--unsafe-fixes": (CheckRun, "unsafe_fixes", True),
    "--diff": (CheckRun, "show_diff", True),
    "--fix-symlink-targets": (CheckRun, "fix_symlink_targets", True),
    "--show-suppressed": (CheckRun, "show_suppressed", True),
    "--compose-environment": (CheckRun, "compose_environment", True),
    "--respect-gitignore": (CheckRun, "respect_gitignore", True),
    "--no-respect-gitignore": (CheckRun, "respect_gitignore", False),
    "--force-exclude": (CheckRun, "force_exclude", True),
    "--show-files": (CheckRun, "show_files", True),
    "--isolated": (Flags, "isolated", True),
    "--no-context": (Flags, "use_context", False),
}


def plain_request(argv: list[str]) -> tuple[Flags, CheckRun] | None:
    """The request of ``[check] [SWITCH | PATH]…`` (switches from ``PLAIN_SWITCHES``, ``-`` for standard
    input), or None for any other command line: click parses those (and prints usage and errors)."""
    args = argv[1:] if argv[:1] == ["check"] else argv
    if argv[:1] != ["check"] and argv[:1] and argv[0] in COMMANDS:
        return None
    paths: list[str] = []
    chosen: dict[type, dict[str, object]] = {Flags: {}, CheckRun: {}}
    for arg in args:
        if arg in PLAIN_SWITCHES:
            target, name, value = PLAIN_SWITCHES[arg]
            chosen[target][name] = value
        elif arg == "-" or not arg.startswith("-"):
            paths.append(arg)
        else:  # any other option (or "--", or "-h"): click's
            return None
    return Flags(**chosen[Flags]), CheckRun(paths=tuple(paths) or (".",), **chosen[CheckRun])


def run_check(flags: Flags, run: CheckRun) -> None:
    """Run the request; ends with ``sys.exit`` (the exit code)."""
    echo_stdin = _StdinEcho(run.apply_fixes and "-" in run.paths)
    try:
        _check(flags, run, echo_stdin)
    finally:
        echo_stdin.emit()


class _StdinEcho:
    """With ``--fix -`` standard output carries the file: the fixed bytes when the fix went through,
    otherwise the input byte for byte, whatever went wrong (``dockaudit --fix - < f | sponge f``
    must never empty ``f``).  The report goes to standard error."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.data: bytes | None = None
        self.fixed: bytes | None = None

    def read(self) -> bytes:
        """Standard input, read once (at most one byte over the size cap, so it can be refused)."""
        from dockaudit.files import MAX_FILE_BYTES

        if self.data is None:
            self.data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        return self.data

    def emit(self) -> None:
        if not self.active:
            return
        import shutil

        out = sys.stdout.buffer
        if self.fixed is not None:
            out.write(self.fixed)
        else:
            out.write(self.read())
            shutil.copyfileobj(sys.stdin.buffer, out)  # the rest of an input refused as too large
        out.flush()


def _check(flags, run: CheckRun, stdin_echo: _StdinEcho) -> None:
    """plan → lint → fix → baseline → reports → exit code; each step's work is in ``dockaudit.run``."""
    from dockaudit.config import ConfigError
    from dockaudit.model import FileResult
    from dockaudit.pool import lint_files
    from dockaudit.run import RunError, cached_plan, config_for, exit_code, lint_compose_files

    try:
        run_config = config_for(flags, Path.cwd())
        if run.show_settings:
            _show_settings(flags, run, run_config)
        files, discovered, errors = _expand(run, run_config)
        if run.show_files:
            _show_files(files, errors)
        by_folder: dict = {}
        plans = {path: cached_plan(flags, path, by_folder) for path in files}
    except ConfigError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    reports = report_targets(run.formats or ((run_config.format,) if run_config.format else ()), run.output)
    compose_files = [f for f in files if f != "-" and is_compose_file(f)]
    if run.merge_compose:
        compose_files = [f for f in files if f != "-"]
    results = []
    if compose_files:
        scanned = tuple(p for p in run.paths if p != "-" and os.path.isdir(p))
        results = lint_compose_files(
            flags, compose_files, plans, [Path(e) for e in run.env_files] or None, run.merge_compose,
            Path(run.project_directory) if run.project_directory else None,
            dict(os.environ) if run.compose_environment else None, scanned,
        )  # fmt: skip
    covered = {str(Path(r.path).resolve()) for r in results}  # a service's Dockerfile is judged with its args
    dockerfiles = [f for f in files if f not in compose_files and str(Path(f).resolve()) not in covered]
    stdin = stdin_echo.read() if "-" in dockerfiles else None
    for outcome in lint_files(flags, dockerfiles, plans, run.jobs, stdin):
        if isinstance(outcome, InputError):
            if not _skipped_as_not_a_dockerfile(outcome, discovered):
                errors.append(outcome)
        else:
            results.append(outcome)
    # An unreadable file is a result like the others (the JSON report lists it, no report says "All clear").
    results.extend(FileResult(error.path, [], None, error.reason) for error in errors)
    for result in results:
        if result.error:
            fail(f"{result.path}: {result.error}")
    try:
        results = _fix_and_baseline(flags, run, results, plans, stdin_echo)
    except RunError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)

    findings = [f for r in results for f in r.findings]
    report_to_stderr = run.apply_fixes and "-" in run.paths  # stdout carries the fixed file
    try:
        for report_format, destination in reports:
            write_report(results, findings, report_format, destination, run.no_color, _layout(run), report_to_stderr)
    except ReportWriteError as exc:
        fail(str(exc))
        sys.exit(EXIT_ERROR)
    ml_rules = any(r.family == "ml" for plan in plans.values() for r in plan.rules)
    if ml_rules and any(report_format == "text" for report_format, _ in reports) and not run.quiet:
        _note_stale_knowledge()
    if run.show_suppressed:
        _print_suppressed(results)
    if run.apply_fixes:
        fixed = sum(r.fixed for r in results)
        files_fixed = sum(1 for r in results if r.fixed)
        echo(f"Fixed {fixed} finding{'s' if fixed != 1 else ''} in {files_fixed} "
                   f"file{'s' if files_fixed != 1 else ''}; {len(findings)} remaining.", err=True)  # fmt: skip
    sys.exit(exit_code(results, run.fail_on or run_config.fail_on or "warning", run.exit_zero))


def _fix_and_baseline(flags, run: CheckRun, results: list, plans: dict, stdin_echo: _StdinEcho) -> list:
    """``--diff`` (prints and exits), ``--fix``, ``--write-baseline``, ``--baseline``, in that order."""
    from dockaudit.run import compute_fixes, failed, record_baseline, without_baseline, write_fixes

    if run.show_diff or run.apply_fixes:
        outcomes = compute_fixes(flags, results, plans, run.unsafe_fixes)
        if run.show_diff:
            changed = _print_fix_diffs(results, outcomes)
            sys.exit(EXIT_ERROR if failed(results) else (EXIT_FINDINGS if changed else EXIT_CLEAN))
        results, stdin_echo.fixed = write_fixes(results, outcomes, run.fix_symlink_targets)
        for result in results:
            if result.error and id(result) in outcomes:
                fail(f"{result.path}: {result.error}")  # the fixed text was not written
    if run.write_baseline:
        count = record_baseline(results, run.write_baseline)
        echo(f"Wrote {count} finding{'s' if count != 1 else ''} to the baseline {run.write_baseline}.", err=True)
    if run.baseline:
        results = without_baseline(results, run.baseline)
    return results


def _note_stale_knowledge() -> None:
    """Once per run, text output only: tables older than six months miss what was released since."""
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge
    from dockaudit.facts.knowledge.summary import staleness_note, today

    try:
        note = staleness_note(load_knowledge(), today())
    except KnowledgeError:
        return  # the rules that need the tables report it
    if note:
        echo(f"dockaudit: {note}", err=True)


def _selection(run: CheckRun, config):
    """How directory scans choose files: flags over the configuration (``dockaudit.discovery``)."""
    from dockaudit.discovery import DEFAULT_EXCLUDE, Selection

    flagged = split_list(run.exclude)
    configured = config.exclude if config.exclude is not None else DEFAULT_EXCLUDE
    base = config.root if config.path is not None and not flagged else Path.cwd()
    return Selection(
        exclude=tuple(flagged) if flagged else configured,
        extend_exclude=(*config.extend_exclude, *split_list(run.extend_exclude)),
        base=base,
        respect_gitignore=config.respect_gitignore if run.respect_gitignore is None else run.respect_gitignore,
        force_exclude=run.force_exclude,
    )


def _expand(run: CheckRun, config) -> tuple[list[str], set[str], list[InputError]]:
    from dockaudit.discovery import expand_paths

    return expand_paths(list(run.paths), _selection(run, config))


def _show_files(files: list[str], errors: list[InputError]) -> None:
    """``--show-files``: the files the run would check, one a line; problems on stderr (exit 2)."""
    from dockaudit.report import safe_text

    for path in files:
        echo(safe_text(path))
    for error in errors:
        fail(str(error))
    sys.exit(EXIT_ERROR if errors else EXIT_CLEAN)


def _show_settings(flags, run: CheckRun, run_config) -> None:
    """``--show-settings FILE``: where FILE's configuration comes from and what it resolves to."""
    import textwrap

    from dockaudit.report import safe_text
    from dockaudit.run import plan_for

    path = run.show_settings or "."
    plan = plan_for(flags, path)
    selection = _selection(run, run_config)
    options = plan.options
    lines = [
        f"Settings for {path}",
        f"  configuration file: {plan.config.path or '(none: defaults)'}",
        *textwrap.wrap(f"  rules ({len(plan.rules)}): {', '.join(r.id for r in plan.rules)}", 80,
                       subsequent_indent="    ", break_on_hyphens=False),
        f"  fail-on: {run.fail_on or plan.config.fail_on or 'warning'}",
        f"  target: {options.target or '(the last stage)'}",
        f"  build context: {options.context_dir if options.use_context else '(none: --no-context)'}",
        f"  build args: {', '.join(f'{k}={v}' for k, v in options.build_args.items()) or '(none)'}",
        f"  trusted registries: {', '.join(options.trusted_registries) or '(any)'}",
        f"  min-driver: {options.min_driver or '(not set)'}",
        f"  per-file ignores here: {', '.join(plan.config.file_ignores(path)) or '(none)'}",
        f"  exclude (relative to {selection.base}): {', '.join(selection.exclude) or '(none)'}",
        f"  extend-exclude: {', '.join(selection.extend_exclude) or '(none)'}",
        f"  respect-gitignore: {'yes' if selection.respect_gitignore else 'no'}",
    ]
    echo("\n".join(safe_text(line) for line in lines))
    sys.exit(EXIT_CLEAN)


def _skipped_as_not_a_dockerfile(error: InputError, discovered: set[str]) -> bool:
    """A file a directory scan found by its name that turns out not to be a Dockerfile (binary): said
    on stderr and skipped, without failing the run.  A file the user named still fails it."""
    if error.path not in discovered or not error.reason.startswith("binary file"):
        return False
    fail(f"{error.path}: {error.reason}; skipped")
    return True


def _print_suppressed(results) -> None:
    from dockaudit.report import safe_text

    lines = [
        safe_text(f"{finding.path}:{finding.line}:{finding.column}  {finding.rule}  suppressed by {s.origin} comment "
                  f"on line {s.line}" + (f" -- {s.reason}" if s.reason else ""))
        for r in results
        for finding, s in r.suppressed
    ]
    echo("\n".join(["Suppressed:", *lines]) if lines else "Suppressed: none", err=False)


def _print_fix_diffs(results, outcomes) -> bool:
    import difflib

    changed = 0
    for result in results:
        outcome = outcomes.get(id(result), (None,))[0]
        if outcome is None or not outcome.changed:
            continue
        changed += 1
        name = result.path
        diff = difflib.unified_diff(
            outcome.original.splitlines(keepends=True), outcome.text.splitlines(keepends=True), name, name
        )
        echo(valid_utf8("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                                       for line in diff)), nl=False)  # fmt: skip
    echo(f"{changed} file{'s' if changed != 1 else ''} would be changed.", err=True)
    return changed > 0


def _layout(run: CheckRun):
    """The text report's layout from the command line (``dockaudit.report.text.Layout``)."""
    from dockaudit.report.text import Layout

    return Layout(run.output_format, run.quiet, run.statistics, run.show_fixes)
