"""Images generated in Python: docker-archive and OCI layouts, gzip/zstd/plain layers, whiteouts, and
every DA8xx rule on a bad and a good image."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import json
import re
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockaudit.cli import cli
from dockaudit.context import Options
from dockaudit.model import Severity
from dockaudit.linting.engine import load_rules, select_rules
from dockaudit.image.audit import audit_source, read_image
from dockaudit.image.sources import ImageSourceError, open_source

RULES = select_rules(load_rules(), select=["DA8", "DA813"])  # DA813 is off by default


def tar_layer(files: dict[str, bytes | tuple], compression: str = "gzip") -> bytes:
    """A layer from {path: content} (content None: a directory; ("link", target): a symlink;
    ("hard", target): a hardlink; (bytes, mode): a file with a mode)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            data = b""
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            elif isinstance(content, tuple) and content[0] == "link":
                info.type, info.linkname = tarfile.SYMTYPE, content[1]
            elif isinstance(content, tuple) and content[0] == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, content[1]
            else:
                data, info.mode = content if isinstance(content, tuple) else (content, 0o644)
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)
    raw = buffer.getvalue()
    if compression == "gzip":
        return gzip.compress(raw)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    return raw


def config_for(layers: int, **config) -> dict:
    history = [{"created_by": f"/bin/sh -c step {i}"} for i in range(layers)]
    return {"architecture": "amd64", "os": "linux", "config": config, "history": history,
            "rootfs": {"type": "layers", "diff_ids": []}}  # fmt: skip


def write_oci(folder: Path, layers: list[bytes], config: dict, ref: str = "app", platforms: list[str] | None = None):
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return f"sha256:{digest}"

    def manifest(cfg: dict) -> dict:
        config_bytes = json.dumps(cfg).encode()
        return {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config_bytes),
                       "size": len(config_bytes)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(layer),
                        "size": len(layer)} for layer in layers],
        }  # fmt: skip

    if platforms:
        members = []
        for platform in platforms:
            os_, arch = platform.split("/")[:2]
            body = json.dumps(manifest({**config, "architecture": arch})).encode()
            members.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(body),
                            "size": len(body), "platform": {"os": os_, "architecture": arch}})  # fmt: skip
        top = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": members}).encode()  # fmt: skip
        media = "application/vnd.oci.image.index.v1+json"
    else:
        top, media = json.dumps(manifest(config)).encode(), "application/vnd.oci.image.manifest.v1+json"
    index = {"schemaVersion": 2, "manifests": [{"mediaType": media, "digest": put(top), "size": len(top),
                                                "annotations": {"org.opencontainers.image.ref.name": ref}}]}  # fmt: skip
    (folder / "index.json").write_text(json.dumps(index))
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return folder


def write_docker_archive(path: Path, layers: list[bytes], config: dict) -> Path:
    with tarfile.open(path, "w") as archive:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        names = []
        for index, layer in enumerate(layers):
            raw = gzip.decompress(layer) if layer[:2] == b"\x1f\x8b" else layer
            name = f"{hashlib.sha256(raw).hexdigest()}/layer.tar"
            add(name, raw)
            names.append(name)
            if index == 0:  # a legacy-style symlink, as docker save writes for shared layers; the manifest uses it
                link = tarfile.TarInfo("legacy/layer.tar")
                link.type, link.linkname = tarfile.SYMTYPE, f"../{name}"
                archive.addfile(link)
                names[-1] = link.name
        config_bytes = json.dumps(config).encode()
        add("config.json", config_bytes)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["app:1"], "Layers": names}]).encode())
    return path


def audit(source: str, **options) -> dict[str, list[str]]:
    from dockaudit.context import Options

    results = audit_source(source, RULES, Options(**options) if options else None)
    assert not any(r.error for r in results), [r.error for r in results]
    found: dict[str, list[str]] = {}
    for result in results:
        for f in result.findings:
            found.setdefault(f.rule, []).append(f.message)
    return found


# --- reading -------------------------------------------------------------------------------------


