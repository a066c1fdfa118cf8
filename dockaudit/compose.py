"""Compose files as ``docker compose`` reads them, keeping where every key and value was written.

* YAML through PyYAML's node API, so anchors, ``<<`` merge keys and exact offsets survive;
* interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}``, ``${VAR?err}``,
  ``$VAR``, ``$$``) from the environment, then the project's ``.env`` or ``--env-file``;
* several files merged in order (``-f a -f b``), ``extends`` and top-level ``include``.
A malformed file is a ``ComposeError`` with the file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dockaudit.files import COMPOSE_FILE_NAMES
from dockaudit.yamlguard import refuse_bomb

_MAX_INCLUDES = 10


class ComposeError(ValueError):
    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class YNode:
    """A YAML value with where it came from (character offsets into its file)."""

    value: object  # dict[str, YNode] | list[YNode] | str | None
    file: str
    start: int
    end: int
    tag: str = ""
    key_start: int | None = None  # where the key of this mapping value was written
    key_end: int | None = None

    def get(self, *path: str) -> YNode | None:
        node: YNode | None = self
        for key in path:
            if node is None or not isinstance(node.value, dict):
                return None
            node = node.value.get(key)
        return node

    @property
    def text(self) -> str:
        return self.value if isinstance(self.value, str) else ""

    @property
    def items(self) -> list[YNode]:
        return self.value if isinstance(self.value, list) else []

    @property
    def mapping(self) -> dict[str, YNode]:
        return self.value if isinstance(self.value, dict) else {}

    def truthy(self) -> bool:
        return self.text.lower() in ("true", "yes", "on", "1")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPRESSION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.DOTALL)


def interpolate(text: str, environment: dict[str, str], where: tuple[str, int]) -> str:
    """Compose's variable substitution; defaults may nest (``${A:-${B}}``)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        dollar = text.find("$", i)
        if dollar == -1 or dollar + 1 >= n:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        following = text[dollar + 1]
        if following == "$":
            out.append("$")
            i = dollar + 2
        elif following == "{":
            close, depth = dollar + 2, 1
            while close < n and depth:
                if text.startswith("${", close):
                    depth, close = depth + 1, close + 2
                    continue
                depth -= text[close] == "}"
                close += 1
            if depth:
                raise ComposeError(where[0], where[1], f"unterminated variable: {text[dollar:]}")
            out.append(_substitute(text[dollar + 2 : close - 1], environment, where))
            i = close
        else:
            name = _NAME.match(text, dollar + 1)
            if name:
                out.append(environment.get(name.group(0), ""))
                i = name.end()
            else:
                out.append("$")
                i = dollar + 1
    return "".join(out)


