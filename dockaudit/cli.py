"""Command line: ``dockaudit PATH…`` (= ``dockaudit check PATH…``) and ``compose``: options → ``run`` → reports → exit code.
The other commands are in ``dockaudit.commands``.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it;
2 usage, I/O or parse errors.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click

from dockaudit import __version__
from dockaudit.files import InputError, is_compose_file
from dockaudit.options import (
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, SEVERITY_CHOICES, fail, parse_build_args, refuse_unknown_selectors,
    split_list,
)  # fmt: skip
from dockaudit.records import record
from dockaudit.report.output import REPORT_FORMATS, ReportWriteError, report_targets, valid_utf8, write_report

# The commands of dockaudit.commands, loaded only when one of them runs or the commands are listed
# (help, completion): `dockaudit FILE` runs check and needs none of their options and imports.
LAZY_COMMANDS = ("parse", "image", "init", "knowledge", "rules", "rule", "lsp")


class _DefaultToCheck(click.Group):
    """Any first argument that is not a sub-command is a path for ``check``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:  # `dockaudit` alone checks the working directory
            args = ["check"]  # (but shell completion of `dockaudit <TAB>` offers the commands)
        elif (args and args[0] not in self.commands and args[0] not in LAZY_COMMANDS
              and args[0] not in ("--help", "-h", "--version")):  # fmt: skip
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            self._load_commands()
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_commands()
        return super().list_commands(ctx)

    def _load_commands(self) -> None:
        from dockaudit import commands

        commands.register(self)


@click.group(cls=_DefaultToCheck, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dockaudit", message="%(prog)s %(version)s")
def cli() -> None:
    """Audit Dockerfiles, Compose files and built images for security, reproducibility, size and ML pitfalls.

    `dockaudit PATH...` is short for `dockaudit check PATH...`; `dockaudit` alone checks the working
    directory.
    """


def _file_selection_options(command):
    """The options that choose which files a directory scan checks (``dockaudit.discovery``)."""
    options = [
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="gitignore-style globs directory scans skip, instead of the default list (VCS, venv, "
                          "cache, build and hidden folders) and the config's exclude; comma-separated or repeated."),
        click.option("--extend-exclude", multiple=True, metavar="GLOB",
                     help="Globs to skip in addition to the default list and the config's exclude."),
        click.option("--respect-gitignore/--no-respect-gitignore", default=None,
                     help="Skip what .gitignore files exclude (default: on; config: respect-gitignore)."),
        click.option("--force-exclude", is_flag=True,
                     help="Apply the exclude globs to files named on the command line too (as pre-commit runs it)."),
        click.option("--show-files", is_flag=True, help="List the files that would be checked, then exit."),
        click.option("--show-settings", metavar="FILE",
                     help="Show the configuration file, rules and options that apply to FILE, then exit."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("paths", nargs=-1)
@_file_selection_options
@click.option("--format", "formats", multiple=True, metavar="FORMAT[:FILE]",
              help=f"Report format ({', '.join(REPORT_FORMATS)}), optionally written to FILE; repeatable, e.g. "
                   "--format sarif:dockaudit.sarif --format text.")  # fmt: skip
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the (first) report to FILE.")  # fmt: skip
@click.option(
    "--select", multiple=True,
    help="Rule ids, prefixes (DA4), names, aliases or presets (security, ml, reproducible, size, hadolint, all) "
         "to run instead of the defaults (the recommended preset).",
)  # fmt: skip
@click.option("--extend-select", multiple=True, help="Rules to add to the selection (turns on off-by-default rules).")
@click.option("--ignore", multiple=True, help="Rule ids, prefixes, names, aliases or presets to skip.")
@click.option("--fail-on", type=click.Choice(SEVERITY_CHOICES), default=None,
              help="Lowest severity that makes the exit code 1 (default: warning, or the config's fail-on).")  # fmt: skip
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on (errors still exit 2).")
@click.option("--no-color", is_flag=True, help="Plain text even on a terminal.")
@click.option("--quiet", "-q", is_flag=True, help="Only the finding lines: no code frames, no summary.")
@click.option("--statistics", is_flag=True, help="Print only a table of findings per rule (with how many are fixable).")
@click.option("--output-format", type=click.Choice(("full", "concise", "grouped")), default="full", show_default=True,
              help="Layout of the text report: code frames and fixes, one line per finding, or grouped by file.")
@click.option("--show-fixes", is_flag=True, help="Text report: show each fix as a small diff under its finding.")
@click.option("--target", help="The build stage to judge as the image (like docker build --target).")
@click.option("--context", "context_dir", type=click.Path(file_okay=False, exists=True),
              help="Build context directory.")
@click.option(
    "--no-context",
    is_flag=True,
    help="Read no build context (.dockerignore, requirements files): judge the file alone.",
)
@click.option("--build-arg", "build_args", multiple=True, help="NAME=VALUE, as docker build --build-arg.")
@click.option("--fix", "apply_fixes", is_flag=True, help="Apply safe fixes in place (on stdin: print the fixed file).")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also apply fixes that need review.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--fix-symlink-targets", is_flag=True,
              help="With --fix, rewrite the file a symlinked Dockerfile points to (default: leave it, and say so).")  # fmt: skip
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="Use this configuration file (.dockaudit.toml, pyproject.toml or .hadolint.yaml).")  # fmt: skip
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--show-suppressed", is_flag=True, help="List the findings inline comments suppressed.")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Report only findings not recorded in FILE.")
@click.option("--write-baseline", type=click.Path(dir_okay=False), help="Record the current findings in FILE.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=0,
              help="Processes for many files (default 0: one per idle CPU once the files are enough work to pay for "
                   "a pool; 1: no worker processes; never more than the CPUs or the files).")  # fmt: skip
