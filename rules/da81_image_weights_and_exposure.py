"""DA810–DA813 — built images, continued: model weights shipped inside (pickles among them), Jupyter
or SSH open to whoever reaches the container, executables built for another architecture than
the config says, and framework builds with no kernels for the configured GPU fleet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from dockaudit.facts.fleet import fleet_of, onnxruntime_verdict, tensorflow_verdict, torch_verdict, uncovered_message
from dockaudit.image.frameworks import torch_build, wheel_versions
from dockaudit.linting.wording import mebibytes
from dockaudit.model import Severity, Violation
from dockaudit.plugin import rule

if TYPE_CHECKING:  # only an annotation here: importing it would load the image readers on every run
    from dockaudit.image.audit import ImageContext

FAMILY = "image"


_WEIGHTS = re.compile(r"\.(?:safetensors|pt|pth|bin|ckpt|h5|gguf|onnx|pkl)$")


_PICKLE = re.compile(r"\.(?:pt|pth|bin|ckpt|pkl)$")


_MIN_WEIGHTS = 1024


@rule(
    "DA810",
    "image-model-weights",
    family=FAMILY,
    severity="info",
    summary="model weights inside the image; pickle-based ones are unsafe to load",
    target="image",
)
def find_model_weights(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Lists model weight files in the final filesystem with their size; pickle-based
    formats (`.pt`, `.pth`, `.bin`, `.ckpt`, `.pkl`) are flagged as unsafe to load.

    ## Why is this bad?
    Weights make every image push and pull gigabytes larger; pickle files execute code
    when loaded, so a weight file from an untrusted source is a code-execution path
    (safetensors is the safe format).

    ## Example
    ```dockerfile
    FROM python:3.12-slim
    COPY model.bin /models/
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    VOLUME /models
    ```
    """
    weights = [(p, e) for p, e in ctx.fs.files.items() if _WEIGHTS.search(p) and e.size >= _MIN_WEIGHTS]
    if not weights:
        return
    total = sum(e.size for _p, e in weights)
    pickles = [p for p, _e in weights if _PICKLE.search(p) and not p.endswith(".dist-info/RECORD")]
    yield Violation(
        None,
        f"{len(weights)} model weight file(s), {mebibytes(total)}: mount them instead of shipping them",
    )
    if pickles:
        yield Violation(
            None,
            f"pickle-based weights (/{pickles[0]}) run code when loaded: prefer safetensors",
            severity=Severity.WARNING,
        )


