"""Hostile images: each is audited or refused with a one-line error; nothing is extracted, nothing hangs."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockaudit.cli import cli
from dockaudit.image.audit import audit_source
from tests.test_image import RULES, _Registry, config_for, tar_layer, write_docker_archive, write_oci


def _error(source: str, **kwargs) -> str | None:
    (result,) = audit_source(source, RULES, **kwargs)
    return result.error


def _findings(source: str) -> list[str]:
    (result,) = audit_source(source, RULES)
    assert result.error is None, result.error
    return [f.message for f in result.findings]


def _blob(oci: Path, digest: str) -> Path:
    return oci / "blobs" / "sha256" / digest.split(":", 1)[1]


def _manifest(oci: Path) -> dict:
    digest = json.loads((oci / "index.json").read_text())["manifests"][0]["digest"]
    return json.loads(_blob(oci, digest).read_text())


def test_absolute_paths_and_link_loops_inside_a_layer_are_audited_not_followed(tmp_path: Path):
    layer = tar_layer({
        "/root/.ssh/id_rsa": b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
        "loop/a": ("link", "b"), "loop/b": ("link", "a"), "self": ("link", "self"),
        "hard/x": b"data", "hard/y": ("hard", "hard/y"),
    })  # fmt: skip
    oci = write_oci(tmp_path / "oci", [layer], config_for(1, User="1"))
    assert any("/root/.ssh/id_rsa" in m for m in _findings(f"oci:{oci}"))


def test_a_link_cycle_in_the_archive_itself_is_refused(tmp_path: Path):
    path = tmp_path / "image.tar"
    with tarfile.open(path, "w") as archive:
        for name, target in (("a/layer.tar", "../b/layer.tar"), ("b/layer.tar", "../a/layer.tar")):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            archive.addfile(link)
        config = json.dumps(config_for(1)).encode()
        manifest = json.dumps([{"Config": "config.json", "Layers": ["a/layer.tar"]}]).encode()
        for name, data in (("config.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert "a/layer.tar is a loop of links" in _error(f"docker-archive:{path}")


def _claims_a_terabyte() -> bytes:
    """A tar header claiming a 1 TB file followed by 10 bytes of it: a truncated or lying layer."""
    info = tarfile.TarInfo("models/huge.bin")
    info.size = 10**12
    return info.tobuf(format=tarfile.GNU_FORMAT) + b"0123456789"


@pytest.mark.parametrize("compression", ["plain", "gzip"])
def test_a_layer_claiming_a_huge_size_is_a_clear_error(tmp_path: Path, compression: str):
    raw = _claims_a_terabyte()
    layer = gzip.compress(raw) if compression == "gzip" else raw
    source = (f"docker-archive:{write_docker_archive(tmp_path / 'image.tar', [layer], config_for(1))}"
              if compression == "plain" else f"oci:{write_oci(tmp_path / 'oci', [layer], config_for(1))}")  # fmt: skip
    start = time.monotonic()
    error = _error(source)
    assert error is not None and ("not a readable tar stream" in error or "ends inside a file" in error)
    assert "layer 1" in error
    assert time.monotonic() - start < 30  # a hang guard, not a speed test


def test_a_truncated_layer_is_a_clear_error(tmp_path: Path):
    whole = tar_layer({"app/a.bin": b"a" * 100_000, "app/b.bin": b"b" * 100_000}, compression="plain")
    for cut in (len(whole) // 3, 600):
        oci = write_oci(tmp_path / f"oci{cut}", [gzip.compress(whole[:cut])], config_for(1))
        assert "not a readable tar stream" in _error(f"oci:{oci}")


def test_a_decompression_bomb_stops_at_the_budget(tmp_path: Path):
    raw = tarfile.TarInfo("zeros.bin")
    raw.size = 64 * 1024 * 1024
    bomb = io.BytesIO()
    with gzip.GzipFile(fileobj=bomb, mode="wb", compresslevel=9) as zipped:
        zipped.write(raw.tobuf(format=tarfile.GNU_FORMAT))
        for _ in range(64):
            zipped.write(bytes(1024 * 1024))
        zipped.write(bytes(1024))
    assert len(bomb.getvalue()) < 200_000  # 64 MiB of zeros in a few hundred KB
    oci = write_oci(tmp_path / "oci", [bomb.getvalue()], config_for(1))
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--max-layer-unpacked", "0.01"])
    assert result.exit_code == 2 and "refused as a decompression bomb" in result.output
    assert "--max-layer-unpacked" in result.output
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--max-unpacked", "0.03"])
    assert result.exit_code == 2 and "(--max-unpacked)" in result.output
    assert CliRunner().invoke(cli, ["image", f"oci:{oci}", "--exit-zero"]).exit_code == 0  # within the defaults


def test_local_blobs_must_match_their_digests(tmp_path: Path):
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x" * 1000})], config_for(1, User="1"))
    layer = _blob(oci, _manifest(oci)["layers"][0]["digest"])
    data = bytearray(gzip.decompress(layer.read_bytes()))
    data[600] ^= 1  # one bit of the file's content: the layer still reads, its digest does not match
    layer.write_bytes(gzip.compress(bytes(data)))
    error = _error(f"oci:{oci}")
    assert "content does not match its digest" in error or "more than the" in error

    oci = write_oci(tmp_path / "oci2", [tar_layer({"app/x": b"x"})], config_for(1))
    config = _blob(oci, _manifest(oci)["config"]["digest"])
    config.write_text(config.read_text().replace('"amd64"', '"arm64"'))
    assert "config: content does not match its digest" in _error(f"oci:{oci}")


def test_a_manifest_naming_a_missing_blob_is_a_clear_error(tmp_path: Path):
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x"})], config_for(1))
    _blob(oci, _manifest(oci)["layers"][0]["digest"]).unlink()
    assert "missing blob" in _error(f"oci:{oci}")


class _Misbehaving(_Registry):
    """The test registry, except that blob requests stall or never end."""

    def __init__(self, layout: Path, mode: str) -> None:
        super().__init__(layout)
        serve, self.mode, self.release = self.server.RequestHandlerClass.do_GET, mode, threading.Event()
        registry, config_digest = self, _manifest(layout)["config"]["digest"]

        def do_GET(handler) -> None:  # noqa: N802 - the http.server hook's name
            if "/blobs/" in handler.path and config_digest not in handler.path:
                if registry.mode == "stall":
                    registry.release.wait(30)
                    return None
                handler.send_response(200)
                handler.end_headers()
                try:
                    while not registry.release.is_set():
                        handler.wfile.write(b"\0" * 65536)
                except OSError:
                    pass
                return None
            return serve(handler)

        self.server.RequestHandlerClass.do_GET = do_GET

    def close(self) -> None:
        self.release.set()
        super().close()


@pytest.mark.parametrize("mode", ["stall", "endless"])
def test_a_registry_that_stalls_or_sends_endless_data(tmp_path: Path, monkeypatch, mode: str):
    import dockaudit.image.registry as registry_module

    monkeypatch.setattr(registry_module, "TIMEOUT", (2, 1))
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x" * 1000})], config_for(1))
    registry = _Misbehaving(oci, mode)
    try:
        start = time.monotonic()
        error = _error(f"docker://127.0.0.1:{registry.port}/team/app:1", insecure=True)
        assert error is not None and time.monotonic() - start < 30
        assert ("ReadTimeout" in error or "timed out" in error) if mode == "stall" else "refused" in error
    finally:
        registry.close()


_VALID_LAYER = tar_layer({"app/main.py": b"print(1)\n" * 50, "root/.cache/pip/x": b"c" * 3000, "app/link": ("link", "main.py"),
                          "usr/local/cuda-12.4/version.json": b'{"cuda": {"version": "12.4.1"}}'}, compression="plain")  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    flips=st.lists(st.tuples(st.integers(0, len(_VALID_LAYER) - 1), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, len(_VALID_LAYER))),
    compress=st.booleans(),
)
def test_damaged_layers_are_audited_or_refused_never_raised(tmp_path: Path, flips, cut, compress):
    raw = bytearray(_VALID_LAYER[:cut] if cut is not None else _VALID_LAYER)
    for at, value in flips:
        if at < len(raw):
            raw[at] = value
    layer = gzip.compress(bytes(raw)) if compress else bytes(raw)
    folder = tmp_path / f"oci-{abs(hash((tuple(flips), cut, compress)))}"
    oci = write_oci(folder, [layer], config_for(1, User="1"))
    (result,) = audit_source(f"oci:{oci}", RULES)  # raises nothing: an error is a one-line result
    assert result.error is None or "\n" not in result.error
    archive = write_docker_archive(folder / "image.tar", [layer], config_for(1, User="1"))
    (result,) = audit_source(f"docker-archive:{archive}", RULES)
    assert result.error is None or "\n" not in result.error