@click.option("--env-file", "env_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Compose: variables for interpolation (default: the project's .env).")  # fmt: skip
@click.option("--project-directory", type=click.Path(file_okay=False, exists=True),
              help="Compose: the project directory (default: the folder being scanned, else the compose file's "
                   "folder); files the project names outside it are not read.")  # fmt: skip
@click.option("--compose-environment", is_flag=True,
              help="Compose: interpolate ${VAR} from this process's environment too, as docker compose does (off "
                   "by default: a CI environment holds secrets that a pull request's compose file could print).")  # fmt: skip
@click.option("--merge-compose", is_flag=True, hidden=True)
@click.option("--stdin-filename", metavar="PATH",
              help="Lint standard input (-) as if it were PATH: its configuration, build context and name.")
@click.option("--online", is_flag=True,
              help="Let rules ask registries (tag digests, the version behind latest) for their fixes.")  # fmt: skip
@click.option("--min-driver", help="Oldest NVIDIA driver in the fleet (e.g. 535.104.05): turns on DA512.")
@click.option("--trusted-registry", "trusted_registries", multiple=True,
              help="A registry images may come from (repeatable; *.example.com allowed): turns on DA111.")  # fmt: skip
def check(
    paths: tuple[str, ...],
    formats: tuple[str, ...],
    output: str | None,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    fail_on: str | None,
    exit_zero: bool,
    no_color: bool,
    quiet: bool,
    statistics: bool,
    output_format: str,
    show_fixes: bool,
    target: str | None,
    context_dir: str | None,
    no_context: bool,
    build_args: tuple[str, ...],
    apply_fixes: bool,
    unsafe_fixes: bool,
    show_diff: bool,
    fix_symlink_targets: bool,
    stdin_filename: str | None,
    online: bool,
    min_driver: str | None,
    trusted_registries: tuple[str, ...],
    config_file: str | None,
    isolated: bool,
    show_suppressed: bool,
    baseline: str | None,
    write_baseline: str | None,
    jobs: int,
    env_files: tuple[str, ...],
    project_directory: str | None,
    compose_environment: bool,
    merge_compose: bool,
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    respect_gitignore: bool | None,
    force_exclude: bool,
    show_files: bool,
    show_settings: str | None,
) -> None:
    """Lint Dockerfiles and Compose files. A directory means every Dockerfile and Compose file under it
    (see --exclude); - reads stdin; no PATH checks the working directory."""
    from dockaudit.run import Flags

    if stdin_filename is not None and "-" not in paths:
        raise click.BadParameter("needs - (standard input) among the paths", param_hint="--stdin-filename")
    if stdin_filename is not None and (apply_fixes or show_diff):  # the fixed text would be written to PATH
        raise click.BadParameter("not with --fix or --diff", param_hint="--stdin-filename")
    flags = Flags(
        select=split_list(select),
        ignore=split_list(ignore),
        extend_select=split_list(extend_select),
        config=Path(config_file) if config_file else None,
        isolated=isolated,
        target=target,
        build_args=parse_build_args(build_args),
        context_dir=Path(context_dir) if context_dir else None,
        use_context=not no_context,
        min_driver=min_driver,
        trusted_registries=trusted_registries,
        online=online,
        stdin_filename=stdin_filename,
    )
    refuse_unknown_selectors(select=flags.select, ignore=flags.ignore, extend_select=flags.extend_select)
    if online:
        from dockaudit.facts.online import BUDGET

        BUDGET.restart()
    if not paths:
        paths = (".",)
    run = CheckRun(paths=paths, **{name: value for name, value in click.get_current_context().params.items()
                      if name in CheckRun.__record_names__ and name != "paths"})  # fmt: skip
    echo = _StdinEcho(apply_fixes and "-" in paths)
    try:
        _check(flags, run, echo)
    finally:
        echo.emit()


