"""``dockaudit.records``: the value classes behave as the dataclasses they replaced, and a record that
writes its own ``__init__`` takes exactly its declared fields."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import pkgutil

import dockaudit_rules
import pytest

import dockaudit
from dockaudit import records
from dockaudit.records import FrozenInstanceError, field, fields, record, replace
from dockaudit.syntax.shell import Command, ShellWord
from dockaudit.syntax.source import Span


@record
class Point:
    x: int
    y: int = 0
    tags: list = field(default_factory=list, compare=False)


@record(frozen=False, slots=False)
class Counter:
    start: int = 1
    doubled: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.doubled = self.start * 2


def test_fields_defaults_and_factories():
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 0, [])
    assert Point(1).tags is not Point(1).tags  # one list each
    assert Point(y=2, x=1) == Point(1, 2)
    assert [f.name for f in fields(Point)] == ["x", "y", "tags"]
    assert Point.__match_args__ == ("x", "y", "tags")


def test_equality_hash_and_repr_use_the_compared_fields():
    assert Point(1, 2, [1]) == Point(1, 2, [2])  # tags: compare=False
    assert hash(Point(1, 2, [1])) == hash(Point(1, 2))
    assert Point(1) != Point(2)
    assert Point(1).__eq__((1, 0)) is NotImplemented  # never equal to another class
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=[])"


def test_frozen_records_refuse_assignment():
    p = Point(1)
    with pytest.raises(FrozenInstanceError):
        p.x = 2
    with pytest.raises(FrozenInstanceError):
        del p.x
    assert isinstance(FrozenInstanceError("x"), AttributeError)
    with pytest.raises(AttributeError):
        p.other = 1  # slots: no other attributes


def test_mutable_records_are_unhashable_and_run_post_init():
    c = Counter(3)
    assert (c.start, c.doubled) == (3, 6)
    c.start = 4
    assert Counter.start == 1  # without slots the default stays on the class, as on a dataclass
    with pytest.raises(TypeError):
        hash(c)
    assert repr(c) == "Counter(start=4)"


@pytest.mark.parametrize("call, message", [
    (lambda: Point(), "missing required argument: 'x'"),
    (lambda: Point(1, 2, [], 4), "takes 3 arguments but 4 were given"),
    (lambda: Point(1, x=2), "multiple values for argument 'x'"),
    (lambda: Point(1, z=2), "unexpected keyword argument 'z'"),
    (lambda: Counter(doubled=2), "unexpected keyword argument 'doubled'"),
])  # fmt: skip
def test_bad_arguments_are_type_errors(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_declaration_errors():
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @record
        class _Bad:
            a: int = 0
            b: int

    with pytest.raises(ValueError, match="mutable default list"):
        @record
        class _Shared:
            a: list = []  # noqa: RUF012 - the mistake under test


@record
class Labelled(Point):
    label: str = ""


def test_inheritance_pickle_copy_and_replace():
    value = Labelled(1, 2, [3], "a")
    assert [f.name for f in fields(value)] == ["x", "y", "tags", "label"]
    for twin in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert twin == value and twin.tags == [3] and type(twin) is Labelled
    assert replace(value, label="b") == Labelled(1, 2, [], "b")
    with pytest.raises(TypeError, match="no field 'nope'"):
        replace(value, nope=1)
    assert replace(Counter(2), start=5).doubled == 10  # init=False fields are computed again


def test_recursive_repr_does_not_loop():
    @record(frozen=False)
    class Node:
        child: object = None

    node = Node()
    node.child = node
    assert repr(node).endswith(".<locals>.Node(child=...)")  # the qualified name, as dataclasses


def test_hand_written_records_keep_the_generated_behaviour():
    assert Span(1, 3) == Span(start=1, end=3) and hash(Span(1, 3)) == hash(Span(1, 3))
    with pytest.raises(FrozenInstanceError):
        Span(1, 3).start = 0
    command = Command((ShellWord("/usr/bin/apt-get", "/usr/bin/apt-get", None),), operator="&&")
    assert command.name == "apt-get" and command.operator == "&&"
    assert pickle.loads(pickle.dumps(command)).name == "apt-get"


def _records() -> list[type]:
    found = []
    for package in (dockaudit, dockaudit_rules):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module.name.startswith("dockaudit.lsp") or module.name.endswith("__main__"):
                continue  # the lsp extra may be missing (its records use the generic __init__); __main__ runs
            for value in vars(importlib.import_module(module.name)).values():
                if isinstance(value, type) and "__record_fields__" in vars(value) and value.__module__ == module.name:
                    found.append(value)
    return found


def test_every_hand_written_init_takes_the_declared_fields():
    written = [cls for cls in _records() if vars(cls)["__init__"].__code__.co_filename != records.__file__]
    assert {cls.__name__ for cls in written} >= {"Span", "Word", "Arg", "ShellWord", "Command", "_Token", "Instruction"}
    for cls in written:  # a field with a default factory is a parameter defaulting to None
        declared = [(f.name, None if f.default_factory else f.default) for f in fields(cls) if f.init]
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        taken = [(p.name, inspect.Parameter.empty if p.default is inspect.Parameter.empty else p.default)
                 for p in parameters]  # fmt: skip
        assert taken == [(name, inspect.Parameter.empty if d is records._MISSING else d) for name, d in declared], cls


def test_no_dataclasses_left():
    """Each generated dataclass costs start-up (issue 21); records are the one way to declare a value class."""
    for cls in _records():
        assert "__dataclass_params__" not in vars(cls), cls  # what @dataclass sets, and records do not


def test_dataclasses_helpers_take_records():
    """A rule pack or a caller of ``dockaudit.lint`` may use dataclasses' helpers on findings."""
    import dataclasses

    from dockaudit.model import Finding, Severity

    finding = Finding("DA1", "name", Severity.WARNING, "message", "Dockerfile", 1, 1, 1, 2)
    assert dataclasses.is_dataclass(finding)
    assert dataclasses.replace(finding, line=3) == records.replace(finding, line=3)
    assert dataclasses.asdict(finding)["message"] == "message"
    assert [f.name for f in dataclasses.fields(finding)] == [f.name for f in fields(finding)]
    assert dataclasses.replace(Counter(2), start=5).doubled == 10
    with pytest.raises((ValueError, TypeError), match="init=False"):  # TypeError from Python 3.13
        dataclasses.replace(Counter(2), doubled=1)