def test_whiteouts_opaque_whiteouts_and_wasted_bytes(tmp_path: Path):
    layers = [
        tar_layer({"opt/app/a": b"a" * 1000, "opt/app/b": b"b" * 2000, "tmp/big.whl": b"w" * 300_000}, "gzip"),
        tar_layer({"tmp/.wh.big.whl": b"", "opt/app/.wh..wh..opq": b"", "opt/app/c": b"c" * 10}, "plain"),
        tar_layer(
            {
                "opt/app/c": (b"c" * 10, 0o755),
                "usr/bin/tool": ("link", "/bin/true"),
                "usr/bin/again": ("hard", "opt/app/c"),
            },
            "zstd",
        ),  # fmt: skip
    ]
    oci = write_oci(tmp_path / "oci", layers, config_for(3, User="1"))
    with open_source(f"oci:{oci}:app") as images:
        ctx = read_image(images[0])
    assert set(ctx.fs.files) == {"opt/app/c", "usr/bin/tool", "usr/bin/again"}
    # independently: 300_000 (the wheel) + 1000 + 2000 (opaque) + 10 (c replaced in layer 3)
    assert sum(w.size for w in ctx.fs.waste) == 303_010
    assert {e.path for e in ctx.fs.removed} >= {"tmp/big.whl", "opt/app/a", "opt/app/b"}
    assert ctx.fs.files["usr/bin/tool"].kind == "symlink" and ctx.fs.files["usr/bin/again"].kind == "hardlink"


def test_docker_archive_and_oci_archive_give_the_same_findings(tmp_path: Path):
    layers = [tar_layer({"root/.netrc": b"machine x login y password z", "app/run.py": b"print(1)\n"}),
              tar_layer({"root/.wh..netrc": b""})]  # fmt: skip
    config = config_for(2, Env=["HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH"])
    archive = write_docker_archive(tmp_path / "app.docker.tar", layers, config)
    oci = write_oci(tmp_path / "oci", layers, config)
    with tarfile.open(tmp_path / "app.oci.tar", "w") as out:
        for path in sorted(oci.rglob("*")):
            out.add(path, arcname=str(path.relative_to(oci)), recursive=False)
    from_docker = audit(f"docker-archive:{archive}")
    assert from_docker == audit(f"oci:{oci}") == audit(f"oci-archive:{tmp_path / 'app.oci.tar'}:app")
    assert any("deleted later but still readable" in m for m in from_docker["DA802"])


def test_index_platforms(tmp_path: Path):
    oci = write_oci(tmp_path / "oci", [tar_layer({"a": b"1"})], config_for(1), platforms=["linux/amd64", "linux/arm64"])
    with open_source(f"oci:{oci}", platform="linux/arm64") as images:
        assert [i.platform for i in images] == ["linux/arm64"]
    with open_source(f"oci:{oci}", all_platforms=True) as images:
        assert [i.platform for i in images] == ["linux/amd64", "linux/arm64"]
    with (
        pytest.raises(ImageSourceError, match="no linux/s390x image"),
        open_source(f"oci:{oci}", platform="linux/s390x"),
    ):
        pass


@pytest.mark.parametrize(
    "source,message",
    [("nope", "name a transport"), ("oci:/no/such/dir", "not an OCI image layout"),
     ("docker-archive:/no/such.tar", "cannot open the archive"), ("docker-daemon:no/such:1", "docker-daemon:")],
)  # fmt: skip
def test_bad_sources_are_one_line_errors(source: str, message: str):
    (result,) = audit_source(source, RULES)
    assert result.error and message in result.error


def test_path_traversal_in_a_layer_is_rejected(tmp_path: Path):
    oci = write_oci(tmp_path / "oci", [tar_layer({"../../etc/passwd": b"x"})], config_for(1))
    (result,) = audit_source(f"oci:{oci}", RULES)
    assert result.error and "climbs out of the root" in result.error


# --- rules: a bad and a good image each ----------------------------------------------------------

