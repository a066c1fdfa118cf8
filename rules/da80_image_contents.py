"""DA801–DA809 — built images: what really shipped (the config, the layers, the final filesystem):
root, secrets, caches, wasted and over-budget bytes, setuid files, CUDA mismatches, a missing
HEALTHCHECK and build tools.  They read an ``ImageContext``, never a Dockerfile.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dockaudit.facts.secrets import contains_access_token, could_be_credential, looks_like_secret_name
from dockaudit.image.frameworks import wheel_versions
from dockaudit.linting.wording import mebibytes
from dockaudit.model import Violation
from dockaudit.plugin import rule

if TYPE_CHECKING:  # only an annotation here: importing it would load the image readers on every run
    from dockaudit.image.audit import ImageContext

FAMILY = "image"


@rule(
    "DA801",
    "image-runs-as-root",
    family=FAMILY,
    severity="warning",
    summary="the image's config runs as root (User empty, root, 0 or 0:0)",
    target="image",
)
def find_root_image(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Reads the image config's `User`: empty, `root`, `0`, `0:0` or `root:…` means the
    container's processes run as root unless the runtime overrides it.

    ## Why is this bad?
    The Dockerfile may look fine (a USER in a stage that is not the final one, a base
    that resets it); the config is what the runtime uses.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    USER 10001
    ```
    """
    user = str(ctx.config.get("User") or "")
    if user.split(":")[0] in ("", "root", "0"):
        yield Violation(None, f"the image runs as root (User is {user or 'empty'}): set a non-root USER")


_BUILD_ARG_LEAK = re.compile(r"^\|\d+ ((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s)+)")


_SECRET_PATHS = re.compile(
    r"(?:^|/)(?:\.env(?:\.(?!example$|sample$|template$)[\w.-]+)?|id_(?:rsa|dsa|ecdsa|ed25519)|deploy_key|[^/]*\.pem"
    r"|\.netrc|\.pypirc|\.git-credentials|\.aws/credentials|\.kube/config|\.docker/config\.json"
    r"|\.cache/huggingface/(?:stored_)?token|\.git/config)$"
)


