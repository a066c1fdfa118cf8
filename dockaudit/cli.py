"""Command line: ``dockaudit PATH…`` (= ``dockaudit check PATH…``), ``parse``, ``rules``, ``rule``.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it;
2 usage, I/O or parse errors.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from dockaudit import __version__
from dockaudit.files import InputError, is_compose_file, read_dockerfile

REPORT_FORMATS = ("text", "json", "sarif", "junit", "checkstyle", "gitlab", "github", "markdown")

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
SEVERITY_CHOICES = ("error", "warning", "info", "style", "never")


class _DefaultToCheck(click.Group):
    """Any first argument that is not a sub-command is a path for ``check``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:  # `dockaudit` alone checks the working directory
            args = ["check"]  # (but shell completion of `dockaudit <TAB>` offers the commands)
        elif args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _fail(message: str) -> None:
    """One line on standard error; control characters from file names or contents are shown escaped."""
    from dockaudit.report import safe_text

    click.echo(f"dockaudit: {safe_text(message)}", err=True)


def _split_list(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _refuse_unknown_selectors(**options: list[str] | tuple[str, ...]) -> None:
    """A usage error for the first selector of ``--select``/``--ignore``/… that names no rule."""
    from dockaudit.linting.engine import load_rules, unknown_selectors

    for option, values in options.items():
        unknown = unknown_selectors(load_rules(), values)
        if unknown:
            raise click.BadParameter(f"unknown rule selector {unknown[0]!r} (see `dockaudit rules`)",
                                     param_hint="--" + option.replace("_", "-"))  # fmt: skip


def _build_args(values: tuple[str, ...]) -> dict[str, str]:
    args = {}
    for value in values:
        name, eq, arg = value.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--build-arg")
        args[name] = arg
    return args


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
              help="Processes for many files (default 0: one per CPU; 1: no worker processes; never more than the "
                   "CPUs, and none for a few files).")  # fmt: skip
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
        select=_split_list(select),
        ignore=_split_list(ignore),
        extend_select=_split_list(extend_select),
        config=Path(config_file) if config_file else None,
        isolated=isolated,
        target=target,
        build_args=_build_args(build_args),
        context_dir=Path(context_dir) if context_dir else None,
        use_context=not no_context,
        min_driver=min_driver,
        trusted_registries=trusted_registries,
        online=online,
        stdin_filename=stdin_filename,
    )
    _refuse_unknown_selectors(select=flags.select, ignore=flags.ignore, extend_select=flags.extend_select)
    if online:
        from dockaudit.facts.online import BUDGET

        BUDGET.restart()
    if not paths:
        paths = (".",)
    run = CheckRun(paths=paths, **{name: value for name, value in click.get_current_context().params.items()
                      if name in CheckRun.__dataclass_fields__ and name != "paths"})  # fmt: skip
    echo = _StdinEcho(apply_fixes and "-" in paths)
    try:
        _check(flags, run, echo)
    finally:
        echo.emit()


@dataclass(frozen=True)
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
    from dockaudit.config import ConfigError
    from dockaudit.linting.engine import FileResult
    from dockaudit.run import cached_plan, config_for, lint_files

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
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    reports = _report_targets(run.formats or ((run_config.format,) if run_config.format else ()), run.output)
    compose_files = [f for f in files if f != "-" and is_compose_file(f)]
    if run.merge_compose:
        compose_files = [f for f in files if f != "-"]
    env_paths = [Path(e) for e in run.env_files] or None
    folder = Path(run.project_directory) if run.project_directory else None
    environ = dict(os.environ) if run.compose_environment else None
    results = []
    if compose_files:
        scanned = tuple(p for p in run.paths if p != "-" and os.path.isdir(p))
        results = _lint_compose_files(flags, compose_files, plans, env_paths, run.merge_compose, folder, environ,
                                      scanned)  # fmt: skip
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
            _fail(f"{result.path}: {result.error}")

    report_to_stderr = run.apply_fixes and "-" in run.paths  # stdout carries the fixed file
    if run.show_diff or run.apply_fixes:
        outcomes = _compute_fixes(flags, results, plans, run.unsafe_fixes)
        if run.show_diff:
            changed = _print_fix_diffs(results, outcomes)
            sys.exit(EXIT_ERROR if _failed(results) else (EXIT_FINDINGS if changed else EXIT_CLEAN))
        results = _apply_fixes(results, outcomes, run.fix_symlink_targets, echo)
    if run.write_baseline:
        _write_baseline(results, run.write_baseline)
    if run.baseline:
        results = _filter_baseline(results, run.baseline)

    findings = [f for r in results for f in r.findings]
    failed = _failed(results)
    for report_format, destination in reports:
        _write_report(results, findings, report_format, destination, run.no_color, _layout(run), report_to_stderr)
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
    sys.exit(_exit_code(failed, findings, run.fail_on or run_config.fail_on or "warning", run.exit_zero))


