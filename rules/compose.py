"""DA9xx — Compose files: how AI services are deployed together (GPUs, secrets, exposure, health)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit_rules.security import _TOKEN_PREFIXES, _literal_secret_value, looks_like_secret_name

from dockaudit.compose.project import (PathRefused, YNode, env_file_entries, environment_entries, project_path, read_env_file,
                              shown_path)  # fmt: skip
from dockaudit.files import InputError
from dockaudit.facts.imageref import parse_image_ref
from dockaudit.model import Edit, Fix, Violation
from dockaudit.syntax.source import Span
from dockaudit.plugin import rule

if TYPE_CHECKING:  # only an annotation here: importing it would load the Compose linter on every run
    from dockaudit.compose.lint import ComposeContext

FAMILY = "compose"
_GPU_IMAGES = re.compile(
    r"(?:^|/)(?:nvidia/cuda|pytorch/pytorch|vllm/vllm-openai|text-generation-inference|tritonserver|"
    r"nvidia/pytorch|nvidia/tensorflow|tensorflow/tensorflow:[^ ]*gpu|nvcr\.io/nim/)",  # ollama runs on CPUs too
)
_SERVING = re.compile(r"vllm|text-generation|tritonserver|torchserve|ollama|llama[.-]?cpp|\btgi\b|\btrain|sglang|nim")


def _violation(ctx: ComposeContext, node: YNode, message: str, key: bool = False) -> Violation:
    return Violation(ctx.span(node, key), message, path=node.file)


def _image(service: YNode) -> str:
    node = service.get("image")
    return node.text if node else ""


def _has_gpu_access(service: YNode) -> bool:
    devices = service.get("deploy", "resources", "reservations", "devices")
    for device in devices.items if devices else []:
        capabilities = device.get("capabilities")
        driver = device.get("driver")
        texts = [c.text for c in capabilities.items] if capabilities else []
        if "gpu" in texts or (driver is not None and driver.text == "nvidia"):
            return True
    runtime = service.get("runtime")
    return service.get("gpus") is not None or (runtime is not None and runtime.text == "nvidia")


def _is_gpu_service(ctx: ComposeContext, name: str, service: YNode) -> bool:
    if _GPU_IMAGES.search(_image(service)):
        return True
    facts = ctx.stage_facts(name)
    return facts is not None and (facts.base.gpu or facts.base.cuda is not None)


def _is_model_service(ctx: ComposeContext, name: str, service: YNode) -> bool:
    command = service.get("command")
    words = [_image(service), name] + ([command.text, *(c.text for c in command.items)] if command else [])
    text = " ".join(words)
    return _is_gpu_service(ctx, name, service) or _has_gpu_access(service) or bool(_SERVING.search(text.lower()))


@rule(
    "DA901",
    "compose-image-unpinned",
    family=FAMILY,
    severity="warning",
    summary="a service image without a tag, or :latest",
    target="compose",
    enabled=False,  # precision ledger: 11 of 20 judged not worth reading
)
def find_unpinned_service_images(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `image:` values with no tag or digest, and `:latest`, for services that do not
    build the image themselves.

    ## Why is this bad?
    `docker compose pull` then fetches whatever was pushed last: a model server or a
    database major version changes under a running deployment.

    ## Example
    ```yaml
    services:
      llm:
        image: vllm/vllm-openai:latest
    ```

    ## Use instead
    ```yaml
    services:
      llm:
        image: vllm/vllm-openai:v0.6.3
    ```
    """
    for _name, service in ctx.services.items():
        node = service.get("image")
        if node is None or service.get("build") is not None or not node.text or "$" in node.text:
            continue
        ref = parse_image_ref(node.text)
        if ref is None or ref.digest:
            continue
        if ref.tag is None or ref.tag == "latest":
            yield _violation(ctx, node, f"pin '{node.text}' to a version tag (or a digest)")


