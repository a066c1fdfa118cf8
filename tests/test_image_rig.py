"""Real images built by ../shared/rig/make-test-image.sh (buildah, skopeo; no Docker engine).

Slow: `.ci/run` builds the rig when it can (root and apt) and points DOCKAUDIT_RIG at it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dockaudit.linting.engine import load_rules, select_rules
from dockaudit.image.audit import audit_source, read_image
from dockaudit.image.sources import open_source

pytestmark = pytest.mark.slow
RULES = select_rules(load_rules(), select=["DA8"])


@pytest.fixture(scope="module")
def rig() -> Path:
    folder = Path(os.environ.get("DOCKAUDIT_RIG", "/nonexistent"))
    if not (folder / "verify.json").is_file():
        pytest.skip("the rig was not built (run ../shared/rig/make-test-image.sh, set DOCKAUDIT_RIG)")
    return folder


def _messages(source: str, **kwargs) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for result in audit_source(source, RULES, **kwargs):
        assert result.error is None, result.error
        for f in result.findings:
            found.setdefault(f.rule, []).append(f.message)
    return found


def test_every_planted_defect_of_ml_defective_is_reported(rig: Path):
    for source in ("oci:{}/oci:ml-defective", "docker-archive:{}/ml-defective.docker.tar",
                   "oci-archive:{}/ml-defective.oci.tar"):  # fmt: skip
        found = _messages(source.format(rig))
        text = "\n".join(m for ms in found.values() for m in ms)
        assert "DA801" in found  # no USER
        for needle in ("Env HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "build argument WANDB_API_KEY",
                       "huggingface/token", "deleted later but still readable", "/workspace/.env",
                       "/workspace/.git", "deploy_key"):  # fmt: skip
            assert needle in text, needle
        for cache in ("apt package lists", "apt archives", "pip cache", "conda packages"):
            assert cache in text, cache
        assert "torch-2.3.1-cp311-cp311-linux_x86_64.whl" in text  # the whiteout-hidden wheel (DA804)
        assert "two CUDA stacks" in text and "driver libraries baked" in text
        assert "suid-helper" in text and "model weight" in text
        assert "Jupyter with an empty token" in text and "--allow-root" in text and "SSH" in text
        assert "without a HEALTHCHECK" in text


def test_ml_clean_gives_no_warnings(rig: Path):
    for source in ("oci:{}/oci:ml-clean", "docker-archive:{}/ml-clean.docker.tar", "oci:{}/oci:ml-clean-zstd"):
        results = audit_source(source.format(rig), RULES)
        assert [f for r in results for f in r.findings if f.severity.label in ("warning", "error")] == []


def test_wasted_bytes_match_an_independent_count(rig: Path):
    # verify.json is the rig's JSON document followed by a one-line summary
    verify, _end = json.JSONDecoder().raw_decode((rig / "verify.json").read_text())
    for ref in ("ml-defective", "ml-clean"):
        with open_source(f"oci:{rig}/oci:{ref}") as images:
            ctx = read_image(images[0])
        assert sum(w.size for w in ctx.fs.waste) == verify[f"oci:{ref}"]["wasted_bytes"], ref


def test_handmade_opaque_whiteout(rig: Path):
    with open_source(f"oci:{rig}/oci:handmade") as images:
        ctx = read_image(images[0])
    assert "opt/app/c.txt" in ctx.fs.files and "opt/app/b.txt" not in ctx.fs.files
    # the rig's own count ignores opaque whiteouts; the bytes they hide (a.txt, b.txt) are reclaimable too
    hidden = sum(w.size for w in ctx.fs.waste if w.path.startswith("opt/app/"))
    assert hidden == 64 * 1024 + len("old a\n")


def test_multi_platform_index_is_audited_per_platform(rig: Path):
    results = audit_source(f"oci:{rig}/oci:ml-multi", RULES, all_platforms=True)
    assert [r.path.rsplit("(", 1)[1] for r in results] == ["linux/amd64)", "linux/arm64/v8)"]
    amd64, arm64 = ({f.rule for f in r.findings} for r in results)
    assert "DA812" in arm64 and "DA812" not in amd64  # the arm64 member carries an x86-64 busybox


@pytest.fixture(scope="module")
def registry(rig: Path, tmp_path_factory):
    """Debian's docker-registry serving the rig's pushed images on a free 127.0.0.1 port."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("docker-registry")
    storage = rig / "registry" / "data"
    if binary is None or not storage.is_dir():
        pytest.skip("docker-registry or the rig's registry storage is missing")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path_factory.mktemp("registry") / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")  # fmt: skip
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_registry_gives_the_same_findings_as_the_archive(rig: Path, registry: str):
    from_registry = _messages(f"docker://{registry}/dockaudit/ml-defective:1", insecure=True)
    from_archive = _messages(f"oci:{rig}/oci:ml-defective")
    assert from_registry == {k: v for k, v in from_archive.items()}
    multi = audit_source(f"docker://{registry}/dockaudit/ml-multi:1", RULES, insecure=True, all_platforms=True)
    assert len(multi) == 2 and all(r.error is None for r in multi)
    zstd = audit_source(f"docker://{registry}/dockaudit/ml-clean:zstd", RULES, insecure=True)
    assert zstd[0].error is None
