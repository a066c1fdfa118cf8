"""Hostile images: each is audited or refused with a one-line error; nothing is extracted, nothing hangs."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import tarfile
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockaudit.cli import cli
from dockaudit.image.audit import audit_source, read_image
from dockaudit.image.sources import ImageSourceError, open_source
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

        def do_GET(handler) -> None:
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


# --- hostile documents: table-driven per reader; each is a one-line ImageSourceError that pickles ------


def _refusal(source: str) -> ImageSourceError:
    """The error reading ``source`` (and its layers) raises: one line, and it survives pickling (errors
    cross from --jobs workers to the parent)."""
    with pytest.raises(ImageSourceError) as caught, open_source(source) as images:
        for image in images:
            read_image(image)
    error = caught.value
    assert "\n" not in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and copy.args == error.args
    return error


def _put(oci: Path, data: bytes, algorithm: str = "sha256", name: str | None = None) -> str:
    """Store a blob in the layout, under its own digest unless ``name`` says otherwise."""
    encoded = name or hashlib.new(algorithm, data).hexdigest()
    folder = oci / "blobs" / algorithm
    folder.mkdir(parents=True, exist_ok=True)
    (folder / encoded).write_bytes(data)
    return f"{algorithm}:{encoded}"


def _point_index_at(oci: Path, document: object, media: str = "application/vnd.oci.image.manifest.v1+json") -> None:
    body = json.dumps(document).encode()
    index = {"schemaVersion": 2, "manifests": [{"mediaType": media, "digest": _put(oci, body), "size": len(body)}]}
    (oci / "index.json").write_text(json.dumps(index))


def _edit_manifest(change):
    def edit(oci: Path) -> None:
        manifest = _manifest(oci)
        change(oci, manifest)
        _point_index_at(oci, manifest)

    return edit


def _edit_index(change):
    def edit(oci: Path) -> None:
        index = json.loads((oci / "index.json").read_text())
        (oci / "index.json").write_text(json.dumps(change(index)))

    return edit


def _config_outside(oci: Path, manifest: dict) -> None:
    """A config planted beside the layout and named by a digest that climbs out of blobs/."""
    outside = oci.parent / "x"
    outside.mkdir(exist_ok=True)
    (outside / "cfg.json").write_text(json.dumps(config_for(1)))
    manifest["config"]["digest"] = "../../x:cfg.json"


def _config_by(algorithm: str, tamper: bool = False):
    def change(oci: Path, manifest: dict) -> None:
        data = json.dumps(config_for(1, User="1")).encode()
        name = hashlib.new(algorithm, data).hexdigest()
        manifest["config"]["digest"] = _put(oci, data + (b" " if tamper else b""), algorithm, name)

    return change


def _platform_as_text(oci: Path) -> None:
    member = json.loads((oci / "index.json").read_text())["manifests"][0]
    index = {"manifests": [{**member, "platform": "linux/amd64"}]}
    _point_index_at(oci, index, "application/vnd.oci.image.index.v1+json")


def _index_loop(oci: Path) -> None:
    """Index A lists index B, B lists A: possible only when digests are not checked (sha512 here)."""
    names = {"a": "a" * 128, "b": "b" * 128}
    for this, other in (("a", "b"), ("b", "a")):
        member = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": f"sha512:{names[other]}",
                  "platform": {"os": "linux", "architecture": "amd64"}}  # fmt: skip
        body = json.dumps({"schemaVersion": 2, "manifests": [member]}).encode()
        _put(oci, body, "sha512", names[this])
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                                "digest": f"sha512:{names['a']}"}]}  # fmt: skip
    (oci / "index.json").write_text(json.dumps(index))


def _deep_indexes(oci: Path) -> None:
    """1,500 indexes, each listing the next (valid digests all the way down)."""
    manifest = (oci / "index.json").read_text()
    member = json.loads(manifest)["manifests"][0]
    for _ in range(1500):
        member = {**member, "platform": {"os": "linux", "architecture": "amd64"}}
        body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                           "manifests": [member]}).encode()  # fmt: skip
        member = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": _put(oci, body), "size": len(body)}
    (oci / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [member]}))


_HOSTILE_OCI = {
    "a digest that climbs out of blobs/": (_edit_manifest(_config_outside), "'../../x:cfg.json' is not a digest"),
    "an index digest that climbs out": (
        _edit_index(lambda i: {"manifests": [{**i["manifests"][0], "digest": "../../x:cfg.json"}]}), "is not a digest"),
    "a digest with a trailing newline": (
        _edit_index(lambda i: {"manifests": [{**i["manifests"][0], "digest": i["manifests"][0]["digest"] + "\n"}]}),
        "is not a digest"),
    "an unknown digest algorithm": (
        _edit_manifest(lambda o, m: m["config"].update(digest=_put(o, json.dumps(config_for(1)).encode(), "md5"))),
        "digest algorithm 'md5' is not supported"),
    "a short sha256 digest": (_edit_manifest(lambda o, m: m["config"].update(digest="sha256:abc")),
                              "not a valid sha256 digest"),
    "a sha512 config that does not match": (_edit_manifest(_config_by("sha512", tamper=True)),
                                            "config: content does not match its digest sha512:"),
    "manifests as a dict": (_edit_index(lambda i: {"manifests": {"a": i["manifests"][0]}}), "manifests is not a list"),
    "an index that is a list": (_edit_index(lambda i: [i]), "index.json: not a JSON object"),
    "a descriptor that is a string": (_edit_index(lambda i: {"manifests": ["sha256:x"]}), "not a descriptor"),
    "a descriptor without a digest": (
        _edit_index(lambda i: {"manifests": [{"mediaType": i["manifests"][0]["mediaType"]}]}), "no digest"),
    "a layer size that is not a number": (
        _edit_manifest(lambda o, m: m["layers"][0].update(size="abc")), "size 'abc' is not a byte count"),
    "a negative layer size": (_edit_manifest(lambda o, m: m["layers"][0].update(size=-1)), "is not a byte count"),
    "layers as a dict": (_edit_manifest(lambda o, m: m.update(layers={"x": m["layers"][0]})), "layers is not a list"),
    "a manifest that is a list": (lambda oci: _point_index_at(oci, [_manifest(oci)]), "not a JSON object"),
    "a manifest without a config": (_edit_manifest(lambda o, m: m.pop("config")), "config: not a descriptor"),
    "a config that is a list": (
        _edit_manifest(lambda o, m: m["config"].update(digest=_put(o, b"[1, 2]"))), "config: not a JSON object"),
    "a platform that is a string": (_platform_as_text, "has the wrong type"),
    "an index loop A -> B -> A": (_index_loop, "content does not match its digest"),
    "a 1,500-deep index chain": (_deep_indexes, "indexes nested more than 16 deep"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(_HOSTILE_OCI))
def test_hostile_oci_layouts_are_one_line_errors(tmp_path: Path, case: str):
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x"})], config_for(1, User="1"))
    damage, message = _HOSTILE_OCI[case]
    damage(oci)
    assert message in str(_refusal(f"oci:{oci}"))


def test_sha512_blobs_are_read_and_verified(tmp_path: Path):
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x"})], config_for(1, User="1"))
    _edit_manifest(_config_by("sha512"))(oci)
    with open_source(f"oci:{oci}") as images:
        assert images[0].container_config == {"User": "1"}


def _docker_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


_CONFIG = json.dumps(config_for(1)).encode()
_LAYER = tar_layer({"app/x": b"x"}, compression="plain")
_HOSTILE_ARCHIVES = {
    "an entry without Config": ([{"Layers": []}], {}, "manifest.json[0]: no Config"),
    "Layers: [5]": ([{"Config": "c.json", "Layers": [5]}], {}, "Layers[0]: 5 is not a path in the archive"),
    "Layers as a string": ([{"Config": "c.json", "Layers": "l.tar"}], {}, "Layers is not a list"),
    "Config: 5": ([{"Config": 5, "Layers": []}], {}, "Config: 5 is not a path in the archive"),
    "an entry that is a string": (["c.json"], {}, "manifest.json[0]: not a JSON object"),
    "a config that is a list": ([{"Config": "list.json", "Layers": []}], {"list.json": b"[]"}, "not a JSON object"),
    "a config not matching its name": ([{"Config": f"{'0' * 64}.json", "Layers": []}], {f"{'0' * 64}.json": _CONFIG},
                                       "content does not match its digest"),
    "a manifest that is not JSON": (b"[{", {}, "manifest.json: not valid JSON"),
    "a missing layer": ([{"Config": "c.json", "Layers": ["gone.tar"]}], {}, "missing gone.tar"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(_HOSTILE_ARCHIVES))
def test_hostile_docker_archives_are_one_line_errors(tmp_path: Path, case: str):
    manifest, extra, message = _HOSTILE_ARCHIVES[case]
    body = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    archive = _docker_tar(tmp_path / "image.tar", {"c.json": _CONFIG, "l.tar": _LAYER, **extra, "manifest.json": body})
    assert message in str(_refusal(f"docker-archive:{archive}"))


# --- tar headers: sizes and chains bounded before anything is read ---------------------------------


def _member(name: str, data: bytes = b"x", form: int = tarfile.PAX_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info.tobuf(format=form) + data + bytes(-len(data) % 512)


def _header_chain(count: int) -> bytes:
    """``count`` PAX headers in a row before one file: tarfile follows them by recursion."""
    header = tarfile.TarInfo._create_pax_generic_header({"comment": "x"}, tarfile.XHDTYPE, "utf-8")
    return header * count + _member("app/x")


def _long_link() -> bytes:
    info = tarfile.TarInfo("app/l")
    info.type, info.linkname = tarfile.SYMTYPE, "b" * (2 * 1024 * 1024)
    return info.tobuf(format=tarfile.GNU_FORMAT)


def _sparse_member() -> bytes:
    info = tarfile.TarInfo("app/sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    return info.tobuf(format=tarfile.GNU_FORMAT)


_HOSTILE_TARS = {
    "a 2 MiB PAX header": (_member("a" * (2 * 1024 * 1024)), "extended tar header of"),
    "a 2 MiB GNU long name": (_member("a" * (2 * 1024 * 1024), form=tarfile.GNU_FORMAT), "extended tar header of"),
    "a 2 MiB GNU long link": (_long_link(), "extended tar header of"),
    "a name over PATH_MAX": (_member("a/" * 3000), "over 4096 characters"),
    "2,000 PAX headers in a row": (_header_chain(2000), "extended tar headers in a row"),
    "a GNU sparse member": (_sparse_member(), "GNU sparse member; refused"),
}  # fmt: skip


@pytest.mark.parametrize("transport", ["oci", "docker-archive"])
@pytest.mark.parametrize("case", sorted(_HOSTILE_TARS))
def test_hostile_tar_headers_are_refused_before_they_are_read(tmp_path: Path, case: str, transport: str):
    raw, message = _HOSTILE_TARS[case]
    raw += bytes(1024)
    if transport == "oci":  # gzip: read as a stream
        source = f"oci:{write_oci(tmp_path / 'oci', [gzip.compress(raw)], config_for(1))}"
    else:  # plain, in a file: tarfile seeks
        source = f"docker-archive:{write_docker_archive(tmp_path / 'image.tar', [raw], config_for(1))}"
    error = str(_refusal(source))
    assert message in error and "layer 1" in error


def test_a_damaged_zstd_layer_is_a_one_line_error(tmp_path: Path):
    layer = tar_layer({"app/x": b"x" * 100_000}, compression="zstd")
    damaged = layer[:20] + bytes(b ^ 0x55 for b in layer[20:60]) + layer[60:]
    assert "not a readable tar stream (zstd:" in str(_refusal(f"oci:{write_oci(tmp_path, [damaged], config_for(1))}"))


def test_an_image_with_too_many_entries_is_refused(tmp_path: Path, monkeypatch):
    import dockaudit.image.audit as audit_module

    monkeypatch.setattr(audit_module, "MAX_ENTRIES", 10)  # a few MB of gzip can hold millions of tar headers
    oci = write_oci(tmp_path / "oci", [tar_layer({f"app/{i}": b"" for i in range(11)})], config_for(1))
    assert "more than 10 files in its layers; refused" in str(_refusal(f"oci:{oci}"))


def test_an_archive_with_a_huge_header_of_its_own_is_refused(tmp_path: Path):
    archive = tmp_path / "image.tar"
    archive.write_bytes(_member("m" * (2 * 1024 * 1024)) + bytes(1024))
    assert "extended tar header of" in str(_refusal(f"docker-archive:{archive}"))


# --- FIFOs named as archives or blobs are refused, never waited on -----------------------------------


def _fifo_cases(tmp_path: Path) -> dict[str, tuple[str, Path]]:
    oci = write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x"})], config_for(1))
    blob = _blob(oci, _manifest(oci)["layers"][0]["digest"])
    index = write_oci(tmp_path / "oci2", [tar_layer({"app/x": b"x"})], config_for(1)) / "index.json"
    cases = {
        "docker-archive": ("docker-archive:{}", tmp_path / "fifo.tar"),
        "oci-archive": ("oci-archive:{}", tmp_path / "fifo.oci.tar"),
        "an OCI layer blob": (f"oci:{oci}", blob),
        "an OCI index.json": (f"oci:{index.parent}", index),
    }
    for _source, path in cases.values():
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    return {name: (source.format(path), path) for name, (source, path) in cases.items()}


@pytest.mark.parametrize("case", ["docker-archive", "oci-archive", "an OCI layer blob", "an OCI index.json"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, case: str):
    source, fifo = _fifo_cases(tmp_path)[case]
    outcome: list = []
    reader = threading.Thread(target=lambda: outcome.append(_error(source)), daemon=True)
    reader.start()
    reader.join(30)  # a hang guard: blocking on the FIFO is the bug
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # let the blocked open return, then fail
        reader.join(5)
        pytest.fail(f"reading {case} blocked on a FIFO")
    assert outcome[0] is not None and "not a regular file" in outcome[0]


# --- whiteouts: linear in the entries, whatever their order ---------------------------------------


def _apply_many_opaque_whiteouts(count: int) -> int:
    from dockaudit.image.layers import Entry, Filesystem, apply_entry, end_layer

    fs = Filesystem()
    for layer, name in ((0, "f"), (1, ".wh..wh..opq"), (1, "g")):
        for i in range(count):
            apply_entry(fs, Entry(f"d{i}/{name}", 1, 0o644, "file", layer))
        if name != ".wh..wh..opq":
            end_layer(fs)
    return len(fs.files) + len(fs.removed)


def test_opaque_whiteouts_cost_linear_time():
    # 100,000 folders, each made opaque: the scan of the whole view per whiteout took ~10^10 steps.
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        pending = pool.apply_async(_apply_many_opaque_whiteouts, (100_000,))
        assert pending.get(timeout=120) == 200_000  # a hang guard, far above the linear time


def _view(layers: list[list[str]]) -> tuple[set[str], set[str], int]:
    from dockaudit.image.layers import Entry, Filesystem, apply_entry, end_layer

    fs = Filesystem()
    for index, paths in enumerate(layers):
        for path in paths:
            apply_entry(fs, Entry(path, 1, 0o644, "file", index))
        end_layer(fs)
    return set(fs.files), {e.path for e in fs.removed}, sum(w.size for w in fs.waste)


@pytest.mark.parametrize(
    ("layers", "files", "removed", "wasted"),
    [
        ([["a/b/c", "a/d"], [".wh.a", "a/x"]], {"a/x"}, {"a/b/c", "a/d"}, 2),  # the whole tree, then a new file
        ([["a/b/c"], ["a/x", "a/.wh..wh..opq"]], {"a/x"}, {"a/b/c"}, 1),  # its own layer's entries stay
        ([["a/b/c", "e"], [".wh..wh..opq", "z"]], {"z"}, {"a/b/c", "e"}, 2),  # an opaque root
        ([["a/b/c"], ["a/b/.wh.c"], ["a/b/c"]], {"a/b/c"}, {"a/b/c"}, 1),  # deleted, then written again
        ([["a"], ["a"], [".wh.a"]], set(), {"a"}, 2),  # replaced (wasted), then deleted (wasted)
        ([["a/b"], [".wh.zz", "zz/.wh..wh..opq"]], {"a/b"}, set(), 0),  # whiteouts of nothing
    ],
)  # fmt: skip
def test_whiteouts_hide_lower_layers_only(layers, files, removed, wasted):
    assert _view(layers) == (files, removed, wasted)


def test_a_gzip_layer_skips_file_contents_in_large_steps(tmp_path: Path, monkeypatch):
    """tarfile's stream mode skipped a file's contents 10 KiB a read (~130,000 Python reads per GiB, a
    third of a gzip layer's time); the layer stream seeks forward instead, and the findings stay."""
    from dockaudit.image import layers

    reads = []
    real_read = layers._Bounded.read
    monkeypatch.setattr(layers._Bounded, "read", lambda self, size=-1: reads.append(size) or real_read(self, size))
    layer = tar_layer({"models/weights.bin": os.urandom(1 << 20) * 8, "app/main.py": b"print(1)\n"}, compression="gzip")
    oci = write_oci(tmp_path / "oci", [layer], config_for(1))
    findings = _findings(f"oci:{oci}")
    assert any("weight" in message for message in findings), findings  # the 8 MiB file was seen
    assert len(reads) < 40, len(reads)  # headers and the small file: not 800 reads of 10 KiB