@rule(
    "DA902",
    "compose-secret-in-environment",
    family=FAMILY,
    severity="error",
    summary="a literal secret in a service's environment",
    target="compose",
    enabled=False,  # precision ledger: 3 of 3 judged not worth reading
)
def find_secrets_in_service_environment(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `environment:` entries whose name looks like a credential (`HF_TOKEN`,
    `OPENAI_API_KEY`, `POSTGRES_PASSWORD` …) with a literal value, and any value with a
    known token prefix. Values taken from `${VAR}` (the shell or an uncommitted `.env`) are fine, and
    so are the demo defaults sample stacks document (`POSTGRES_PASSWORD: postgres`,
    `minioadmin`, `<API_KEY>`, `example_123`, values under 8 characters): they are known to
    everyone, not leaked.

    ## Why is this bad?
    The compose file is committed: every clone, fork and CI log gets the credential.

    ## Example
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
        environment:
          OPENAI_API_KEY: sk-proj-abcdefghijklmnopqrstuvwx
    ```

    ## Use instead
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
        environment:
          OPENAI_API_KEY: ${OPENAI_API_KEY}
    ```
    """
    project_names = " ".join([*ctx.services, *(_image(s) for s in ctx.services.values())])
    for name, service in ctx.services.items():
        raw = _raw_environment(ctx, service)
        for key, value, node in environment_entries(service):
            if value is None:
                continue
            written = raw.get(key, value)
            if "$" in written:
                continue  # from the environment at deploy time
            credential = looks_like_secret_name(key) and _literal_secret_value(value)
            if credential and is_demo_default(value, project_names):
                credential = False
            if _TOKEN_PREFIXES.search(value) or credential:
                yield _violation(ctx, node, f"service {name}: {key} is a literal secret in a committed file; use "
                                 "${" + key + "} from an uncommitted .env, or Compose secrets:")  # fmt: skip


_PLACEHOLDER = re.compile(r"^<[^>]*>$|^x{3,}$|^your[-_]|changeme|example|password|secret|admin|dummy|unused|"
                          r"sample|demo|test", re.IGNORECASE)  # fmt: skip


def is_demo_default(value: str, names: str) -> bool:
    """A literal a sample stack documents rather than a leaked credential: a placeholder or a word
    like `example`, `password`, `minioadmin`; the name of a service or image of the project
    (`postgres`, `wordpress`, `nextcloud`); or under 8 characters. Judged on the Compose corpus, all 20 secret-named
    literals DA902 reported were such defaults."""
    plain = value.strip("'\"").lower()
    words = {w for w in re.split(r"[^a-z0-9]+", names.lower()) if len(w) >= 3}
    return len(plain) < 8 or bool(_PLACEHOLDER.search(plain)) or plain.rstrip("0123456789") in words


def _raw_environment(ctx: ComposeContext, service: YNode) -> dict[str, str]:
    """Environment values as written, before interpolation (to tell ${VAR} from literals)."""
    raw: dict[str, str] = {}
    for key, _value, node in environment_entries(service):
        text = ctx.project.texts.get(node.file, "")[node.start : node.end]
        raw[key] = text.split("=", 1)[1] if "=" in text and not text.startswith(("'", '"')) else text
    return raw


@rule(
    "DA903",
    "compose-gpu-reservation-missing",
    family=FAMILY,
    severity="warning",
    summary="a CUDA-based service without a GPU reservation",
    target="compose",
)
def find_gpu_services_without_reservation(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags services whose image is CUDA-based (nvidia/cuda, pytorch/pytorch, vLLM, TGI,
    Triton, NGC images — or a build whose Dockerfile's base is) with no
    `deploy.resources.reservations.devices` GPU entry, `gpus:` or `runtime: nvidia`.

    ## Why is this bad?
    Without a reservation Compose starts the container without GPUs: the model server
    falls back to the CPU (or crashes on `torch.cuda`), and nothing says why.

    ## Example
    ```yaml
    services:
      llm:
        image: vllm/vllm-openai:v0.6.3
    ```

    ## Use instead
    ```yaml
    services:
      llm:
        image: vllm/vllm-openai:v0.6.3
        deploy:
          resources:
            reservations:
              devices:
                - driver: nvidia
                  count: 1
                  capabilities: [gpu]
    ```
    """
    for name, service in ctx.services.items():
        if _is_gpu_service(ctx, name, service) and not _has_gpu_access(service):
            anchor = service.get("image") or service.get("build") or service
            yield _violation(ctx, anchor, f"service {name} is CUDA-based but reserves no GPU: add "
                             "deploy.resources.reservations.devices with capabilities: [gpu]")  # fmt: skip


@rule(
    "DA904",
    "compose-runtime-nvidia",
    family=FAMILY,
    severity="info",
    summary="deprecated `runtime: nvidia` instead of a device reservation",
    target="compose",
    enabled=False,  # precision ledger: 2 of 2 judged not worth reading
)
def find_nvidia_runtime(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `runtime: nvidia`, the nvidia-docker2 way of granting GPUs.

    ## Why is this bad?
    It needs the nvidia runtime registered in the daemon, gives every GPU to the
    container, and is not understood by Compose's device reservations or by Swarm.

    ## Example
    ```yaml
    services:
      trainer:
        image: pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
        runtime: nvidia
    ```

    ## Use instead
    ```yaml
    services:
      trainer:
        image: pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
        deploy:
          resources:
            reservations:
              devices:
                - driver: nvidia
                  count: 1
                  capabilities: [gpu]
    ```
    """
    for name, service in ctx.services.items():
        runtime = service.get("runtime")
        if runtime is not None and runtime.text == "nvidia":
            yield _violation(ctx, runtime, f"service {name}: runtime: nvidia is the legacy nvidia-docker2 way; "
                             "reserve GPUs with deploy.resources.reservations.devices")  # fmt: skip


@rule(
    "DA905",
    "compose-gpu-count-all",
    family=FAMILY,
    severity="info",
    summary="`count: all` GPUs, or NVIDIA_VISIBLE_DEVICES=all, for a service",
    target="compose",
    enabled=False,  # precision ledger: 5 of 5 judged not worth reading
)
def find_all_gpus(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes GPU reservations with `count: all` and `NVIDIA_VISIBLE_DEVICES=all` in a
    service's environment.

    ## Why is this bad?
    One inference server rarely needs every GPU of the host; taking all of them
    blocks the other services (and a second replica) from starting on that host.

    ## Example
    ```yaml
    services:
      llm:
        image: ghcr.io/huggingface/text-generation-inference:2.4.0
        deploy:
          resources:
            reservations:
              devices:
                - driver: nvidia
                  count: all
                  capabilities: [gpu]
    ```

    ## Use instead
    ```yaml
    services:
      llm:
        image: ghcr.io/huggingface/text-generation-inference:2.4.0
        deploy:
          resources:
            reservations:
              devices:
                - driver: nvidia
                  count: 1
                  capabilities: [gpu]
    ```
    """
    for name, service in ctx.services.items():
        devices = service.get("deploy", "resources", "reservations", "devices")
        for device in devices.items if devices else []:
            count = device.get("count")
            if count is not None and count.text == "all":
                yield _violation(ctx, count, f"service {name} reserves every GPU of the host: set count: 1 (or "
                                 "device_ids) unless it really shards over all of them")  # fmt: skip
        for key, value, node in environment_entries(service):
            if key == "NVIDIA_VISIBLE_DEVICES" and value == "all":
                yield _violation(ctx, node, f"service {name}: NVIDIA_VISIBLE_DEVICES=all exposes every GPU; let the "
                                 "device reservation decide")  # fmt: skip


@rule(
    "DA906",
    "compose-no-memory-limit",
    family=FAMILY,
    severity="warning",
    summary="a model-serving or training service without a memory limit",
    target="compose",
    enabled=False,  # precision ledger: 19 of 20 judged not worth reading
)
def find_services_without_memory_limit(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags services that serve or train models (GPU services; vLLM, TGI, Triton,
    TorchServe, Ollama, llama.cpp images or commands) with neither
    `deploy.resources.limits.memory` nor `mem_limit`.

    ## Why is this bad?
    Loading a model reads gigabytes into host memory; without a limit one service can
    push the whole host into swap or the kernel's OOM killer, taking the database with
    it.

    ## Example
    ```yaml
    services:
      ollama:
        image: ollama/ollama:0.4.1
    ```

    ## Use instead
    ```yaml
    services:
      ollama:
        image: ollama/ollama:0.4.1
        deploy:
          resources:
            limits:
              memory: 24g
    ```
    """
    for name, service in ctx.services.items():
        if not _is_model_service(ctx, name, service):
            continue
        if service.get("deploy", "resources", "limits", "memory") is None and service.get("mem_limit") is None:
            anchor = service.get("image") or service.get("build") or service
            yield _violation(ctx, anchor, f"service {name} loads models but has no memory limit: set "
                             "deploy.resources.limits.memory")  # fmt: skip


def _depends_on(service: YNode) -> Iterator[tuple[str, YNode, str | None]]:
    """(service it depends on, node, condition or None for the short form)."""
    node = service.get("depends_on")
    if node is None:
        return
    if isinstance(node.value, dict):
        for other, detail in node.mapping.items():
            condition = detail.get("condition")
            yield other, detail, condition.text if condition else None
    else:
        for item in node.items:
            yield item.text, item, None


def _has_healthcheck(ctx: ComposeContext, name: str, service: YNode) -> bool | None:
    check = service.get("healthcheck")
    if check is not None:
        disabled = check.get("disable")
        return not (disabled is not None and disabled.truthy())
    build = ctx.builds.get(name)
    if build is not None and build.result is not None and build.result.dockerfile is not None:
        return any(i.name == "HEALTHCHECK" for i in build.result.dockerfile.instructions)
    return None  # an image may define one: unknown


@rule(
    "DA907",
    "compose-dependency-health",
    family=FAMILY,
    severity="warning",
    summary="a service that starts as soon as its database has started, not when it is ready, and never retries",
    target="compose",
    enabled=False,  # precision ledger: 8 of 12 judged not worth reading
)
def find_unhealthy_dependencies(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a `depends_on` on a database or queue (Postgres, MySQL, MariaDB, MongoDB,
    Redis, RabbitMQ, Milvus, Qdrant, MinIO …) that waits only for the container to start
    — no `condition: service_healthy`, or no healthcheck to wait for — from a service
    with no `restart:` policy to recover.

    UIs, proxies and dashboards that call their dependency per request, services that
    restart until it answers, and jobs waited for with `service_completed_successfully`
    are left alone: there the start order is enough.

    ## Why is this bad?
    `depends_on` alone only orders container starts: on a first start the API connects
    while the database is still initialising, fails, and — with no restart policy —
    stays down.

    ## Example
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
        depends_on: [db]
      db:
        image: postgres:16.4
    ```

    ## Use instead
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
        depends_on:
          db:
            condition: service_healthy
      db:
        image: postgres:16.4
        healthcheck:
          test: ["CMD", "pg_isready", "-U", "postgres"]
    ```
    """
    for name, service in ctx.services.items():
        if service.get("restart") is not None or service.get("deploy", "restart_policy") is not None:
            continue  # it retries until the dependency answers
        for other, node, condition in _depends_on(service):
            store = ctx.services.get(other)
            if store is None or condition in ("service_healthy", "service_completed_successfully"):
                continue
            if not _known_without_healthcheck(store):
                continue  # not a database or queue: a per-request dependency, start order is enough
            if _has_healthcheck(ctx, other, store):
                reason = f"{other} has a healthcheck but {name} does not wait for it (condition: service_healthy)"
            else:
                reason = f"{other} has no healthcheck to wait for"
            yield _violation(ctx, node, f"service {name} starts as soon as {other} has started, not when it accepts "
                             f"connections, and has no restart policy: {reason}")  # fmt: skip


_NO_HEALTHCHECK_IMAGES = re.compile(r"^(?:docker\.io/)?(?:library/)?(?:postgres|redis|mysql|mariadb|mongo|rabbitmq|"
                                    r"memcached|minio/minio|qdrant/qdrant|milvusdb/milvus)(?::|@|$)")  # fmt: skip


def _known_without_healthcheck(service: YNode) -> bool:
    """A database or queue from an official image: they ship no HEALTHCHECK and take a while to accept
    connections on a first start."""
    return bool(_NO_HEALTHCHECK_IMAGES.match(_image(service)))


@rule(
    "DA908",
    "compose-bind-over-app",
    family=FAMILY,
    severity="info",
    summary="a bind mount over the directory the image's code lives in",
    target="compose",
)
def find_binds_over_application(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes bind mounts (`./src:/app`, or `type: bind`) whose target is the working
    directory of the image the service builds (its Dockerfile's last `WORKDIR`).

    ## Why is this bad?
    The mount hides the code the image was built with: what runs is the checkout on the
    host, and the tested image is not what serves. Fine for a development override
    file; surprising in the deployment one.

    ## Example
    ```yaml
    services:
      api:
        build:
          context: .
          dockerfile_inline: |
            FROM python:3.12-slim
            WORKDIR /app
        volumes:
          - ./:/app
    ```

    ## Use instead
    ```yaml
    services:
      api:
        build:
          context: .
          dockerfile_inline: |
            FROM python:3.12-slim
            WORKDIR /app
        volumes:
          - model-cache:/root/.cache/huggingface
    volumes:
      model-cache: {}
    ```
    """
    for name, service in ctx.services.items():
        build = ctx.builds.get(name)
        workdir = _workdir(build)
        if workdir is None:
            continue
        volumes = service.get("volumes")
        for item in volumes.items if volumes else []:
            source, target = _bind(item)
            if source and target and target.rstrip("/") == workdir.rstrip("/"):
                yield _violation(ctx, item, f"service {name}: {source} is mounted over {target}, where the image "
                                 "keeps its code: the container runs the host's files, not the image's")  # fmt: skip


def _workdir(build) -> str | None:
    if build is None or build.result is None or build.result.dockerfile is None:
        return None
    workdirs = [i.args[0].value for i in build.result.dockerfile.instructions if i.name == "WORKDIR" and i.args]
    return workdirs[-1] if workdirs and workdirs[-1].startswith("/") else None


def _bind(item: YNode) -> tuple[str | None, str | None]:
    if isinstance(item.value, str):
        parts = item.text.split(":")
        if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
            return parts[0], parts[1]
        return None, None
    kind = item.get("type")
    source, target = item.get("source"), item.get("target")
    if kind is not None and kind.text == "bind" and source is not None and target is not None:
        return source.text, target.text
    return None, None


@rule(
    "DA909",
    "compose-host-access",
    family=FAMILY,
    severity="error",
    summary="privileged: true, network_mode: host, or the Docker socket mounted",
    target="compose",
    enabled=False,  # precision ledger: 12 of 13 judged not worth reading
)
def find_host_access(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `privileged: true`, `network_mode: host`, `pid: host` and a mount of
    `/var/run/docker.sock`.

    ## Why is this bad?
    Each one hands the container the host: privileged mode and the Docker socket are
    root on the host; host networking exposes every port the container opens and
    reaches services bound to localhost.

    ## Example
    ```yaml
    services:
      worker:
        image: ghcr.io/org/worker:2.0.1
        privileged: true
        volumes:
          - /var/run/docker.sock:/var/run/docker.sock
    ```

    ## Use instead
    ```yaml
    services:
      worker:
        image: ghcr.io/org/worker:2.0.1
    ```
    """
    for name, service in ctx.services.items():
        privileged = service.get("privileged")
        if privileged is not None and privileged.truthy():
            yield _violation(ctx, privileged, f"service {name} runs privileged: root on the host")
        for key in ("network_mode", "pid"):
            node = service.get(key)
            if node is not None and node.text == "host":
                yield _violation(ctx, node, f"service {name}: {key}: host shares the host's {key.split('_')[0]} "
                                 "namespace")  # fmt: skip
        volumes = service.get("volumes")
        for item in volumes.items if volumes else []:
            text = item.text or (item.get("source").text if item.get("source") else "")
            if "docker.sock" in text:
                yield _violation(ctx, item, f"service {name} mounts the Docker socket: it can start privileged "
                                 "containers, i.e. it is root on the host")  # fmt: skip


_SENSITIVE_PORTS = {"8888": "Jupyter", "6006": "TensorBoard", "5432": "Postgres", "3306": "MySQL", "6379": "Redis",
                    "27017": "MongoDB", "9200": "Elasticsearch", "8265": "the Ray dashboard", "5672": "RabbitMQ",
                    "11211": "memcached", "19530": "Milvus", "6333": "Qdrant"}  # fmt: skip


def _published(item: YNode) -> tuple[str | None, str | None]:
    """(host ip or None, container port) of a ports entry."""
    if isinstance(item.value, str) or item.value is None:
        text = item.text.split("/")[0]
        parts = text.rsplit(":", 2)
        if len(parts) == 3:
            return parts[0].strip("[]") or None, parts[2]
        if len(parts) == 2:
            return None, parts[1]
        return None, None  # "8888" alone: a random host port on all interfaces, rarely what is meant
    target, host_ip = item.get("target"), item.get("host_ip")
    published = item.get("published")
    if target is None or published is None:
        return None, None
    return (host_ip.text if host_ip else None), target.text


def _localhost_fix(ctx: ComposeContext, item: YNode, host_ip: str | None) -> Fix | None:
    """``"8888:8888"`` → ``"127.0.0.1:8888:8888"`` (short syntax only; unsafe: remote clients lose access)."""
    if not isinstance(item.value, str):
        return None
    raw = ctx.project.texts.get(item.file, "")[item.start : item.end]
    quote = 1 if raw[:1] in "'\"" else 0
    if host_ip is None and raw[quote:].startswith(item.text):
        at = item.start + quote
        return Fix("bind to 127.0.0.1", (Edit(Span(at, at), "127.0.0.1:"),), safe=False)
    if host_ip == "0.0.0.0" and raw[quote:].startswith("0.0.0.0:"):
        at = item.start + quote
        return Fix("bind to 127.0.0.1", (Edit(Span(at, at + len("0.0.0.0")), "127.0.0.1"),), safe=False)
    return None


@rule(
    "DA910",
    "compose-port-on-all-interfaces",
    family=FAMILY,
    severity="warning",
    summary="Jupyter, TensorBoard or database ports published on all interfaces",
    target="compose",
    fix="unsafe",
)
def find_sensitive_public_ports(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `ports:` that publish Jupyter (8888), TensorBoard (6006), the Ray dashboard,
    or database and queue ports (Postgres, MySQL, Redis, MongoDB, Elasticsearch,
    RabbitMQ, Milvus, Qdrant …) without a host address, i.e. on every interface.

    ## Why is this bad?
    Docker's published ports bypass host firewalls such as ufw: `"5432:5432"` puts the
    database on the internet on a cloud VM. These services are meant for the local
    machine or the Compose network.

    ## Example
    ```yaml
    services:
      notebook:
        image: quay.io/jupyter/pytorch-notebook:2024-10-02
        ports:
          - "8888:8888"
    ```

    ## Use instead
    ```yaml
    services:
      notebook:
        image: quay.io/jupyter/pytorch-notebook:2024-10-02
        ports:
          - "127.0.0.1:8888:8888"
    ```
    """
    for name, service in ctx.services.items():
        ports = service.get("ports")
        if _is_web_proxy(_image(service)):
            continue  # nginx on 8888 is whatever nginx serves there, not Jupyter
        for item in ports.items if ports else []:
            host_ip, container = _published(item)
            if container in _SENSITIVE_PORTS and host_ip in (None, "0.0.0.0", "::"):
                violation = _violation(ctx, item, f"service {name} publishes {_SENSITIVE_PORTS[container]} (port "
                                       f"{container}) on every interface: bind it to 127.0.0.1 or drop the port")  # fmt: skip
                yield replace(violation, fix=_localhost_fix(ctx, item, host_ip))


_WEB_PROXIES = ("nginx", "traefik", "caddy", "haproxy", "envoy", "httpd", "openresty")


def _is_web_proxy(image: str) -> bool:
    ref = parse_image_ref(image) if image and "$" not in image else None
    return ref is not None and ref.name.rsplit("/", 1)[-1].split("-")[0] in _WEB_PROXIES


@rule(
    "DA911",
    "compose-version-obsolete",
    family=FAMILY,
    severity="style",
    summary="the obsolete top-level `version:` key",
    target="compose",
    fix="safe",
    enabled=False,  # precision ledger: 20 of 20 judged not worth reading
)
def find_obsolete_version_key(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes the top-level `version:` key.

    ## Why is this bad?
    The Compose specification ignores it and `docker compose` warns that it is
    obsolete; it suggests a file-format choice that no longer exists.

    ## Example
    ```yaml
    version: "3.8"
    services:
      api:
        image: ghcr.io/org/api:1.4.2
    ```

    ## Use instead
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
    ```
    """
    node = ctx.project.root.get("version")
    if node is not None:
        violation = _violation(ctx, node, "the top-level version: is obsolete and ignored by docker compose", key=True)
        text = ctx.project.texts.get(node.file, "")
        key_start = node.key_start if node.key_start is not None else node.start
        start = text.rfind("\n", 0, key_start) + 1
        end = text.find("\n", node.end)
        end = len(text) if end == -1 else end + 1
        if text[start:key_start].strip() == "":  # the key starts its line
            violation = replace(violation, fix=Fix("remove version:", (Edit(Span(start, end), ""),)))
        yield violation


@rule(
    "DA912",
    "compose-env-file-secrets",
    family=FAMILY,
    severity="error",
    summary="a committed env_file that contains secrets",
    target="compose",
)
def find_committed_env_file_secrets(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    Reads the files services name in `env_file:` and flags those tracked by git that
    hold credential-like variables (`*_TOKEN`, `*_PASSWORD`, `*_API_KEY`, known token
    prefixes) with literal values.

    ## Why is this bad?
    An env file is the right place for secrets only while it stays out of the
    repository; committed, it is a plain-text credential in every clone.

    ## Example
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
        env_file: [secrets.env]
    ```

    ## Use instead
    ```yaml
    services:
      api:
        image: ghcr.io/org/api:1.4.2
        env_file: [.env]
    ```
    """
    for name, service in ctx.services.items():
        for entry, relative in env_file_entries(service):
            try:  # outside the project or not a regular file: not read (the loader said so)
                path = project_path(relative, Path(entry.file).parent, ctx.project.folder)
                values = read_env_file(path) if path.is_file() and _tracked_by_git(path) else {}
            except (PathRefused, InputError):
                continue
            secrets = [k for k, v in values.items() if (looks_like_secret_name(k) and _literal_secret_value(v)
                       and "$" not in v) or _TOKEN_PREFIXES.search(v)]  # fmt: skip
            if secrets:
                yield _violation(ctx, entry, f"service {name}: {shown_path(relative)} is committed and holds "
                                 f"{', '.join(secrets[:3])}: keep env files with secrets out of git")  # fmt: skip


def _tracked_by_git(path: Path) -> bool:
    """Whether ``path`` is committed in the repository that holds it: the nearest folder up with a
    ``.git``.  Git is asked from that folder, never from the file's own: a pull request can commit the
    files of a bare repository (HEAD, config, objects/, refs/) next to an env file, git run there took
    them for the repository, found the env file untracked, and the rule was silenced.  No fsmonitor
    command and no implicitly found bare repository either way."""
    import subprocess  # only for the rare runs that need it: a pre-commit run saves the import

    top = next((folder for folder in (path.parent, *path.parent.parents) if (folder / ".git").exists()), None)
    if top is None:
        return False
    command = ["git", "-c", "core.fsmonitor=", "-c", "safe.bareRepository=explicit", "-C", str(top), "ls-files",
               "--error-unmatch", "--", path.relative_to(top).as_posix()]  # fmt: skip
    try:
        completed = subprocess.run(command, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return completed.returncode == 0
