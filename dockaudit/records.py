"""``@record``: value classes (the parse tree, facts, findings, settings) without dataclasses' start-up cost.

``dataclasses.dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__``,
``__setattr__`` and ``__delattr__`` as source text and compiles it when the module is imported:
~0.45 ms a class here, and a plain ``dockaudit FILE`` imported 69 of them, 31 ms of a 95 ms run
(issue 21). ``record`` gives a class the same behaviour from functions shared by every record, so
importing one compiles nothing; a class built thousands of times a file may write its own
``__init__`` (see ``Span``).

What it supports is what dockaudit uses of dataclasses, with the same meaning: fields are the
class's annotations in order (a base record's first), defaults are class attributes or
``field(default=…, default_factory=…, init=…, compare=…, repr=…)``; ``frozen`` (assignment raises
``FrozenInstanceError``), ``slots`` (the class is rebuilt with ``__slots__``), ``eq`` (equality of
the compared fields' values; a frozen record then hashes them, a mutable one is unhashable);
``__post_init__`` runs after ``__init__``; records pickle (workers send results back) and copy.
``replace(record, **changes)`` is ``dataclasses.replace`` (which, with ``fields``, ``asdict`` and
``is_dataclass``, also takes records). Methods a class defines itself are kept.

The generic ``__init__`` costs about twice a generated one (~0.6 µs against ~0.3 µs for three fields):
the classes a corpus run or an editor's re-lint builds most write their own (``Span``, the shell
view's tokens, words and commands, the tree's nodes and arguments, …), with ``set_field`` if frozen;
``tests/test_records.py`` checks that such an ``__init__`` takes exactly the declared fields (a field
with a default factory as a parameter defaulting to None).
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # type checkers and editors read records as dataclasses
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_kwargs):
        return lambda decorator: decorator

T = TypeVar("T")
_MISSING = object()
# A record's own __init__ sets the fields of a frozen record with this (its __setattr__ refuses).
set_field = object.__setattr__


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    """One field: its name, default or default factory, and whether equality and the repr use it."""

    __slots__ = ("compare", "default", "default_factory", "init", "name", "repr", "type")

    def __init__(self, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None, init: bool = True,
                 compare: bool = True, repr: bool = True) -> None:
        if default is not _MISSING and default_factory is not None:
            raise ValueError("a field cannot have both a default and a default_factory")
        self.name = ""
        self.type: object = None  # the annotation (a string under ``from __future__ import annotations``)
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.compare = compare
        self.repr = repr

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None, init: bool = True,
          compare: bool = True, repr: bool = True) -> Any:
    """A field's options, as ``dataclasses.field``; a field with ``init=False`` is not an ``__init__``
    parameter (its default, if any, is set; else ``__post_init__`` sets it)."""
    return Field(default, default_factory, init, compare, repr)


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = True, slots: bool = True, eq: bool = True):
    """Make ``cls`` a record (usable bare, ``@record``, or with options, ``@record(frozen=False)``)."""

    def wrap(cls: type[T]) -> type[T]:
        return _make_record(cls, frozen, slots, eq)

    return wrap if cls is None else wrap(cls)


def fields(instance_or_class: Any) -> tuple[Field, ...]:
    """The record's fields, in ``__init__`` order."""
    return instance_or_class.__record_fields__


def replace(instance: T, /, **changes: Any) -> T:
    """A copy of ``instance`` with ``changes`` (field name → value), as ``dataclasses.replace``."""
    parameters = instance.__match_args__
    for name in changes:
        if name not in parameters:
            raise TypeError(f"{type(instance).__qualname__} has no field {name!r} that __init__ takes")
    values = {name: changes[name] if name in changes else getattr(instance, name) for name in parameters}
    return type(instance)(**values)


def _make_record(cls: type, frozen: bool, slots: bool, eq: bool) -> type:
    own = _own_fields(cls)
    inherited = [f for base in reversed(cls.__mro__[1:]) for f in getattr(base, "__record_fields__", ())]
    by_name = {f.name: f for f in (*inherited, *own)}  # a redeclared field keeps its first place
    all_fields = tuple(by_name.values())
    _check_order(cls, all_fields)
    names = tuple(f.name for f in all_fields)
    parameters = tuple(f.name for f in all_fields if f.init)
    compared_names = [f.name for f in all_fields if f.compare]
    compared = attrgetter(*compared_names) if compared_names else None
    body = cls.__dict__
    explicit_hash = "__hash__" in body and not (body["__hash__"] is None and "__eq__" in body)

    methods: dict[str, Any] = {"__record_fields__": all_fields, "__record_names__": names, "__match_args__": parameters,
                               "__dataclass_fields__": _DataclassFields(), "__repr__": _recursion_safe(_repr)}  # fmt: skip
    if eq:
        methods["__eq__"] = _make_eq(compared)
    if eq and not explicit_hash:
        methods["__hash__"] = _make_hash(compared) if frozen else None
    if frozen:
        methods["__setattr__"] = _refuse_setattr
        methods["__delattr__"] = _refuse_delattr
    if slots:
        methods["__getstate__"] = _getstate
        methods["__setstate__"] = _setstate
    methods = {name: value for name, value in methods.items()
               if name not in body or name.startswith("__record") or (name == "__hash__" and not explicit_hash)}  # fmt: skip

    if slots:  # a class cannot gain __slots__: build it again, without the defaults (kept in the Fields)
        namespace = {k: v for k, v in body.items() if k not in names and k not in ("__dict__", "__weakref__")}
        inherited_slots = {s for base in cls.__mro__[1:] for s in getattr(base, "__slots__", ())}
        namespace["__slots__"] = tuple(n for n in names if n not in inherited_slots)
        new = type(cls)(cls.__name__, cls.__bases__, {**namespace, **methods})
        new.__qualname__ = cls.__qualname__
    else:  # as on a dataclass, plain defaults stay readable on the class
        new = cls
        for f in own:
            if f.default is not _MISSING:
                setattr(new, f.name, f.default)
            elif isinstance(body.get(f.name), Field):
                delattr(new, f.name)
        for name, value in methods.items():
            setattr(new, name, value)
    if "__init__" not in body:
        new.__init__ = _make_init(new, all_fields, slots)
    return new


