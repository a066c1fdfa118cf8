"""The click command line: ``dockaudit PATH…`` (= ``dockaudit check PATH…``) and ``compose``, whose
options become a request that ``dockaudit.check`` runs; the other commands are in
``dockaudit.commands``.  ``dockaudit.entry`` is the program; it comes here for any command line that
is more than paths and on/off switches.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings at or above it;
2 usage, I/O or parse errors.
"""

from __future__ import annotations

from pathlib import Path

import click

from dockaudit import __version__
from dockaudit.options import COMMANDS, SEVERITY_CHOICES, parse_build_args, refuse_unknown_selectors, split_list
from dockaudit.report.output import REPORT_FORMATS

# The commands of dockaudit.commands, loaded only when one of them runs or the commands are listed
# (help, completion): `dockaudit FILE` runs check and needs none of their options and imports.
LAZY_COMMANDS = tuple(name for name in COMMANDS if name not in ("check", "compose"))


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
    from dockaudit.check import CheckRun, run_check
    from dockaudit.run import Flags

    if stdin_filename is not None and "-" not in paths:
        raise click.BadParameter("needs - (standard input) among the paths", param_hint="--stdin-filename")
    if stdin_filename is not None and (apply_fixes or show_diff):  # the fixed text would be written to PATH
        raise click.BadParameter("not with --fix or --diff", param_hint="--stdin-filename")
    flags = Flags(
        select=tuple(split_list(select)),
        ignore=tuple(split_list(ignore)),
        extend_select=tuple(split_list(extend_select)),
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
    run_check(flags, run)


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