def _note_stale_knowledge() -> None:
    """Once per run, text output only: tables older than six months miss what was released since."""
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge, staleness_note, today

    try:
        note = staleness_note(load_knowledge(), today())
    except KnowledgeError:
        return  # the rules that need the tables report it
    if note:
        click.echo(f"dockaudit: {note}", err=True)


def _selection(run: CheckRun, config):
    """How directory scans choose files: flags over the configuration (``dockaudit.discovery``)."""
    from dockaudit.discovery import DEFAULT_EXCLUDE, Selection

    flagged = _split_list(run.exclude)
    configured = config.exclude if config.exclude is not None else DEFAULT_EXCLUDE
    base = config.root if config.path is not None and not flagged else Path.cwd()
    return Selection(
        exclude=tuple(flagged) if flagged else configured,
        extend_exclude=(*config.extend_exclude, *_split_list(run.extend_exclude)),
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
        _fail(str(error))
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
    _fail(f"{error.path}: {error.reason}; skipped")
    return True


def _failed(results) -> bool:
    """Whether the run must exit 2 whatever its findings: an input that could not be read or parsed, or
    a crash (a DA000 finding) — a crash never passes for the "findings" code 1."""
    from dockaudit.linting.engine import INTERNAL_ERROR

    return any(r.error or any(f.rule == INTERNAL_ERROR[0] for f in r.findings) for r in results)


def _exit_code(failed: bool, findings, threshold_name: str, exit_zero: bool) -> int:
    """2 when the run ``failed`` (``_failed``); else 1 when findings reach the threshold."""
    from dockaudit.model import Severity

    if failed:
        return EXIT_ERROR
    if threshold_name != "never" and not exit_zero:
        threshold = Severity.parse(threshold_name)
        if any(f.severity >= threshold for f in findings):
            return EXIT_FINDINGS
    return EXIT_CLEAN


def _lint_compose_files(flags, compose_files, plans, env_files, merged=False, project_directory=None, environ=None,
                        scanned=()):  # fmt: skip
    """Each compose file as its own project (or, with ``merged``, all of them as ``-f a -f b``).

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
    return results


def _scanned_folder(path: str, scanned: tuple[str, ...]) -> Path | None:
    """The outermost folder of ``scanned`` that holds ``path`` (None when it was named itself)."""
    from dockaudit.files import resolves_inside

    holders = [Path(os.path.realpath(folder)) for folder in scanned if resolves_inside(path, folder)]
    return min(holders, key=lambda p: len(p.parts)) if holders else None


def _print_suppressed(results) -> None:
    from dockaudit.report import safe_text

    lines = [
        safe_text(f"{finding.path}:{finding.line}:{finding.column}  {finding.rule}  suppressed by {s.origin} comment "
                  f"on line {s.line}" + (f" -- {s.reason}" if s.reason else ""))
        for r in results
        for finding, s in r.suppressed
    ]
    click.echo("\n".join(["Suppressed:", *lines]) if lines else "Suppressed: none", err=False)


def _write_baseline(results, path: str) -> None:
    from dockaudit.linting.baseline import write_baseline

    try:
        count = write_baseline(results, Path(path))
    except OSError as exc:
        _fail(f"{path}: cannot write the baseline: {exc.strerror or exc}")
        sys.exit(EXIT_ERROR)
    click.echo(f"Wrote {count} finding{'s' if count != 1 else ''} to the baseline {path}.", err=True)


def _filter_baseline(results, path: str):
    from dockaudit.linting.baseline import BaselineError, filter_results, read_baseline

    try:
        known = read_baseline(Path(path))
    except BaselineError as exc:
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    return filter_results(results, known)


def _compute_fixes(flags, results, plans, unsafe: bool) -> dict[int, tuple]:
    """Every file's fix outcome, keyed by ``id(result)``, all computed before anything is written: a
    failure here writes nothing (exit 2), so one run never leaves half its files fixed."""
    from dockaudit.files import MAX_FILE_BYTES, read_regular_file
    from dockaudit.linting.fix import fix_compose_text, fix_text
    from dockaudit.run import plan_for

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
            _fail(f"{result.path}: cannot fix: {exc}; no file was rewritten")
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # noqa: BLE001 - a bug in a fix must not leave the run half written
            _fail(f"{result.path}: fixing crashed ({type(exc).__name__}: {exc}); no file was rewritten")
            sys.exit(EXIT_ERROR)
        outcomes[id(result)] = (outcome, original)
    return outcomes


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
        click.echo(_valid_utf8("".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                                       for line in diff)), nl=False)  # fmt: skip
    click.echo(f"{changed} file{'s' if changed != 1 else ''} would be changed.", err=True)
    return changed > 0


def _apply_fixes(results, outcomes, follow_symlinks: bool, echo: _StdinEcho):
    """Write each fixed file (standard input's goes to ``echo``) and return the results as they are on
    disk now: the fixed text's findings where the write went through, the original ones where not."""
    from dockaudit.linting.engine import FileResult, tree_result
    from dockaudit.syntax.source import Source

    on_disk = []
    for result in results:
        if id(result) not in outcomes:
            on_disk.append(result)
            continue
        outcome, original = outcomes[id(result)]
        data = Source(outcome.text).to_bytes()
        if result.path == "-":
            echo.fixed = data
        elif outcome.changed:
            problem = _write_fixed(Path(result.path), data, original, follow_symlinks)
            if problem:
                _fail(f"{result.path}: {problem}")
                result.error = problem
                on_disk.append(result)
                continue
        findings = sorted(outcome.remaining + outcome.dropped, key=lambda f: f.sort_key())
        rest = {"suppressed": result.suppressed, "fixed": len(outcome.applied)}
        if outcome.tree is None:  # a Compose file
            on_disk.append(FileResult(result.path, findings, None, **rest))
        else:
            on_disk.append(tree_result(result.path, findings, outcome.tree, **rest))
    return on_disk


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


def _report_targets(formats: tuple[str, ...], output: str | None) -> list[tuple[str, str | None]]:
    """``--format sarif:out.sarif --format text`` → [("sarif", "out.sarif"), ("text", None)]."""
    targets: list[tuple[str, str | None]] = []
    for value in formats or ("text",):
        name, colon, destination = value.partition(":")
        if name not in REPORT_FORMATS:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(REPORT_FORMATS)}", param_hint="--format")
        targets.append((name, destination if colon and destination else None))
    if output:
        for index, (name, destination) in enumerate(targets):
            if destination is None:
                targets[index] = (name, output)
                break
    return targets


def _valid_utf8(text: str) -> str:
    """Bytes of the Dockerfile that are not UTF-8 (kept as surrogates while linting) become U+FFFD in
    reports, so every report is valid UTF-8 whatever the file held."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _layout(run: CheckRun):
    """The text report's layout from the command line (``dockaudit.report.text.Layout``)."""
    from dockaudit.report.text import Layout

    return Layout(run.output_format, run.quiet, run.statistics, run.show_fixes)


def _write_report(results, findings, output_format, output, no_color, layout, to_stderr=False) -> None:
    """One report in ``output_format`` to ``output`` (a file, written atomically) or standard output;
    the text report is coloured, with rule ids as hyperlinks, only on a terminal."""
    if output_format != "text":
        from importlib import import_module

        text = import_module(f"dockaudit.report.{output_format}").render(results, findings)
    else:
        from dataclasses import replace

        from dockaudit.report.text import print_colored, render

        if output is None and not no_color and not to_stderr and sys.stdout.isatty():
            print_colored(results, findings, replace(layout, links=True))
            return
        text = render(results, findings, layout)
    text = _valid_utf8(text)
    if output:
        from dockaudit.atomic import write_atomically

        try:  # atomically: CI must never upload half a report, or an earlier run's
            write_atomically(Path(output), text.encode("utf-8"))
        except OSError as exc:
            _fail(f"{output}: cannot write report: {exc.strerror or exc}")
            sys.exit(EXIT_ERROR)
    else:
        click.echo(text, nl=False, err=to_stderr)


@cli.command("parse")
@click.argument("path")
@click.option("--format", "output_format", type=click.Choice(["json", "dump"]), default="json", show_default=True)
@click.option("--build-arg", "build_args", multiple=True, help="NAME=VALUE, as docker build --build-arg.")
def parse_command(path: str, output_format: str, build_args: tuple[str, ...]) -> None:
    """Print the instruction tree (json), or BuildKit's own AST dump text (dump)."""
    from dockaudit.syntax.parser import DockerfileSyntaxError, parse

    try:
        data = read_dockerfile(path)
        tree = parse(data, None if path == "-" else path)
    except InputError as exc:
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    except DockerfileSyntaxError as exc:
        _fail(f"{path}:{exc.line}: {exc.message}")
        sys.exit(EXIT_ERROR)
    if output_format == "dump":
        from dockaudit.syntax.dump import dump

        click.echo(_valid_utf8(dump(tree)), nl=False)
    else:
        import json

        from dockaudit.context import LintContext, Options
        from dockaudit.facts.knowledge import KnowledgeError
        from dockaudit.facts.mlfacts import ml_facts
        from dockaudit.syntax.tree_json import tree_to_dict

        arguments = _build_args(build_args)
        document = tree_to_dict(tree, arguments)
        context_dir = Path(path).resolve().parent if path != "-" else None
        ctx = LintContext(tree, Options(build_args=arguments, context_dir=context_dir, use_context=path != "-"))
        try:
            from dockaudit.facts.knowledge import load_knowledge, unknown_facts

            document["facts"] = [stage.to_json() for stage in ml_facts(ctx).stages]
            for stage in document["facts"]:
                stage["unknown_to_tables"] = unknown_facts(stage, load_knowledge())
        except KnowledgeError as exc:
            _fail(str(exc))
            sys.exit(EXIT_ERROR)
        click.echo(_valid_utf8(json.dumps(document, indent=2, ensure_ascii=False)))


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


@cli.command("image")
@click.argument("sources", nargs=-1, required=True)
@click.option("--format", "formats", multiple=True, metavar="FORMAT[:FILE]", help="As for check.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="Write the (first) report to FILE."
)
@click.option("--select", multiple=True, help="Rule ids, prefixes, names or presets to run (default: the DA8xx rules).")
@click.option("--ignore", multiple=True, help="Rule ids, prefixes, names or presets to skip.")
@click.option("--platform", default="linux/amd64", show_default=True, help="The image of an index to audit.")
@click.option("--all-platforms", is_flag=True, help="Audit every image of an index.")
@click.option("--insecure", is_flag=True, help="Plain HTTP for docker:// registries (local test registries).")
@click.option("--dockerfile", "dockerfile_path", type=click.Path(dir_okay=False, exists=True),
              help="The Dockerfile the image was built from: its rules run too, and findings name its lines.")  # fmt: skip
@click.option("--max-image-size", type=float,
              help="Budget in MiB for the whole image (DA805; config: max-image-size).")  # fmt: skip
@click.option("--max-layer-size", type=float, help="Budget in MiB for one layer (DA805; config: max-layer-size).")
@click.option("--max-layer-unpacked", type=click.FloatRange(min=0, min_open=True), default=256, show_default=True,
              help="GiB one compressed layer may inflate to; beyond it the layer is refused as a bomb.")  # fmt: skip
@click.option("--max-unpacked", type=click.FloatRange(min=0, min_open=True), default=1024, show_default=True,
              help="GiB all layers of an image may inflate to.")  # fmt: skip
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True),
              help="Use this config file (default: the nearest one up from the working directory).")  # fmt: skip