@rule(
    "DA811",
    "image-exposed-shell",
    family=FAMILY,
    severity="error",
    summary="the image starts Jupyter without auth (or as root), or exposes SSH",
    target="image",
)
def find_exposed_notebooks_and_ssh(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Reads the config's Entrypoint and Cmd: Jupyter started with an empty token or
    password or with `--allow-root`; and an exposed port 22 or an sshd command.

    ## Why is this bad?
    A notebook server without a token is remote code execution for whoever reaches the
    port; an SSH server is a second way in with its own credentials.

    ## Example
    ```dockerfile
    FROM quay.io/jupyter/base-notebook:2024-10-02
    CMD ["jupyter", "lab", "--ServerApp.token="]
    ```

    ## Use instead
    ```dockerfile
    FROM quay.io/jupyter/base-notebook:2024-10-02
    CMD ["jupyter", "lab"]
    ```
    """
    config = ctx.config
    argv = [str(x) for x in (config.get("Entrypoint") or []) + (config.get("Cmd") or [])]
    command = " ".join(argv)
    if re.search(r"\bjupyter\b", command):
        if re.search(
            r"--(?:NotebookApp|ServerApp|IdentityProvider)\.(?:token|password)=(?:''|\"\"|\s|$)", command + " "
        ):
            yield Violation(
                None,
                "the image starts Jupyter with an empty token or password: anyone who reaches it runs code",
            )
        if "--allow-root" in argv or "--allow-root" in command:
            yield Violation(None, "the image starts Jupyter with --allow-root: notebooks run code as root")
    if "22/tcp" in (config.get("ExposedPorts") or {}) or re.search(r"(?:^|/|\s)sshd\b", command):
        yield Violation(None, "the image exposes SSH (port 22 or sshd): use docker exec / kubectl exec instead")


# ELF e_machine values → the GOARCH names image configs use.
_ELF_MACHINES = {0x3E: "amd64", 0xB7: "arm64", 0x28: "arm", 0x03: "386", 0xF3: "riscv64", 0x15: "ppc64le",
                 0x16: "s390x"}  # fmt: skip


def _elf_architecture(header: bytes) -> str | None:
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    order = "little" if header[5] == 1 else "big"
    return _ELF_MACHINES.get(int.from_bytes(header[18:20], order))


@rule(
    "DA812",
    "image-arch-mismatch",
    family=FAMILY,
    severity="warning",
    summary="the config's architecture differs from the one its executables are built for",
    target="image",
)
def find_architecture_mismatch(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    Reads the ELF header of the executables in `bin` directories and compares their
    architecture with the config's (`amd64`, `arm64` …) — typically one member of a
    multi-platform index built with the wrong binaries.

    ## Why is this bad?
    The runtime picks the image by the config's platform; on that machine every
    binary fails with `exec format error`, or runs slowly under emulation.

    ## Example
    ```dockerfile
    FROM --platform=linux/arm64 alpine:3.20
    COPY --chmod=755 busybox-x86_64 /bin/busybox
    ```

    ## Use instead
    ```dockerfile
    FROM --platform=linux/arm64 alpine:3.20
    COPY --chmod=755 busybox-aarch64 /bin/busybox
    ```
    """
    declared = str(ctx.image.config.get("architecture") or "")
    if not declared:
        return
    found = {}
    for path, header in ctx.contents.items():
        architecture = _elf_architecture(header)
        if architecture and path in ctx.fs.files:
            found.setdefault(architecture, []).append(path)
    if found and declared not in found:
        actual, paths = max(found.items(), key=lambda kv: len(kv[1]))
        yield Violation(
            None,
            f"the config says {declared} but /{paths[0]} (and {len(paths) - 1} more) is built for {actual}",
        )


@rule(
    "DA813",
    "image-gpu-arch-not-covered",
    family=FAMILY,
    severity="error",
    summary="the torch, TensorFlow or onnxruntime-gpu build inside the image has no kernels for a fleet GPU",
    target="image",
    enabled=False,  # new: not yet in the precision ledger (DA540 judges the same facts in Dockerfiles)
)
def find_image_builds_missing_fleet_gpus(ctx: ImageContext) -> Iterator[Violation]:
    """
    ## What it does
    With a fleet configured (`gpus = ["H100", "L4", "RTX 4090", "sm_75"]`), reads the
    torch build the image really holds (`torch/version.py`: `__version__` and `cuda`),
    and the installed TensorFlow and `onnxruntime-gpu` wheels, and checks each against
    the architectures that build carries (`ml-compat.toml [torch_cuda_arch_support]`,
    `[tensorflow_cuda_arch_support]`, `[onnxruntime_cuda_arch_support]`) — DA540's
    judgment, on what pip resolved instead of what the Dockerfile asked for. NGC and
    source builds of torch (`2.6.0a0+…`) carry their own lists and are left alone; a
    fact the tables hold only by inference is a warning. Silent without `gpus`.

    ## Why is this bad?
    The image imports torch fine on any host, then the first kernel launch on that GPU
    fails with "CUDA error: no kernel image is available for execution on the device".
    An unpinned `pip install torch` or a dependency's pin decides which build lands;
    only the image shows it.

    ## Example
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"]
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.11.0 --index-url https://download.pytorch.org/whl/cu128
    ```

    ## Use instead
    ```dockerfile
    # with gpus = ["H100", "RTX 4090", "P100"]
    FROM python:3.12-slim
    RUN pip install --no-cache-dir torch==2.11.0 --index-url https://download.pytorch.org/whl/cu126
    ```
    """
    knowledge = ctx.knowledge
    fleet = fleet_of(ctx.options, knowledge)
    if not fleet:
        return
    found = []
    build = torch_build(ctx)
    if build is not None:
        version, cuda, path = build
        found.append((f"torch {version} (CUDA {cuda}, /{path})", torch_verdict(knowledge, fleet, version, cuda)))
    wheels = wheel_versions(ctx)
    if "tensorflow" in wheels:
        found.append((f"tensorflow {wheels['tensorflow']}", tensorflow_verdict(knowledge, fleet, wheels["tensorflow"])))
    if "onnxruntime-gpu" in wheels:
        version = wheels["onnxruntime-gpu"]
        found.append((f"onnxruntime-gpu {version}", onnxruntime_verdict(knowledge, fleet, version)))
    for named, verdict in found:
        if verdict is not None:
            yield Violation(None, uncovered_message(named, verdict),
                            severity=None if verdict.verified else Severity.WARNING)
