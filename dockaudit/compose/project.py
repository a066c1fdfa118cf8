"""Compose files as ``docker compose`` reads them, keeping where every key and value was written.

* YAML through PyYAML's node API, so anchors, ``<<`` merge keys and exact offsets survive;
* interpolation (``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}``, ``${VAR?err}``,
  ``$VAR``, ``$$``) from the environment, then the project's ``.env`` or ``--env-file``;
* several files merged in order (``-f a -f b``), ``extends`` and top-level ``include``;
* confined to the project directory: a path a compose file names (include, ``extends.file``, ``.env``,
  ``env_file``, build context and Dockerfile) is followed only when it resolves, symlinks included, inside
  it; otherwise, and for FIFOs, devices and oversized files, it is listed as not read.  Loads are counted.
A malformed file is a ``ComposeError`` with the file and line.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from dockaudit.files import InputError, read_regular_file
from dockaudit.records import field, record, replace
from dockaudit.yamlguard import refuse_bomb, yaml_problem
from dockaudit.patterns import lazy_pattern

MAX_COMPOSE_BYTES = 4 * 1024 * 1024  # real compose files are a few KiB
MAX_ENV_FILE_BYTES = 1024 * 1024
MAX_COMPOSE_LOADS = 100  # compose files read per project, repeats included: bounds wide and cyclic includes


class ComposeError(ValueError):
    """A compose file that cannot be read as one, or a path in it that is not followed (file and line)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message

    def __reduce__(self):  # rebuilt from its fields when it crosses a process boundary
        return (type(self), (self.path, self.line, self.message))


@record(frozen=False, slots=False)
class YNode:
    """A YAML value with where it came from (character offsets into its file)."""

    value: object  # dict[str, YNode] | list[YNode] | str | None
    file: str
    start: int
    end: int
    tag: str = ""
    key_start: int | None = None  # where the key of this mapping value was written
    key_end: int | None = None

    def __init__(self, value: object, file: str, start: int, end: int, tag: str = "", key_start: int | None = None,
                 key_end: int | None = None) -> None:  # written out: one per YAML node, re-read on every edit
        self.value = value
        self.file = file
        self.start = start
        self.end = end
        self.tag = tag
        self.key_start = key_start
        self.key_end = key_end

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


