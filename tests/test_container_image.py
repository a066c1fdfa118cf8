"""The container image of dockaudit (Containerfile): small, non-root, pinned, clean by its own rules;
built with buildah in the slow tests and run on a Dockerfile from standard input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from tests.conftest import REPO

CONTAINERFILE = REPO / "Containerfile"
BAD = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\n"


def _bases() -> set[str]:
    return set(re.findall(r"^FROM\s+(\S+)", CONTAINERFILE.read_text(encoding="utf-8"), re.MULTILINE)) - {"build"}


def test_containerfile_passes_dockaudit_itself():
    result = CliRunner().invoke(cli, [str(CONTAINERFILE), "--isolated", "--fail-on", "info"])
    assert result.exit_code == 0, result.output


def test_containerfile_is_pinned_and_runs_as_a_numeric_non_root_user():
    text = CONTAINERFILE.read_text(encoding="utf-8")
    for base in _bases():
        assert re.fullmatch(r"[a-z0-9./-]+:\d+\.\d+\.\d+[a-z0-9.-]*(@sha256:[0-9a-f]{64})?", base), base
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)[-1]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)
    assert 'ENTRYPOINT ["dockaudit"]' in text and 'CMD ["check", "-"]' in text


def _buildah(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["buildah", *args], capture_output=True, text=True, **kwargs)


@pytest.mark.slow
def test_image_builds_and_lints_a_dockerfile_from_stdin():
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (apt-get install buildah)")
    missing = [base for base in sorted(_bases()) if _buildah("inspect", "--type", "image", base).returncode != 0]
    if missing:
        pytest.skip(f"the Debian base image {', '.join(missing)} is not in local containers-storage "
                    f"(buildah pull {missing[0]}); the tests do not touch the network")  # fmt: skip
    tag = f"localhost/dockaudit-test:{uuid.uuid4().hex[:12]}"
    build = _buildah("build", "--isolation", "chroot", "--layers=false", "-t", tag, "-f", str(CONTAINERFILE),
                     str(REPO))  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    container = None
    try:
        user = _buildah("inspect", "--type", "image", "--format", "{{.OCIv1.Config.User}}", tag).stdout.strip()
        assert user == "65532:65532"
        container = _buildah("from", tag).stdout.strip()
        ran = _buildah("run", "--isolation", "chroot", container, "--", "dockaudit", "check", "-", input=BAD)
        assert ran.returncode == 1, ran.stderr
        assert "-:2:5  DA401" in ran.stdout
        (listed,) = json.loads(_buildah("images", "--json", tag).stdout)
        assert 0 < int(listed["size"]) < 300 * 1024**2  # the slim base (~130 MB) and a venv: no compilers, caches
    finally:
        if container:
            _buildah("rm", container)
        _buildah("rmi", tag)
