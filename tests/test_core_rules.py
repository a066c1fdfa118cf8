"""The core pack's semantics that decide false positives: one focused test per behaviour."""

from __future__ import annotations

import pytest

import dockaudit
from dockaudit.context import Options
from dockaudit.facts.dockerignore import is_ignored, parse_dockerignore
from dockaudit.facts.imageref import parse_image_ref, registry_matches
from dockaudit.facts.requirements import parse_requirement, read_requirements_file


def fired(text: str, rule_id: str, options: Options | None = None) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in dockaudit.lint(text, options, select=[rule_id]) if f.rule == rule_id]


# --- package-manager views ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        "apt-get -y install curl",
        "apt-get install -qq curl",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y curl",
        "echo curl | xargs apt-get install -y curl",
        "sh -c 'apt-get install -y curl'",
        "sudo apt-get install -y curl",
    ],
)
def test_apt_pinning_reads_every_spelling_of_the_install(run):
    assert [m for _l, m in fired(f"FROM debian:12\nRUN {run}\n", "DA204")] == ["pin 'curl' with curl=<version>"]


def test_heredoc_run_bodies_are_read():
    text = "FROM debian:12\nRUN <<EOF\nset -e\napt-get install -y curl\nEOF\n"
    assert fired(text, "DA204") == [(4, "pin 'curl' with curl=<version>")]


@pytest.mark.parametrize(
    "run", ["python -m pip install flask", "pip3 install flask", "uv pip install flask", "pipx install flask"]
)
def test_pip_pinning_covers_pip_spellings(run):
    assert len(fired(f"FROM python:3.12\nRUN {run}\n", "DA205")) == 1


def test_pinning_finding_points_at_the_install_command():
    # One finding per install command (issue 16), on the command: it used to point at each package word.
    finding = next(f for f in dockaudit.lint("FROM a:1\nRUN apk add --no-cache git curl=8\n", select=["DA206"]))
    assert (finding.line, finding.column, finding.end_column) == (2, 5, 34)


@pytest.mark.parametrize(
    ("run", "rule", "message"),
    [
        ("apt-get install -y curl git wget=1 jq", "DA204", "pin 'curl', 'git' and 'jq' with <package>=<version>"),
        ("apk add a b c d e f g", "DA206", "pin 'a', 'b', 'c', 'd', 'e' and 2 more with <package>=<version>"),
        ("pip install flask numpy==2 requests", "DA205", "pin 'flask' and 'requests' with <package>==<version>"),
        ("npm install -g pm2 yarn", "DA207", "pin 'pm2' and 'yarn' with <package>@<version>"),
        ("gem install bundler rake", "DA208", "pin 'bundler' and 'rake' with <package>:<version>"),
        ("conda install -y numpy scipy", "DA209", "pin 'numpy' and 'scipy' with <package>=<version>"),
        ("dnf install -y httpd tar", "DA210", "pin 'httpd' and 'tar' with <package>-<version>"),
        ("go install a.io/x@latest b.io/y", "DA211", "pin 'a.io/x' and 'b.io/y' with <package>@<version>"),
    ],
)
def test_pinning_reports_one_finding_per_install_command(run, rule, message):
    findings = fired(f"FROM a:1\nRUN {run} && {run}\n", rule)
    assert findings == [(2, message), (2, message)]  # one per command, not one per package


def test_conda_mamba_micromamba_and_rpm_tools():
    assert len(fired("FROM a:1\nRUN micromamba install -y -n base numpy\n", "DA209")) == 1
    assert len(fired("FROM a:1\nRUN microdnf install -y tar && microdnf clean all\n", "DA210")) == 1
    assert fired("FROM a:1\nRUN go install ./cmd/x && go install example.com/x@v1.2.3\n", "DA211") == []


# --- DA205 requirement files from the build context -----------------------------------------------


