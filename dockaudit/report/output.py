"""Where reports go: ``--format FORMAT[:FILE]`` pairs, files written atomically (CI must never upload
half a report, or an earlier run's), standard output otherwise; colour and hyperlinks only on a terminal.
Every report is valid UTF-8 whatever the linted files held."""

from __future__ import annotations

import sys
from pathlib import Path

from dockaudit.console import echo

REPORT_FORMATS = ("text", "json", "sarif", "junit", "checkstyle", "gitlab", "github", "markdown")


class ReportWriteError(OSError):
    """A report file that could not be written: ``str()`` is one line naming it."""


def report_targets(formats: tuple[str, ...], output: str | None) -> list[tuple[str, str | None]]:
    """``--format sarif:out.sarif --format text`` → [("sarif", "out.sarif"), ("text", None)]."""
    targets: list[tuple[str, str | None]] = []
    for value in formats or ("text",):
        name, colon, destination = value.partition(":")
        if name not in REPORT_FORMATS:  # a --format value (the configuration's format is checked when read)
            import click

            raise click.BadParameter(f"{name!r} is not one of {', '.join(REPORT_FORMATS)}", param_hint="--format")
        targets.append((name, destination if colon and destination else None))
    if output:
        for index, (name, destination) in enumerate(targets):
            if destination is None:
                targets[index] = (name, output)
                break
    return targets


def valid_utf8(text: str) -> str:
    """Bytes of the Dockerfile that are not UTF-8 (kept as surrogates while linting) become U+FFFD in
    reports, so every report is valid UTF-8 whatever the file held."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def write_report(results, findings, output_format, output, no_color, layout, to_stderr=False) -> None:
    """One report in ``output_format`` to ``output`` (a file, written atomically) or standard output;
    the text report is coloured, with rule ids as hyperlinks, only on a terminal."""
    if output_format != "text":
        from importlib import import_module

        text = import_module(f"dockaudit.report.{output_format}").render(results, findings)
    else:
        from dockaudit.records import replace
        from dockaudit.report.text import print_colored, render

        if output is None and not no_color and not to_stderr and sys.stdout.isatty():
            print_colored(results, findings, replace(layout, links=True))
            return
        text = render(results, findings, layout)
    text = valid_utf8(text)
    if output:
        from dockaudit.atomic import write_atomically

        try:
            write_atomically(Path(output), text.encode("utf-8"))
        except OSError as exc:
            raise ReportWriteError(f"{output}: cannot write report: {exc.strerror or exc}") from None
    else:
        echo(text, nl=False, err=to_stderr)
