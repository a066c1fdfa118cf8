"""--fix, --diff, --unsafe-fixes: minimal edits, atomic writes, a fixed point, nothing lost."""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockaudit.cli import cli
from dockaudit.context import LintContext, Options
from dockaudit.linting.engine import load_rules, check_dockerfile, select_rules
from dockaudit.linting.fix import fix_text
from dockaudit.model import Edit, Fix, Violation
from dockaudit.plugin import rule
from dockaudit.syntax import DockerfileSyntaxError, parse
from dockaudit.syntax.source import Span
from tests.conftest import CORPUS

# The rules with safe fixes that the precision ledger turned off by default (BEFORE/AFTER rely on DA012,
# DA401, DA402, DA403 and DA410): the fix machinery is tested with them selected, as it was by default.
FIXED = "DA004 DA008 DA011 DA012 DA014 DA018 DA401 DA402 DA403 DA404 DA405 DA406 DA407 DA410 DA411 DA701 DA911".split()
EXTRA = ("--extend-select", ",".join(FIXED))
RULES = select_rules(load_rules(), extend_select=FIXED)
BEFORE = (
    "\ufeff# keep this comment\r\nFROM debian:12-slim\r\nMAINTAINER me\r\n"
    "RUN apt-get update \\\r\n    && apt-get install curl=7.88.1-10+deb12u8\r\n"
    "RUN pip install flask==3.0.0   # trailing spaces and a comment stay\r\nUSER 10001\r\n"
)
AFTER = (
    '\ufeff# keep this comment\r\nFROM debian:12-slim\r\nLABEL org.opencontainers.image.authors="me"\r\n'
    "RUN apt-get update \\\r\n    && apt-get install -y curl=7.88.1-10+deb12u8 \\\r\n"
    "    && rm -rf /var/lib/apt/lists/*\r\n"
    "RUN pip install --no-cache-dir flask==3.0.0   # trailing spaces and a comment stay\r\nUSER 10001\r\n"
)


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


@pytest.fixture
def dockerfile(tmp_path: Path) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_bytes(BEFORE.encode("utf-8"))
    path.chmod(0o640)
    return path


def test_fix_writes_minimal_edits_keeping_bom_crlf_comments_and_mode(dockerfile: Path):
    result = run("--fix", *EXTRA, str(dockerfile))
    assert dockerfile.read_bytes() == AFTER.encode("utf-8")
    assert stat.S_IMODE(dockerfile.stat().st_mode) == 0o640
    assert "Fixed 4 findings in 1 file; 1 remaining." in result.output  # DA402's fix is unsafe
    assert result.exit_code == 0
    assert run("--fix", *EXTRA, str(dockerfile)).exit_code == 0 and dockerfile.read_bytes() == AFTER.encode("utf-8")
    assert [p.name for p in dockerfile.parent.iterdir()] == ["Dockerfile"]  # no temp file left


def test_diff_prints_and_writes_nothing(dockerfile: Path):
    result = run("--diff", *EXTRA, str(dockerfile))
    assert result.exit_code == 1
    assert "+    && rm -rf /var/lib/apt/lists/*" in result.output
    assert dockerfile.read_bytes() == BEFORE.encode("utf-8")
    dockerfile.write_bytes(AFTER.encode("utf-8"))
    assert run("--diff", *EXTRA, str(dockerfile)).exit_code == 0


def test_fix_on_stdin_writes_the_fixed_file_to_stdout():
    result = CliRunner().invoke(cli, ["--fix", *EXTRA, "-"], input=BEFORE.encode("utf-8"))
    assert result.stdout_bytes == AFTER.encode("utf-8")


def test_unsafe_fixes_need_the_flag(tmp_path: Path):
    path = tmp_path / "Dockerfile"
    path.write_text("FROM nvidia/cuda:12.4.1-devel-ubuntu22.04\nUSER 1\nRUN pip install --no-cache-dir torch==2.5.1\n")
    run("--fix", "--select", "DA504", str(path))
    assert "-devel-" in path.read_text()
    run("--fix", "--unsafe-fixes", "--select", "DA504", str(path))
    assert "-runtime-" in path.read_text()


