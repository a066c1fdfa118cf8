"""DA901–DA909 — Compose services: how AI services are deployed together (pinned images, secrets in
the environment, GPU reservations and counts, memory limits, dependency health, binds over the code,
host access).  They read a ``ComposeContext``; built services' Dockerfiles come with their ML facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dockaudit.compose.project import YNode, environment_entries, service_image
from dockaudit.facts.imageref import parse_image_ref
from dockaudit.facts.secrets import contains_access_token, could_be_credential, looks_like_secret_name
from dockaudit.model import Violation
from dockaudit.plugin import rule

if TYPE_CHECKING:  # only an annotation here: importing it would load the Compose linter on every run
    from dockaudit.compose.lint import ComposeContext

FAMILY = "compose"


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
            yield ctx.finding(node, f"pin '{node.text}' to a version tag (or a digest)")


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
    project_names = " ".join([*ctx.services, *(service_image(s) for s in ctx.services.values())])
    for name, service in ctx.services.items():
        raw = _raw_environment(ctx, service)
        for key, value, node in environment_entries(service):
            if value is None:
                continue
            written = raw.get(key, value)
            if "$" in written:
                continue  # from the environment at deploy time
            credential = looks_like_secret_name(key) and could_be_credential(value)
            if credential and is_demo_default(value, project_names):
                credential = False
            if contains_access_token(value) or credential:
                yield ctx.finding(node, f"service {name}: {key} is a literal secret in a committed file; use "
                                 "${" + key + "} from an uncommitted .env, or Compose secrets:")  # fmt: skip


_GPU_IMAGES = re.compile(
    r"(?:^|/)(?:nvidia/cuda|pytorch/pytorch|vllm/vllm-openai|text-generation-inference|tritonserver|"
    r"nvidia/pytorch|nvidia/tensorflow|tensorflow/tensorflow:[^ ]*gpu|nvcr\.io/nim/)",  # ollama runs on CPUs too
)


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
    if _GPU_IMAGES.search(service_image(service)):
        return True
    facts = ctx.stage_facts(name)
    return facts is not None and (facts.base.gpu or facts.base.cuda is not None)


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
            yield ctx.finding(anchor, f"service {name} is CUDA-based but reserves no GPU: add "
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
            yield ctx.finding(runtime, f"service {name}: runtime: nvidia is the legacy nvidia-docker2 way; "
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
                yield ctx.finding(count, f"service {name} reserves every GPU of the host: set count: 1 (or "
                                 "device_ids) unless it really shards over all of them")  # fmt: skip
        for key, value, node in environment_entries(service):
            if key == "NVIDIA_VISIBLE_DEVICES" and value == "all":
                yield ctx.finding(node, f"service {name}: NVIDIA_VISIBLE_DEVICES=all exposes every GPU; let the "
                                 "device reservation decide")  # fmt: skip


_SERVING = re.compile(r"vllm|text-generation|tritonserver|torchserve|ollama|llama[.-]?cpp|\btgi\b|\btrain|sglang|nim")


def _is_model_service(ctx: ComposeContext, name: str, service: YNode) -> bool:
    command = service.get("command")
    words = [service_image(service), name] + ([command.text, *(c.text for c in command.items)] if command else [])
    text = " ".join(words)
    return _is_gpu_service(ctx, name, service) or _has_gpu_access(service) or bool(_SERVING.search(text.lower()))


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
            yield ctx.finding(anchor, f"service {name} loads models but has no memory limit: set "
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


_NO_HEALTHCHECK_IMAGES = re.compile(r"^(?:docker\.io/)?(?:library/)?(?:postgres|redis|mysql|mariadb|mongo|rabbitmq|"
                                    r"memcached|minio/minio|qdrant/qdrant|milvusdb/milvus)(?::|@|$)")  # fmt: skip


def _known_without_healthcheck(service: YNode) -> bool:
    """A database or queue from an official image: they ship no HEALTHCHECK and take a while to accept
    connections on a first start."""
    return bool(_NO_HEALTHCHECK_IMAGES.match(service_image(service)))


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
            yield ctx.finding(node, f"service {name} starts as soon as {other} has started, not when it accepts "
                             f"connections, and has no restart policy: {reason}")  # fmt: skip


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
                yield ctx.finding(item, f"service {name}: {source} is mounted over {target}, where the image "
                                 "keeps its code: the container runs the host's files, not the image's")  # fmt: skip


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
            yield ctx.finding(privileged, f"service {name} runs privileged: root on the host")
        for key in ("network_mode", "pid"):
            node = service.get(key)
            if node is not None and node.text == "host":
                yield ctx.finding(node, f"service {name}: {key}: host shares the host's {key.split('_')[0]} "
                                 "namespace")  # fmt: skip
        volumes = service.get("volumes")
        for item in volumes.items if volumes else []:
            text = item.text or (item.get("source").text if item.get("source") else "")
            if "docker.sock" in text:
                yield ctx.finding(item, f"service {name} mounts the Docker socket: it can start privileged "
                                 "containers, i.e. it is root on the host")  # fmt: skip