@record(slots=False)
class CheckRun:
    """What ``check`` was asked to do beyond choosing rules (that is ``Flags``): outputs, fixes, gates."""

    paths: tuple[str, ...]
    formats: tuple[str, ...]
    output: str | None
    fail_on: str | None
    exit_zero: bool
    no_color: bool
    quiet: bool
    statistics: bool
    output_format: str
    show_fixes: bool
    apply_fixes: bool
    unsafe_fixes: bool
    show_diff: bool
    fix_symlink_targets: bool
    show_suppressed: bool
    baseline: str | None
    write_baseline: str | None
    jobs: int
    env_files: tuple[str, ...]
    project_directory: str | None
    compose_environment: bool
    merge_compose: bool
    exclude: tuple[str, ...]
    extend_exclude: tuple[str, ...]
    respect_gitignore: bool | None
    force_exclude: bool
    show_files: bool
    show_settings: str | None


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


def _check(flags, run: CheckRun, echo: _StdinEcho) -> None:
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
    stdin = echo.read() if "-" in dockerfiles else None
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
        results = _fix_and_baseline(flags, run, results, plans, echo)
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
        click.echo(f"Fixed {fixed} finding{'s' if fixed != 1 else ''} in {files_fixed} "
                   f"file{'s' if files_fixed != 1 else ''}; {len(findings)} remaining.", err=True)  # fmt: skip
    sys.exit(exit_code(results, run.fail_on or run_config.fail_on or "warning", run.exit_zero))


def _fix_and_baseline(flags, run: CheckRun, results: list, plans: dict, echo: _StdinEcho) -> list:
    """``--diff`` (prints and exits), ``--fix``, ``--write-baseline``, ``--baseline``, in that order."""
    from dockaudit.run import compute_fixes, failed, record_baseline, without_baseline, write_fixes

    if run.show_diff or run.apply_fixes:
        outcomes = compute_fixes(flags, results, plans, run.unsafe_fixes)
        if run.show_diff:
            changed = _print_fix_diffs(results, outcomes)
            sys.exit(EXIT_ERROR if failed(results) else (EXIT_FINDINGS if changed else EXIT_CLEAN))
        results, echo.fixed = write_fixes(results, outcomes, run.fix_symlink_targets)
        for result in results:
            if result.error and id(result) in outcomes:
                fail(f"{result.path}: {result.error}")  # the fixed text was not written
    if run.write_baseline:
        count = record_baseline(results, run.write_baseline)
        click.echo(f"Wrote {count} finding{'s' if count != 1 else ''} to the baseline {run.write_baseline}.", err=True)
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
        click.echo(f"dockaudit: {note}", err=True)


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
        click.echo(safe_text(path))
    for error in errors:
        fail(str(error))
    sys.exit(EXIT_ERROR if errors else EXIT_CLEAN)


def _show_settings(flags, run: CheckRun, run_config) -> None:
    """``--show-settings FILE``: where FILE's configuration comes from and what it resolves to."""
    import textwrap

    from dockaudit.run import plan_for
    from dockaudit.report import safe_text

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
    click.echo("\n".join(safe_text(line) for line in lines))
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
    click.echo("\n".join(["Suppressed:", *lines]) if lines else "Suppressed: none", err=False)


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
        click.echo(valid_utf8("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                                       for line in diff)), nl=False)  # fmt: skip
    click.echo(f"{changed} file{'s' if changed != 1 else ''} would be changed.", err=True)
    return changed > 0


def _layout(run: CheckRun):
    """The text report's layout from the command line (``dockaudit.report.text.Layout``)."""
    from dockaudit.report.text import Layout

    return Layout(run.output_format, run.quiet, run.statistics, run.show_fixes)


def _compose_command() -> click.Command:
    """``dockaudit compose FILES…``: ``check`` with its options, the files merged as one project, and
    its own name, arguments and help (``compose --help``/``-h`` showed check's before)."""

    def merged(**params) -> None:
        click.get_current_context().params["merge_compose"] = True
        check.callback(**{**params, "merge_compose": True})

    files = click.Argument(["paths"], nargs=-1, required=True, metavar="FILES...")
    params = [files, *(p for p in check.params if p.name not in ("paths", "merge_compose"))]
    return click.Command(
        "compose", callback=merged, params=params, context_settings={"help_option_names": ["-h", "--help"]},
        help="Lint Compose FILES merged in order (as docker compose -f a -f b), and the Dockerfiles their "
             "services build. Takes the options of check (--format, --env-file, --select ...).",
        short_help="Lint Compose files merged as one project, and the Dockerfiles they build.",
    )  # fmt: skip


cli.add_command(_compose_command())



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
        cli(standalone_mode=True)
    except _Signalled as stop:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not interrupt the exit
        fail("interrupted" if stop.signum == signal.SIGINT else "terminated")
        sys.exit(128 + stop.signum)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, exit 2, never a traceback with exit 1
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        fail(f"internal error: {type(exc).__name__}: {exc} [{Path(where.filename).name}:{where.lineno}]; "
              "please report it")  # fmt: skip
        sys.exit(EXIT_ERROR)