def test_symlinks_are_not_followed(tmp_path: Path):
    real = tmp_path / "real.Dockerfile"
    real.write_text("FROM debian:12\nADD a /a\nUSER 1\n")
    link = tmp_path / "Dockerfile"
    link.symlink_to(real)
    result = run("--fix", str(link))
    assert result.exit_code == 2 and "symlink" in result.output
    assert real.read_text() == "FROM debian:12\nADD a /a\nUSER 1\n"


def test_a_failing_rename_leaves_the_original(dockerfile: Path, monkeypatch):
    def refuse(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    result = run("--fix", *EXTRA, str(dockerfile))
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert dockerfile.read_bytes() == BEFORE.encode("utf-8")
    assert [p.name for p in dockerfile.parent.iterdir()] == ["Dockerfile"]


@rule("XX901", "breaks-the-file", family="test", severity="warning", summary="a fix that breaks the file")
def _breaking_rule(ctx):
    """
    ## What it does
    Test rule.

    ## Why is this bad?
    Test rule.

    ## Example
    ```dockerfile
    FROM a
    ```

    ## Use instead
    ```dockerfile
    FROM a
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        if instruction.name == "RUN":
            yield Violation(instruction.keyword_span, "x", Fix("break it", (Edit(instruction.keyword_span, "RUNN"),)))
        if instruction.name == "COPY":
            yield Violation(instruction.keyword_span, "y", Fix("rename it", (Edit(instruction.keyword_span, "ADD"),)))


def test_a_fix_that_breaks_the_file_is_dropped_and_reported():
    outcome = fix_text("FROM a\nRUN x\nCOPY a b\n", None, [_breaking_rule])
    assert outcome.text == "FROM a\nRUN x\nCOPY a b\n"
    assert [f.rule for f in outcome.dropped] == ["DA000", "DA000"]
    assert "does not parse or changes the instruction sequence" in outcome.dropped[0].message


def test_fixes_that_share_a_point_are_applied_in_later_passes():
    outcome = fix_text("FROM a:1\nRUN apt-get install curl=1\nUSER 1\n", None, RULES, unsafe=True)  # DA402: unsafe
    assert "apt-get install -y --no-install-recommends curl=1" in outcome.text or (
        "apt-get install --no-install-recommends -y curl=1" in outcome.text
    )
    assert outcome.passes >= 2


def _changed_original_lines(before: str, after: str) -> set[int]:
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    lines: set[int] = set()
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            lines.update(range(i1 + 1, i2 + 1))
        elif tag == "insert":
            lines.add(i1)  # an insertion belongs to the line before it
    return lines


def _fixable_instruction_lines(text: str, rules) -> set[int]:
    tree = parse(text)

    lines: set[int] = set()
    findings = [f for f in check_dockerfile(LintContext(tree, Options(use_context=False)), rules) if f.fix and f.fix.safe]
    for instruction in tree.instructions:
        if any(instruction.start_line <= f.line <= instruction.end_line for f in findings):
            lines.update(range(instruction.start_line - 1, instruction.end_line + 1))
    return lines


def test_fix_over_the_real_corpus():
    real = CORPUS / "real"
    if not real.exists():
        pytest.skip("../shared/corpus/real is not available")
    files_changed = fixes = 0
    for path in sorted(real.iterdir()):
        if path.name in ("README.md", "manifest.tsv"):
            continue
        data = path.read_bytes()
        try:
            text = parse(data, str(path)).source.text
        except DockerfileSyntaxError:
            continue
        options = Options(use_context=False)
        outcome = fix_text(text, str(path), RULES, options)
        assert outcome.dropped == [], (path, outcome.dropped)
        if not outcome.changed:
            continue
        files_changed += 1
        fixes += len(outcome.applied)
        parse(outcome.text, str(path))
        assert not [f for f in outcome.remaining if f.fix and f.fix.safe], path
        assert fix_text(outcome.text, str(path), RULES, options).text == outcome.text, path
        allowed = _fixable_instruction_lines(text, RULES)
        assert _changed_original_lines(text, outcome.text) <= allowed, path
    print(f"\nreal corpus --fix: {fixes} fixes applied in {files_changed} files")
    assert files_changed > 300


FRAGMENTS = st.sampled_from(
    [
        "RUN apt-get update && apt-get install curl=1",
        "RUN apt-get update \\\n  && apt-get install -y git=1",
        "RUN apt-get update && \\\n    apt-get install vim=1",
        "# a comment",
        "RUN pip install flask==1",
        "RUN apk add git=1",
        "ADD local.txt /x/",
        "MAINTAINER someone",
        "ENV A 1",
        "CMD python app.py",
        "RUN wget https://example.com/x",
        "RUN <<EOF\napt-get install -y x=1\nEOF",
        "COPY a b /dest",
        "RUN cat x | grep y",
        "run yum install -y x-1",
        "",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, min_size=1, max_size=8), st.booleans(), st.booleans())
def test_property_fix_invariants(fragments, crlf, bom):
    text = "FROM debian:12\n" + "\n".join(fragments) + "\nUSER 1\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    if bom:
        text = "\ufeff" + text
    outcome = fix_text(text, None, RULES)
    parse(outcome.text)
    assert outcome.dropped == []
    assert not [f for f in outcome.remaining if f.fix and f.fix.safe]
    assert fix_text(outcome.text, None, RULES).text == outcome.text
    assert outcome.text.startswith("\ufeff") == bom
    if crlf:
        assert "\n" not in outcome.text.replace("\r\n", "")
    assert all(line in outcome.text for line in text.splitlines() if line.startswith("#"))


def test_reorder_fix_keeps_copy_flags_and_refuses_unclear_cases():
    text = "FROM python:3.12-slim\nWORKDIR /app\nCOPY --chown=app . .\nRUN pip install -r requirements.txt\nUSER 1\n"
    outcome = fix_text(text, None, select_rules(load_rules(), select=["DA301"]), unsafe=True)
    assert outcome.text == (
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY --chown=app requirements.txt ./\n"
        "RUN pip install -r requirements.txt\nCOPY --chown=app . .\nUSER 1\n"
    )
    for unclear in (
        "FROM a:1\nCOPY . .\nRUN make\nRUN pip install -r requirements.txt\n",  # a RUN between may need the code
        "FROM a:1\nCOPY . /src\nRUN pip install -r /src/requirements.txt\n",  # not the working directory
        "FROM a:1\nCOPY . .\nRUN pip install -r reqs/prod.txt\n",  # a sub-folder manifest
    ):
        assert not fix_text(unclear, None, select_rules(load_rules(), select=["DA301"]), unsafe=True).changed


def test_symlink_targets_are_rewritten_only_when_asked(tmp_path: Path):
    real = tmp_path / "real.Dockerfile"
    real.write_text("FROM debian:12\nADD a /a\nUSER 1\n")
    real.chmod(0o640)
    link = tmp_path / "Dockerfile"
    link.symlink_to(real)
    result = run("--fix", "--fix-symlink-targets", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text() == "FROM debian:12\nCOPY a /a\nUSER 1\n"
    assert real.stat().st_mode & 0o777 == 0o640


def test_a_failing_write_leaves_the_original_and_no_debris(dockerfile: Path, monkeypatch):
    def full_disk(_descriptor, _data) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)  # the atomic writer's only way to write
    result = run("--fix", *EXTRA, str(dockerfile))
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert dockerfile.read_bytes() == BEFORE.encode("utf-8")
    assert [p.name for p in dockerfile.parent.iterdir()] == ["Dockerfile"]


@rule("XX902", "sneaks-an-instruction", family="test", severity="warning", summary="a fix that adds a line unannounced")
def _sneaking_rule(ctx):
    """
    ## What it does
    Test rule.

    ## Why is this bad?
    Test rule.

    ## Example
    ```dockerfile
    FROM a
    ```

    ## Use instead
    ```dockerfile
    FROM a
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        if instruction.name == "WORKDIR":
            at = instruction.line_span.start
            yield Violation(instruction.keyword_span, "z", Fix("add a USER", (Edit(Span(at, at), "USER 1\n"),)))


def test_a_fix_that_reshapes_undeclared_is_dropped_even_beside_one_that_declares_it():
    """DA018's SHELL insertion declares a reshape; the USER another fix slips into the same pass does not."""
    (pipefail,) = [r for r in RULES if r.id == "DA018"]
    text = "FROM debian:12-slim\nWORKDIR /app\nRUN a | b\n"
    outcome = fix_text(text, None, [pipefail, _sneaking_rule])
    assert "USER 1" not in outcome.text and 'SHELL ["/bin/bash"' in outcome.text
    assert [f.rule for f in outcome.dropped] == ["DA000"] and "XX902" in outcome.dropped[0].message
