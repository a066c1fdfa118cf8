"""Lossless Dockerfile syntax: parser, tree, BuildKit dump, variable expansion, shell view."""

from dockaudit.syntax.nodes import Arg, Blank, Comment, Directive, Dockerfile, Flag, Heredoc, Instruction
from dockaudit.syntax.parser import DockerfileSyntaxError, parse
from dockaudit.syntax.source import Position, Source, Span

__all__ = [
    "Arg", "Blank", "Comment", "Directive", "Dockerfile", "DockerfileSyntaxError", "Flag", "Heredoc",
    "Instruction", "Position", "Source", "Span", "parse",
]  # fmt: skip