def _substitute(expression: str, environment: dict[str, str], where: tuple[str, int]) -> str:
    match = _EXPRESSION.match(expression)
    if not match:
        raise ComposeError(where[0], where[1], f"invalid interpolation format: ${{{expression}}}")
    name, operator, argument = match.groups()
    value = environment.get(name)
    unset_or_empty = value is None or (operator is not None and operator.startswith(":") and value == "")
    if operator in (":-", "-"):
        return interpolate(argument, environment, where) if unset_or_empty else value or ""
    if operator in (":+", "+"):
        return "" if unset_or_empty else interpolate(argument, environment, where)
    # ${VAR:?error}: a missing required variable fails `docker compose up`, not an audit of the file
    return value or ""


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return values
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)
        values[key.strip()] = value
    return values


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_yaml(text: str, path: str, environment: dict[str, str]) -> YNode | None:
    """The document as ``YNode``s, merge keys flattened, scalars interpolated."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ComposeError(path, (mark.line + 1) if mark else 1, str(getattr(exc, "problem", exc))) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ComposeError(path, 1, "collections nested too deeply to read") from None
    finally:
        loader.dispose()
    if root is None:
        return None
    refusal = refuse_bomb(root)
    if refusal:
        raise ComposeError(path, 1, refusal)
    converted: dict[int, YNode] = {}  # an alias is the same node: convert it once

    def convert(node, key=None) -> YNode:
        done = converted.get(id(node))
        if done is None:
            done = converted[id(node)] = convert_once(node)
        return done

    def convert_once(node) -> YNode:
        start, end = node.start_mark.index, node.end_mark.index
        if isinstance(node, yaml.MappingNode):
            try:
                loader.flatten_mapping(node)
            except yaml.YAMLError as exc:
                raise ComposeError(path, node.start_mark.line + 1, f"bad merge key: {exc}") from None
            mapping: dict[str, YNode] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ComposeError(path, key_node.start_mark.line + 1, "mapping keys must be plain strings")
                child = convert(value_node)
                child.key_start, child.key_end = key_node.start_mark.index, key_node.end_mark.index
                mapping[str(key_node.value)] = child
            return YNode(mapping, path, start, end, node.tag)
        if isinstance(node, yaml.SequenceNode):
            return YNode([convert(item) for item in node.value], path, start, end, node.tag)
        value = node.value
        if node.tag.endswith(":null"):
            value = None
        elif isinstance(value, str) and "$" in value:
            value = interpolate(value, environment, (path, node.start_mark.line + 1))
        return YNode(value, path, start, end, node.tag)

    try:
        return convert(root)
    except RecursionError:
        raise ComposeError(path, 1, "collections nested too deeply to read") from None


def _merge(base: YNode, over: YNode, concatenate: bool = False) -> YNode:
    """``docker compose -f a -f b`` semantics, simplified: mappings merge, lists concatenate where Compose
    does (ports, volumes, environment, …), scalars are replaced."""
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        merged = dict(base.value)
        for key, value in over.value.items():
            merged[key] = _merge(merged[key], value, key in _CONCATENATED) if key in merged else value
        return YNode(merged, over.file, over.start, over.end, over.tag, over.key_start, over.key_end)
    if concatenate and isinstance(base.value, list) and isinstance(over.value, list):
        return YNode(base.value + over.value, over.file, over.start, over.end, over.tag, over.key_start, over.key_end)
    return over


_CONCATENATED = frozenset({"ports", "expose", "volumes", "devices", "env_file", "dns", "extra_hosts", "secrets",
                           "configs", "cap_add", "cap_drop"})  # fmt: skip


@dataclass
class ComposeProject:
    files: list[Path]
    root: YNode
    folder: Path  # the project directory: relative paths resolve against it
    texts: dict[str, str] = field(default_factory=dict)  # file → text, for positions

    @property
    def services(self) -> dict[str, YNode]:
        node = self.root.get("services")
        return node.mapping if node else {}


def load_project(
    files: list[Path], env_files: list[Path] | None = None, environ: dict[str, str] | None = None
) -> ComposeProject:
    if not files:
        raise ValueError("no compose file")
    folder = files[0].resolve().parent
    environment: dict[str, str] = {}
    for env_file in env_files if env_files else [folder / ".env"]:
        environment.update(read_env_file(env_file))
    environment.update(environ if environ is not None else os.environ)
    texts: dict[str, str] = {}
    root: YNode | None = None
    for path in files:
        root = _load_file(path, environment, texts, root, depth=0)
    if root is None:
        root = YNode({}, str(files[0]), 0, 0)
    _apply_extends(root, files[0], environment, texts)
    return ComposeProject(files, root, folder, texts)


def _load_file(path: Path, environment: dict[str, str], texts: dict[str, str], into: YNode | None, depth: int):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ComposeError(str(path), 1, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ComposeError(str(path), 1, "not UTF-8 text") from None
    texts[str(path)] = text
    node = parse_yaml(text, str(path), environment)
    if node is None:
        return into
    if not isinstance(node.value, dict):
        raise ComposeError(str(path), 1, "a compose file is a mapping (services: …)")
    include = node.get("include")
    if include is not None and depth < _MAX_INCLUDES:
        for item in include.items:
            target = item.text or (item.get("path").text if item.get("path") else "")
            if target:
                into = _load_file((path.parent / target).resolve(), environment, texts, into, depth + 1)
    return _merge(into, node) if into is not None else node


def _apply_extends(root: YNode, first: Path, environment: dict[str, str], texts: dict[str, str]) -> None:
    services = root.get("services")
    if services is None:
        return
    for name, service in list(services.mapping.items()):
        extends = service.get("extends")
        if extends is None:
            continue
        base_name = extends.text or (extends.get("service").text if extends.get("service") else "")
        other = extends.get("file")
        if other is not None and other.text:
            other_root = _load_file((Path(service.file).parent / other.text).resolve(), environment, texts, None, 1)
            base = other_root.get("services", base_name) if other_root else None
        else:
            base = services.mapping.get(base_name)
        if base is not None and base is not service:
            services.mapping[name] = _merge(base, service)


def service_build(
    project: ComposeProject, service: YNode
) -> tuple[Path, Path | None, str | None, dict[str, str], str | None]:
    """(context, Dockerfile path or None for dockerfile_inline, inline text, build args, target)."""
    build = service.get("build")
    base = Path(service.file).parent
    if build is None:
        return base, None, None, {}, None
    if isinstance(build.value, str):
        context = (base / build.text).resolve()
        return context, context / "Dockerfile", None, {}, None
    context_node = build.get("context")
    context = (base / (context_node.text if context_node else ".")).resolve()
    inline = build.get("dockerfile_inline")
    dockerfile_node = build.get("dockerfile")
    dockerfile = None if inline else (context / (dockerfile_node.text if dockerfile_node else "Dockerfile"))
    args = build.get("args")
    values: dict[str, str] = {}
    if args is not None:
        if isinstance(args.value, dict):
            values = {k: v.text for k, v in args.mapping.items() if v.value is not None}
        else:
            for item in args.items:
                key, eq, value = item.text.partition("=")
                if eq:
                    values[key] = value
    target = build.get("target")
    return context, dockerfile, inline.text if inline else None, values, target.text if target else None


def environment_entries(service: YNode) -> Iterator[tuple[str, str | None, YNode]]:
    """``environment:`` as (name, value, node), from either the mapping or the list form."""
    env = service.get("environment")
    if env is None:
        return
    if isinstance(env.value, dict):
        for key, node in env.mapping.items():
            yield key, node.text if node.value is not None else None, node
    else:
        for item in env.items:
            key, eq, value = item.text.partition("=")
            yield key, value if eq else None, item


def find_compose_files(folder: Path) -> list[Path]:
    return [folder / name for name in COMPOSE_FILE_NAMES if (folder / name).is_file()]


def line_of(project: ComposeProject, file: str, offset: int) -> int:
    return _line_of(project.texts.get(file, ""), offset)
