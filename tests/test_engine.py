"""Engine: selection, crash isolation, and third-party packs through the entry point."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from dockaudit.context import LintContext
from dockaudit.linting.engine import lint_source, load_rules, check_dockerfile, select_rules
from dockaudit.model import Violation
from dockaudit.plugin import rule
from dockaudit.syntax import parse

DOCS = """
    ## What it does
    x
    ## Why is this bad?
    y
    ## Example
    ```dockerfile
    FROM a
    ```
    ## Use instead
    ```dockerfile
    FROM b
    ```
"""


def _crashing(ctx: LintContext):
    raise ZeroDivisionError("boom")


_crashing.__doc__ = DOCS
CRASHING = rule("XX001", "always-crashes", family="test", severity="error", summary="crashes")(_crashing)


def test_a_crashing_rule_becomes_an_internal_error_and_others_still_run():
    rules = [CRASHING, *select_rules(load_rules(), select=["DA012"])]
    findings = check_dockerfile(LintContext(parse("FROM a\nMAINTAINER me\n")), rules)
    assert [f.rule for f in findings] == ["DA000", "DA012"]
    assert "XX001" in findings[0].message and "ZeroDivisionError" in findings[0].message


def test_selection_by_prefix_alias_name_and_ignore():
    rules = load_rules()
    # a prefix picks the default-on rules under it (DA010-DA012 are off by default, see DA022 below)
    assert {r.id for r in select_rules(rules, select=["DA01"])} >= {"DA013", "DA015", "DA016", "DA019"}
    assert [r.id for r in select_rules(rules, select=["DL3025"])] == ["DA008"]
    assert [r.id for r in select_rules(rules, select=["json-args"])] == ["DA008"]
    assert "DA008" not in {r.id for r in select_rules(rules, ignore=["DA008"])}
    assert "DA022" not in {r.id for r in select_rules(rules, select=["DA0"])}  # off by default
    assert "DA022" in {r.id for r in select_rules(rules, extend_select=["DA022"])}


def test_parse_error_is_a_single_da001_finding():
    result = lint_source(b"FROM a\nRUN <<EOF\nnever closed\n", "Dockerfile", load_rules())
    assert result.dockerfile is None
    assert [(f.rule, f.line) for f in result.findings] == [("DA001", 2)]


def test_third_party_pack_through_entry_point(tmp_path):
    pack = tmp_path / "acme_rules.py"
    pack.write_text(
        textwrap.dedent(
            '''
            from dockaudit.model import Violation
            from dockaudit.plugin import rule

            @rule("ACME001", "no-latest-anything", family="acme", severity="error", summary="acme says no")
            def find_acme(ctx):
                """
                ## What it does
                Flags every FROM.
                ## Why is this bad?
                Acme policy.
                ## Example
                ```dockerfile
                FROM alpine
                ```
                ## Use instead
                ```dockerfile
                ARG A=1
                ```
                """
                for i in ctx.dockerfile.instructions:
                    if i.name == "FROM":
                        yield Violation(i.keyword_span, "acme forbids FROM")

            RULES = [find_acme]
            '''
        )
    )
    dist = tmp_path / "acme_rules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[dockaudit.rules]\nacme = acme_rules\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine:3.20\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "dockaudit", str(dockerfile), "--format", "json"],
        capture_output=True, text=True, env={**env, **_keep_env()},
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert '"rule": "ACME001"' in out.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "dockaudit", "rules"], capture_output=True, text=True, env={**env, **_keep_env()}
    )
    assert "ACME001" in listing.stdout and "DA001" in listing.stdout


def _keep_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "VIRTUAL_ENV")}


def test_violation_without_span_lands_on_line_one():
    def _nowhere(ctx):
        yield Violation(None, "somewhere")

    _nowhere.__doc__ = DOCS
    nowhere = rule("XX002", "nowhere", family="test", severity="info", summary="s")(_nowhere)
    findings = check_dockerfile(LintContext(parse("FROM a\n")), [nowhere])
    assert (findings[0].line, findings[0].column) == (1, 1)


def test_announced_packs_agree_with_importlib_metadata():
    from importlib import metadata

    from dockaudit.linting.engine import ENTRY_POINT_GROUP, announced_packs

    expected = [(e.name, e.value) for e in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    assert expected and sorted(announced_packs()) == sorted(expected)
