"""File selection: gitignore-style globs, .gitignore files, --exclude/--extend-exclude and the exclude key,
names that are not Dockerfiles, binary files found by a scan, --show-files, --show-settings, and the
pre-commit hooks' file patterns agreeing with directory scans."""

from __future__ import annotations

import re
import threading

import pytest
import yaml
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.discovery import is_discovered_dockerfile
from dockaudit.gitignore import compile_pattern, compile_patterns, decide
from tests.conftest import REPO

GOOD = "FROM scratch\nUSER 1\n"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        ("build/", "build", True, True),
        ("build/", "build", False, False),  # a trailing slash: directories only
        ("build/", "a/b/build", True, True),  # no slash inside: any depth
        ("/build", "a/build", True, False),  # a leading slash anchors
        ("/build", "build", True, True),
        ("docs/old", "docs/old", True, True),
        ("docs/old", "x/docs/old", True, False),  # a slash in the middle anchors too
        ("*.bak", "a/b/Dockerfile.bak", False, True),
        ("Dockerfile.*", "svc/Dockerfile.dev", False, True),
        ("a/*/c", "a/b/c", False, True),
        ("a/*/c", "a/b/x/c", False, False),  # * does not cross /
        ("a/**/c", "a/c", False, True),
        ("a/**/c", "a/b/x/c", False, True),
        ("**/legacy", "x/y/legacy", True, True),
        ("legacy/**", "legacy/x/Dockerfile", False, True),
        ("Dockerfile.[ab]", "Dockerfile.a", False, True),
        ("Dockerfile.[!ab]", "Dockerfile.a", False, False),
        ("Dockerfile.[!ab]", "Dockerfile.c", False, True),
        ("Docker?ile", "Dockerfile", False, True),
        ("\\#file", "#file", False, True),
        ("foo\\ ", "foo ", False, True),  # an escaped trailing space is kept
        ("foo  ", "foo", False, True),  # others are dropped
        ("[unclosed", "[unclosed", False, True),
    ],
)
def test_gitignore_patterns(pattern, path, is_dir, expected):
    compiled = compile_pattern(pattern)
    assert compiled is not None and compiled.matches(path, is_dir) is expected


def test_last_pattern_decides_and_negation_reincludes():
    patterns = compile_patterns(["*.Dockerfile", "!keep.Dockerfile", "# a comment", ""])
    assert len(patterns) == 2
    assert decide(patterns, "x/drop.Dockerfile", False) is True
    assert decide(patterns, "x/keep.Dockerfile", False) is False
    assert decide(patterns, "Dockerfile", False) is None


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("*a" * 60 + "b", "a" * 250),  # a backtracking regex takes O(n^60) here
        ("**/" * 200 + "x", "/".join("a" * 200)),
        ("a/" + "**/" * 100 + "*a*a*a*a*a*b", "a/" + "/".join(["a" * 40] * 100)),
        ("x/" * 2000 + "y", "/".join(["x"] * 2000)),  # deeper than Python's recursion limit
    ],
)
def test_hostile_patterns_are_bounded(pattern, name):
    """What a pull request writes into a .gitignore cannot hang a scan (a hang guard, not a budget)."""
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(compile_pattern(pattern).matches(name, False)),
                              daemon=True)  # fmt: skip
    worker.start()
    worker.join(120)
    assert outcome == [False]


NAMES = {
    "Dockerfile": True, "Containerfile": True, "dockerfile": True, "Dockerfile.dev": True,
    "api.Dockerfile": True, "svc.dockerfile": True, "Containerfile.gpu": True, "compose.yaml": True,
    "Dockerfile.dockerignore": False, "Dockerfile.md": False, "Dockerfile.bak": False, "Dockerfile.orig": False,
    "Dockerfile.rej": False, ".Dockerfile.swp": False, "Dockerfile~": False, "#Dockerfile#": False,
    ".#Dockerfile": False, "README.md": False, "Makefile": False, "api.Dockerfile.orig": False,
}  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), NAMES.items())
def test_names_a_directory_scan_checks(name, expected):
    assert is_discovered_dockerfile(name) is expected


@pytest.mark.parametrize("hook", yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()), ids=lambda h: h["id"])
def test_pre_commit_file_patterns_follow_the_scan_rules(hook):
    """pre-commit passes file names itself: its files/exclude regexes pick the Dockerfiles a scan picks."""
    for name, expected in NAMES.items():
        if name.endswith((".yaml", ".yml")):
            continue  # the hooks lint Dockerfiles; Compose files go through `dockaudit compose`
        for path in (name, f"svc/{name}"):
            picked = bool(re.search(hook["files"], path)) and not re.search(hook["exclude"], path)
            assert picked is expected, path


