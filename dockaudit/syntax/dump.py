"""BuildKit's ``Node.Dump()`` text, so our tree can be compared with Docker's byte for byte."""

from __future__ import annotations

from dockaudit.syntax.gotext import go_quote
from dockaudit.syntax.nodes import Dockerfile, Instruction


def dump_instruction(instruction: Instruction) -> str:
    parts = [instruction.keyword.lower()]
    if instruction.flags:
        parts.append("[" + " ".join(go_quote(f.text) for f in instruction.flags) + "]")
    if instruction.trigger is not None:
        parts.append("(" + dump_instruction(instruction.trigger) + ")")
    elif not instruction.is_known and instruction.name != "ONBUILD":
        parts.append('""')  # BuildKit keeps an unknown instruction with one empty argument
    else:
        parts.extend(go_quote(arg.value) for arg in instruction.args)
    return " ".join(parts).strip()


def dump(dockerfile: Dockerfile) -> str:
    """The text of ``parser.Parse(...).AST.Dump()`` plus the trailing newline the tests use."""
    return "".join(f"({dump_instruction(i)})\n" for i in dockerfile.instructions)