@rule(
    "DA802",
    "image-secret",
    family=FAMILY,
    severity="error",
    summary="credentials in the config (Env, Labels), in history (build args), or as files in any layer",
    target="image",
)
def find_image_secrets(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags credential-like Env and Label values, build arguments recorded in the history
    (`|1 WANDB_API_KEY=… /bin/sh -c …`), and credential files (`.env`, `id_rsa`,
    `deploy_key`, `.netrc`, `.aws/credentials`, the Hugging Face token, `.git/`) in any
    layer — including files a later layer deleted, which stay readable in the lower
    layer.

    ## Why is this bad?
    Anyone who can pull the image can read every layer and the whole config:
    `docker history --no-trunc` shows build args, and deleting a file does not remove it.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    ARG HF_TOKEN
    RUN echo "$HF_TOKEN" > /root/.cache/huggingface/token
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN --mount=type=secret,id=hf_token,env=HF_TOKEN python -c "print('no token in a layer')"
    ```
    """
    for item in ctx.config.get("Env") or []:
        key, _, value = str(item).partition("=")
        if contains_access_token(value) or (looks_like_secret_name(key) and could_be_credential(value)):
            yield Violation(None, f"Env {key} holds a credential in the image config")
    for key, value in (ctx.config.get("Labels") or {}).items():
        if contains_access_token(str(value)) or (looks_like_secret_name(key) and could_be_credential(str(value))):
            yield Violation(None, f"label {key} holds a credential in the image config")
    for step, entry in enumerate(ctx.image.history, start=1):
        leak = _BUILD_ARG_LEAK.match(str(entry.get("created_by", "")))
        if not leak:
            continue
        for pair in leak.group(1).split():
            key, _, value = pair.partition("=")
            if looks_like_secret_name(key) and value or contains_access_token(value):
                yield Violation(
                    None,
                    f"history step {step} records build argument {key}: anyone can read it with "
                    "docker history; use RUN --mount=type=secret",
                )
    removed = {(e.path, e.layer) for e in ctx.fs.removed}
    seen: set[str] = set()
    for entry in ctx.entries:
        if entry.kind != "file" or entry.path in seen or not _SECRET_PATHS.search("/" + entry.path):
            continue
        seen.add(entry.path)
        deleted = (entry.path, entry.layer) in removed
        yield Violation(
            None,
            f"/{entry.path} (layer {entry.layer + 1}) looks like a credential file"
            + (", deleted later but still readable in that layer" if deleted else ""),
            layer=entry.layer,
        )


_CACHES = {
    "apt package lists": re.compile(r"^var/lib/apt/lists/[^/]+$"),
    "apt archives": re.compile(r"^var/cache/apt/archives/.+\.deb$"),
    "pip cache": re.compile(r"^(?:root|home/[^/]+)/\.cache/pip/"),
    "uv cache": re.compile(r"^(?:root|home/[^/]+)/\.cache/uv/"),
    "conda packages": re.compile(r"^(?:opt/conda|opt/miniconda3|root/miniconda3)/pkgs/.+\.(?:tar\.bz2|conda)$"),
    "npm cache": re.compile(r"^(?:root|home/[^/]+)/\.npm/_cacache/"),
    "Hugging Face cache": re.compile(r"^(?:root|home/[^/]+)/\.cache/huggingface/(?:hub|transformers)/"),
    "torch hub cache": re.compile(r"^(?:root|home/[^/]+)/\.cache/torch/"),
}


_MIN_CACHE = 4 * 1024  # below this a cache directory is noise


@rule(
    "DA803",
    "image-package-cache",
    family=FAMILY,
    severity="warning",
    summary="package and model caches left in the final filesystem, with their bytes",
    target="image",
)
def find_image_caches(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Sums the files left in the final filesystem under apt's lists and archives, the
    pip and uv caches, conda's `pkgs`, npm's cache and the Hugging Face and torch hub
    caches, and reports each cache with its size.

    ## Why is this bad?
    Caches are downloaded once more by every pull of the image and are never used at
    run time; the Dockerfile rules can only guess at them, the image shows the bytes.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install torch==2.5.1
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.5.1
    ```
    """
    totals: dict[str, int] = defaultdict(int)
    for path, entry in ctx.fs.files.items():
        for name, pattern in _CACHES.items():
            if entry.kind == "file" and pattern.search(path):
                totals[name] += entry.size
    for name, size in sorted(totals.items(), key=lambda kv: -kv[1]):
        if size >= _MIN_CACHE:
            yield Violation(None, f"{name}: {mebibytes(size)} left in the image")


_MIN_WASTE = 64 * 1024


@rule(
    "DA804",
    "image-wasted-space",
    family=FAMILY,
    severity="warning",
    summary="bytes added in one layer and removed or replaced in a later one",
    target="image",
)
def find_wasted_space(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Counts the bytes a layer carries that a later layer deletes (a whiteout) or replaces
    (the same path written again, e.g. by `chmod`), each hidden copy once, and names the
    worst paths with the history step that created them.

    ## Why is this bad?
    Layers are additive: a deleted file still ships in its layer. The fix is to create
    and delete in the same RUN, or to build in a stage that is not shipped.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY torch-2.5.1.whl /tmp/
    RUN pip install --no-cache-dir /tmp/torch-2.5.1.whl
    RUN rm /tmp/torch-2.5.1.whl
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN --mount=type=bind,source=torch-2.5.1.whl,target=/tmp/torch-2.5.1.whl pip install --no-cache-dir /tmp/torch-2.5.1.whl
    ```
    """
    total = sum(w.size for w in ctx.fs.waste)
    if total < _MIN_WASTE:
        return
    worst = sorted(ctx.fs.waste, key=lambda w: -w.size)[:5]
    details = "; ".join(
        f"/{w.path} {mebibytes(w.size)} (layer {w.layer + 1}: {ctx.history_for_layer(w.layer)[:60] or '?'})"
        for w in worst
    )
    yield Violation(None, f"{mebibytes(total)} wasted in lower layers: {details}", layer=worst[0].layer)


_MB = 1024 * 1024


@rule(
    "DA805",
    "image-size-budget",
    family=FAMILY,
    severity="warning",
    summary="the image or one layer is larger than the configured budget",
    target="image",
)
def find_size_budget_overruns(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    With `--max-image-size` / `--max-layer-size` (MiB, or `max-image-size` / `max-layer-size`
    in the config), flags an image whose layers add up to more, and each layer that alone is
    larger. Silent without a budget.

    ## Why is this bad?
    Image size is pull time on every node and cold-start latency for autoscaled
    inference; a budget in CI catches the commit that doubled it.

    ## Example
    ```dockerfile
    # with --max-image-size 1
    FROM python:3.12
    ```

    ## Use instead
    ```dockerfile
    # with --max-image-size 1
    FROM scratch
    ```
    """
    budget = ctx.options.image_budget
    if budget is None:
        return
    total = sum(ctx.fs.layer_sizes)
    if budget[0] is not None and total > budget[0] * _MB:
        yield Violation(None, f"the image is {mebibytes(total)}, over the budget of {budget[0]} MiB")
    for index, size in enumerate(ctx.fs.layer_sizes):
        if budget[1] is not None and size > budget[1] * _MB:
            yield Violation(
                None,
                f"layer {index + 1} is {mebibytes(size)}, over the layer budget of {budget[1]} MiB "
                f"({ctx.history_for_layer(index)[:80]})",
            )


_SETUID_ALLOWED = re.compile(
    r"^(?:usr/)?s?bin/(?:su|sudo|passwd|chsh|chfn|newgrp|gpasswd|mount|umount|ping6?|expiry|chage|wall|"
    r"unix_chkpwd|pkexec|fusermount3?|newuidmap|newgidmap|ssh-agent|crontab|write|bsd-write)$"
    r"|^usr/lib/(?:openssh/ssh-keysign|dbus-1\.0/dbus-daemon-launch-helper|[\w-]+/utempter/utempter)$"
)


@rule(
    "DA806",
    "image-setuid",
    family=FAMILY,
    severity="info",
    summary="setuid/setgid files outside the usual allow-list",
    target="image",
)
def find_setuid_files(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Lists files in the final filesystem with the setuid or setgid bit, except the
    system tools that need it (`su`, `passwd`, `mount`, `ping` …).

    ## Why is this bad?
    A setuid binary the image does not need is a privilege-escalation path for any code
    running in the container.

    ## Example
    ```dockerfile
    FROM debian:12-slim
    RUN chmod u+s /usr/bin/find
    ```

    ## Use instead
    ```dockerfile
    FROM debian:12-slim
    ```
    """
    for path, entry in sorted(ctx.fs.files.items()):
        if entry.setuid and not _SETUID_ALLOWED.search(path):
            yield Violation(None, f"/{path} is setuid/setgid (mode {entry.mode:o})")


def _system_cuda(ctx: ImageContext) -> str | None:
    for path, data in ctx.contents.items():
        if path.endswith("version.json") and path in ctx.fs.files:
            try:
                return str(json.loads(data)["cuda"]["version"])
            except (ValueError, KeyError, TypeError):
                continue
    for item in ctx.config.get("Env") or []:
        key, _, value = str(item).partition("=")
        if key == "CUDA_VERSION" and value:
            return value
    return None


def _system_cudnn_major(ctx: ImageContext) -> int | None:
    """cuDNN major from ``cudnn_version.h`` (``#define CUDNN_MAJOR 8``), else the nvidia/cuda images' env."""
    for path, data in ctx.contents.items():
        if "cudnn_version" in path and path in ctx.fs.files:
            match = re.search(rb"#define\s+CUDNN_MAJOR\s+(\d+)", data)
            if match:
                return int(match.group(1))
    for item in ctx.config.get("Env") or []:
        key, _, value = str(item).partition("=")
        if key in ("NV_CUDNN_VERSION", "CUDNN_VERSION") and value.split(".")[0].isdigit():
            return int(value.split(".")[0])
    return None


@rule(
    "DA807",
    "image-cuda-mismatch",
    family=FAMILY,
    severity="warning",
    summary="torch or TensorFlow built for another CUDA/cuDNN than the image's, two CUDA stacks, or a driver library baked in",
    target="image",
)
def find_image_cuda_problems(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Compares the CUDA of the torch really installed (`torch-2.3.1+cu121.dist-info`,
    `torch/version.py`) and of TensorFlow (its tested CUDA, when no CUDA wheels came
    with it) with the image's system CUDA (`/usr/local/cuda*/version.json` or
    `CUDA_VERSION`), and TensorFlow's tested cuDNN with the image's (`cudnn_version.h` or
    `NV_CUDNN_VERSION`) unless a `nvidia-cudnn` wheel brings its own; flags a system CUDA
    toolkit next to pip `nvidia-*-cuXX` runtime wheels (two CUDA stacks), and driver
    libraries baked in (`libcuda.so.*`, `libnvidia-ml.so.*`), which must come from the host.

    ## Why is this bad?
    The Dockerfile states intent; the image shows what pip really resolved. A baked-in
    `libcuda.so` shadows the host's driver and breaks on any other driver version.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:11.8.0-runtime-ubuntu22.04
    RUN pip install torch==2.4.1
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.1.1-runtime-ubuntu22.04
    RUN pip install torch==2.4.1
    ```
    """
    system = _system_cuda(ctx)
    wheels = wheel_versions(ctx)
    torch = wheels.get("torch")
    if torch and system and "+cu" in torch:
        variant = torch.split("+cu", 1)[1]
        torch_major = variant[:2]
        if system.split(".")[0] != torch_major:
            yield Violation(
                None,
                f"torch {torch} is built for CUDA {torch_major}.{variant[2:]}, the image's CUDA is {system}",
            )
    tensorflow = wheels.get("tensorflow")
    cuda_wheels = sorted(n for n in wheels if re.match(r"nvidia-(?:cuda-runtime|cublas|cudnn)", n))
    tested = ctx.knowledge.tensorflow_release(tensorflow) if tensorflow else None
    if tested is not None and system and not cuda_wheels:
        if tested.cuda.split(".")[0] != system.split(".")[0]:
            yield Violation(
                None,
                f"tensorflow {tensorflow} was built for CUDA {tested.cuda}, the image's CUDA is {system}: "
                "it falls back to the CPU (source: ml-compat.toml)",
            )
    cudnn = _system_cudnn_major(ctx)
    own_cudnn = any(name.startswith("nvidia-cudnn") for name in wheels)
    if tested is not None and cudnn is not None and not own_cudnn and cudnn != tested.cudnn_major:
        yield Violation(
            None,
            f"tensorflow {tensorflow} was built for cuDNN {tested.cudnn_major}, the image has cuDNN {cudnn}: "
            "it cannot load its GPU kernels (source: ml-compat.toml)",
        )
    if system and cuda_wheels:
        yield Violation(
            None,
            f"two CUDA stacks: the system CUDA {system} and pip wheels ({', '.join(cuda_wheels[:3])})",
        )
    drivers = sorted(p for p in ctx.fs.files if re.search(r"(?:^|/)lib(?:cuda|nvidia-ml)\.so\.\d", p))
    if drivers:
        yield Violation(None, f"driver libraries baked into the image (/{drivers[0]}): they must come from the host")


_SERVER_WORDS = re.compile(r"uvicorn|gunicorn|flask|serve|server|jupyter|nginx|node|java|streamlit|gradio|tritonserver")


@rule(
    "DA808",
    "image-no-healthcheck",
    family=FAMILY,
    severity="info",
    summary="a service image (exposed ports, a server command) with no HEALTHCHECK",
    target="image",
)
def find_image_without_healthcheck(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes an image config that exposes ports or starts a server but has no
    `Healthcheck`. (skopeo's conversion to OCI drops HEALTHCHECK; the docker format keeps it.)

    ## Why is this bad?
    Without a health check the orchestrator only knows the process exists, not that the
    model finished loading or the server answers.

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    EXPOSE 8000
    CMD ["uvicorn", "app:app"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    EXPOSE 8000
    HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000')"]
    CMD ["uvicorn", "app:app"]
    ```
    """
    config = ctx.config
    if config.get("Healthcheck"):
        return
    command = " ".join(str(x) for x in (config.get("Entrypoint") or []) + (config.get("Cmd") or []))
    ports = sorted(config.get("ExposedPorts") or {})
    if ports or _SERVER_WORDS.search(command):
        yield Violation(
            None,
            "a service image without a HEALTHCHECK" + (f" (exposes {', '.join(ports)})" if ports else ""),
        )


_TOOLCHAIN = re.compile(r"^usr/(?:local/)?bin/(?:gcc|g\+\+|cc1|c\+\+|clang|make|cmake|ninja)(?:-[\d.]+)?$"
                        r"|^usr/local/cuda[^/]*/bin/nvcc$|^usr/lib/gcc/")  # fmt: skip


@rule(
    "DA809",
    "image-build-tools",
    family=FAMILY,
    severity="info",
    summary="compilers and build tools present in the image",
    target="image",
)
def find_image_build_tools(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes compilers (gcc, g++, clang, nvcc) and build systems (make, cmake, ninja) in the
    final filesystem.

    ## Why is this bad?
    They are only needed to build; in a runtime image they are hundreds of MB and a
    convenience for an attacker. Build in a stage that is not shipped.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-devel-ubuntu22.04
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    ```
    """
    tools = sorted(p for p in ctx.fs.files if _TOOLCHAIN.search(p) and ctx.fs.files[p].kind == "file")
    names = sorted({p.rsplit("/", 1)[-1] for p in tools if not p.startswith("usr/lib/gcc/")})
    if names:
        yield Violation(None, f"build tools in the image: {', '.join(names[:6])}")
