"""Build stages and ARG/ENV scoping as BuildKit applies them.

* ARGs before the first FROM are *meta args*: visible in FROM lines only,
  unless a stage re-declares them with ``ARG NAME`` (which takes the meta value).
* The platform args (``TARGETPLATFORM`` …) are predefined for FROM lines and
  become visible in a stage once declared with ``ARG``.
* ENV persists into stages built ``FROM`` an earlier stage; ARG does not.

Scopes are computed once per stage and shared: only ARG and ENV change the variables, so every
instruction holds a read-only view of the version current before it (``Scope``), and all the
versions of a stage share one history of assignments. Memory grows with instructions plus
assignments, not with instructions times variables.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping

from dockaudit.records import field, record
from dockaudit.syntax.expand import ExpansionError, LexOptions, process
from dockaudit.syntax.nodes import Dockerfile, Instruction
from dockaudit.syntax.source import Span

PLATFORM_ARGS = {
    "BUILDPLATFORM": "linux/amd64",
    "BUILDOS": "linux",
    "BUILDARCH": "amd64",
    "BUILDVARIANT": "",
    "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux",
    "TARGETARCH": "amd64",
    "TARGETVARIANT": "",
    "TARGETSTAGE": "",
}
# Predefined build args that need no ARG line (BuildKit passes them through).
PROXY_ARGS = frozenset(
    {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
     "ALL_PROXY", "all_proxy"}
)  # fmt: skip


@record
class Variable:
    name: str
    value: str | None  # None: declared without a value (ARG NAME) and not supplied
    kind: str  # "arg", "env", "meta"
    instruction: Instruction | None


@record(frozen=False, slots=False, eq=False)
class Stage:
    index: int
    from_instruction: Instruction | None  # None only for the implicit stage of a FROM-less snippet
    image: str  # the FROM image after meta-arg expansion
    image_raw: str  # as written
    name: str | None  # the alias, lower-cased as BuildKit matches it
    name_raw: str | None
    platform: str | None
    instructions: list[Instruction] = field(default_factory=list)  # after FROM, in order
    parent: Stage | None = None  # the earlier stage this one is built FROM
    unresolved: frozenset[str] = frozenset()  # names in the FROM line no meta ARG defines
    meta: dict[str, Variable] = field(default_factory=dict, repr=False)  # the meta args of the file
    escape: str = "\\"
    _scopes: _StageScopes | None = field(default=None, init=False, repr=False)  # built on first use

    @property
    def is_scratch(self) -> bool:
        return self.image.lower() == "scratch"

    @property
    def is_implicit(self) -> bool:
        return self.from_instruction is None

    @property
    def anchor(self) -> Span:
        """Where stage-level findings point: the FROM keyword (or the snippet's first instruction)."""
        if self.from_instruction is not None:
            return self.from_instruction.keyword_span
        return self.instructions[0].keyword_span

    def ancestry(self) -> list[Stage]:
        """This stage and the earlier stages it is built FROM, nearest first."""
        chain: list[Stage] = []
        walk: Stage | None = self
        while walk is not None and walk not in chain:
            chain.append(walk)
            walk = walk.parent
        return chain

    def instructions_named(self, *names: str) -> list[Instruction]:
        return [i for i in self.instructions if i.name in names]

    def scopes(self) -> tuple[tuple[Instruction, Scope], ...]:
        """Each instruction of the stage with the variables visible before it runs (computed once,
        after the stage is built; instructions between two ARG/ENV share one ``Scope``)."""
        return _scopes_of(self).pairs

    def scope_at(self, instruction: Instruction) -> Scope | None:
        """The variables visible before ``instruction`` runs; None when it is not in this stage."""
        return _scopes_of(self).by_instruction.get(id(instruction))

    def __getstate__(self) -> dict[str, object]:
        # The scopes index instructions by id(), which unpickling changes: rebuild them on first use.
        return {**self.__dict__, "_scopes": None}


def _meta_args(dockerfile: Dockerfile, build_args: dict[str, str]) -> tuple[dict[str, Variable], list[Instruction]]:
    meta: dict[str, Variable] = {}
    before: list[Instruction] = []
    for instruction in dockerfile.instructions:
        if instruction.name == "FROM":
            break
        before.append(instruction)
        if instruction.name != "ARG":
            continue
        env = {k: v.value or "" for k, v in meta.items() if v.value is not None}
        for name, default in arg_declarations(instruction, dockerfile.escape):
            if name in build_args:
                value: str | None = build_args[name]
            elif default is not None:
                value = _expand_or_raw(default, env, dockerfile.escape)
            else:
                value = None
            meta[name] = Variable(name, value, "meta", instruction)
            if value is not None:
                env[name] = value
    return meta, before


def arg_declarations(instruction: Instruction, escape: str = "\\") -> list[tuple[str, str | None]]:
    """``ARG a b=c``: ``[("a", None), ("b", "c")]`` with quotes kept in the default."""
    out = []
    for word in instruction.values:
        name, eq, default = word.partition("=")
        out.append((name, default if eq else None))
    return out


def _expand_or_raw(text: str, env: dict[str, str], escape: str) -> str:
    try:
        return process(text, env, LexOptions(escape=escape)).result
    except ExpansionError:
        return text


def build_stages(dockerfile: Dockerfile, build_args: dict[str, str] | None = None) -> list[Stage]:
    """The stages of the file.  A snippet with no FROM at all (BuildKit rejects it, DA002 says so)
    becomes one implicit stage, so that rules judge its instructions as users expect."""
    build_args = build_args or {}
    if dockerfile.instructions and not any(i.name == "FROM" for i in dockerfile.instructions):
        return [Stage(0, None, "", "", None, None, None, list(dockerfile.instructions), escape=dockerfile.escape)]
    meta, _ = _meta_args(dockerfile, build_args)
    from_env = dict(PLATFORM_ARGS)
    from_env.update({k: v.value for k, v in meta.items() if v.value is not None})
    stages: list[Stage] = []
    by_name: dict[str, Stage] = {}
    current: Stage | None = None
    for instruction in dockerfile.instructions:
        if instruction.name != "FROM":
            if current is not None:
                current.instructions.append(instruction)
            continue
        values = instruction.values
        image_raw = values[0] if values else ""
        try:
            expansion = process(image_raw, from_env, LexOptions(escape=dockerfile.escape))
            image, unresolved = expansion.result, frozenset(expansion.unmatched)
        except ExpansionError:
            image, unresolved = image_raw, frozenset()
        name_raw = values[2] if len(values) == 3 and values[1].lower() == "as" else None
        platform_flag = instruction.flag("platform")
        platform = _expand_or_raw(platform_flag.value or "", from_env, dockerfile.escape) if platform_flag else None
        current = Stage(
            index=len(stages),
            from_instruction=instruction,
            image=image,
            image_raw=image_raw,
            name=name_raw.lower() if name_raw else None,
            name_raw=name_raw,
            platform=platform,
            parent=by_name.get(image.lower()),
            unresolved=unresolved,
            meta=meta,
            escape=dockerfile.escape,
        )
        stages.append(current)
        if current.name:
            by_name.setdefault(current.name, current)
    return stages


class Scope(Mapping[str, Variable]):
    """The variables visible at one point of a stage: a read-only view of one version of the
    stage's assignment history. Lookups cost O(log assignments to that name)."""

    __slots__ = ("_history", "_version")

    def __init__(self, history: _History, version: int) -> None:
        self._history = history
        self._version = version

    def __getitem__(self, name: str) -> Variable:
        entry = self._history.get(name)
        if entry is not None:
            versions, variables = entry
            index = bisect_right(versions, self._version) - 1
            if index >= 0:
                return variables[index]
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        entry = self._history.get(name)  # type: ignore[call-overload]
        return entry is not None and entry[0][0] <= self._version

    def __iter__(self) -> Iterator[str]:
        return (name for name, (versions, _) in self._history.items() if versions[0] <= self._version)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Scope({dict(self)!r})"


# name → (versions at which it was assigned, ascending; the variable assigned at each)
_History = dict[str, tuple[list[int], list[Variable]]]


@record
class _StageScopes:
    pairs: tuple[tuple[Instruction, Scope], ...]
    by_instruction: dict[int, Scope]  # id(instruction) → its scope
    final: dict[str, Variable]  # the variables after the last instruction


def _scopes_of(stage: Stage) -> _StageScopes:
    """The stage's scopes, computed for it and any ancestor not yet computed, root first (a loop:
    a chain of thousands of stages must not recurse)."""
    pending: list[Stage] = []
    seen: set[int] = set()
    walk: Stage | None = stage
    while walk is not None and walk._scopes is None and id(walk) not in seen:
        pending.append(walk)
        seen.add(id(walk))
        walk = walk.parent
    for walk in reversed(pending):
        parent = walk.parent if walk.parent is not walk else None
        inherited = {} if parent is None or parent._scopes is None else parent._scopes.final
        walk._scopes = _compute_scopes(walk, {k: v for k, v in inherited.items() if v.kind == "env"})
    assert stage._scopes is not None  # computed above, or before
    return stage._scopes


def _compute_scopes(stage: Stage, inherited: dict[str, Variable]) -> _StageScopes:
    history: _History = {name: ([0], [variable]) for name, variable in inherited.items()}
    current = dict(inherited)  # the variables as they stand, updated in place
    values = {k: v.value for k, v in current.items() if v.value is not None}  # what expansions see
    version, scope = 0, Scope(history, 0)
    pairs = []
    for instruction in stage.instructions:
        pairs.append((instruction, scope))
        if instruction.name not in ("ARG", "ENV"):
            continue  # nothing else changes the variables: the next instruction shares this scope
        version += 1
        for variable in _assignments(instruction, current, values, stage):
            if variable.name not in history:
                history[variable.name] = ([], [])
            versions, variables = history[variable.name]
            if versions and versions[-1] == version:  # the same ARG/ENV names it twice: the last one wins
                variables[-1] = variable
            else:
                versions.append(version)
                variables.append(variable)
        scope = Scope(history, version)
    return _StageScopes(tuple(pairs), {id(i): s for i, s in pairs}, current)


def _assignments(
    instruction: Instruction, current: dict[str, Variable], values: dict[str, str], stage: Stage
) -> list[Variable]:
    """Apply one ARG or ENV to ``current`` (and ``values``, the non-None values of ``current``) in
    place; the variables it assigned, in order."""
    assigned: list[Variable] = []
    if instruction.name == "ARG":
        for name, default in arg_declarations(instruction):
            if default is not None:
                value: str | None = _expand_or_raw(default, values, stage.escape)
            elif name in stage.meta:
                value = stage.meta[name].value
            elif name in PLATFORM_ARGS:
                value = PLATFORM_ARGS[name]
            else:
                value = None
            if name in current and current[name].kind == "env":
                continue  # ENV wins over a later ARG of the same name
            current[name] = Variable(name, value, "arg", instruction)
            assigned.append(current[name])
            if value is not None:
                values[name] = value
        # A name declared without a value keeps its old value for the rest of this ARG line only.
        for variable in assigned:
            if current[variable.name].value is None:
                values.pop(variable.name, None)
    elif instruction.name == "ENV":
        # Every pair of one ENV sees the variables as they were before that ENV.
        pairs = [(key, _expand_or_raw(raw, values, stage.escape)) for key, raw, _separator in env_pairs(instruction)]
        for key, value in pairs:
            current[key] = Variable(key, value, "env", instruction)
            assigned.append(current[key])
            values[key] = value
    return assigned


def env_pairs(instruction: Instruction) -> list[tuple[str, str, str]]:
    """The ``(key, raw value, separator)`` triples of an ENV or LABEL."""
    args = instruction.values
    return [(args[i], args[i + 1], args[i + 2]) for i in range(0, len(args) - 2, 3)]
