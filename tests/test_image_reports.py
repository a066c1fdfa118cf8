"""Image reports: a heading per image (reference, id, platform, size), JSON image/platform/layer/file
fields, one finding for an ENV secret both DA802 and DA102 report, the layer table masking secrets from
history, and the hint for a bare archive path."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.report.layers import mask_secrets
from tests.test_image import tar_layer, write_docker_archive

TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"
BUILD_ARG_TOKEN = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"


@pytest.fixture
def image(tmp_path, monkeypatch):
    layers = [tar_layer({"app/main.py": b"print(1)\n"}), tar_layer({"root/.cache/pip/x.whl": b"w" * 5000})]
    config = {"architecture": "arm64", "os": "linux",
              "config": {"Env": [f"HF_TOKEN={TOKEN}"], "Cmd": ["python", "/app/main.py"]},
              "history": [{"created_by": "COPY main.py /app/"},
                          {"created_by": f"RUN |1 GH_TOKEN={BUILD_ARG_TOKEN} /bin/sh -c pip install torch"}],
              "rootfs": {"type": "layers", "diff_ids": []}}  # fmt: skip
    write_docker_archive(tmp_path / "app.tar", layers, config)
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.12-slim\nENV HF_TOKEN={TOKEN}\nCMD [\"python\"]\n")
    monkeypatch.chdir(tmp_path)
    return "docker-archive:app.tar"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_text_report_has_a_heading_per_image_and_no_pseudo_line_numbers(image):
    output = run("image", image).output
    lines = output.splitlines()
    heading = lines.index("Image docker-archive:app.tar (app:1)")
    assert lines[heading + 1].startswith("  id sha256:") and "linux/arm64" in lines[heading + 1]
    assert "in 2 layers" in lines[heading + 1]
    assert "  config  DA802  error  Env HF_TOKEN holds a credential" in output
    assert ":1:1" not in output
    assert output.rstrip().endswith("in 1 image: 1 error, 2 warnings.")


def test_json_image_findings_carry_image_platform_layer_and_file(image):
    document = json.loads(run("image", image, "--format", "json").output)
    finding = next(f for f in document["findings"] if f["rule"] == "DA802")
    assert finding["image"]["reference"] == "docker-archive:app.tar (app:1)"
    assert finding["image"]["digest"].startswith("sha256:") and len(finding["image"]["digest"]) == 71
    assert finding["platform"] == "linux/arm64"
    assert finding["layer"] is None and finding["file"] is None  # the config, not a layer
    assert all({"image", "platform", "layer", "file"} <= set(f) for f in document["findings"])


def test_one_finding_for_an_env_secret_the_dockerfile_and_the_image_both_hold(image, tmp_path):
    (tmp_path / ".dockaudit.toml").write_text('extend-select = ["DA102"]\n')  # DA102 is off by default
    document = json.loads(run("image", image, "--dockerfile", "Dockerfile", "--format", "json").output)
    rules = [f["rule"] for f in document["findings"]]
    assert rules.count("DA102") == 1 and "DA802" not in rules
    (kept,) = [f for f in document["findings"] if f["rule"] == "DA102"]
    assert kept["path"] == "Dockerfile" and kept["line"] == 2 and "DA802" in kept["message"]


def test_an_image_secret_the_dockerfile_does_not_set_stays(image, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCMD [\"python\"]\n")
    document = json.loads(run("image", image, "--dockerfile", "Dockerfile", "--format", "json").output)
    assert "DA802" in [f["rule"] for f in document["findings"]]


def test_layer_table_masks_secrets_from_history(image):
    output = run("image", image).output
    assert BUILD_ARG_TOKEN not in output and BUILD_ARG_TOKEN[:8] not in output
    assert "RUN |1 GH_TOKEN=*** /bin/sh -c pip install torch" in output


@pytest.mark.parametrize(
    ("history", "masked"),
    [
        ("RUN |2 A=1 B=x /bin/sh -c make", "RUN |2 A=*** B=*** /bin/sh -c make"),
        ("|1 X=y sh -c curl -H token:ghp_abcdefghijklmnopqrstuvwxyz", "|1 X=*** sh -c curl -H token:ghp_***"),
        ('/bin/sh -c export API_KEY="a b" && run', "/bin/sh -c export API_KEY=*** && run"),
        ("ENV AWS_SECRET_ACCESS_KEY=abc123", "ENV AWS_SECRET_ACCESS_KEY=***"),
        ("RUN |9 ONLY=1", "RUN |9 ONLY=***"),  # a count larger than the words
        ("RUN pip install torch==2.3.1", "RUN pip install torch==2.3.1"),
    ],
)
def test_mask_secrets(history, masked):
    assert mask_secrets(history) == masked


@pytest.mark.parametrize(("source", "hint"), [("app.tar", "did you mean docker-archive:app.tar"),
                                              ("./app.tar", "did you mean docker-archive:./app.tar")])  # fmt: skip
def test_a_bare_archive_path_suggests_its_transport(image, source, hint):
    result = run("image", source)
    assert result.exit_code == 2 and hint in result.output
    assert "All clear" not in result.output


@pytest.fixture
def layered(tmp_path, monkeypatch):
    layers = [tar_layer({"app/main.py": b"x"}), tar_layer({"app/.env": b"API_KEY=1\n"})]
    config = {"architecture": "amd64", "os": "linux", "config": {"User": "1"},
              "history": [{"created_by": "COPY main.py /app/"}, {"created_by": "COPY . /app/"},
                          {"created_by": "USER 1", "empty_layer": True}],
              "rootfs": {"type": "layers", "diff_ids": []}}  # fmt: skip
    write_docker_archive(tmp_path / "app.tar", layers, config)
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY main.py /app/\nCOPY . /app/\nUSER 1\n")
    monkeypatch.chdir(tmp_path)
    return "docker-archive:app.tar"


def test_sarif_places_image_findings_on_the_dockerfile_line_or_a_logical_location(layered):
    alone = json.loads(run("image", layered, "--format", "sarif").output)
    (secret,) = [r for r in alone["runs"][0]["results"] if "credential file" in r["message"]["text"]]
    assert secret["locations"] == [{"logicalLocations": [
        {"fullyQualifiedName": "docker-archive:app.tar (app:1)/layer 2", "kind": "module"}]}]  # fmt: skip
    built = json.loads(run("image", layered, "--dockerfile", "Dockerfile", "--format", "sarif").output)
    (secret,) = [r for r in built["runs"][0]["results"] if "credential file" in r["message"]["text"]]
    location = secret["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "Dockerfile" and location["region"] == {"startLine": 3}


def test_junit_image_findings_name_the_config_or_layer_not_a_line(layered):
    from xml.etree import ElementTree as ET

    root = ET.fromstring(run("image", layered, "--format", "junit").output.encode())
    (suite,) = root.findall("testsuite")
    names = [case.get("name") for case in suite.findall("testcase")]
    assert any(name.endswith("in layer 2") for name in names), names
    assert not any("line" in name for name in names) and suite.get("file") is None
    assert ":1:1" not in ET.tostring(root, encoding="unicode")


# Checkstyle, GitLab, GitHub and Markdown name the image and its config or layer, as each format's
# readers can show it: a Dockerfile line when --dockerfile maps the layer to one, else no pseudo-line.
SECRET = "credential file"
REFERENCE = "docker-archive:app.tar (app:1)"


def _checkstyle(*args: str) -> dict[str, list[dict[str, str]]]:
    from xml.etree import ElementTree as ET

    root = ET.fromstring(run(*args, "--format", "checkstyle").output.encode())
    return {file.get("name"): [dict(error.attrib) for error in file] for file in root.findall("file")}


def test_checkstyle_names_the_layer_as_the_file_and_gives_no_line(layered):
    files = _checkstyle("image", layered)
    (secret,) = files[f"{REFERENCE}/layer 2"]
    assert SECRET in secret["message"] and secret["line"] == "0" and "column" not in secret
    assert files[REFERENCE] == [] or all(e["line"] == "0" for e in files[REFERENCE])


def test_checkstyle_puts_a_mapped_image_finding_on_the_dockerfile_line(layered):
    files = _checkstyle("image", layered, "--dockerfile", "Dockerfile")
    (secret,) = [e for e in files["Dockerfile"] if SECRET in e["message"]]
    assert secret["line"] == "3" and secret["message"].endswith(f"[{REFERENCE} layer 2]")
    assert not any(name.startswith(REFERENCE + "/") for name in files)


def _gitlab(*args: str) -> list[dict]:
    return json.loads(run(*args, "--format", "gitlab").output)


def test_gitlab_locates_an_image_finding_at_the_image_reference(layered):
    (secret,) = [i for i in _gitlab("image", layered) if SECRET in i["description"]]
    assert secret["location"] == {"path": REFERENCE, "lines": {"begin": 1, "end": 1}}
    assert secret["description"].endswith(f"[{REFERENCE} layer 2]")


def test_gitlab_locates_a_mapped_image_finding_on_the_dockerfile_line(layered):
    issues = _gitlab("image", layered, "--dockerfile", "Dockerfile")
    (secret,) = [i for i in issues if SECRET in i["description"]]
    assert secret["location"] == {"path": "Dockerfile", "lines": {"begin": 3, "end": 3}}
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_gitlab_locates_a_config_finding_at_the_image_even_with_a_dockerfile(image):
    config = [i for i in _gitlab("image", image, "--dockerfile", "Dockerfile") if i["description"].endswith("config]")]
    assert any(i["check_name"] == "DA802 image-secret" for i in config)
    assert all(i["location"] == {"path": REFERENCE, "lines": {"begin": 1, "end": 1}} for i in config)


def _github(*args: str) -> list[str]:
    return run(*args, "--format", "github").output.splitlines()


def test_github_annotates_an_unmapped_image_finding_on_no_file(layered):
    (secret,) = [line for line in _github("image", layered) if SECRET in line]
    _, properties, message = secret.split("::")
    assert properties.startswith("error ") and "file=" not in properties and "line=" not in properties
    assert "title=DA802 image-secret in docker-archive%3Aapp.tar (app%3A1) layer 2" in properties
    assert message == "/app/.env (layer 2) looks like a credential file"


def test_github_annotates_a_mapped_image_finding_on_the_dockerfile_line(layered):
    (secret,) = [line for line in _github("image", layered, "--dockerfile", "Dockerfile") if SECRET in line]
    assert secret.startswith("::error file=Dockerfile,line=3,title=DA802 image-secret in docker-archive%3Aapp.tar")


def test_github_reports_an_unreadable_image_on_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("image", "docker-archive:missing.tar", "--format", "github")
    assert result.exit_code == 2
    (line,) = [line for line in result.output.splitlines() if line.startswith("::error")]
    assert line.startswith("::error title=dockaudit::docker-archive:missing.tar: ")


def test_markdown_has_a_line_per_image_and_places_findings_in_the_config_or_a_layer(image):
    output = run("image", image, "--format", "markdown").output
    assert "in 1 image:" in output
    (heading,) = [line for line in output.splitlines() if line.startswith("- Image ")]
    assert heading.startswith(f"- Image `{REFERENCE}`: id `sha256:") and heading.endswith("linux/arm64, 4.9 KiB in 2 layers")
    rows = [line for line in output.splitlines() if line.startswith("| `")]
    assert any(row.startswith(f"| `{REFERENCE}` config | DA802") for row in rows), rows
    assert not any(":1`" in row for row in rows)  # no pseudo-line


def test_markdown_places_a_mapped_image_finding_on_the_dockerfile_line(layered):
    output = run("image", layered, "--dockerfile", "Dockerfile", "--format", "markdown").output
    assert "in 1 image and 1 file:" in output
    (row,) = [line for line in output.splitlines() if SECRET in line]
    assert row.startswith("| `Dockerfile:3` layer 2 | DA802 `image-secret` | error |")