TORCH_VERSION_PY = "usr/local/lib/python3.12/site-packages/torch/version.py"
ML_BAD = {
    "usr/local/cuda-12.1/version.json": json.dumps({"cuda": {"version": "12.1.1"}}).encode(),
    "usr/lib/python3/site-packages/torch-2.3.1+cu118.dist-info/METADATA": b"Name: torch\n",
    "usr/lib/python3/site-packages/nvidia_cublas_cu12-12.1.3.1.dist-info/METADATA": b"Name: nvidia-cublas-cu12\n",
    "usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05": b"\x7fELF",
}
CASES = {
    "DA801": ({"app/x": b"1"}, {}, {"app/x": b"1"}, {"User": "10001"}),
    "DA802": ({"workspace/.env": b"TOKEN=1"}, {"Env": ["AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLE"]},
              {"workspace/.env.example": b"TOKEN="}, {"Env": ["PATH=/usr/bin"]}),
    "DA803": ({"var/lib/apt/lists/deb_Packages": b"p" * 10_000, "root/.cache/pip/http/x": b"c" * 9000}, {},
              {"var/lib/apt/lists/": None}, {}),
    "DA804": None,  # two layers: see below
    "DA805": ({"big": b"b" * (2 * 1024 * 1024)}, {}, {"small": b"s"}, {}),
    "DA806": ({"usr/local/bin/helper": (b"x", 0o4755)}, {}, {"usr/bin/passwd": (b"x", 0o4755)}, {}),
    "DA807": (ML_BAD, {}, {"usr/local/cuda-12.1/version.json": ML_BAD["usr/local/cuda-12.1/version.json"],
                           "usr/lib/python3/site-packages/torch-2.3.1+cu121.dist-info/METADATA": b""}, {}),
    "DA808": ({"app": None}, {"ExposedPorts": {"8000/tcp": {}}, "Cmd": ["uvicorn", "app:app"]},
              {"app": None}, {"ExposedPorts": {"8000/tcp": {}}, "Healthcheck": {"Test": ["CMD", "true"]}}),
    "DA809": ({"usr/bin/gcc-12": b"\x7fELF", "usr/local/cuda-12.4/bin/nvcc": b"\x7fELF"}, {}, {"usr/bin/python3": b"x"}, {}),
    "DA810": ({"models/model.bin": b"\x80" * 4096}, {}, {"models/README.md": b"mounted at run time"}, {}),
    "DA812": ({"bin/busybox": (b"\x7fELF\x02\x01\x01" + bytes(11) + b"\xb7\x00" + bytes(44), 0o755)}, {},
              {"bin/busybox": (b"\x7fELF\x02\x01\x01" + bytes(11) + b"\x3e\x00" + bytes(44), 0o755)}, {}),
    "DA811": ({"app": None}, {"ExposedPorts": {"22/tcp": {}}, "Cmd": ["jupyter", "lab", "--ServerApp.token="]},
              {"app": None}, {"ExposedPorts": {"8888/tcp": {}}, "Cmd": ["jupyter", "lab"]}),
    # with gpus = ("H100", "P100"): a cu128 torch has no Pascal kernels, the cu126 one has
    "DA813": ({TORCH_VERSION_PY: b"__version__ = '2.11.0+cu128'\ncuda: Optional[str] = '12.8'\n"}, {},
              {TORCH_VERSION_PY: b"__version__ = '2.11.0+cu126'\ncuda: Optional[str] = '12.6'\n"}, {}),
}  # fmt: skip
TORCH_FLEET = ("H100", "P100")


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_each_image_rule_fires_on_its_bad_image_and_not_on_its_good_one(tmp_path: Path, rule_id: str):
    options = {"image_budget": (1.0, None)} if rule_id == "DA805" else {"gpus": TORCH_FLEET} if rule_id == "DA813" else {}
    if rule_id == "DA804":
        bad = [tar_layer({"tmp/torch.whl": b"w" * 200_000}), tar_layer({"tmp/.wh.torch.whl": b""})]
        good = [tar_layer({"tmp/torch.whl": b"w" * 200_000})]
        bad_config = good_config = config_for(len(bad))
    else:
        bad_files, bad_config, good_files, good_config = CASES[rule_id]
        bad, good = [tar_layer(bad_files)], [tar_layer(good_files)]
        bad_config, good_config = config_for(1, **bad_config), config_for(1, **good_config)
    bad_found = audit(f"oci:{write_oci(tmp_path / 'bad', bad, bad_config)}", **options)
    good_found = audit(f"oci:{write_oci(tmp_path / 'good', good, good_config)}", **options)
    assert rule_id in bad_found, bad_found
    assert rule_id not in good_found, good_found.get(rule_id)


def test_build_arg_leak_in_history(tmp_path: Path):
    config = config_for(1, User="1")
    config["history"] = [{"created_by": "|1 WANDB_API_KEY=abcd1234efgh /bin/sh -c train.sh"}]
    found = audit(f"oci:{write_oci(tmp_path / 'oci', [tar_layer({'a': b'1'})], config)}")
    assert any("build argument WANDB_API_KEY" in m for m in found["DA802"])