@click.option("--isolated", is_flag=True, help="Ignore configuration files.")
@click.option("--fail-on", type=click.Choice(SEVERITY_CHOICES), default="warning", show_default=True)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on.")
@click.option("--no-color", is_flag=True, help="Plain text even on a terminal.")
@click.option("--quiet", "-q", is_flag=True, help="Only the finding lines.")
def image_command(sources, formats, output, select, ignore, platform, all_platforms, insecure, dockerfile_path,
                  max_image_size, max_layer_size, max_layer_unpacked, max_unpacked, config_file, isolated, fail_on,
                  exit_zero, no_color, quiet) -> None:  # fmt: skip
    """Audit built images: docker-archive:PATH, oci:DIR[:REF], oci-archive:PATH[:REF],
    docker://[HOST/]NAME[:TAG|@DIGEST] (a bare NAME:TAG is Docker Hub), docker-daemon:NAME."""
    from dockaudit.config import ConfigError
    from dockaudit.context import Options
    from dockaudit.linting.engine import load_rules, select_rules
    from dockaudit.image.audit import audit_source
    from dockaudit.image.progress import progress_for
    from dockaudit.model import Severity
    from dockaudit.run import Flags, config_for

    flags = Flags(config=Path(config_file) if config_file else None, isolated=isolated)
    try:
        config = config_for(flags, Path.cwd())
    except ConfigError as exc:
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    _refuse_unknown_selectors(select=_split_list(select), ignore=_split_list(ignore))
    rules = select_rules(load_rules(), _split_list(select) or ["DA8"], [*config.ignore, *_split_list(ignore)])
    max_image_size = max_image_size or config.max_image_size
    max_layer_size = max_layer_size or config.max_layer_size
    budget = (max_image_size, max_layer_size) if max_image_size or max_layer_size else None
    options = Options(
        image_budget=budget, unpack_limits=(int(max_layer_unpacked * 1024**3), int(max_unpacked * 1024**3))
    )
    tables: list[str] = []
    show_tables = not quiet and (not formats or formats == ("text",))

    def remember(ctx) -> None:
        if show_tables:
            from dockaudit.report.layers import render_layers

            tables.append(render_layers(ctx))

    dockerfile_result = None
    if dockerfile_path:
        from dockaudit.linting.engine import lint_source
        from dockaudit.run import plan_for

        try:
            plan = plan_for(flags, dockerfile_path)
            data = read_dockerfile(dockerfile_path)
        except (InputError, ConfigError) as exc:
            _fail(str(exc))
            sys.exit(EXIT_ERROR)
        dockerfile_result = lint_source(data, dockerfile_path, plan.rules, plan.options)
    tree = dockerfile_result.dockerfile if dockerfile_result else None
    progress = progress_for(sys.stderr)  # a bar on a terminal only: None in CI logs, pipes and tests
    results = [
        r
        for s in sources
        for r in audit_source(s, rules, options, platform, all_platforms, insecure, remember, tree, progress)
    ]
    if dockerfile_result is not None:
        from dockaudit.image.audit import merge_secret_findings

        merge_secret_findings(results, dockerfile_result)
        results.append(dockerfile_result)
    for table in tables:
        click.echo(table)
    for result in results:
        if result.error:
            _fail(result.error)
    findings = [f for r in results for f in r.findings]
    for report_format, destination in _report_targets(formats, output):
        _write_report(results, findings, report_format, destination, no_color, _image_layout(quiet))
    if any(r.error for r in results):
        sys.exit(EXIT_ERROR)
    if fail_on != "never" and not exit_zero and any(f.severity >= Severity.parse(fail_on) for f in findings):
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