def test_requirement_files_nested_hashes_constraints_and_local_paths(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "-r base.txt\n-c constraints.txt\nflask==3.0.3\nrequests\nnumpy --hash=sha256:abc\n-e .\n./local.whl\n"
    )
    (tmp_path / "base.txt").write_text("torch>=2.1,<2.2\ntransformers\n")
    (tmp_path / "constraints.txt").write_text("requests==2.32.3\n")
    contents = read_requirements_file(tmp_path / "requirements.txt")
    names = {r.name: r for r in contents.requirements if r.name}
    assert names["numpy"].exact and names["flask"].exact and not names["transformers"].constrained
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.12\nCOPY requirements.txt base.txt /app/\nRUN pip install -r /app/requirements.txt\n"
    )
    messages = [m for _l, m in fired(str(dockerfile), "DA205")]
    assert messages == ["base.txt:2: pin 'transformers' with ==<version>"]
    # --no-context: the file is judged alone and the -r is trusted
    assert fired(str(dockerfile), "DA205", Options(use_context=False)) == []


def test_requirement_parsing():
    assert parse_requirement("torch==2.1.0+cu121").version == "2.1.0+cu121"
    assert parse_requirement("git+https://github.com/org/x.git@v1#egg=x").vcs_ref == "v1"
    assert parse_requirement("git+https://github.com/org/x.git").vcs_ref is None
    assert parse_requirement("./wheels/x.whl").local and parse_requirement("x[extra]>=1").constrained


# --- cleanup rules: cache mounts, truthy env, stages that reach the image -------------------------


def test_cache_mounts_satisfy_cleanup_rules():
    assert fired("FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt/lists apt-get update\n", "DA401") == []
    assert fired("FROM python:3\nRUN --mount=type=cache,target=/root/.cache/pip pip install x==1\n", "DA403") == []
    assert fired("FROM python:3\nRUN --mount=type=cache,target=/home/app/.cache/pip pip install x==1\n", "DA403") == []


@pytest.mark.parametrize("value,expected", [("1", 0), ("true", 0), ("on", 0), ("yes", 0), ("0", 1), ("off", 1)])
def test_pip_no_cache_dir_truthy_forms(value, expected):
    assert len(fired(f"FROM python:3\nENV PIP_NO_CACHE_DIR={value}\nRUN pip install x==1\n", "DA403")) == expected


def test_cleanup_rules_ignore_builder_stages_that_are_only_copied_from():
    text = "FROM debian:12 AS build\nRUN apt-get update && apt-get install -y gcc\nFROM debian:12\nCOPY --from=build /a /a\n"
    assert fired(text, "DA401") == []
    assert len(fired(text.replace("FROM debian:12\nCOPY", "FROM build\nCOPY"), "DA401")) == 1


# --- DA101: only the image's stage ----------------------------------------------------------------


def test_root_user_judged_on_the_final_or_target_stage_only():
    text = "FROM a:1 AS build\nUSER root\nFROM a:1 AS app\nUSER 10001\nFROM a:1 AS debug\nUSER root\n"
    assert len(fired(text, "DA101")) == 1
    assert fired(text, "DA101", Options(target="app")) == []
    assert fired("FROM a:1 AS base\nUSER app\nFROM base\n", "DA101") == []


# --- DA102: names that point at secrets, values from variables, token prefixes ----------------------


@pytest.mark.parametrize(
    "line",
    ["ENV PASSWORD_FILE=/run/secrets/x", "ENV TOKEN_URL=https://auth.example.com", "ENV API_KEY=${API_KEY}",
     "ARG USE_CREDENTIALS=false", "ENV SECRET_KEY_PATH=/etc/key"],
)  # fmt: skip
def test_secret_rule_ignores_names_that_are_not_secrets(line):
    assert fired(f"FROM a:1\n{line}\n", "DA102") == []


def test_known_token_prefixes_fire_on_any_name():
    assert len(fired("FROM a:1\nENV MODEL=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\n", "DA102")) == 1
    assert len(fired("FROM a:1\nENV X=sk-proj-abcdefghijklmnopqrstuvwxyz\n", "DA102")) == 1


# --- DA303: RUNs that must stay separate ----------------------------------------------------------