class _DataclassFields:
    """``__dataclass_fields__``, built on first use: ``dataclasses.replace``, ``fields``, ``asdict`` and
    ``is_dataclass`` take records as they took the dataclasses records replaced (a rule pack or a caller
    of ``dockaudit.lint`` may use them); only they pay for importing dataclasses."""

    def __init__(self) -> None:
        self._built: dict[type, dict] = {}

    def __get__(self, instance: object, owner: type) -> dict:
        if owner not in self._built:
            import dataclasses

            built = {}
            for f in owner.__record_fields__:
                spec = dataclasses.Field(dataclasses.MISSING if f.default is _MISSING else f.default,
                                         f.default_factory or dataclasses.MISSING, f.init, f.repr, None, f.compare,
                                         None, False)  # fmt: skip
                spec.name, spec.type = f.name, f.type
                spec._field_type = dataclasses._FIELD  # what dataclasses mark a plain field with (private, since 3.7)
                built[f.name] = spec
            self._built[owner] = built
        return self._built[owner]


def _own_fields(cls: type) -> list[Field]:
    result = []
    # The class's own annotations (inspect.get_annotations would import inspect, ~5 ms of start-up).
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, _MISSING)
        spec = value if isinstance(value, Field) else Field(value)
        if isinstance(spec.default, (list, dict, set)):
            kind = type(spec.default).__name__  # ValueError, as dataclasses raise
            raise ValueError(f"mutable default {kind} for field {name} is not allowed: use default_factory")  # noqa: TRY004
        spec.name = name
        spec.type = annotation
        result.append(spec)
    return result


def _check_order(cls: type, all_fields: tuple[Field, ...]) -> None:
    seen_default = False
    for f in all_fields:
        if not f.init:
            continue
        if not f.required:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument in {cls.__qualname__}")


def _make_init(cls: type, all_fields: tuple[Field, ...], slots: bool):
    parameters = [f for f in all_fields if f.init]
    names = tuple(f.name for f in parameters)
    count = len(names)
    # Slot descriptors set a frozen record's fields past its __setattr__; a plain class goes through object's.
    setter = (lambda name: getattr(cls, name).__set__) if slots else _object_setter
    setters = tuple(setter(n) for n in names)
    defaults = {f.name: f.default for f in parameters if f.default is not _MISSING}
    factories = {f.name: f.default_factory for f in parameters if f.default_factory is not None}
    # Fields __init__ does not take but sets: (setter, default, factory).
    preset = tuple((setter(f.name), f.default, f.default_factory) for f in all_fields
                   if not f.init and not f.required)  # fmt: skip
    post_init = getattr(cls, "__post_init__", None)
    qualname = cls.__qualname__

    def bind(args: tuple, kwargs: dict) -> list:
        if len(args) > count:
            raise TypeError(f"{qualname}() takes {count} arguments but {len(args)} were given")
        values = list(args)
        for name in names[: len(args)]:
            if name in kwargs:
                raise TypeError(f"{qualname}() got multiple values for argument {name!r}")
        for name in names[len(args):]:
            if name in kwargs:
                values.append(kwargs.pop(name))
            elif name in defaults:
                values.append(defaults[name])
            elif name in factories:
                values.append(factories[name]())
            else:
                raise TypeError(f"{qualname}() missing required argument: {name!r}")
        if kwargs:
            raise TypeError(f"{qualname}() got an unexpected keyword argument {next(iter(kwargs))!r}")
        return values

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs or len(args) != count:
            args = bind(args, kwargs)
        for set_field, value in zip(setters, args):
            set_field(self, value)
        for set_field, default, factory in preset:
            set_field(self, default if factory is None else factory())
        if post_init is not None:
            self.__post_init__()

    __init__.__qualname__ = f"{qualname}.__init__"
    return __init__


def _object_setter(name: str):
    def set_field(instance: Any, value: Any) -> None:
        object.__setattr__(instance, name, value)

    return set_field


def _make_eq(compared):
    if compared is None:
        def __eq__(self, other):
            return True if other.__class__ is self.__class__ else NotImplemented
    else:
        def __eq__(self, other):
            if other.__class__ is self.__class__:
                return compared(self) == compared(other)
            return NotImplemented
    return __eq__


def _make_hash(compared):
    def __hash__(self):
        return hash(compared(self)) if compared is not None else hash(())

    return __hash__


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in self.__record_fields__ if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _recursion_safe(function):
    """``reprlib.recursive_repr`` without importing reprlib: a record inside itself shows as ``...``."""
    running: set = set()

    def __repr__(self) -> str:
        key = (id(self), get_ident())
        if key in running:
            return "..."
        running.add(key)
        try:
            return function(self)
        finally:
            running.discard(key)

    return __repr__


def _refuse_setattr(self, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delattr(self, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self) -> tuple:
    return tuple(getattr(self, name) for name in self.__record_names__)


def _setstate(self, state: tuple) -> None:
    cls = type(self)
    for name, value in zip(cls.__record_names__, state):
        getattr(cls, name).__set__(self, value)