_NAME = lazy_pattern(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPRESSION = lazy_pattern(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.DOTALL)


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
    """The variables of a ``.env``-style file; ``InputError`` when it is not a regular file or is over
    ``MAX_ENV_FILE_BYTES`` (a FIFO or ``/dev/zero`` must neither block nor fill memory)."""
    data = read_regular_file(path, MAX_ENV_FILE_BYTES)
    return parse_env_text(data.decode("utf-8", errors="replace"))


def parse_env_text(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
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

    try:
        loader = yaml.SafeLoader(text)  # checks the characters already: a NUL byte is a ReaderError here
    except yaml.YAMLError as exc:
        raise ComposeError(path, 1, yaml_problem(exc)) from None
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ComposeError(path, (mark.line + 1) if mark else 1, yaml_problem(exc)) from None
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
                raise ComposeError(path, node.start_mark.line + 1, f"bad merge key: {yaml_problem(exc)}") from None
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


@record(frozen=False, slots=False)
class ComposeProject:
    files: list[Path]
    root: YNode
    folder: Path  # the project directory, a real path: every file the project names must resolve inside it
    texts: dict[str, str] = field(default_factory=dict)  # file → text, for positions
    unread: list[ComposeError] = field(default_factory=list)  # files the project names but were not read, and why

    @property
    def services(self) -> dict[str, YNode]:
        node = self.root.get("services")
        return node.mapping if node else {}


class PathRefused(ValueError):
    """A path written in a compose file that is not followed; ``str()`` says why (one line)."""


_REMOTE = lazy_pattern(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|git@|github\.com/)")


def project_path(written: str, base: Path, folder: Path) -> Path:
    """``written`` (relative to ``base``) as a real path inside the project directory ``folder`` (a real path).

    Symlinks are resolved before the check, so a link in the project that leads out is refused like
    ``../..`` or ``/proc/self/environ``; a URL or git location is refused, never fetched.  A pull
    request controls these paths, and CI must not read (and then print) files outside the checkout.
    Raises ``PathRefused``."""
    if "\0" in written:
        raise PathRefused("holds a NUL byte")
    if _REMOTE.match(written):
        raise PathRefused("is a remote location, not fetched")
    resolved = Path(os.path.realpath(base / written))
    if not resolved.is_relative_to(folder):
        raise PathRefused(f"resolves outside the project directory {folder} (widen it with --project-directory)")
    return resolved


_SHOWN_CHARACTERS = 200


def shown_path(written: str) -> str:
    """A path as written in a compose file, on one line and short enough to quote in a message."""
    printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in written[:_SHOWN_CHARACTERS])
    return printable + ("…" if len(written) > _SHOWN_CHARACTERS else "")


def load_project(
    files: list[Path],
    env_files: list[Path] | None = None,
    environ: dict[str, str] | None = None,
    project_directory: Path | None = None,
    buffers: Mapping[str, str] | None = None,
) -> ComposeProject:
    """The compose ``files`` merged in order, with their includes and extends.

    ``buffers`` (real path → text) stand in for files on disk: an editor's unsaved changes.

    ``${VAR}`` takes its value from the project's ``.env`` (or ``env_files``), then ``environ`` — not
    from ``os.environ`` unless the caller passes it: a CI job's environment holds secrets, and a
    pull request's ``image: ${CI_TOKEN}`` would print one into the report.

    The project directory is ``project_directory``, else the folder of the first file; includes,
    ``extends.file``, ``.env`` and ``env_file`` that resolve outside it are not read and are listed in
    ``unread`` with the reason, as are files that are not regular files or are too large.  At most
    ``MAX_COMPOSE_LOADS`` compose files are read in all; an include cycle is a ``ComposeError``."""
    if not files:
        raise ValueError("no compose file")
    folder = Path(os.path.realpath(project_directory if project_directory is not None else files[0].parent))
    unread: list[ComposeError] = []
    environment = _interpolation_values(folder, env_files, unread)
    environment.update(environ or {})  # the process environment only when the caller passes it
    loader = _Loader(folder, environment, unread, buffers or {})
    root: YNode | None = None
    for path in files:
        root = loader.load_named(path, root)
    if root is None:
        root = YNode({}, str(files[0]), 0, 0)
    loader.apply_extends(root)
    project = ComposeProject(files, root, folder, loader.texts, unread)
    _note_unread_env_files(project)
    return project


def _interpolation_values(folder: Path, env_files: list[Path] | None, unread: list[ComposeError]) -> dict[str, str]:
    """Variables from ``--env-file`` (named by the user: read where they are) or the project's ``.env``."""
    values: dict[str, str] = {}
    if env_files:
        for env_file in env_files:
            values.update(_env_values(env_file, env_file, unread))
        return values
    default = folder / ".env"
    if not os.path.lexists(default):
        return values
    try:
        resolved = project_path(".env", folder, folder)
    except PathRefused as refusal:
        unread.append(ComposeError(str(default), 1, f".env {refusal}; not read"))
        return values
    return _env_values(resolved, default, unread)


def _env_values(path: Path, shown: Path, unread: list[ComposeError]) -> dict[str, str]:
    try:
        return read_env_file(path)
    except InputError as error:
        unread.append(ComposeError(str(shown), 1, f"{error.reason}; not read"))
        return {}


class _Loader:
    """Reads one project's compose files: counts every load, follows includes inside the project only."""

    def __init__(
        self, folder: Path, environment: dict[str, str], unread: list[ComposeError], buffers: Mapping[str, str]
    ) -> None:
        self.folder = folder
        self.buffers = buffers
        self.environment = environment
        self.unread = unread
        self.texts: dict[str, str] = {}
        self.loads = 0
        self.including: list[Path] = []  # the chain of files being read, to name an include cycle

    def load_named(self, path: Path, into: YNode | None) -> YNode | None:
        """A file the user named (or a directory scan found): unreadable is an error."""
        try:
            text = self._read(path)
        except InputError as error:
            raise ComposeError(str(path), 1, error.reason) from None
        return self._merge_in(path, text, into)

    def _read(self, path: Path) -> str:
        self.loads += 1
        if self.loads > MAX_COMPOSE_LOADS:  # a file included from many places, or a wide tree
            raise ComposeError(str(path), 1, f"more than {MAX_COMPOSE_LOADS} compose file loads (include, "
                               "extends): refused")  # fmt: skip
        text = self.buffers.get(os.path.realpath(path))
        if text is None:
            data = read_regular_file(path, MAX_COMPOSE_BYTES)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(str(path), "not UTF-8 text") from None
        elif len(text) > MAX_COMPOSE_BYTES // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_COMPOSE_BYTES:
            raise InputError(str(path), f"file too large (over {MAX_COMPOSE_BYTES // 2**20} MiB)")
        self.texts[str(path)] = text
        return text

    def _merge_in(self, path: Path, text: str, into: YNode | None) -> YNode | None:
        node = parse_yaml(text, str(path), self.environment)
        if node is None:
            return into
        if not isinstance(node.value, dict):
            raise ComposeError(str(path), 1, "a compose file is a mapping (services: …)")
        include = node.get("include")
        self.including.append(Path(os.path.realpath(path)))
        try:
            for item in include.items if include is not None else []:
                into = self._include(item, path, into)
        finally:
            self.including.pop()
        return _merge(into, node) if into is not None else node

    def _include(self, item: YNode, parent: Path, into: YNode | None) -> YNode | None:
        path_node = item.get("path")
        written = item.text or (path_node.text if path_node is not None else "")
        if not written:
            return into
        where = (item.file, _line_of(self.texts.get(item.file, ""), item.start))
        try:
            target = project_path(written, parent.parent, self.folder)
        except PathRefused as refusal:
            self.unread.append(ComposeError(*where, f"include {shown_path(written)} {refusal}; not read"))
            return into
        if target in self.including:
            chain = " -> ".join(p.name for p in [*self.including[self.including.index(target) :], target])
            raise ComposeError(*where, f"include cycle: {chain}")
        try:
            text = self._read(target)
        except InputError as error:
            self.unread.append(ComposeError(*where, f"include {shown_path(written)}: {error.reason}; not read"))
            return into
        return self._merge_in(target, text, into)

    def apply_extends(self, root: YNode) -> None:
        services = root.get("services")
        if services is None:
            return
        extended: dict[Path, YNode | None] = {}  # each extended file read once, however many services use it
        for name, service in list(services.mapping.items()):
            extends = service.get("extends")
            if extends is None:
                continue
            service_node = extends.get("service")
            base_name = extends.text or (service_node.text if service_node is not None else "")
            other = extends.get("file")
            if other is not None and other.text:
                other_root = self._extended_root(other, extended)
                base = other_root.get("services", base_name) if other_root else None
            else:
                base = services.mapping.get(base_name)
            if base is not None and base is not service:
                services.mapping[name] = _merge(base, service)

    def _extended_root(self, written: YNode, extended: dict[Path, YNode | None]) -> YNode | None:
        where = (written.file, _line_of(self.texts.get(written.file, ""), written.start))
        try:
            target = project_path(written.text, Path(written.file).parent, self.folder)
        except PathRefused as refusal:
            self.unread.append(ComposeError(*where, f"extends.file {shown_path(written.text)} {refusal}; not read"))
            return None
        if target not in extended:
            try:
                extended[target] = self._merge_in(target, self._read(target), None)
            except InputError as error:
                self.unread.append(ComposeError(*where, f"extends.file {shown_path(written.text)}: {error.reason}; "
                                                "not read"))  # fmt: skip
                extended[target] = None
        return extended[target]


def env_file_entries(service: YNode) -> list[tuple[YNode, str]]:
    """A service's ``env_file:`` entries as (node, path as written): a string, a list, or long syntax."""
    node = service.get("env_file")
    if node is None:
        return []
    entries = [node] if isinstance(node.value, str) else node.items
    found = []
    for entry in entries:
        path_node = entry.get("path")
        written = entry.text or (path_node.text if path_node is not None else "")
        if written:
            found.append((entry, written))
    return found


def _note_unread_env_files(project: ComposeProject) -> None:
    """``env_file`` paths DA912 will not read (outside the project, not regular files), said once here."""
    for service in project.services.values():
        for entry, written in env_file_entries(service):
            where = (entry.file, line_of(project, entry.file, entry.start))
            try:
                path = project_path(written, Path(entry.file).parent, project.folder)
            except PathRefused as refusal:
                project.unread.append(ComposeError(*where, f"env_file {shown_path(written)} {refusal}; not read"))
                continue
            problem = _unreadable_env_file(path)
            if problem:
                project.unread.append(ComposeError(*where, f"env_file {shown_path(written)}: {problem}; not read"))


def _unreadable_env_file(path: Path) -> str | None:
    """Why DA912 will not read the env file at ``path`` (checked without opening it), or None."""
    try:
        status = path.stat()
    except OSError:
        return None  # missing: docker compose reports it; there is nothing to read
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a FIFO, device or socket)"
    if status.st_size > MAX_ENV_FILE_BYTES:
        return f"file too large (over {MAX_ENV_FILE_BYTES // (1024 * 1024)} MiB)"
    return None


