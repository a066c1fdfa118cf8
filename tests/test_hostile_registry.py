"""Hostile registries, served on 127.0.0.1 by the tests: credentials stay where they are safe, every
request and every client has a deadline, and bad answers are one-line errors that pickle."""

from __future__ import annotations

import base64
import http.server
import json
import pickle
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dockaudit.facts import online
from dockaudit.image.audit import read_image
from dockaudit.image.registry import RegistryClient, may_send_credentials, parse_reference
from dockaudit.image.sources import ImageSourceError
from tests.test_image import config_for, tar_layer, write_oci

Answer = Callable[[http.server.BaseHTTPRequestHandler], bool]  # True: answered


class _Quiet(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # clients that give up mid-answer are what these tests are about


class _Server:
    """A registry over an OCI layout on 127.0.0.1: ``answers`` (tried first) may replace any answer;
    with ``token_realm`` every request but the token's needs the bearer token the realm hands out."""

    def __init__(self, layout: Path | None = None, answers: list[Answer] | None = None,
                 token_realm: str | None = None) -> None:  # fmt: skip
        server = self
        self.layout, self.answers, self.token_realm = layout, answers or [], token_realm
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization)
        self.released = threading.Event()  # set at close: dribbling and stalling answers stop

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Authorization")))
                try:
                    if not any(answer(self) for answer in server.answers):
                        server.answer(self)
                except OSError:  # the client gave up: expected in these tests
                    pass

        self.server = _Quiet(("127.0.0.1", 0), Handler)
        self.server.released = self.released  # type: ignore[attr-defined] - for answers that wait
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler) -> None:
        if handler.path.startswith("/token"):
            return send(handler, 200, json.dumps({"token": "t0k3n"}).encode())
        if self.token_realm and handler.headers.get("Authorization") != "Bearer t0k3n":
            return send(handler, 401, b"{}", {"WWW-Authenticate": f'Bearer realm="{self.token_realm}",service="x"'})
        match = re.match(r"^/v2/team/app/(manifests|blobs)/(.+)$", handler.path)
        if not match or self.layout is None:
            return send(handler, 404, b"{}")
        kind, reference = match.groups()
        if kind == "manifests" and reference == "1":
            reference = json.loads((self.layout / "index.json").read_text())["manifests"][0]["digest"]
        blob = self.layout / "blobs" / "sha256" / reference.split(":", 1)[-1]
        if not blob.is_file():
            return send(handler, 404, b"{}")
        media = "application/vnd.oci.image.manifest.v1+json" if kind == "manifests" else "application/octet-stream"
        return send(handler, 200, blob.read_bytes(), {"Content-Type": media})

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def send(handler, status: int, body: bytes, headers: dict[str, str] | None = None, length: int | None = None) -> None:
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


def _when(pattern: str, respond: Callable) -> Answer:
    def answer(handler) -> bool:
        if re.search(pattern, handler.path):
            respond(handler)
            return True
        return False

    return answer


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    return write_oci(tmp_path / "oci", [tar_layer({"app/x": b"x" * 3000})], config_for(1, User="1"))


@pytest.fixture
def serve():
    servers: list[_Server] = []

    def start(*args, **kwargs) -> _Server:
        servers.append(_Server(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _read(server: _Server, **client) -> None:
    """Read the image ``team/app:1`` and every layer, as ``dockaudit image`` does."""
    registry = RegistryClient(parse_reference(f"docker://{server.host}/team/app:1"), insecure=True, **client)
    for image in registry.images("linux/amd64", False):
        read_image(image)


def _refusal(server: _Server, **client) -> str:
    with pytest.raises(ImageSourceError) as caught:
        _read(server, **client)
    error = caught.value
    assert "\n" not in str(error)
    assert pickle.loads(pickle.dumps(error)).args == error.args  # crosses from --jobs workers to the parent
    return str(error)


AUTH = base64.b64encode(b"robot:s3cret").decode()


def _docker_config(tmp_path: Path, monkeypatch, content: bytes) -> None:
    (tmp_path / "docker").mkdir(exist_ok=True)
    (tmp_path / "docker" / "config.json").write_bytes(content)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))


# --- credentials --------------------------------------------------------------------------------


def test_credentials_never_go_to_a_realm_on_another_server_over_http(layout: Path, serve, tmp_path: Path, monkeypatch):
    tokens = serve()  # the realm a hostile registry names: another port, plain http
    registry = serve(layout, token_realm=f"http://127.0.0.1:{tokens.port}/token")
    _docker_config(tmp_path, monkeypatch, json.dumps({"auths": {registry.host: {"auth": AUTH}}}).encode())
    _read(registry)  # the token server hands out an anonymous token: the image still reads
    assert tokens.requests and all(authorization is None for _path, authorization in tokens.requests)


def test_credentials_go_to_the_registry_itself_when_insecure_names_it(layout: Path, serve, tmp_path: Path,
                                                                      monkeypatch):  # fmt: skip
    registry = serve(layout)
    registry.token_realm = f"http://{registry.host}/token"
    _docker_config(tmp_path, monkeypatch, json.dumps({"auths": {registry.host: {"auth": AUTH}}}).encode())
    _read(registry)
    assert [a for p, a in registry.requests if p.startswith("/token")] == [f"Basic {AUTH}"]


