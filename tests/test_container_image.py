"""The container image of dockaudit (Containerfile): small, non-root, pinned, clean by its own rules;
built with buildah in the slow tests and run on a Dockerfile from standard input and on a mounted folder.

The build needs a base image in local containers-storage and dockaudit's dependencies as wheels: this
machine cannot pull from Docker Hub, and tests touch no network but servers they start on 127.0.0.1.
`.ci/run` builds a Debian bookworm + python3 base with debootstrap (`.ci/python-base.sh`) and names it in
DOCKAUDIT_CONTAINER_BASE; pip installs from the wheels in DOCKAUDIT_WHEELHOUSE."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from tests.conftest import REPO

CONTAINERFILE = REPO / "Containerfile"
BAD = "FROM debian:latest\nRUN apt-get update\nRUN apt-get install -y curl\n"  # DA202, DA302: on by default


def _default_base() -> str:
    (base,) = re.findall(r"^ARG\s+BASE=(\S+)", CONTAINERFILE.read_text(encoding="utf-8"), re.MULTILINE)
    return base


def test_containerfile_passes_dockaudit_itself():
    result = CliRunner().invoke(cli, [str(CONTAINERFILE), "--isolated", "--fail-on", "info"])
    assert result.exit_code == 0, result.output


def test_containerfile_is_pinned_by_digest_and_runs_as_a_numeric_non_root_user():
    text = CONTAINERFILE.read_text(encoding="utf-8")
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+@sha256:[0-9a-f]{64}", _default_base())
    assert re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE) == ["${BASE}", "${BASE}"]
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)[-1]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)
    assert 'ENTRYPOINT ["dockaudit"]' in text and 'CMD ["check", "-"]' in text


def _buildah(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["buildah", *args], capture_output=True, text=True, **kwargs)


def _build_inputs() -> tuple[str, Path]:
    """The base image and the wheelhouse the build uses, or a skip that says which is missing."""
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (apt-get install buildah)")
    base = os.environ.get("DOCKAUDIT_CONTAINER_BASE") or _default_base()
    if _buildah("inspect", "--type", "image", base).returncode != 0:
        pytest.skip(f"the base image {base} is not in local containers-storage (build one with "
                    f".ci/python-base.sh and set DOCKAUDIT_CONTAINER_BASE, as .ci/run does)")  # fmt: skip
    wheelhouse = os.environ.get("DOCKAUDIT_WHEELHOUSE")
    if not wheelhouse or not any(Path(wheelhouse).glob("*.whl")):
        pytest.skip("set DOCKAUDIT_WHEELHOUSE to a folder of wheels for dockaudit's dependencies (.ci/run does)")
    return base, Path(wheelhouse)


@pytest.fixture(scope="module")
def built_image(tmp_path_factory):
    """The image, built offline: pip in the build's RUN step reads a pip.conf that sends it to the
    wheelhouse, both bind-mounted for that step only (buildah build --volume), so neither is in the image."""
    base, wheelhouse = _build_inputs()
    pip_conf = tmp_path_factory.mktemp("pip") / "pip.conf"
    pip_conf.write_text("[global]\nno-index = true\nfind-links = /wheels\n", encoding="utf-8")
    tag = f"localhost/dockaudit-test:{uuid.uuid4().hex[:12]}"
    build = _buildah("build", "--isolation", "chroot", "--layers=false", "--build-arg", f"BASE={base}",
                     "--volume", f"{pip_conf}:/etc/pip.conf:ro", "--volume", f"{wheelhouse}:/wheels:ro",
                     "-t", tag, "-f", str(CONTAINERFILE), str(REPO))  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    yield tag
    _buildah("rmi", "--force", tag)


@pytest.fixture
def container(built_image):
    name = _buildah("from", "--pull-never", built_image).stdout.strip()
    assert name
    yield name
    _buildah("rm", name)


def _image_config(tag: str) -> dict:
    return json.loads(_buildah("inspect", "--type", "image", tag).stdout)["OCIv1"]["config"]


@pytest.mark.slow
def test_image_lints_a_dockerfile_from_stdin_as_an_unprivileged_user(built_image, container, tmp_path):
    config = _image_config(built_image)
    assert config["User"] == "65532:65532"
    # What `docker run -i IMAGE < Dockerfile` runs: the entrypoint and the default command.
    argv = [*config["Entrypoint"], *config["Cmd"]]
    ran = _buildah("run", "--isolation", "chroot", container, "--", *argv, input=BAD)
    assert ran.returncode == 1, ran.stderr
    assert "-:1:6  DA202" in ran.stdout and "-:2:5  DA302" in ran.stdout
    probe = _buildah("run", "--isolation", "chroot", container, "--", "python3", "-c", _PROBE)
    uid, pip, venv_bytes = probe.stdout.split()
    assert uid == "65532", probe.stderr
    assert pip == "None"  # no installer left in the venv
    assert 0 < int(venv_bytes) < 64 * 1024**2  # dockaudit and its dependencies only (about 48 MB)


# Run by the venv's interpreter in the container: who runs, whether pip is importable, the venv's size.
_PROBE = """
import importlib.util, os
size = sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk("/opt/dockaudit") for f in fs)
print(os.getuid(), importlib.util.find_spec("pip"), size)
"""


@pytest.mark.slow
def test_image_checks_a_mounted_folder(container, tmp_path):
    (tmp_path / "Dockerfile").write_text(BAD, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Containerfile").write_text(CONTAINERFILE.read_text(encoding="utf-8"), encoding="utf-8")
    tmp_path.chmod(0o755)  # the image's user is not the owner of the test's folder
    ran = _buildah("run", "--isolation", "chroot", "--volume", f"{tmp_path}:/work:ro", "--workingdir", "/work",
                   container, "--", "dockaudit", "check", ".", "--isolated", "--output-format", "concise")  # fmt: skip
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout.splitlines()[:2] == [
        "./Dockerfile:1:6  DA202  warning  pin 'debian' to a version tag instead of ':latest'",
        "./Dockerfile:2:5  DA302  warning  update and install in the same RUN, or the index goes stale in the cache",
    ]
    assert "in 2 files" in ran.stdout  # sub/Containerfile (the image's own, clean) was found and checked