@pytest.fixture
def tree(tmp_path, monkeypatch):
    for path in ("Dockerfile", "svc/Dockerfile", "legacy/Dockerfile", "svc/Dockerfile.md", "svc/Dockerfile~",
                 "svc/Dockerfile.dockerignore", "svc/Dockerfile.bak", "gen/Dockerfile", ".github/Dockerfile"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(GOOD)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def shown(*args: str) -> set[str]:
    result = run("--show-files", *args)
    assert result.exit_code == 0, result.output
    return set(result.output.split())


def test_scan_skips_non_dockerfiles_and_hidden_folders(tree):
    assert shown(".") == {"./Dockerfile", "./svc/Dockerfile", "./legacy/Dockerfile", "./gen/Dockerfile"}


def test_no_arguments_checks_the_working_directory(tree):
    result = run()
    assert result.exit_code == 0, result.output
    assert "4 files" in result.output
    assert shown() == shown(".")


def test_gitignore_is_respected_by_default(tree):
    (tree / ".git").mkdir()
    (tree / ".gitignore").write_text("gen/\n")
    (tree / "svc" / ".gitignore").write_text("/Dockerfile\n")
    assert shown(".") == {"./Dockerfile", "./legacy/Dockerfile"}
    assert run("--show-files", "svc").exit_code == 2  # nothing left to check there: said, exit 2
    assert "./gen/Dockerfile" in shown(".", "--no-respect-gitignore")


def test_gitignore_above_the_scanned_folder_up_to_the_repository_top(tree):
    (tree / ".git").mkdir()
    (tree / ".gitignore").write_text("legacy/\nsvc/Dockerfile\n")
    assert run("--show-files", "svc").exit_code == 2  # svc/Dockerfile is listed in the top .gitignore
    assert shown("legacy", "--no-respect-gitignore") == {"legacy/Dockerfile"}
    # a folder named on the command line is scanned even when a .gitignore above lists it (as ruff and
    # the ignore crate do); what is under it is still matched against that .gitignore
    assert shown("legacy") == {"legacy/Dockerfile"}


def test_exclude_and_extend_exclude(tree):
    assert shown(".", "--extend-exclude", "legacy/,gen") == {"./Dockerfile", "./svc/Dockerfile"}
    # --exclude replaces the defaults: hidden folders are scanned again
    assert "./.github/Dockerfile" in shown(".", "--exclude", "legacy/")
    assert "./legacy/Dockerfile" not in shown(".", "--exclude", "legacy/")


@pytest.fixture
def configure(tree):
    from dockaudit.config import find_config

    def write(text: str) -> None:
        (tree / ".dockaudit.toml").write_text(text)
        find_config.cache_clear()  # one process rewriting its config within one mtime tick

    yield write
    find_config.cache_clear()


def test_exclude_key_in_the_configuration(tree, configure):
    configure('extend-exclude = ["legacy/"]\n')
    assert "./legacy/Dockerfile" not in shown(".")
    configure('exclude = ["gen/"]\nrespect-gitignore = false\n')
    files = shown(".")
    assert "./gen/Dockerfile" not in files and "./.github/Dockerfile" in files
    configure("exclude = 3\n")
    result = run("--show-files", ".")
    assert result.exit_code == 2 and "exclude: expected a list of strings" in result.output


def test_excludes_never_drop_a_file_named_on_the_command_line(tree):
    assert shown("legacy/Dockerfile", "--extend-exclude", "legacy/") == {"legacy/Dockerfile"}


def test_a_binary_file_found_by_a_scan_is_reported_and_skipped(tree):
    (tree / "svc" / "Dockerfile.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    result = run(".")
    assert result.exit_code == 0, result.output
    assert "svc/Dockerfile.png: binary file" in result.output and "skipped" in result.output
    named = run("svc/Dockerfile.png")
    assert named.exit_code == 2 and "binary file" in named.output


def test_show_settings_names_the_configuration_and_options(tree):
    (tree / "svc" / ".dockaudit.toml").write_text('ignore = ["DA101"]\nfail-on = "error"\n')
    result = run("--show-settings", "svc/Dockerfile", "--target", "app")
    assert result.exit_code == 0, result.output
    assert f"configuration file: {tree / 'svc' / '.dockaudit.toml'}" in result.output
    assert "DA101" not in result.output.split("rules")[1].split("\n")[0]
    assert "fail-on: error" in result.output and "target: app" in result.output


def test_force_exclude_applies_the_globs_to_named_files(tree):
    """pre-commit names every staged file itself: the hooks pass --force-exclude so the project's
    exclude globs hold there too."""
    assert shown("legacy/Dockerfile", "Dockerfile", "--extend-exclude", "legacy/", "--force-exclude") == {"Dockerfile"}
    assert shown("svc/Dockerfile", "--extend-exclude", "svc/Dockerfile", "--force-exclude") == set()
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert all("--force-exclude" in hook["entry"].split() for hook in hooks)