@pytest.mark.parametrize(
    ("realm", "insecure", "allowed"),
    [
        ("https://auth.docker.io/token", False, True),  # https: anywhere (Docker Hub's realm is another host)
        ("https://127.0.0.1:5000/token", True, True),
        ("http://127.0.0.1:5000/token", True, True),  # the same host and port, plain HTTP allowed for it
        ("http://127.0.0.1:5000/token", False, False),  # a downgrade from the https registry
        ("http://127.0.0.1:5001/token", True, False),  # another port is another server
        ("http://evil.example/token", True, False),
        ("ftp://127.0.0.1:5000/token", True, False),
        ("//127.0.0.1:5000/token", True, False),
    ],
)  # fmt: skip
def test_which_realms_may_receive_credentials(realm: str, insecure: bool, allowed: bool):
    assert may_send_credentials(realm, "127.0.0.1:5000", insecure) is allowed


_BAD_CONFIGS = {
    "auth that is not base64": (b'{"auths": {"HOST": {"auth": "!!not base64!!"}}}', "auth is not base64"),
    "a config that is a list": (b"[1, 2]", "not a docker config"),
    "auths that is a list": (b'{"auths": ["x"]}', "not a docker config"),
    "a config that is not UTF-8": (b'{"auths": {"\xff\xfe": 1}}', "not valid JSON"),
    "a config that is not JSON": (b"{", "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(_BAD_CONFIGS))
def test_a_bad_docker_config_is_a_one_line_error(layout: Path, serve, tmp_path: Path, monkeypatch, case: str):
    registry = serve(layout)
    registry.token_realm = f"http://{registry.host}/token"
    content, message = _BAD_CONFIGS[case]
    _docker_config(tmp_path, monkeypatch, content.replace(b"HOST", registry.host.encode()))
    assert message in _refusal(registry)


# --- deadlines ------------------------------------------------------------------------------------


def _dribble(total: int = 100_000, pause: float = 0.02):
    """An answer that promises ``total`` bytes and sends one every ``pause`` seconds: each read gets a
    byte well within any per-read timeout, so only an overall deadline ends it."""

    def respond(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        for _ in range(total):
            if handler.server.released.wait(pause):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()

    return respond


def _finishes(work: Callable[[], object], server: _Server) -> object:
    """``work()``'s result, or its exception; a hang guard (not a speed test): a dribbling server
    would keep a client without deadlines busy for over half an hour."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        server.close()  # ends the dribble, so the worker returns
        pytest.fail("no deadline ended the dribbling answer")
    return outcome[0]


@pytest.fixture
def dribbling(layout: Path, serve):
    def start(pattern: str) -> _Server:
        server = serve(layout)
        server.answers.append(_when(pattern, _dribble()))
        return server

    return start


def test_a_dribbling_manifest_meets_the_request_deadline(dribbling):
    server = dribbling(r"/manifests/1$")
    error = _finishes(lambda: _read(server, request_seconds=0.5), server)
    assert isinstance(error, ImageSourceError), error
    assert str(error).endswith("not done within the request deadline of 0.5 s; gave up")


def test_a_dribbling_layer_meets_the_operation_deadline(dribbling, layout: Path):
    layer = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / layer.split(":")[1]).read_text())
    server = dribbling(re.escape(manifest["layers"][0]["digest"]))
    error = _finishes(lambda: _read(server, operation_seconds=1.5), server)
    assert isinstance(error, ImageSourceError), error
    assert str(error).endswith("not done within the operation deadline of 1.5 s; gave up")


def test_online_lookups_meet_their_deadline(dribbling):
    server = dribbling(r"/manifests/")
    image = f"{server.host}/team/app:1"
    assert _finishes(lambda: online.tag_digest(image, seconds=0.5), server) is None  # no fix rather than a wait
    assert _finishes(lambda: online.version_tag(f"{server.host}/team/app", seconds=0.5), server) is None
    assert any(path.startswith("/v2/team/app/manifests/") for path, _ in server.requests)


# --- hostile answers: one table for the registry reader --------------------------------------------


def _short(handler) -> None:
    handler.close_connection = True  # the body ends at 16 of the 5,000 bytes promised
    send(handler, 200, b'{"schemaVersion"', length=5000)


def _stall_midway(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b"\x1f\x8b")
    handler.wfile.flush()
    handler.server.released.wait(10)


def _json(document: object) -> Callable:
    return lambda handler: send(handler, 200, json.dumps(document).encode())


def _manifest_with(layout: Path, change: Callable[[dict], object]) -> Callable:
    def respond(handler) -> None:
        top = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
        manifest = json.loads((layout / "blobs" / "sha256" / top.split(":")[1]).read_text())
        send(handler, 200, json.dumps(change(manifest)).encode())

    return respond


def _layer(layout: Path) -> str:
    top = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    return json.loads((layout / "blobs" / "sha256" / top.split(":")[1]).read_text())["layers"][0]["digest"]


_HOSTILE_REGISTRY = {
    "a manifest that is a JSON list": (r"/manifests/1$", lambda _l: _json([1, 2]), "manifest: not a JSON object"),
    "manifests as a dict": (r"/manifests/1$", lambda _l: _json({"manifests": {"a": 1}}), "manifests is not a list"),
    "a layer size that is not a number": (
        r"/manifests/1$", lambda l: _manifest_with(l, lambda m: {**m, "layers": [{**m["layers"][0], "size": "abc"}]}),
        "size 'abc' is not a byte count"),
    "a layer digest that climbs out": (
        r"/manifests/1$", lambda l: _manifest_with(l, lambda m: {**m, "layers": [{"digest": "sha256:../../../x"}]}),
        "is not a digest"),
    "a short manifest body": (r"/manifests/1$", lambda _l: _short, "the connection failed (ProtocolError"),
    "a short config body": (r"/blobs/", lambda _l: _short, "the connection failed (ProtocolError"),
    "a short layer body": ("LAYER", lambda _l: _short, "the connection failed (ProtocolError"),
    "a layer that stalls midway": ("LAYER", lambda _l: _stall_midway, "the connection failed (ReadTimeoutError"),
    "a token answer that is a list": (r"^/token", lambda _l: _json(["t0k3n"]), "token: not a JSON object"),
    "a token answer of 2 MiB": (r"^/token", lambda _l: _json({"token": "t0k3n", "pad": "x" * 2**21}),
                                "a token answer over 1048576 bytes; refused"),
    "a token answer without a token": (r"^/token", lambda _l: _json({"token": 5}), "the answer holds no token"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(_HOSTILE_REGISTRY))
def test_hostile_registry_answers_are_one_line_errors(layout: Path, serve, monkeypatch, case: str):
    import dockaudit.image.registry as registry_module

    monkeypatch.setattr(registry_module, "TIMEOUT", (5, 0.5))
    pattern, respond, message = _HOSTILE_REGISTRY[case]
    pattern = re.escape(_layer(layout)) if pattern == "LAYER" else pattern
    server = serve(layout, answers=[_when(pattern, respond(layout))])
    server.token_realm = f"http://{server.host}/token"
    assert message in _refusal(server)
    assert not any(".." in path for path, _ in server.requests)


def test_a_tag_list_that_is_not_a_list_is_a_one_line_error(layout: Path, serve):
    server = serve(layout, answers=[_when(r"/tags/list", _json({"tags": 5}))])
    client = RegistryClient(parse_reference(f"docker://{server.host}/team/app"), insecure=True)
    with pytest.raises(ImageSourceError, match="tags/list has no list of tags"):
        client.tags()
    server.answers[:] = [_when(r"/tags/list", _json({"tags": ["1.0", 5, "../x", "2.0"]}))]
    assert client.tags() == ["1.0", "2.0"]  # tags become URLs: only well-formed ones are kept


# --- every exception class of the image readers pickles ---------------------------------------------


def test_every_exception_class_of_the_image_readers_pickles():
    import inspect

    import dockaudit.image.audit
    import dockaudit.image.layers
    import dockaudit.image.registry
    import dockaudit.image.sources
    import dockaudit.facts.imageref

    modules = (dockaudit.image.sources, dockaudit.image.layers, dockaudit.image.registry, dockaudit.image.audit,
               online, dockaudit.facts.imageref)  # fmt: skip
    classes = {c for m in modules for _n, c in inspect.getmembers(m, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == m.__name__}  # fmt: skip
    assert ImageSourceError in classes
    for cls in classes:
        error = cls("docker://127.0.0.1:5000/team/app:1: not done within the request deadline of 1 s; gave up")
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls and copy.args == error.args and str(copy) == str(error)


def test_the_operation_deadline_covers_requests_that_each_answer_in_time(layout: Path, serve):
    slow_blobs = _when(r"/blobs/", lambda handler: (time.sleep(0.4), server.answer(handler)))
    server = serve(layout, answers=[slow_blobs])
    error = _finishes(lambda: _read(server, operation_seconds=0.3), server)
    assert isinstance(error, ImageSourceError) and "operation deadline of 0.3 s" in str(error)


def _error_reading(host: str) -> str:
    try:
        RegistryClient(parse_reference(f"docker://{host}/team/app:1"), insecure=True).images("linux/amd64", False)
    except ImageSourceError as error:
        return str(error)
    return ""


def test_a_huge_authenticate_challenge_is_parsed_in_linear_time(layout: Path, serve):
    import multiprocessing

    def challenge(handler) -> None:  # 90 headers of 60,000 letters: requests joins them into one 5 MB value
        handler.send_response(401)
        for _ in range(90):  # http.client accepts at most 100 headers
            handler.send_header("WWW-Authenticate", "Bearer " + "a" * 60_000)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = serve(layout, answers=[_when(r"/manifests/", challenge)])
    # In a child process: the old quadratic scan held the GIL for days, so no thread could time it out.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        error = pool.apply_async(_error_reading, (server.host,)).get(timeout=60)  # a hang guard
    assert "answered HTTP 401" in error
