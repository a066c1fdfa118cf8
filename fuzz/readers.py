"""What must hold for any bytes given to the readers of planted files: config, baseline, Compose and
image sources.  Shared by the atheris harness (fuzz/fuzz_readers.py), the property tests and the
replay of the harness's finds (tests/test_fuzz_readers.py).

Each reader either returns or raises its one documented error; the error (or a result's error) is
one line; nothing else escapes.  Inputs are written into a fresh folder as the file the reader looks
for, so the readers run exactly as they do on a checkout.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

READERS: dict[str, Callable[[Path, bytes], None]] = {}


def reader(name: str):
    def register(check: Callable[[Path, bytes], None]):
        READERS[name] = check
        return check

    return register


def _one_line(message: str, what: str) -> None:
    if "\n" in message or "\r" in message:
        raise AssertionError(f"{what} error is not one line: {message[:200]!r}")


@reader("dockaudit-toml")
def check_dockaudit_toml(folder: Path, data: bytes) -> None:
    _check_config(folder / ".dockaudit.toml", data)


@reader("pyproject")
def check_pyproject(folder: Path, data: bytes) -> None:
    _check_config(folder / "pyproject.toml", data)


@reader("hadolint-yaml")
def check_hadolint_yaml(folder: Path, data: bytes) -> None:
    _check_config(folder / ".hadolint.yaml", data)


def _check_config(path: Path, data: bytes) -> None:
    from dockaudit.config import ConfigError, find_config, read_config

    path.write_bytes(data)
    for read in (lambda: read_config(path), lambda: find_config(path.parent)):
        try:
            read()
        except ConfigError as error:
            _one_line(str(error), "config")
    if hasattr(find_config, "cache_clear"):  # discovery is cached per folder; each input is a new one
        find_config.cache_clear()


@reader("baseline")
def check_baseline(folder: Path, data: bytes) -> None:
    from dockaudit.linting.baseline import BaselineError, read_baseline

    path = folder / "baseline.json"
    path.write_bytes(data)
    try:
        read_baseline(path)
    except BaselineError as error:
        _one_line(str(error), "baseline")


@reader("compose")
def check_compose(folder: Path, data: bytes) -> None:
    from dockaudit.compose.lint import lint_compose
    from dockaudit.linting.engine import load_rules

    path = folder / "compose.yaml"
    path.write_bytes(data)
    (folder / "Dockerfile").write_bytes(b"FROM alpine:3.20\nUSER 1000\n")
    rules = [r for r in load_rules() if r.id != "DA703"]
    for result in lint_compose([path], rules):
        if result.error:
            _one_line(result.error, "compose")
        crashed = [f.message for f in result.findings if f.rule == "DA000"]
        if crashed:
            raise AssertionError(f"a rule crashed: {crashed[0]}")


@reader("oci-index")
def check_oci_index(folder: Path, data: bytes) -> None:
    """``data`` as the index.json of an otherwise valid OCI layout."""
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (folder / "blobs" / "sha256").mkdir(parents=True)
    (folder / "index.json").write_bytes(data)
    _check_image(f"oci:{folder}")


@reader("docker-archive")
def check_docker_archive(folder: Path, data: bytes) -> None:
    """``data`` as the manifest.json of a docker-archive holding one small config and layer."""
    archive = folder / "image.tar"
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"box\n"))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers"}})
    with tarfile.open(archive, mode="w") as tar:
        for name, body in (("manifest.json", data), ("config.json", config.encode()), ("layer.tar", layer.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    _check_image(f"docker-archive:{archive}")


def _check_image(source: str) -> None:
    from dockaudit.image.audit import audit_source
    from dockaudit.image.layers import UnpackBudget
    from dockaudit.linting.engine import load_rules

    rules = [r for r in load_rules() if r.target == "image"]
    unpack = UnpackBudget(64 * 1024 * 1024, 256 * 1024 * 1024)
    for result in audit_source(source, rules, unpack=unpack):
        if result.error:
            _one_line(result.error, "image")
        crashed = [f.message for f in result.findings if f.rule == "DA000"]
        if crashed:
            raise AssertionError(f"a rule crashed: {crashed[0]}")


def check_reader_input(kind: str, data: bytes) -> None:
    """Run reader ``kind`` on ``data`` in a fresh folder; AssertionError (or any other exception) is a find."""
    with tempfile.TemporaryDirectory() as folder:
        READERS[kind](Path(folder), data)