def _image_layout(quiet: bool):
    from dockaudit.report.text import Layout

    return Layout(quiet=quiet)


@cli.command("init")
@click.argument("folder", default=".", type=click.Path(file_okay=False, exists=True))
def init_command(folder: str) -> None:
    """Write a commented starter .dockaudit.toml into FOLDER (never overwrites)."""
    from dockaudit.config import ConfigError, write_starter

    try:
        target = write_starter(Path(folder))
    except ConfigError as exc:
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    click.echo(f"Wrote {target}.")


@cli.group("knowledge", invoke_without_command=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def knowledge_command(context: click.Context, output_format: str) -> None:
    """What the ML knowledge tables cover: versions, CUDA driver floors, end-of-life dates, their date
    (`knowledge refresh` reads them again from their sources)."""
    if context.invoked_subcommand is not None:
        return
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge, summarize_knowledge

    try:
        summary = summarize_knowledge(load_knowledge())
    except KnowledgeError as exc:
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    if output_format == "json":
        import json

        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"Knowledge tables as of {summary['as_of']} (dockaudit/facts/knowledge/ml-compat.toml, base-images.toml)")
    for key, value in summary.items():
        if key != "as_of":
            click.echo(f"  {key:<22} {', '.join(value) if isinstance(value, list) else value}")


