"""Issue 16: one finding per problem, and the wrong findings seen on unseen files stay silent."""

from __future__ import annotations

import pytest

import dockaudit
from dockaudit.context import Options


def fired(text: str, rule_id: str, options: Options | None = None) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in dockaudit.lint(text, options, select=[rule_id]) if f.rule == rule_id]


# --- one finding per problem ----------------------------------------------------------------------


def test_one_notebook_finding_per_command():
    text = 'FROM a:1\nCMD ["jupyter", "lab", "--ServerApp.token=", "--ServerApp.password=", "--allow-root"]\n'
    assert fired(text, "DA109") == [
        (2, "Jupyter started with an empty token and password and --allow-root: anyone who reaches the port "
            "runs code as root")
    ]  # fmt: skip


def test_one_build_tools_finding_per_install_command():
    text = "FROM a:1\nRUN apt-get install -y gcc g++ curl python3-dev\n"
    assert fired(text, "DA408") == [
        (2, "'gcc', 'g++' and 'python3-dev' are build tools and headers: compile in a builder stage, copy the result")
    ]


def test_dev_tools_one_finding_per_install_and_read_from_requirement_files(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.txt").write_text("fastapi==0.115.0\npytest==8.3.3\nblack==24.8.0\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.12-slim\nCOPY requirements/prod.txt /app/req.txt\n"
        "RUN pip install --no-cache-dir ipython==8.0 -r /app/req.txt\nCMD [\"uvicorn\", \"app:app\"]\n"
    )
    assert fired(str(dockerfile), "DA409") == [
        (3, "'ipython', 'pytest' (prod.txt:2) and 'black' (prod.txt:3) are development tools: keep them out of "
            "the runtime image")
    ]  # fmt: skip


# --- DA101 / DA201 ---------------------------------------------------------------------------------


def test_runs_as_root_fix_is_not_offered_on_windows_bases():
    # DA101 reports service images (a port exposed), so each example exposes one
    for base in ("mcr.microsoft.com/windows/servercore:ltsc2022", "mcr.microsoft.com/dotnet/sdk:8.0-windowsservercore-ltsc2022"):
        (finding,) = dockaudit.lint(f"FROM {base}\nEXPOSE 8000\nCMD [\"app.exe\"]\n", select=["DA101"])
        assert finding.fix is None, base  # USER 10001:10001 does not exist on Windows
    (linux,) = dockaudit.lint('FROM debian:12-slim\nEXPOSE 8000\nCMD ["app"]\n', select=["DA101"])
    assert linux.fix is not None and "USER 10001:10001" in linux.fix.edits[0].replacement


def test_runs_as_root_on_nano_server_and_scratch_with_an_entrypoint():
    # both are service images (a port exposed), the images DA101 reports
    assert fired('FROM mcr.microsoft.com/windows/nanoserver:ltsc2022\nEXPOSE 8000\nCMD ["app.exe"]\n', "DA101") == []
    # scratch that runs a binary runs it as UID 0: still reported
    text = 'FROM golang:1.23 AS b\nRUN go build -o /x .\nFROM scratch\nCOPY --from=b /x /x\nEXPOSE 8000\nENTRYPOINT ["/x"]\n'
    assert [line for line, _m in fired(text, "DA101")] == [3]


def test_placeholder_base_is_not_an_image_reference():
    from dockaudit.facts.imageref import parse_image_ref

    assert parse_image_ref("<jupyter>") is None and parse_image_ref("<registry>/app:1") is None


# --- DA302 and the shell view of compound commands -------------------------------------------------


def test_commands_inside_if_then_else_are_seen():
    from dockaudit.syntax import parse
    from dockaudit.syntax.shell import run_commands

    text = 'FROM a:1\nRUN if apt-cache policy x | grep -q C; then apt-get install -y x; else ! make; fi\n'
    names = [c.name for c in run_commands(parse(text.encode(), "Dockerfile").instructions[1])]
    assert names == ["apt-cache", "grep", "apt-get", "make"]


