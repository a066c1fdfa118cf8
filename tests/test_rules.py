"""Every rule: metadata, docs that prove themselves, and fixtures that fire and stay quiet."""

from __future__ import annotations

from datetime import date

import pytest

import dockaudit
from dockaudit.context import Options
from dockaudit.linting.engine import load_rules
from dockaudit.plugin import RULE_ID, RULE_NAME
from tests.conftest import FIXTURES

RULES = load_rules()
# Rules that act only when configured (DA111 trusted registries, DA512 min-driver, DA540-DA542 the GPU fleet) are
# shown and tested with this
# configuration; their docs say so in a comment on the example.
# Fixtures use their own folder as the build context; docs examples an empty one.
# End-of-life answers are judged as of the day the fixtures were written.
AS_OF = date(2026, 11, 23)
FLEET = ("H100", "RTX 4090", "P100")
FIXTURE_OPTIONS = Options(trusted_registries=("registry.example.com",), min_driver="535.104.05", gpus=FLEET, as_of=AS_OF)
EXAMPLE_OPTIONS = Options(
    trusted_registries=("registry.example.com",),
    min_driver="535.104.05",
    gpus=FLEET,
    as_of=AS_OF,
    context_dir=FIXTURES / "example-context",
)


def _ids(rule) -> str:
    return rule.id