@knowledge_command.command("refresh")
@click.option("--pypi", default="https://pypi.org/simple/", show_default=True, help="A PEP 691 simple index.")
@click.option("--pytorch-index", default="https://download.pytorch.org/whl/", show_default=True,
              help="The PyTorch wheel index ('' to skip).")  # fmt: skip
@click.option("--registry-image", default="nvidia/cuda", show_default=True,
              help="The CUDA image whose tag list is read ('' to skip).")  # fmt: skip
@click.option("--write", "write_to", type=click.Path(dir_okay=False), default=None,
              help="Also write the refreshed facts to this override file (load it with DOCKAUDIT_KNOWLEDGE_OVERRIDE).")
def knowledge_refresh_command(pypi: str, pytorch_index: str, registry_image: str, write_to: str | None) -> None:
    """Read the version tables again from PyPI, the PyTorch index and the registry, and print the diff against
    the shipped tables for a maintainer to review (nothing installed is changed). Exit 1 when facts changed."""
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge
    from dockaudit.facts.knowledge.refresh import Sources, refresh, render_toml, review_diff, write_override

    try:
        shipped = load_knowledge().raw
    except KnowledgeError as exc:
        _fail(str(exc))
        sys.exit(EXIT_ERROR)
    result = refresh(Sources(pypi, pytorch_index or None, registry_image or None),
                     shipped=shipped.get("ml-compat.toml", {}))  # fmt: skip
    for problem in result.problems:
        _fail(f"not refreshed: {problem}")
    diff = review_diff({"ml-compat": shipped.get("ml-compat.toml", {})}, result.override)
    click.echo(_valid_utf8(diff) if diff else "The sources agree with the shipped tables.", nl=not diff)
    if write_to:
        try:
            write_override(write_to, render_toml(result.override))
        except OSError as exc:
            _fail(f"{write_to}: cannot write: {exc.strerror or exc}")
            sys.exit(EXIT_ERROR)
        except ValueError as exc:
            _fail(f"{write_to}: {exc}")
            sys.exit(EXIT_ERROR)
        click.echo(f"Wrote {write_to}; later runs load it with DOCKAUDIT_KNOWLEDGE_OVERRIDE={write_to}.", err=True)
    sys.exit(EXIT_FINDINGS if diff else EXIT_CLEAN)


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["table", "json", "markdown", "reference"]),
              default="table", show_default=True)  # fmt: skip