def test_update_with_the_install_in_an_if_or_a_script_is_not_alone():
    for run in (
        'apt-get update && if [ "$A" = 1 ]; then apt-get install -y x; else apt-get install -y y; fi',
        "apt-get update && bash /install/ubuntu_install_core.sh",
        "apt-get update && /install/setup_deps",
        "apt-get update && . /tmp/install.sh",
    ):
        assert fired(f"FROM debian:12\nRUN {run}\n", "DA302") == [], run
    assert fired("FROM debian:12\nRUN apt-get update && echo done\n", "DA302")


# --- DA103 reads what it can --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "dockerfile", "reported"),
    [
        ({".env": "A=1\n"}, "COPY --exclude=.env . .", False),
        ({".env": "A=1\n"}, "COPY --exclude=*.pem . .", True),
        ({".env": "A=1\n"}, "COPY . .", True),
        ({".npmrc": "registry=https://registry.npmjs.org/\n"}, "COPY .npmrc ./", False),
        ({".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"}, "COPY .npmrc ./", False),
        ({".npmrc": "//registry.npmjs.org/:_authToken=npm_abc123\n"}, "COPY .npmrc ./", True),
        ({".npmrc": "//registry.npmjs.org/:_authToken=npm_abc123\n"}, "COPY . .", True),
        ({".npmrc": "registry=https://registry.npmjs.org/\n"}, "COPY . .", False),
        ({".pypirc": "[pypi]\nusername = __token__\n"}, "COPY .pypirc /root/", False),
        ({".pypirc": "[pypi]\npassword = pypi-AgEIcHlwaS5vcmc\n"}, "COPY .pypirc /root/", True),
    ],
)
def test_credential_files_are_judged_by_excludes_and_content(tmp_path, files, dockerfile, reported):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    (tmp_path / "Dockerfile").write_text(f"FROM node:22-slim\nWORKDIR /app\n{dockerfile}\n")
    assert bool(fired(str(tmp_path / "Dockerfile"), "DA103")) is reported


def test_an_npmrc_that_cannot_be_read_counts_as_a_credential(tmp_path):
    import os

    os.mkfifo(tmp_path / ".npmrc")  # would block a naive open()
    (tmp_path / "Dockerfile").write_text("FROM node:22-slim\nCOPY .npmrc ./\n")
    assert fired(str(tmp_path / "Dockerfile"), "DA103")
    assert fired("FROM node:22-slim\nCOPY .npmrc ./\n", "DA103")  # no build context: the name is the evidence


# --- parse errors and fragments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("COPY --chmod 777 src dst", "missing a value on flag: chmod (write --chmod=<value>)"),
        ("RUN --network none true", "missing a value on flag: network (write --network=<value>)"),
        ("COPY --link=maybe a /b", "expecting boolean value for flag link, not: maybe"),
        ("ADD --keep-git-dir= https://github.com/moby/buildkit.git /b", "missing a value on flag: keep-git-dir"),
    ],
)
def test_flag_values_are_checked_as_buildkit_checks_them(line, message):
    assert fired(f"FROM alpine:3.20\n{line}\n", "DA001") == [(2, message)]


def test_valid_flag_values_pass():
    text = "FROM alpine:3.20\nCOPY --link --parents=true --chmod=0755 a /b/\nCOPY --link=false --chown= a /c\n"
    assert fired(text, "DA001") == []


def test_a_from_less_fragment_gets_one_finding():
    text = "ARG V=1\nRUN a\nENV B=2\nCOPY a b\n"
    assert fired(text, "DA002") == [
        (2, "no FROM in this file (3 instructions from line 2 need one): a fragment or template cannot be built on "
            "its own")
    ]  # fmt: skip
    assert [line for line, _m in fired("RUN a\nENV B=2\nFROM alpine:3.20\n", "DA002")] == [1, 2]


def test_a_template_gets_one_parse_finding_and_no_instruction_before_from():
    text = '{{ if eq .Accelerator "gpu" }}\nFROM a:1\n{{ else }}\nFROM b:1\n{{ end }}\nRUN x\n'
    assert fired(text, "DA001") == [
        (1, "template markup ('{{' on line 1): BuildKit rejects 3 lines of this file; lint the Dockerfile it renders")
    ]
    assert fired(text, "DA002") == []
    assert [m for _l, m in fired("FROM a:1\nRUNN x\nCOPYY a b\n", "DA001")] == [
        "unknown instruction: RUNN",
        "unknown instruction: COPYY",
    ]