def test_image_command_and_formats(tmp_path: Path):
    oci = write_oci(tmp_path / "oci", [tar_layer({"root/.cache/pip/x": b"c" * 10_000})], config_for(1))
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--no-color"])
    assert result.exit_code == 1 and "DA803" in result.output and "pip cache" in result.output
    sarif = json.loads(CliRunner().invoke(cli, ["image", f"oci:{oci}", "--format", "sarif", "--exit-zero"]).output)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} >= {"DA801", "DA803"}
    bad = CliRunner().invoke(cli, ["image", "oci:/no/such"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


# --- registries: a v2 registry served on 127.0.0.1 by the test, with the bearer-token flow ---------


class _Registry:
    """A read-only v2 registry over an OCI layout, demanding a bearer token like Docker Hub does."""

    def __init__(self, layout: Path, corrupt: str | None = None, tags: dict[str, bool] | None = None) -> None:
        import http.server
        import threading

        registry = self
        self.layout, self.corrupt, self.token_requests = layout, corrupt, []
        self.tags = tags or {"1": True}  # tag → True: today's image; False: an older one

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path.startswith("/token"):
                    registry.token_requests.append((self.path, self.headers.get("Authorization")))
                    return self._send(200, json.dumps({"token": "t0k3n"}).encode(), "application/json")
                if self.headers.get("Authorization") != "Bearer t0k3n":
                    self.send_response(401)
                    realm = f"http://127.0.0.1:{registry.port}/token"
                    self.send_header("WWW-Authenticate",
                                     f'Bearer realm="{realm}",service="test",scope="repository:team/app:pull"')  # fmt: skip
                    self.end_headers()
                    return None
                if self.path.startswith("/v2/team/app/tags/list"):
                    body = json.dumps({"name": "team/app", "tags": sorted(registry.tags)}).encode()
                    return self._send(200, body, "application/json")
                match = re.match(r"^/v2/team/app/(manifests|blobs)/(.+)$", self.path)
                if not match:
                    return self._send(404, b"{}", "application/json")
                kind, reference = match.groups()
                if kind == "manifests" and not reference.startswith("sha256:"):
                    if reference not in registry.tags:
                        return self._send(404, b"{}", "application/json")
                    current = registry.tags[reference]
                    index = json.loads((registry.layout / "index.json").read_text())
                    descriptor = index["manifests"][0]
                    reference, media = descriptor["digest"], descriptor["mediaType"]
                    if not current:  # an older image: any other blob has another digest
                        top = json.loads((registry.layout / "blobs" / "sha256" / reference.split(":")[1]).read_text())
                        reference = top["config"]["digest"]
                else:
                    media = "application/vnd.oci.image.manifest.v1+json"
                data = (registry.layout / "blobs" / "sha256" / reference.split(":", 1)[1]).read_bytes()
                if registry.corrupt == reference:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                return self._send(200, data, media if kind == "manifests" else "application/octet-stream")

            def _send(self, status: int, data: bytes, media: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_registry_source_with_token_flow_and_platforms(tmp_path: Path):
    layers = [tar_layer({"root/.cache/pip/x": b"c" * 10_000})]
    oci = write_oci(tmp_path / "oci", layers, config_for(1), platforms=["linux/amd64", "linux/arm64"])
    registry = _Registry(oci)
    try:
        source = f"docker://127.0.0.1:{registry.port}/team/app:1"
        results = audit_source(source, RULES, insecure=True, all_platforms=True)
        assert [r.error for r in results] == [None, None]
        assert all("DA803" in {f.rule for f in r.findings} for r in results)
        assert registry.token_requests and "scope=repository" in registry.token_requests[0][0]
        archive_findings = {f.rule for r in audit_source(f"oci:{oci}", RULES) for f in r.findings}
        assert {f.rule for f in results[0].findings} == archive_findings
    finally:
        registry.close()


def test_registry_digest_mismatch_is_reported(tmp_path: Path):
    layers = [tar_layer({"app/x": b"x" * 5000})]
    oci = write_oci(tmp_path / "oci", layers, config_for(1))
    manifest_digest = json.loads((oci / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((oci / "blobs" / "sha256" / manifest_digest.split(":")[1]).read_text())
    registry = _Registry(oci, corrupt=manifest["config"]["digest"])
    try:
        (result,) = audit_source(f"docker://127.0.0.1:{registry.port}/team/app:1", RULES, insecure=True)
        assert result.error and "does not match its digest" in result.error
    finally:
        registry.close()


def test_registry_references_parse_like_docker():
    from dockaudit.image.registry import parse_reference

    assert parse_reference("python:3.12").name == "library/python"
    assert parse_reference("python").reference == "latest"
    digest = "sha256:" + "ab" * 32  # a digest becomes a URL path: only a well-formed one is accepted
    ref = parse_reference(f"docker://ghcr.io/org/app@{digest}")
    assert (ref.host, ref.name, ref.reference) == ("ghcr.io", "org/app", digest)
    with pytest.raises(ImageSourceError, match="not a valid sha256 digest"):
        parse_reference("docker://ghcr.io/org/app@sha256:abc")
    assert parse_reference("localhost:5000/app:1").host == "localhost:5000"


def test_blob_streams_are_checked_against_their_digest():
    from dockaudit.image.sources import VerifyingStream as _Verifying

    good = hashlib.sha256(b"x" * 100).hexdigest()
    stream = _Verifying(io.BytesIO(b"x" * 100), f"sha256:{good}", 10**6, "blob")
    assert stream.read(1000) == b"x" * 100 and stream.read(10) == b""
    with pytest.raises(ImageSourceError, match="does not match its digest"):
        bad = _Verifying(io.BytesIO(b"y" * 100), f"sha256:{good}", 10**6, "blob")
        while bad.read(10):
            pass
    with pytest.raises(ImageSourceError, match="refused"):
        _Verifying(io.BytesIO(b"z" * 100), f"sha256:{good}", 50, "blob").read(100)


def test_registry_credentials_come_from_docker_config(tmp_path: Path, monkeypatch):
    import base64

    oci = write_oci(tmp_path / "oci", [tar_layer({"a": b"1"})], config_for(1, User="1"))
    registry = _Registry(oci)
    try:
        host = f"127.0.0.1:{registry.port}"
        auth = base64.b64encode(b"robot:s3cret").decode()
        (tmp_path / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
        (result,) = audit_source(f"docker://{host}/team/app:1", RULES, insecure=True)
        assert result.error is None
        assert registry.token_requests[0][1] == f"Basic {auth}"
    finally:
        registry.close()


def test_dockerfile_links_layers_to_lines_and_lints_in_the_same_report(tmp_path: Path):
    layers = [tar_layer({"app/.env": b"TOKEN=1", "app/main.py": b"print(1)\n"}), tar_layer({"app/.wh..env": b""})]
    config = config_for(2, User="1")
    config["history"] = [{"created_by": "COPY . /app # buildkit"}, {"created_by": "RUN rm /app/.env"},
                         {"created_by": "USER 1", "empty_layer": True}]  # fmt: skip
    oci = write_oci(tmp_path / "oci", layers, config)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM scratch\nCOPY . /app\nRUN rm /app/.env\nUSER 1\n")
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--dockerfile", str(dockerfile), "--no-color"])
    assert "/app/.env (layer 1) looks like a credential file, deleted later but still readable in that layer " \
           "(made by Dockerfile line 2)" in result.output  # fmt: skip
    assert f"{dockerfile}:3:1  DA308" in result.output or f"{dockerfile}:" in result.output
    assert "2 layers" in result.output and "largest files:" in result.output


def test_tensorflow_built_for_another_cuda(tmp_path: Path):
    files = {"usr/local/cuda-11.8/version.json": json.dumps({"cuda": {"version": "11.8.0"}}).encode(),
             "usr/lib/python3/site-packages/tensorflow-2.15.1.dist-info/METADATA": b"Name: tensorflow\n"}  # fmt: skip
    found = audit(f"oci:{write_oci(tmp_path / 'oci', [tar_layer(files)], config_for(1, User='1'))}")
    assert any("tensorflow 2.15.1 was built for CUDA 12.2" in m for m in found["DA807"])


def test_size_budgets_come_from_the_config_and_flags_win(tmp_path: Path, monkeypatch):
    oci = write_oci(tmp_path / "oci", [tar_layer({"big": b"b" * (3 * 1024 * 1024)})], config_for(1, User="1"))
    (tmp_path / ".dockaudit.toml").write_text("max-image-size = 1\nmax-layer-size = 2.5\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--select", "DA805", "-q"])
    assert "over the budget of 1.0 MiB" in result.output and "over the layer budget of 2.5 MiB" in result.output
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--select", "DA805", "-q", "--max-image-size", "10"])
    assert "over the budget" not in result.output and "layer budget of 2.5" in result.output
    assert CliRunner().invoke(cli, ["image", f"oci:{oci}", "--select", "DA805", "--isolated"]).exit_code == 0
    (tmp_path / "bad.toml").write_text("max-image-size = -3\n")
    result = CliRunner().invoke(cli, ["image", f"oci:{oci}", "--config", "bad.toml"])
    assert result.exit_code == 2 and "bad.toml: max-image-size: expected a size in MiB" in result.output


@pytest.mark.parametrize(("header_major", "fires"), [(9, True), (8, False)])
def test_tensorflow_built_for_another_cudnn(tmp_path: Path, header_major: int, fires: bool):
    files = {"usr/local/cuda-12.2/version.json": json.dumps({"cuda": {"version": "12.2.2"}}).encode(),
             "usr/include/x86_64-linux-gnu/cudnn_version_v9.h": f"#define CUDNN_MAJOR {header_major}\n".encode(),
             "usr/lib/python3/site-packages/tensorflow-2.15.1.dist-info/METADATA": b"Name: tensorflow\n"}  # fmt: skip
    found = audit(f"oci:{write_oci(tmp_path / 'oci', [tar_layer(files)], config_for(1, User='1'))}")
    messages = found.get("DA807", [])
    assert any("built for cuDNN 8, the image has cuDNN 9" in m for m in messages) == fires, messages


def test_docker_daemon_source_runs_docker_save(tmp_path: Path, monkeypatch):
    archive = write_docker_archive(tmp_path / "saved.tar", [tar_layer({"root/.cache/pip/x": b"c" * 5000})],
                                   config_for(1, User="1"))  # fmt: skip
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    # A docker CLI stand-in: `docker save -o TARGET NAME` copies the archive; an unknown NAME fails like docker.
    fake.write_text(f'#!/bin/sh\n[ "$4" = "team/app:1" ] || {{ echo "Error: No such image: $4" >&2; exit 1; }}\n'
                    f'cp "{archive}" "$3"\n')  # fmt: skip
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    (result,) = audit_source("docker-daemon:team/app:1", RULES)
    assert result.error is None and "DA803" in {f.rule for f in result.findings}
    (missing,) = audit_source("docker-daemon:team/other:1", RULES)
    assert missing.error == "docker-daemon:team/other:1: Error: No such image: team/other:1"


def _fleet_findings(tmp_path: Path, files: dict, gpus: tuple[str, ...]) -> list[tuple[str, object]]:
    oci = write_oci(tmp_path / "oci", [tar_layer(files)], config_for(1, User="1"))
    (result,) = audit_source(f"oci:{oci}", select_rules(load_rules(), select=["DA813"]), Options(gpus=gpus))
    return [(f.message, f.severity) for f in result.findings]


@pytest.mark.parametrize(
    ("files", "gpus", "expected"),
    [
        # the PyPI wheel: no local version, the CUDA only in version.py; NGC's dist-packages path
        ({"usr/local/lib/python3.12/dist-packages/torch/version.py": b"__version__ = '2.14.1'\ncuda = '13.0'\n"},
         ("P100",), "torch 2.14.1 (CUDA 13.0"),
        # NGC's own build (a pre-release version) picks its own architecture list: not judged
        ({TORCH_VERSION_PY: b"__version__ = '2.6.0a0+ecf3bae40a'\ncuda = '12.8'\n"}, ("P100",), None),
        ({TORCH_VERSION_PY: b"__version__ = '2.11.0+cpu'\ncuda: Optional[str] = None\n"}, ("P100",), None),
        # TensorFlow 2.21's list has no Maxwell: a warning (the release span of the list is inferred)
        ({"usr/local/lib/python3.12/site-packages/tensorflow-2.21.0.dist-info/METADATA": b"Name: tensorflow\n"},
         ("M60",), "tensorflow 2.21.0 has kernels for sm 6.0"),
        ({"usr/local/lib/python3.12/site-packages/onnxruntime_gpu-1.20.1.dist-info/METADATA": b""},
         ("sm_50", "H100"), "onnxruntime-gpu 1.20.1 has kernels for sm 5.2"),
    ],
)  # fmt: skip
def test_the_fleet_gate_reads_the_builds_inside_the_image(tmp_path: Path, files, gpus, expected):
    findings = _fleet_findings(tmp_path, files, gpus)
    if expected is None:
        assert findings == []
    else:
        ((message, severity),) = findings
        assert message.startswith(expected), message
        assert (severity == Severity.WARNING) == (not message.startswith("torch"))


def test_the_image_fleet_gate_is_silent_without_a_fleet(tmp_path: Path):
    files = {TORCH_VERSION_PY: b"__version__ = '2.11.0+cu128'\ncuda = '12.8'\n"}
    assert _fleet_findings(tmp_path, files, ()) == []