def rules_command(output_format: str) -> None:
    """List the rule catalogue (reference: the catalogue plus every rule's docs, as in docs/rules.md)."""
    from dockaudit.linting.catalogue import render_catalogue, render_reference

    click.echo(render_reference() if output_format == "reference" else render_catalogue(output_format), nl=False)


@cli.command("rule")
@click.argument("rule_id")
def rule_command(rule_id: str) -> None:
    """Show one rule's full documentation (by id, name or hadolint/BuildKit alias), or a preset's rules."""
    from dockaudit.linting.catalogue import render_preset, render_rule_docs
    from dockaudit.linting.engine import rule_by_id

    found = rule_by_id(rule_id)
    preset = render_preset(rule_id) if found is None else None
    if preset is not None:
        click.echo(preset, nl=False)
        return
    if found is None:
        _fail(f"unknown rule {rule_id!r} (see `dockaudit rules`)")
        sys.exit(EXIT_ERROR)
    click.echo(render_rule_docs(found), nl=False)


@cli.command("lsp")
def lsp_command() -> None:
    """Run the language server on stdio (for editors; needs the lsp extra: pip install 'dockaudit-lint[lsp]')."""
    try:
        from dockaudit.lsp.server import serve
    except ImportError as exc:
        missing = (exc.name or "pygls").split(".")[0]  # the distribution, not the submodule that failed
        _fail(f"lsp: {missing} is not installed: pip install 'dockaudit-lint[lsp]'")
        sys.exit(EXIT_ERROR)
    serve(sys.stdin.buffer, sys.stdout.buffer)


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
        _fail("interrupted" if stop.signum == signal.SIGINT else "terminated")
        sys.exit(128 + stop.signum)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, exit 2, never a traceback with exit 1
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        _fail(f"internal error: {type(exc).__name__}: {exc} [{Path(where.filename).name}:{where.lineno}]; "
              "please report it")  # fmt: skip
        sys.exit(EXIT_ERROR)