@record(slots=False)
class BuildSettings:
    """How Compose would build a service, limited to what may be read."""

    context: Path | None  # None: remote, or outside the project (not read)
    dockerfile: Path | None  # None: dockerfile_inline, or not read (see ``refused``)
    inline: str | None
    args: dict[str, str]
    target: str | None
    refused: ComposeError | None = None  # why the context or the Dockerfile is not read


def service_build(project: ComposeProject, service: YNode) -> BuildSettings:
    """The service's build: context and Dockerfile resolved inside the project, build args and target."""
    build = service.get("build")
    base = Path(service.file).parent
    if build is None:
        return BuildSettings(None, None, None, {}, None)
    context_node = build if isinstance(build.value, str) else build.get("context")
    written = (context_node.text if context_node is not None else "") or "."
    inline = build.get("dockerfile_inline")
    args, target = _build_args(build), build.get("target")
    settings = BuildSettings(None, None, inline.text if inline else None, args, target.text if target else None)
    try:
        context = project_path(written, base, project.folder)
    except PathRefused as refusal:
        return replace(settings, refused=_refused(project, context_node or build, "build context", written, refusal))
    if inline is not None:
        return replace(settings, context=context)
    dockerfile_node = build.get("dockerfile")
    written = (dockerfile_node.text if dockerfile_node is not None else "") or "Dockerfile"
    try:
        return replace(settings, context=context, dockerfile=project_path(written, context, project.folder))
    except PathRefused as refusal:
        return replace(settings, context=context,
                       refused=_refused(project, dockerfile_node or build, "build dockerfile", written, refusal))  # fmt: skip


def _refused(project: ComposeProject, node: YNode, key: str, written: str, refusal: PathRefused) -> ComposeError:
    return ComposeError(node.file, line_of(project, node.file, node.start), f"{key} {shown_path(written)} {refusal}; "
                        "not read")  # fmt: skip


def _build_args(build: YNode) -> dict[str, str]:
    args = build.get("args")
    values: dict[str, str] = {}
    if args is None:
        return values
    if isinstance(args.value, dict):
        return {k: v.text for k, v in args.mapping.items() if v.value is not None}
    for item in args.items:
        key, eq, value = item.text.partition("=")
        if eq:
            values[key] = value
    return values


def service_image(service: YNode) -> str:
    """The image a service names; empty when it names none (it is only built)."""
    node = service.get("image")
    return node.text if node else ""


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


def line_of(project: ComposeProject, file: str, offset: int) -> int:
    return _line_of(project.texts.get(file, ""), offset)
