"""DA910–DA913 — Compose exposure: sensitive ports published on all interfaces, the obsolete
``version:`` key, committed env files holding secrets (git asked through ``ctx.resources``), and
image-only services whose framework tag has no kernels for the configured GPU fleet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.facts.fleet import base_verdicts, fleet_of, uncovered_message
from dockaudit.facts.imageref import parse_image_ref
from dockaudit.facts.secrets import contains_access_token, could_be_credential, looks_like_secret_name
from dockaudit.files import InputError
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.records import replace
from dockaudit.syntax.source import Span

# dockaudit.compose is imported by the checks that run on Compose files only: a Dockerfile run never
# loads the Compose reader (its YAML guard, patterns and dataclasses).
if TYPE_CHECKING:
    from dockaudit.compose.project import YNode
    from dockaudit.compose.lint import ComposeContext
    from dockaudit.facts.resources import Resources

FAMILY = "compose"


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


_WEB_PROXIES = ("nginx", "traefik", "caddy", "haproxy", "envoy", "httpd", "openresty")


def _is_web_proxy(image: str) -> bool:
    ref = parse_image_ref(image) if image and "$" not in image else None
    return ref is not None and ref.name.rsplit("/", 1)[-1].split("-")[0] in _WEB_PROXIES


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
    from dockaudit.compose.project import service_image
    for name, service in ctx.services.items():
        ports = service.get("ports")
        if _is_web_proxy(service_image(service)):
            continue  # nginx on 8888 is whatever nginx serves there, not Jupyter
        for item in ports.items if ports else []:
            host_ip, container = _published(item)
            if container in _SENSITIVE_PORTS and host_ip in (None, "0.0.0.0", "::"):
                violation = ctx.finding(item, f"service {name} publishes {_SENSITIVE_PORTS[container]} (port "
                                       f"{container}) on every interface: bind it to 127.0.0.1 or drop the port")  # fmt: skip
                yield replace(violation, fix=_localhost_fix(ctx, item, host_ip))


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
        violation = ctx.finding(node, "the top-level version: is obsolete and ignored by docker compose", key=True)
        text = ctx.project.texts.get(node.file, "")
        key_start = node.key_start if node.key_start is not None else node.start
        start = text.rfind("\n", 0, key_start) + 1
        end = text.find("\n", node.end)
        end = len(text) if end == -1 else end + 1
        if text[start:key_start].strip() == "":  # the key starts its line
            violation = replace(violation, fix=Fix("remove version:", (Edit(Span(start, end), ""),)))
        yield violation


def _tracked_by_git(resources: Resources, path: Path) -> bool:
    """Whether ``path`` is committed in the repository that holds it: the nearest folder up with a
    ``.git``.  Git is asked from that folder, never from the file's own: a pull request can commit the
    files of a bare repository (HEAD, config, objects/, refs/) next to an env file, git run there took
    them for the repository, found the env file untracked, and the rule was silenced.  No fsmonitor
    command and no implicitly found bare repository either way."""
    top = next((folder for folder in (path.parent, *path.parent.parents) if (folder / ".git").exists()), None)
    if top is None:
        return False
    command = ["git", "-c", "core.fsmonitor=", "-c", "safe.bareRepository=explicit", "-C", str(top), "ls-files",
               "--error-unmatch", "--", path.relative_to(top).as_posix()]  # fmt: skip
    run = resources.run_tool(command, None, 10)
    return run is not None and run.returncode == 0


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
    from dockaudit.compose.project import PathRefused, env_file_entries, project_path, read_env_file, shown_path
    for name, service in ctx.services.items():
        for entry, relative in env_file_entries(service):
            try:  # outside the project or not a regular file: not read (the loader said so)
                path = project_path(relative, Path(entry.file).parent, ctx.project.folder)
                values = read_env_file(path) if path.is_file() and _tracked_by_git(ctx.resources, path) else {}
            except (PathRefused, InputError):
                continue
            secrets = [k for k, v in values.items() if (looks_like_secret_name(k) and could_be_credential(v)
                       and "$" not in v) or contains_access_token(v)]  # fmt: skip
            if secrets:
                yield ctx.finding(entry, f"service {name}: {shown_path(relative)} is committed and holds "
                                 f"{', '.join(secrets[:3])}: keep env files with secrets out of git")  # fmt: skip


@rule(
    "DA913",
    "compose-gpu-arch-not-covered",
    family=FAMILY,
    severity="error",
    summary="an image-only service's framework tag has no kernels for a GPU of the configured fleet",
    target="compose",
    enabled=False,  # new: not yet in the precision ledger (DA540 judges the same facts in Dockerfiles)
)
def find_service_images_missing_fleet_gpus(ctx: ComposeContext) -> Iterator[Violation]:
    """
    ## What it does
    With a fleet configured (`gpus = ["H100", "L4", "RTX 4090", "sm_75"]`), reads the
    `image:` of each service that does not build — a `pytorch/pytorch:<torch>-cuda<X>-…`
    tag, an NGC `nvcr.io/nvidia/<framework>:YY.MM-py3` release, a
    `tensorflow/tensorflow:<ver>-gpu` tag — and checks the build it names against the
    fleet, as DA540 does for a Dockerfile's `FROM` (services that build are judged
    through their Dockerfiles). Facts the tables hold only by inference give a warning.
    Silent without `gpus`.

    ## Why is this bad?
    The service starts, then the first kernel launch on that GPU fails with "CUDA
    error: no kernel image is available for execution on the device".

    ## Example
    ```yaml
    # with gpus = ["H100", "RTX 4090", "P100"]
    services:
      trainer:
        image: nvcr.io/nvidia/pytorch:25.01-py3
    ```

    ## Use instead
    ```yaml
    # with gpus = ["H100", "RTX 4090", "P100"]
    services:
      trainer:
        image: nvcr.io/nvidia/pytorch:20.12-py3
    ```
    """
    fleet = fleet_of(ctx.options, ctx.knowledge)
    if not fleet:
        return
    for name, service in ctx.services.items():
        facts = ctx.image_facts(name)
        if facts is None:
            continue
        for named, verdict in base_verdicts(facts.base, fleet, ctx.knowledge):
            yield replace(ctx.finding(service.get("image"), f"service {name}: {uncovered_message(named, verdict)}"),
                          severity=None if verdict.verified else Severity.WARNING)  # fmt: skip
