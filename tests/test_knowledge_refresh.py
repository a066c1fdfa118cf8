"""`dockaudit knowledge refresh` against fixture indexes on 127.0.0.1, the override file, the staleness
note, and facts newer than the tables."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

import dockaudit
from dockaudit.facts import knowledge as knowledge_module
from dockaudit.facts.knowledge import summary as knowledge_summary
from dockaudit.facts.knowledge import refresh as refresh_module
from dockaudit.cli import cli
from dockaudit.facts.knowledge import KnowledgeError, load_knowledge
from dockaudit.facts.knowledge.refresh import Fetcher, RefreshError, Sources, refresh, render_toml, review_diff, write_override


def _wheel(name: str, version: str, py: str, plat: str, metadata: bool = True, uploaded: str = "2027-01-20") -> dict:
    filename = f"{name}-{version}-{py}-{py}-{plat}.whl" if py != "py3" else f"{name}-{version}-py3-none-{plat}.whl"
    entry = {"filename": filename, "url": f"/files/{filename}", "upload-time": f"{uploaded}T10:00:00Z",
             "yanked": False}  # fmt: skip
    if metadata:
        entry["core-metadata"] = {"sha256": "0" * 64}
    return entry


TORCH_FILES = [
    _wheel("torch", "2.14.1", f"cp3{m}", "manylinux_2_28_x86_64", uploaded="2026-10-01") for m in (10, 11, 12, 13, 14)
] + [
    _wheel("torch", "2.15.0", f"cp3{m}", "manylinux_2_28_x86_64", uploaded="2026-10-28") for m in (11, 12, 13, 14, 15)
] + [
    _wheel("torch", "2.16.0", f"cp3{m}", "manylinux_2_28_x86_64", uploaded="2027-01-20") for m in (11, 12, 13, 14, 15)
] + [_wheel("torch", "2.17.0rc1", "cp312", "manylinux_2_28_x86_64")]  # a pre-release: not a release
METADATA = {
    "torch-2.16.0-cp315-cp315-manylinux_2_28_x86_64.whl": (
        "Metadata-Version: 2.4\nName: torch\nVersion: 2.16.0\nRequires-Python: >=3.11\n"
        'Requires-Dist: cuda-toolkit[cublas,cudart]==13.4.1; platform_system == "Linux"\n'
        'Requires-Dist: nvidia-cudnn-cu13==9.27.0.42; platform_system == "Linux"\n'
        'Requires-Dist: triton~=3.10.0; platform_system == "Linux"\n'
    ),
    "torch-2.15.0-cp315-cp315-manylinux_2_28_x86_64.whl": (
        "Metadata-Version: 2.4\nName: torch\nVersion: 2.15.0\nRequires-Python: >=3.11\n"
        'Requires-Dist: cuda-toolkit[cublas]==13.2.2; platform_system == "Linux"\n'
        'Requires-Dist: nvidia-cudnn-cu13==9.26.0.51; platform_system == "Linux"\n'
    ),
    "torch-2.14.1-cp314-cp314-manylinux_2_28_x86_64.whl": (
        "Metadata-Version: 2.4\nName: torch\nVersion: 2.14.1\n"
        'Requires-Dist: cuda-toolkit[cublas]==13.0.2; platform_system == "Linux"\n'
        'Requires-Dist: nvidia-cudnn-cu13==9.24.0.43; platform_system == "Linux"\n'
    ),
    "vllm-0.34.0-cp38-abi3-manylinux_2_31_x86_64.whl": (
        "Metadata-Version: 2.4\nName: vllm\nVersion: 0.34.0\nRequires-Python: <3.15,>=3.11\n"
        "Requires-Dist: torch==2.16.0\nRequires-Dist: torchvision==0.31.0\nRequires-Dist: numba==0.65.0\n"
        'Requires-Dist: tensorizer==2.10.1; extra == "tensorizer"\n'
    ),
}
PROJECTS = {
    "torch": TORCH_FILES,
    "vllm": [{"filename": "vllm-0.34.0-cp38-abi3-manylinux_2_31_x86_64.whl",
              "url": "/files/vllm-0.34.0-cp38-abi3-manylinux_2_31_x86_64.whl", "core-metadata": True}],
    "flash-attn": [{"filename": "flash_attn-2.8.4.tar.gz", "url": "/files/flash_attn-2.8.4.tar.gz"}],
}  # fmt: skip
PYTORCH_PAGE = "".join(
    f'<a href="/whl/cu{v}/torch-{t}%2Bcu{v}-cp312-cp312-manylinux_2_28_x86_64.whl">torch-{t}+cu{v}-cp312-cp312-'
    f"manylinux_2_28_x86_64.whl</a>\n"
    for t, v in [("2.15.0", "126"), ("2.15.0", "130"), ("2.15.0", "132"), ("2.16.0", "130"), ("2.16.0", "134")]
)
CUDA_TAGS = ["13.4.1-base-ubuntu24.04", "13.4.1-cudnn-runtime-ubuntu26.04", "13.4.2-devel-ubuntu26.04",
             "13.5.0-runtime-ubuntu26.04", "13.5.0-base-ubi9", "latest"]  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    mode = "normal"  # normal, huge, slow, broken

    def log_message(self, *args) -> None:
        pass

    def _send(self, body: bytes, kind: str = "application/json", status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # http.server's name
        path = self.path.split("?")[0]
        if self.mode == "huge":
            self._send(b"[" + b" " * (2 * 1024 * 1024) + b"]")
            return
        if self.mode == "slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.05)
            return
        if path == "/redirect-to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.mode == "broken":
            self._send(b"<html>not json</html>", "text/html")
            return
        if path.startswith("/simple/"):
            project = path.strip("/").split("/")[-1]
            if project in PROJECTS:
                self._send(json.dumps({"meta": {"api-version": "1.1"}, "files": PROJECTS[project]}).encode())
            else:
                self._send(b"{}", status=404)
        elif path.startswith("/files/") and path.endswith(".metadata"):
            name = path[len("/files/") : -len(".metadata")]
            if name in METADATA:
                self._send(METADATA[name].encode(), "text/plain")
            else:
                self._send(b"", status=404)
        elif path == "/whl/torch/":
            self._send(PYTORCH_PAGE.encode(), "text/html")
        elif path == "/v2/nvidia/cuda/tags/list":
            self._send(json.dumps({"name": "nvidia/cuda", "tags": CUDA_TAGS}).encode())
        else:
            self._send(b"", status=404)


@pytest.fixture
def server():
    """A fixture index on 127.0.0.1 (PyPI simple API + PEP 658, the PyTorch index, a registry)."""
    _Handler.mode = "normal"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _sources(host: str) -> Sources:
    return Sources(f"http://{host}/simple/", f"http://{host}/whl/", f"{host}/nvidia/cuda")


@pytest.fixture(autouse=True)
def _fresh_tables(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(knowledge_module.OVERRIDE_ENV, raising=False)
    load_knowledge.cache_clear()
    yield
    load_knowledge.cache_clear()


def test_refresh_reads_every_source(server):
    result = refresh(_sources(server), today=dt.date(2027, 2, 1))
    compat = result.override["ml-compat"]
    assert compat["meta"] == {"as_of": "2027-02-01"}
    row = compat["torch"]["2.16"]
    assert row["latest_patch"] == "2.16.0" and row["python"] == ["3.11", "3.12", "3.13", "3.14", "3.15"]
    assert row["pypi_default_cuda"] == "13.4" and row["pypi_cudnn"] == "9.27.0.42" and row["cudnn_major"] == 9
    assert row["release_date"] == "2027-01-20" and row["cuda_variants"] == ["cu130", "cu134"]
    assert compat["torch"]["2.15"]["cuda_variants"] == ["cu126", "cu130", "cu132"]
    assert "2.17" not in compat["torch"]  # rc1 is not a release
    assert compat["requires_dist"]["vllm"]["pins"] == {"torch": "2.16.0", "torchvision": "0.31.0"}
    assert "flash-attn" not in compat["requires_dist"]  # sdist only: no metadata, no pins guessed
    assert compat["pypi_newest"]["flash-attn"] == "2.8.4"
    tags = compat["nvidia_cuda_tags"]
    assert tags["ubuntu_by_cuda"] == {"13.4": ["24.04", "26.04"], "13.5": ["26.04"]}
    assert tags["newest_patch"] == {"13.4": "13.4.2", "13.5": "13.5.0"}
    assert any("/simple/tensorflow/" in p and "404" in p for p in result.problems)  # not served: named, skipped


def test_refresh_diff_and_override_round_trip(server, tmp_path, monkeypatch):
    target = tmp_path / "override.toml"
    result = CliRunner().invoke(cli, ["knowledge", "refresh", "--pypi", f"http://{server}/simple/",
                                      "--pytorch-index", f"http://{server}/whl/",
                                      "--registry-image", f"{server}/nvidia/cuda", "--write", str(target)])  # fmt: skip
    assert result.exit_code == 1, result.output  # facts changed
    assert '+[ml-compat.torch."2.16"]' in result.output and '+latest_patch = "2.16.0"' in result.output
    assert "not refreshed:" in result.output and "Traceback" not in result.output
    assert load_knowledge().torch_release("2.16.0") is None  # the shipped tables are untouched
    monkeypatch.setenv(knowledge_module.OVERRIDE_ENV, str(target))
    load_knowledge.cache_clear()
    refreshed = load_knowledge()
    assert refreshed.torch_release("2.16.0").pypi_default_cuda == "13.4"
    assert refreshed.torch_release("2.16.0").cuda_variants == ("cu130", "cu134")
    assert refreshed.torch_release("2.4.1").pypi_default_cuda == "12.1"  # shipped rows stay
    shown = CliRunner().invoke(cli, ["knowledge"])
    assert f"override               {target}" in shown.output and "torch 2.16" in shown.output


def test_review_diff_is_empty_when_nothing_changed():
    shipped = {"ml-compat": {"torch": {"2.15": {"latest_patch": "2.15.0", "source": "x"}}}}
    assert review_diff(shipped, shipped) == ""
    changed = review_diff(shipped, {"ml-compat": {"torch": {"2.15": {"latest_patch": "2.15.1"}}}})
    assert [line for line in changed.splitlines() if line.startswith(("+", "-")) and "2.15." in line] == [
        '-"2.15" = { latest_patch = "2.15.0" }',
        '+"2.15" = { latest_patch = "2.15.1" }',
    ]


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [("huge", "larger than"), ("slow", "not read within|timed out"), ("broken", "not a PEP 691 JSON page")],
)
def test_hostile_sources_are_problems_not_tracebacks(server, monkeypatch, mode, fragment):
    _Handler.mode = mode
    monkeypatch.setattr(refresh_module, "MAX_INDEX_BYTES", 1024 * 1024)  # the huge page is 2 MiB
    # a generous deadline, except for the server that trickles 1000 bytes over 50 s
    fetcher = Fetcher(run_seconds=600, request_seconds=1.0 if mode == "slow" else 120.0)
    result = refresh(Sources(f"http://{server}/simple/", None, None), fetcher)
    assert result.problems and any(re.search(fragment, p) for p in result.problems), result.problems[:2]
    assert "torch" not in result.override["ml-compat"]


def test_the_run_budget_bounds_every_request(server):
    fetcher = Fetcher(run_seconds=0.0)
    with pytest.raises(RefreshError, match="spent"):
        fetcher.get(f"http://{server}/simple/torch/", 1024)
    with pytest.raises(RefreshError, match="only http and https"):
        Fetcher().get("file:///etc/passwd", 1024)
    with pytest.raises(RefreshError, match="HTTP 302"):
        Fetcher().get(f"http://{server}/redirect-to-file", 1024)


def test_refresh_error_pickles():
    error = pickle.loads(pickle.dumps(RefreshError("http://x/: HTTP 500")))
    assert type(error) is RefreshError and str(error) == "http://x/: HTTP 500"


def test_override_is_never_written_into_the_installed_tables(tmp_path):
    with pytest.raises(ValueError, match="refusing"):
        write_override(str(knowledge_module._data_file("ml-compat.toml").with_name("override.toml")), "x = 1\n")
    write_override(str(tmp_path / "o.toml"), render_toml({"ml-compat": {"meta": {"as_of": "2027-01-01"}}}))
    assert 'as_of = "2027-01-01"' in (tmp_path / "o.toml").read_text()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x = 1\n", "unknown table [x]"),
        ('ml-compat = "no"\n', "[ml-compat] should be a table"),
        ('[ml-compat.torch."2.16"]\nlatest_patch = "2.16.0"\n', "has no 'source'"),
        ("[ml-compat\n", "not valid TOML"),
        ('[ml-compat.torch."2.15"]\npython = "3.12"\n', "'python' should be a list"),
        ("[ml-compat]\n" + "a = " + "{ b = " * 20 + "1" + " }" * 20 + "\n", "[a] has no 'source'"),
    ],
)
def test_a_bad_override_is_one_line_exit_2(tmp_path, monkeypatch, text, fragment):
    path = tmp_path / "override.toml"
    path.write_text(text)
    monkeypatch.setenv(knowledge_module.OVERRIDE_ENV, str(path))
    result = CliRunner().invoke(cli, ["knowledge"])
    assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output
    with pytest.raises(KnowledgeError):
        load_knowledge()


def test_stale_tables_are_noted_once_in_text_output_only(tmp_path, monkeypatch):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nRUN pip install --no-cache-dir torch==2.4.1\n")
    dockerfile2 = tmp_path / "b" / "Dockerfile"
    dockerfile2.parent.mkdir()
    dockerfile2.write_text(dockerfile.read_text())
    runner = CliRunner()
    fresh = runner.invoke(cli, ["check", str(dockerfile)])
    assert "over six months old" not in fresh.output
    as_of = dt.date.fromisoformat(load_knowledge().as_of)
    monkeypatch.setattr(knowledge_summary, "today", lambda: as_of + dt.timedelta(days=200))
    text = runner.invoke(cli, ["check", str(dockerfile), str(dockerfile2)])
    assert text.output.count("over six months old") == 1
    as_json = runner.invoke(cli, ["check", "--format", "json", str(dockerfile)])
    assert "six months" not in as_json.output


def test_newer_versions_are_unknown_in_parse_and_silent_in_rules(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM nvidia/cuda:13.6.0-runtime-ubuntu26.04\nRUN apt-get update && apt-get install -y python3-venv\n"
        "RUN python3 -m venv /v\nENV PATH=/v/bin:$PATH\nRUN pip install torch==2.16.0 tensorflow==2.22.0\n"
    )
    result = CliRunner().invoke(cli, ["parse", str(dockerfile)])
    unknown = json.loads(result.output)["facts"][0]["unknown_to_tables"]
    assert any(u.startswith("CUDA 13.6.0") for u in unknown)
    assert any(u.startswith("torch 2.16.0") for u in unknown) and any(u.startswith("tensorflow 2.22.0") for u in unknown)
    findings = dockaudit.lint(str(dockerfile), select=["DA5"])
    errors = [f for f in findings if f.rule in ("DA501", "DA502", "DA503", "DA506", "DA507", "DA513")]
    assert errors == [], [(f.rule, f.message) for f in errors]


def test_nothing_is_fetched_without_the_command(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nRUN pip install --no-cache-dir torch==2.4.1\n")
    code = (
        "import sys, dockaudit\n"
        f"dockaudit.lint({str(dockerfile)!r})\n"
        "print('refresh' if 'dockaudit.facts.knowledge.refresh' in sys.modules else 'offline')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "offline", result.stderr
