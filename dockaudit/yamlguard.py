"""YAML from files a pull request can plant, read without letting it cost more than it says.

PyYAML's composer keeps an alias as a reference to the same node, so a "billion laughs" document
is small as a node graph and only explodes when converted.  ``expanded_size`` counts the expanded
size on the graph itself; ``load_yaml`` is ``yaml.safe_load`` behind that count, for every YAML
dockaudit reads (Compose, ``.hadolint.yaml``).
"""

from __future__ import annotations

MAX_EXPANDED_NODES = 200_000  # real Compose files have a few thousand; "billion laughs" has 10^9


def expanded_size(root) -> int | None:
    """How many nodes the document stands for with every alias expanded, counted without expanding it
    (each node's size once, capped past the limit); None when an alias refers to its own ancestor."""
    import yaml

    def children(node) -> list:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        return list(node.value) if isinstance(node, yaml.SequenceNode) else []

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:  # post-order without recursion: nesting may be deep
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        kids = children(node)
        if children_done or not kids:
            open_nodes.discard(id(node))
            sizes[id(node)] = min(1 + sum(sizes[id(k)] for k in kids), MAX_EXPANDED_NODES + 1)
            continue
        if id(node) in open_nodes:
            return None  # reached again while its children are pending: a cycle
        open_nodes.add(id(node))
        stack.append((node, True))
        for kid in kids:
            if id(kid) in open_nodes:
                return None
            if id(kid) not in sizes:
                stack.append((kid, False))
    return sizes[id(root)]


def refuse_bomb(root) -> str | None:
    """Why the composed document ``root`` is refused (a recursive alias, or more than
    ``MAX_EXPANDED_NODES`` once aliases are expanded), or None when it may be converted."""
    expanded = expanded_size(root)
    if expanded is None:
        return "a YAML alias refers to a node that contains it (a recursive document)"
    if expanded > MAX_EXPANDED_NODES:
        return f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes: refused as a YAML bomb"
    return None


class YamlRefused(ValueError):
    """The document is not valid YAML, is a bomb, or nests too deeply; ``str()`` says which (one line)."""


def load_yaml(text: str) -> object:
    """``yaml.safe_load(text)`` for one document, refusing bombs and deep nesting with ``YamlRefused``."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)  # checks the characters already: a NUL byte is a ReaderError here
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {yaml_problem(exc)}") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        refusal = refuse_bomb(root)
        if refusal:
            raise YamlRefused(refusal)
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise YamlRefused(f"not valid YAML: {where}{yaml_problem(exc)}") from None
    except RecursionError:  # PyYAML composes and constructs nested collections recursively
        raise YamlRefused("collections nested too deeply to read") from None
    finally:
        loader.dispose()


def yaml_problem(error: Exception) -> str:
    """PyYAML's reason on one line (its ``str()`` adds marks and a code excerpt on several lines)."""
    problem = (getattr(error, "problem", None) or str(error)).strip()
    return problem.splitlines()[0] if problem else type(error).__name__