def test_rule_ids_and_names_are_unique():
    assert len({r.id for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=_ids)
def test_metadata(rule):
    assert RULE_ID.match(rule.id) and RULE_NAME.match(rule.name)
    assert rule.summary and rule.docs.what and rule.docs.why
    assert rule.fix in ("none", "safe", "unsafe")


# Compose examples are linted as a compose.yaml in a git repository holding these committed files.
COMPOSE_EXAMPLE_FILES = {"secrets.env": "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\n"}


def _lint_example(rule, text: str, tmp_path) -> list[str]:
    if rule.target == "compose":
        import subprocess

        path = tmp_path / "compose.yaml"
        path.write_text(text, encoding="utf-8")
        for name, content in COMPOSE_EXAMPLE_FILES.items():
            (tmp_path / name).write_text(content, encoding="utf-8")
        if not (tmp_path / ".git").exists():
            subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
            subprocess.run(["git", "add", *COMPOSE_EXAMPLE_FILES], cwd=tmp_path, check=True)
        text = str(path)
    return [f.rule for f in dockaudit.lint(text, EXAMPLE_OPTIONS, select=[rule.id])]


# Image rules read built images: their examples show the Dockerfile that causes the defect, and their
# bad/good images are generated in tests/test_image.py.
FILE_RULES = [r for r in RULES if r.target != "image"]


@pytest.mark.parametrize("rule", FILE_RULES, ids=_ids)
def test_docs_example_fires_and_use_instead_does_not(rule, tmp_path):
    example = _lint_example(rule, rule.docs.example, tmp_path)
    use_instead = _lint_example(rule, rule.docs.use_instead, tmp_path)
    assert rule.id in example
    assert rule.id not in use_instead


@pytest.mark.parametrize("rule", FILE_RULES, ids=_ids)
def test_fixtures(rule):
    folder = FIXTURES / "rules" / rule.id
    # A fixture is a Dockerfile, or a folder holding a Dockerfile and its build context.
    bad = [p / "Dockerfile" if p.is_dir() else p for p in sorted(folder.glob("bad*"))]
    good = [p / "Dockerfile" if p.is_dir() else p for p in sorted(folder.glob("good*"))]
    assert bad and good, f"{rule.id} needs fixtures/rules/{rule.id}/bad* and good*"
    for path in bad:
        assert rule.id in [f.rule for f in dockaudit.lint(str(path), FIXTURE_OPTIONS, select=[rule.id])], path
    for path in good:
        findings = dockaudit.lint(str(path), FIXTURE_OPTIONS, select=[rule.id])
        fired = [(f.line, f.message) for f in findings if f.rule == rule.id]
        assert fired == [], path


def _lint(text: str, rule_id: str):
    return [f for f in dockaudit.lint(text, select=[rule_id]) if f.rule == rule_id]


def test_da001_messages_name_the_problem():
    findings = _lint("FROM alpine\nRUNN x\nCOPY --link=false a\nFROM a b\nSHELL sh -c\n", "DA001")
    messages = [f.message for f in findings]
    assert messages[0] == "unknown instruction: RUNN"
    assert any("COPY requires at least two arguments" in m for m in messages)
    assert any("FROM requires either one or three arguments" in m for m in messages)
    assert any("SHELL requires the arguments to be in JSON form" in m for m in messages)


def test_da004_majority_is_lower_case():
    findings = _lint("from alpine\nrun a\nRUN b\n", "DA004")
    assert [(f.line, f.message) for f in findings] == [
        (3, "'RUN' should match the case of the other instructions (lower case)")
    ]


def test_da006_allows_external_images_and_earlier_indexes():
    text = "FROM a AS one\nFROM b\nCOPY --from=one /x /x\nCOPY --from=0 /y /y\nCOPY --from=ghcr.io/x/y:1 /z /z\n"
    assert _lint(text, "DA006") == []
    assert len(_lint("FROM a AS one\nCOPY --from=one /x /x\n", "DA006")) == 1


def test_da007_reports_all_but_the_last():
    findings = _lint('FROM a\nCMD ["1"]\nCMD ["2"]\nCMD ["3"]\n', "DA007")
    assert [f.line for f in findings] == [2, 3]


def test_da008_fix_only_for_plain_words():
    (plain,) = _lint("FROM a\nCMD python app.py\n", "DA008")
    assert plain.fix is not None and plain.fix.edits[0].replacement == '["python", "app.py"]'
    (shelly,) = _lint("FROM a\nCMD python app.py && echo $HOME\n", "DA008")
    assert shelly.fix is None


def test_da010_sees_args_declared_before_from_and_env_in_same_instruction():
    assert _lint("ARG V=1\nFROM alpine:$V\n", "DA010") == []
    assert len(_lint("FROM alpine:$V\n", "DA010")) == 1
    assert len(_lint("FROM a\nENV A=1 B=$A\n", "DA010")) == 1
    assert _lint("FROM a\nENV A=1\nENV B=$A\n", "DA010") == []
    assert len(_lint("FROM scratch\nCOPY x $DEST\n", "DA010")) == 1
    assert _lint("FROM scratch\nARG DEST=/x\nCOPY x $DEST\n", "DA010") == []


def test_da018_respects_shell_and_set_pipefail():
    assert len(_lint("FROM a\nRUN a | b\n", "DA018")) == 1
    assert _lint("FROM a\nRUN set -euo pipefail; a | b\n", "DA018") == []
    assert _lint('FROM a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN a | b\n', "DA018") == []
    assert _lint('FROM a\nSHELL ["pwsh", "-c"]\nRUN a | b\n', "DA018") == []
    assert _lint("FROM a\nRUN a || b\n", "DA018") == []


def test_off_by_default_rules_need_selection():
    text = "FROM a\n# hadolint ignore=DL3008\nRUN x\n"
    assert "DA022" not in [f.rule for f in dockaudit.lint(text)]
    assert "DA022" in [f.rule for f in dockaudit.lint(text, select=["DA022"])]


def test_da023_follows_renamed_and_windows_archives():
    assert len(_lint("FROM a\nCOPY foo/bar/app.tar /foo.tar\nRUN tar -xf /foo.tar\n", "DA023")) == 1
    assert (
        len(
            _lint(
                'FROM a\nCOPY build\\foo\\bar.tar.gz C:\\Foo\\bar.tar.gz\nRUN tar -xf "C:\\Foo\\bar.tar.gz"\n', "DA023"
            )
        )
        == 1
    )
    assert _lint("FROM a\nCOPY x.tar /opt/\nRUN tar -cf /opt/y.tar /x\n", "DA023") == []


def test_da017_label_keys_start_with_a_letter():
    assert len(_lint("FROM a\nLABEL 1invalid=foo\n", "DA017")) == 1
    assert _lint("FROM a\nLABEL org.example.v1=foo\n", "DA017") == []


def test_da018_powershell_exe_is_not_posix():
    assert _lint('FROM a\nSHELL ["powershell.exe"]\nRUN Get-Item x | Select-Object y\n', "DA018") == []
