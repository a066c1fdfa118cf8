"""Edit builders for fixes that keep the user's formatting: where a flag goes, how a RUN chain continues."""

from __future__ import annotations

from dockaudit.model import Edit, Fix
from dockaudit.syntax.nodes import Dockerfile, Instruction
from dockaudit.syntax.shell import ShellWord, ends_open
from dockaudit.syntax.source import Span

_OPEN_ENDINGS = ("&&", "||", "|", ";", "&", "(", "{")


def fix_of(description: str, edit: Edit | None) -> Fix | None:
    """A safe fix of the one ``edit``; None when the edit builder found no place for it (it returned None)."""
    return Fix(description, (edit,)) if edit is not None else None


def insert_after_word(dockerfile: Dockerfile, word: ShellWord, text: str) -> Edit | None:
    """`` --no-cache-dir`` right after ``install``: only where the word is placed exactly in the source."""
    if word.span is None or dockerfile.text(word.span) != word.raw:
        return None
    return Edit(Span(word.span.end, word.span.end), f" {text}")


def append_to_run(dockerfile: Dockerfile, instruction: Instruction, command: str) -> Edit | None:
    """Add ``&& command`` at the end of a shell-form RUN, continuing its chain style.

    ``RUN a && b`` → ``RUN a && b && command``; a RUN whose lines start with ``&&`` gets
    `` \\⏎<indent>&& command``; one whose lines end with ``&& \\`` gets `` && \\⏎<indent>command``.
    Exec form, heredoc RUNs and scripts that end open (a trailing ``&&``, a comment, an unclosed
    quote or ``${``) get no edit.
    """
    target = instruction.trigger or instruction
    if target.name != "RUN" or target.json or target.heredocs:
        return None
    text = dockerfile.text(instruction.span)
    script = text.rstrip()
    end = instruction.span.start + len(script)
    lines = script.replace("\r\n", "\n").split("\n")
    last = lines[-1]
    escape = dockerfile.escape
    if not last.strip() or last.rstrip().endswith(_OPEN_ENDINGS + (escape,)) or "#" in last:
        return None
    if ends_open(target.original[target.args_range[0] : target.args_range[1]]):
        return None  # an unclosed quote or $(…: the command would become part of it
    if len(lines) == 1:
        return Edit(Span(end, end), f" && {command}")
    indent = last[: len(last) - len(last.lstrip())]
    previous = lines[-2].rstrip()
    if last.lstrip().startswith(("&&", "||")):
        return Edit(Span(end, end), f" {escape}\n{indent}&& {command}")
    if previous.endswith(escape) and previous[:-1].rstrip().endswith("&&"):
        return Edit(Span(end, end), f" && {escape}\n{indent}{command}")
    return Edit(Span(end, end), f" && {command}")
