"""Command-line values every command reads the same way — comma lists, ``NAME=VALUE`` build args,
rule selectors (an unknown one is a usage error) — one-line failures on stderr, and the exit codes.
Only the click commands parse options, so click is imported where a usage error is raised."""

from __future__ import annotations

from dockaudit.console import echo
from dockaudit.model import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS  # noqa: F401 - the codes every command exits with

SEVERITY_CHOICES = ("error", "warning", "info", "style", "never")
# Every command; a first argument naming none of them is a path for check (``dockaudit FILE``).
COMMANDS = ("check", "compose", "parse", "image", "init", "knowledge", "rules", "rule", "lsp")


def fail(message: str) -> None:
    """One line on standard error; control characters from file names or contents are shown escaped."""
    from dockaudit.report import safe_text

    echo(f"dockaudit: {safe_text(message)}", err=True)


def split_list(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def refuse_unknown_selectors(**options: list[str] | tuple[str, ...]) -> None:
    """A usage error for the first selector of ``--select``/``--ignore``/… that names no rule."""
    from dockaudit.linting.engine import load_rules, unknown_selectors

    for option, values in options.items():
        unknown = unknown_selectors(load_rules(), values)
        if unknown:
            import click

            raise click.BadParameter(f"unknown rule selector {unknown[0]!r} (see `dockaudit rules`)",
                                     param_hint="--" + option.replace("_", "-"))  # fmt: skip


def parse_build_args(values: tuple[str, ...]) -> dict[str, str]:
    args = {}
    for value in values:
        name, eq, arg = value.partition("=")
        if not eq or not name:
            import click

            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--build-arg")
        args[name] = arg
    return args
