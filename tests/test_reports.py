"""CI report formats: SARIF against the official schema, JUnit/Checkstyle XML, GitLab, GitHub, Markdown."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from tests.conftest import FIXTURES

BAD = (
    "FROM debian:12-slim\nMAINTAINER me\nRUN apt-get update && apt-get install -y curl=7.88.1-10+deb12u8\n"
    "CMD python app.py\n"
)
# The findings these reports show are off by default (DA008, DA012, DA401, DA402 on BAD, DA017 a label key).
EXTRA = ("--extend-select", "DA008,DA012,DA017,DA401,DA402")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(BAD)
    (tmp_path / "ok.Dockerfile").write_text("FROM scratch\nUSER 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def report(fmt: str, *paths: str) -> str:
    paths = paths or ("svc/Dockerfile", "ok.Dockerfile")
    result = CliRunner().invoke(cli, ["--format", fmt, "--exit-zero", *EXTRA, *paths])
    assert result.exit_code == 0, result.output
    return result.output


def test_sarif_validates_against_the_official_schema(project):
    document = json.loads(report("sarif"))
    schema = json.loads((FIXTURES / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    run = document["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["DA401"]["defaultConfiguration"]["level"] == "warning"
    assert rules["DA401"]["helpUri"].endswith("#da401-apt-lists-not-removed") and rules["DA401"]["help"]["markdown"]
    result = next(r for r in run["results"] if r["ruleId"] == "DA401")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "svc/Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert location["region"]["startLine"] == 3
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    assert result["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"]
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == "DA401"


def test_junit_one_testcase_per_finding(project):
    """CI UIs show only a testcase's first failure: each finding is its own failing testcase, in a
    testsuite per file; a clean file is one passing testcase."""
    root = ET.fromstring(report("junit").encode("utf-8"))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"svc/Dockerfile", "ok.Dockerfile"}
    cases = suites["svc/Dockerfile"].findall("testcase")
    assert len(cases) == int(suites["svc/Dockerfile"].get("failures")) == int(root.get("failures")) > 1
    assert all(len(c.findall("failure")) == 1 for c in cases)
    assert len({c.get("name") for c in cases}) == len(cases)
    assert any(c.get("name").startswith("DA401 apt-lists-not-removed at line 3:") for c in cases)
    clean = suites["ok.Dockerfile"].findall("testcase")
    assert len(clean) == 1 and clean[0].findall("failure") == [] and clean[0].get("name") == "no findings"
    assert int(root.get("tests")) == len(cases) + 1


def test_checkstyle(project):
    root = ET.fromstring(report("checkstyle").encode("utf-8"))
    files = root.findall("file")
    assert [f.get("name") for f in files] == ["svc/Dockerfile", "ok.Dockerfile"]
    errors = files[0].findall("error")
    assert {e.get("source") for e in errors} >= {"dockaudit.DA401.apt-lists-not-removed"}
    assert all(e.get("line").isdigit() and e.get("severity") in ("error", "warning", "info") for e in errors)


def test_gitlab_code_quality_fingerprints_survive_edits_elsewhere(project):
    first = json.loads(report("gitlab"))
    assert all(i["fingerprint"] and i["severity"] in ("info", "minor", "major", "critical") for i in first)
    assert len({i["fingerprint"] for i in first}) == len(first)
    (project / "svc" / "Dockerfile").write_text("# a new comment line\n\n" + BAD)
    second = json.loads(report("gitlab"))
    assert {i["fingerprint"] for i in first} == {i["fingerprint"] for i in second}
    assert [i["location"]["lines"]["begin"] for i in second] == [i["location"]["lines"]["begin"] + 2 for i in first]


def test_github_workflow_commands_escape_data(project):
    lines = report("github").splitlines()
    assert any(line.startswith("::warning file=svc/Dockerfile,line=3,") for line in lines)
    (project / "odd,name.Dockerfile").write_text("FROM scratch\nLABEL a,b=1\nUSER 1\n")
    out = report("github", "odd,name.Dockerfile")
    # properties escape ',' and ':'; the message keeps its comma
    assert out.startswith("::notice file=odd%2Cname.Dockerfile,line=2,") and "label key 'a,b'" in out


def test_markdown_summary(project):
    text = report("markdown")
    assert text.startswith("## dockaudit") and "| `svc/Dockerfile:3` | DA401" in text
    counts = next(line for line in text.splitlines() if line.startswith("**"))
    for number, label in [part.split()[:2] for part in counts.split(":", 1)[1].strip(" .").split(", ")]:
        assert label.endswith("s") == (number != "1"), counts  # "2 errors", "1 warning"


def test_several_formats_at_once(project):
    result = CliRunner().invoke(
        cli, ["--format", "sarif:out.sarif", "--format", "text", "--exit-zero", *EXTRA, "svc/Dockerfile"]
    )
    assert "svc/Dockerfile:3:" in result.output
    assert json.loads((project / "out.sarif").read_text())["version"] == "2.1.0"
    bad = CliRunner().invoke(cli, ["--format", "yaml", "svc/Dockerfile"])
    assert bad.exit_code == 2 and "is not one of" in bad.output
