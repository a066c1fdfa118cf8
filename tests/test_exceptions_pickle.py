"""Every exception class dockaudit defines survives pickling (it may cross from a --jobs worker).

The classes are found by importing every module, so a new one fails here until it is given sample
arguments below, and then until it pickles."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import dockaudit
import dockaudit_rules

SAMPLE_ARGUMENTS = {
    "FrozenInstanceError": ("cannot assign to field 'start'",),
    "ChangedSinceRead": ("a/Dockerfile",),
    "ReportWriteError": ("out.sarif: cannot write report: Permission denied",),
    "RunError": ("baseline.json: cannot write the baseline: Permission denied",),
    "BaselineError": ("baseline.json", "not UTF-8 text"),
    "_Signalled": (15,),
    "ComposeError": ("compose.yaml", 3, "bad merge key"),
    "PathRefused": ("../secret: outside the project",),
    "ConfigError": (".dockaudit.toml: select: expected a list",),
    "RulePackError": ("rule pack 'x' has no RULES",),
    "InputError": ("Dockerfile", "binary file"),
    "ImageSourceError": ("oci:x: no index.json",),
    "KnowledgeError": ("ml-compat.toml: missing key",),
    "RefreshError": ("https://pypi.org/simple/torch/: HTTP 503",),
    "RuleDefinitionError": ("DA999: no docs",),
    "ExpansionError": ("bad substitution",),
    "HeredocError": ("unterminated heredoc",),
    "LineParseError": ("unterminated quote",),
    "DockerfileSyntaxError": ("unknown instruction: FORM", 3, 5),
    "YamlRefused": ("refused as a YAML bomb",),
}


def exception_classes() -> list[type[BaseException]]:
    found = []
    for package in (dockaudit, dockaudit_rules):
        for module_info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module_info.name.endswith("__main__") or ".lsp" in module_info.name:
                continue  # __main__ runs the CLI; the LSP server needs its optional extra
            module = importlib.import_module(module_info.name)
            found += [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, BaseException)
                      and c.__module__ == module.__name__]  # fmt: skip
    return found


CLASSES = exception_classes()


def test_the_classes_are_found():
    assert {"InputError", "ConfigError", "ComposeError", "DockerfileSyntaxError"} <= {c.__name__ for c in CLASSES}


@pytest.mark.parametrize("error_class", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_round_trips_through_pickle(error_class: type[BaseException]):
    assert error_class.__name__ in SAMPLE_ARGUMENTS, f"give {error_class.__name__} sample arguments here"
    error = error_class(*SAMPLE_ARGUMENTS[error_class.__name__])
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is error_class
    assert str(again) == str(error) and vars(again) == vars(error)
