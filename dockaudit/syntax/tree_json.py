"""The tree as JSON for ``dockaudit parse --format json``."""

from __future__ import annotations

from dockaudit.syntax.nodes import Blank, Comment, Directive, Dockerfile, Instruction
from dockaudit.syntax.source import Source, Span
from dockaudit.syntax.stages import build_stages


def _span(source: Source, span: Span) -> dict:
    start, end = source.position(span.start), source.position(span.end)
    return {
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column,
        "start_offset": start.offset,
        "end_offset": end.offset,
    }


def instruction_to_dict(source: Source, i: Instruction) -> dict:
    return {
        "type": "instruction",
        "keyword": i.keyword,
        "name": i.name,
        "span": _span(source, i.span),
        "keyword_span": _span(source, i.keyword_span),
        "start_line": i.start_line,
        "end_line": i.end_line,
        "original": i.original,
        "json": i.json,
        "flags": [{"name": f.name, "value": f.value, "span": _span(source, f.span)} for f in i.flags],
        "args": [{"value": a.value, "span": _span(source, a.span)} for a in i.args],
        "heredocs": [
            {
                "name": h.name,
                "fd": h.fd,
                "expand": h.expand,
                "chomp": h.chomp,
                "content": h.content,
                "body_span": _span(source, h.body_span),
            }
            for h in i.heredocs
        ],
        "trigger": instruction_to_dict(source, i.trigger) if i.trigger else None,
    }


def tree_to_dict(tree: Dockerfile, build_args: dict[str, str] | None = None) -> dict:
    source = tree.source
    nodes = []
    for node in tree.nodes:
        if isinstance(node, Instruction):
            nodes.append(instruction_to_dict(source, node))
        elif isinstance(node, Directive):
            nodes.append({"type": "directive", "name": node.name, "value": node.value, "line": node.line})
        elif isinstance(node, Comment):
            nodes.append({"type": "comment", "text": node.text, "line": node.line})
        elif isinstance(node, Blank):
            nodes.append({"type": "blank", "line": node.line})
    stages = [
        {
            "index": s.index,
            "name": s.name,
            "image": s.image,
            "image_as_written": s.image_raw,
            "platform": s.platform,
            "parent_stage": s.parent.index if s.parent else None,
            "line": s.from_instruction.start_line if s.from_instruction else None,
            "instructions": len(s.instructions),
        }
        for s in build_stages(tree, build_args)
    ]
    return {
        "path": tree.path,
        "escape": tree.escape,
        "directives": {name: d.value for name, d in tree.directives.items()},
        "warnings": [{"line": line, "message": message} for line, message in tree.warnings],
        "stages": stages,
        "nodes": nodes,
    }