@pytest.mark.parametrize(
    "second",
    ["RUN --mount=type=secret,id=t /b", "RUN <<EOF\n/b\nEOF", "ARG BUST\nRUN /b", "RUN /b && /c"],
)
def test_consecutive_runs_that_must_stay_separate(second):
    assert fired(f"FROM a:1\nRUN /a\n{second}\n", "DA303") == []


def test_copy_from_external_image_is_not_an_unknown_stage():
    assert fired("FROM a:1\nCOPY --from=ghcr.io/astral-sh/uv:0.4 /uv /bin/uv\n", "DA006") == []


# --- base images: ARGs resolved as BuildKit does --------------------------------------------------


def test_base_image_args_resolve_like_buildkit():
    assert len(fired("ARG BASE=ubuntu\nFROM ${BASE}\n", "DA201")) == 1
    assert fired("ARG BASE=ubuntu:24.04\nFROM ${BASE}\n", "DA201") == []
    assert fired("ARG BASE\nFROM ${BASE}\n", "DA201") == []  # unknown: no guessing
    assert fired("FROM a:1 AS b\nFROM b\n", "DA201") == []
    options = Options(build_args={"BASE": "python"})
    assert len(fired("ARG BASE=python:3.12\nFROM $BASE\n", "DA201", options)) == 1


def test_image_references():
    ref = parse_image_ref("localhost:5000/team/app:1.0@sha256:abc")
    assert (ref.registry, ref.name, ref.tag, ref.digest) == ("localhost:5000", "team/app", "1.0", "sha256:abc")
    assert parse_image_ref("python:3.12").name == "library/python"
    assert registry_matches("foo.random.com", "*.random.com") and not registry_matches("x.com", "*.random.com")


def test_trusted_registries_only_when_configured():
    text = "FROM quay.io/org/x:1\n"
    assert fired(text, "DA111") == []
    assert len(fired(text, "DA111", Options(trusted_registries=("docker.io",)))) == 1


# --- build context: .dockerignore ----------------------------------------------------------------


def test_dockerignore_matching_follows_buildkit():
    patterns = parse_dockerignore("# comment\n**/*.pt\n/data\n!data/keep.txt\nsecrets/\n")
    assert is_ignored("models/a/b.pt", patterns) and is_ignored("x.pt", patterns)
    assert is_ignored("data/big.bin", patterns) and not is_ignored("data/keep.txt", patterns)
    assert is_ignored("secrets/key", patterns) and not is_ignored("src/app.py", patterns)


def test_context_secrets_and_dockerignore(tmp_path):
    (tmp_path / ".env").write_text("TOKEN=x\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12\nCOPY . /app\n")
    assert len(fired(str(dockerfile), "DA103")) == 1
    assert len(fired(str(dockerfile), "DA304")) == 1
    (tmp_path / ".dockerignore").write_text(".env\n")
    assert fired(str(dockerfile), "DA103") == [] and fired(str(dockerfile), "DA304") == []


# --- suppressions ---------------------------------------------------------------------------------


def test_inline_suppressions_dockaudit_hadolint_and_buildkit():
    base = "FROM debian:12\n{comment}RUN apt-get install -y curl\n"
    assert fired(base.format(comment=""), "DA204")
    assert fired(base.format(comment="# dockaudit: ignore=DA204 -- pinned by the base\n"), "DA204") == []
    assert fired(base.format(comment="# hadolint ignore=DL3008\n"), "DA204") == []
    assert fired(base.format(comment="# hadolint ignore=DL3008\n\n"), "DA204")  # a blank line detaches it
    assert fired("# dockaudit: ignore-file=DA204\n" + base.format(comment=""), "DA204") == []
    assert fired("# check=skip=DL3008\n" + base.format(comment=""), "DA204") == []


def test_a_specific_alias_suppresses_only_its_part_of_a_rule():
    text = "FROM a:1\n# hadolint ignore=DL3033\nRUN yum install -y tar && zypper install -y tar\n"
    assert [m for _l, m in fired(text, "DA210")] == ["pin 'tar' with tar=<version>"]


def test_suppressed_findings_are_kept_for_reporting():
    from dockaudit.linting.engine import lint_source, load_rules, select_rules

    result = lint_source("FROM a:1\n# dockaudit: ignore=DA204\nRUN apt-get install -y x\n", None,
                         select_rules(load_rules(), select=["DA204"]))  # fmt: skip
    assert result.findings == [] and [f.rule for f, _s in result.suppressed] == ["DA204"]


def test_allowed_base_images_only_when_configured():
    text = "FROM python:3.12-slim AS a\nFROM nvidia/cuda:12.4.1-runtime-ubuntu22.04\n"
    assert fired(text, "DA111") == []
    found = fired(text, "DA111", Options(allowed_base_images=("python:3.12-*",)))
    assert [line for line, _m in found] == [2]


def test_requirement_files_outside_the_build_context_are_not_read(tmp_path):
    context = tmp_path / "context"
    context.mkdir()
    (tmp_path / "outside.txt").write_text("evilpkg\n")
    (context / "req.txt").write_text("-r ../outside.txt\nflask\n")
    (context / "linked.txt").symlink_to(tmp_path / "outside.txt")
    text = "FROM python:3.12-slim\nRUN pip install --no-cache-dir -r req.txt -r linked.txt\nUSER 1\n"
    options = Options(context_dir=context)
    messages = [f.message for f in dockaudit.lint(text, options, select=["DA205"])]
    assert any("'flask'" in m for m in messages) and not any("evilpkg" in m for m in messages)
    assert read_requirements_file(context / "req.txt", context).missing == ("../outside.txt",)


def test_requirement_file_is_read_where_the_dockerfile_copies_it_from(tmp_path):
    # Issue 16: the -r file was looked up by path suffix only, so the context root's requirements.txt
    # stood in for backend/requirements.txt (or nothing was found at all).
    (tmp_path / "requirements.txt").write_text("flask==3.0.3\n")
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "requirements.txt").write_text("fastapi\nuvicorn==0.30.0\n")
    (tmp_path / "deps").mkdir()
    (tmp_path / "deps" / "prod.txt").write_text("torch\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM python:3.12\nWORKDIR /srv\nCOPY backend/requirements.txt ./\nCOPY deps /opt/deps\n"
        "RUN pip install -r requirements.txt -r /opt/deps/prod.txt\n"
    )
    messages = [m for _l, m in fired(str(dockerfile), "DA205")]
    assert messages == ["requirements.txt:1: pin 'fastapi' with ==<version>", "prod.txt:1: pin 'torch' with ==<version>"]
    dockerfile.write_text("FROM python:3.12\nCOPY requirements.txt /app/requirements.txt\nRUN pip install -r /app/requirements.txt\n")
    assert fired(str(dockerfile), "DA205") == []


def test_requirement_file_lines_are_one_finding_per_file(tmp_path):
    (tmp_path / "requirements.txt").write_text("fastapi\nuvicorn==0.30.0\nrequests\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12\nCOPY . .\nRUN pip install -r requirements.txt\n")
    assert [m for _l, m in fired(str(dockerfile), "DA205")] == [
        "requirements.txt: pin 'fastapi' (line 1) and 'requests' (line 3) with ==<version>"
    ]


def test_requirement_file_bind_mounted_by_the_run_is_read(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "serve.txt").write_text("fastapi\n")
    (tmp_path / "requirements.txt").write_text("flask==3.0.3\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "# syntax=docker/dockerfile:1\nFROM python:3.12\n"
        "RUN --mount=type=bind,source=requirements/serve.txt,target=/tmp/requirements.txt \\\n"
        "    pip install --no-cache-dir -r /tmp/requirements.txt\n"
    )
    assert [m for _l, m in fired(str(dockerfile), "DA205")] == ["serve.txt:1: pin 'fastapi' with ==<version>"]
    dockerfile.write_text(
        "FROM python:3.12\nRUN --mount=type=bind,from=build,source=/r.txt,target=/tmp/requirements.txt "
        "pip install -r /tmp/requirements.txt\n"
    )
    assert fired(str(dockerfile), "DA205") == []  # another stage's file is not in the context
