"""DA525–DA529 — packages and channels that do not belong in a GPU image: the host's container
toolkit or driver, fixed visible devices, CUDA installed again on a base that ships it, Anaconda's
licensed default channels and PyTorch's retired conda channel.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``: ``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned,
ARG without a default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.mlfacts import ml_facts
from dockaudit.facts.versions import version_at_least
from dockaudit.model import Edit, Fix, Severity, Violation
from dockaudit.plugin import rule
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import env_pairs
from dockaudit.patterns import lazy_pattern

FAMILY = "ml"


_HOST_PACKAGES = lazy_pattern(
    r"^(?:nvidia-container-toolkit|nvidia-container-runtime|nvidia-docker2?|libnvidia-container[\w-]*"
    r"|nvidia-driver-\d+|cuda-drivers(?:-\d+)?|nvidia-utils-\d+|nvidia-kernel[\w-]*)(?:[=-].*)?$"
)


@rule(
    "DA525",
    "container-toolkit-in-image",
    family=FAMILY,
    severity="warning",
    summary="nvidia-container-toolkit, nvidia-docker or driver packages installed inside the image",
)
def find_host_packages_in_image(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags apt/yum/dnf installs of the NVIDIA container toolkit, nvidia-docker, or GPU
    driver packages (`nvidia-driver-550`, `cuda-drivers`) inside an image.

    ## Why is this bad?
    They belong on the host: the container runtime mounts the host's driver into the
    container. A driver inside the image does nothing but conflict with the host's
    kernel module, and adds hundreds of MB.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends nvidia-driver-550=550.120-0ubuntu1 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool not in ("apt-get", "apt", "yum", "dnf", "zypper", "apk"):
                continue
            if not invocation.action.endswith("install"):
                continue
            for word in invocation.packages:
                if _HOST_PACKAGES.match(word.value):
                    yield Violation(word.span, f"'{word.value}' belongs on the host: the container runtime mounts the "
                                    "host's driver into the container")  # fmt: skip


def _remove_env_pair(ctx: LintContext, instruction, index: int) -> Fix | None:
    """Delete one KEY=value of an ENV (the whole instruction when it is the only pair): unsafe, since the
    program then uses the GPUs the runtime gives instead of the fixed list."""
    pairs = env_pairs(instruction)
    if instruction.start_line != instruction.end_line:
        return None  # continuation lines: leave the layout to the author
    key, value = instruction.args[index * 3], instruction.args[index * 3 + 1]
    if "=" not in ctx.text(Span(key.span.start, max(value.span.end, key.span.end))):
        return None  # legacy `ENV KEY value`
    if len(pairs) == 1:
        return Fix("remove the ENV", (Edit(instruction.line_span, ""),), safe=False, reshapes=True)
    if index + 1 < len(pairs):
        span = Span(key.span.start, instruction.args[(index + 1) * 3].span.start)
    else:
        span = Span(instruction.args[index * 3 - 2].span.end, max(value.span.end, key.span.end))
    return Fix("remove the variable", (Edit(span, ""),), safe=False)


@rule(
    "DA526",
    "hardcoded-visible-devices",
    family=FAMILY,
    severity="info",
    summary="CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES fixed to a device list in ENV",
    fix="unsafe",
)
def find_hardcoded_visible_devices(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `ENV CUDA_VISIBLE_DEVICES=…` with a fixed value (`0`, `0,1`) and `ENV
    NVIDIA_VISIBLE_DEVICES=…` with a fixed device list, baked into a Dockerfile.
    `NVIDIA_VISIBLE_DEVICES=all` is not reported: the `nvidia/cuda` images set it
    themselves, an image on a plain base needs it for the NVIDIA runtime to mount any
    GPU, and device plugins and GPU exporters (dcgm-exporter, k8s-device-plugin) must
    see every GPU; `--gpus` and Kubernetes replace it per container anyway. The fix
    (removing the variable) is unsafe: it changes which GPUs the program uses.

    ## Why is this bad?
    Which GPUs a container gets is the runtime's decision (`--gpus`, Kubernetes device
    plugins). A device list baked into the image overrides it inside the container, so
    a job given four GPUs uses one, and a fixed `NVIDIA_VISIBLE_DEVICES=0` under a
    runtime that honours it hands out GPU 0 — another tenant's.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    ENV CUDA_VISIBLE_DEVICES=0
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        if instruction.name != "ENV":
            continue
        for index, (key, value, _sep) in enumerate(env_pairs(instruction)):
            plain = value.strip("'\"")
            if key not in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES") or "$" in plain:
                continue
            if plain.lower() in ("", "void", "none") or (key == "NVIDIA_VISIBLE_DEVICES" and plain.lower() == "all"):
                continue  # no GPU, or every GPU the runtime gives: the runtime still decides
            yield Violation(instruction.args[index * 3].span, f"{key}={plain} fixes the GPUs in the image: leave "
                            "device selection to the runtime (--gpus, Kubernetes)",
                            _remove_env_pair(ctx, instruction, index))  # fmt: skip


_CUDA_APT = lazy_pattern(r"^(?:cuda-(?:toolkit|libraries|runtime|compiler|nvcc|cudart)[\w.-]*|cuda-\d+-\d+|libcudnn[\w.-]*"
                       r"|cudnn[\w.-]*|nvidia-cuda-toolkit)(?:=.*)?$")  # fmt: skip  (no \d* before [\w.-]*: quadratic)


@rule(
    "DA527",
    "redundant-cuda-install",
    family=FAMILY,
    severity="warning",
    summary="CUDA toolkit or cuDNN installed again on an nvidia/cuda base that ships them",
)
def find_redundant_cuda_installs(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags apt installs of CUDA toolkit or cuDNN packages (`cuda-toolkit-12-4`,
    `libcudnn9-cuda-12`, `nvidia-cuda-toolkit`) and conda installs of `cudatoolkit` on
    an `nvidia/cuda` or `pytorch/pytorch` base, which already ship CUDA (and cuDNN in
    their cudnn flavours) — or a second CUDA version.

    ## Why is this bad?
    It duplicates gigabytes the base already has, or installs a second CUDA version
    next to the first, and `nvidia-cuda-toolkit` from Ubuntu is an older, unrelated
    CUDA.

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
    RUN apt-get update && apt-get install -y --no-install-recommends cuda-toolkit-12-4=12.4.1-1 && rm -rf /var/lib/apt/lists/*
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-cudnn-devel-ubuntu22.04
    ```
    """
    for facts in ml_facts(ctx).stages:
        if facts.base.kind not in ("nvidia-cuda", "pytorch"):
            continue
        ships = "CUDA " + (facts.base.cuda or "")
        base_minor = "-".join((facts.base.cuda or "").split(".")[:2])
        for package, instruction, span in facts.os_packages:
            if instruction not in facts.stage.instructions or not _CUDA_APT.match(package):
                continue
            version = re.search(r"-(\d+-\d+)(?:=|$)", package)
            if package.startswith(("libcudnn", "cudnn")):
                if facts.base.cudnn_major is None:
                    continue  # adding cuDNN to a flavour without it is how you get cuDNN there
                what = f"cuDNN {facts.base.cudnn_major}"
            elif package.startswith("nvidia-cuda-toolkit"):
                what = f"{ships} (Ubuntu's nvidia-cuda-toolkit is an older, separate CUDA)"
            elif version and base_minor and version.group(1) != base_minor:
                what = f"{ships}, not {version.group(1).replace('-', '.')}: a second CUDA version"
            elif facts.base.flavour == "devel":
                what = f"{ships} with every toolkit package"
            else:
                continue  # adding libraries or the compiler to base/runtime is how those flavours grow
            yield Violation(span, f"'{package}' on '{facts.base.image}', which already ships {what}")
        for install in facts.installed("cudatoolkit", "cuda-toolkit"):
            if install.instruction in facts.stage.instructions:
                yield Violation(install.span, f"{install.package} on a base that ships {ships}: a second CUDA stack")


@rule(
    "DA528",
    "anaconda-default-channels",
    family=FAMILY,
    severity="info",
    summary="a continuumio base whose default channels need a paid Anaconda licence for larger organisations",
    enabled=False,  # precision ledger: 2 of 2 judged not worth reading
)
def find_anaconda_default_channels(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `continuumio/miniconda3` and `continuumio/anaconda3` bases, whose conda is
    configured for Anaconda's default channels. (Split from DA509, which now means
    only the conda/pip mix.)

    ## Why is this bad?
    Anaconda's terms of service require a paid licence for organisations of 200 or
    more people that use its default channels; conda-forge has no such terms and
    carries the same packages.

    ## Example
    ```dockerfile
    FROM continuumio/miniconda3:24.7.1-0
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    ```
    """
    for stage in ctx.stages:
        if stage.from_instruction is None or not stage.from_instruction.args:
            continue
        if re.match(r"^(?:docker\.io/)?continuumio/(?:miniconda3|anaconda3)(?::|@|$)", stage.image):
            yield Violation(stage.from_instruction.args[0].span, "continuumio images default to Anaconda's channels, "
                            "which need a paid licence for organisations of 200+ people: condaforge/miniforge3 uses "
                            "conda-forge (source: base-images.toml [image.miniconda3])")  # fmt: skip


_PYTORCH_CHANNELS = ("pytorch", "pytorch-nightly", "pytorch-test")


def _channel_name(channel: str) -> str:
    """``https://conda.anaconda.org/pytorch/`` → ``pytorch``; ``nvidia/label/cuda-12.4.0`` stays NVIDIA's."""
    channel = channel.rstrip("/")
    return channel if "://" not in channel else channel.rsplit("/", 1)[-1]


def _configured_pytorch_channel(ctx: LintContext) -> str | None:
    """A PyTorch channel added to the conda configuration (``conda config --add channels pytorch``)."""
    for instruction in ctx.dockerfile.instructions:
        for command in ctx.commands(instruction):
            argv = command.argv
            if command.name in ("conda", "mamba", "micromamba") and argv[1:2] == ["config"]:
                for at, word in enumerate(argv[:-1]):
                    if word in ("--add", "--append", "--prepend") and argv[at + 1] == "channels" and at + 2 < len(argv):
                        if _channel_name(argv[at + 2]) in _PYTORCH_CHANNELS:
                            return argv[at + 2]
    return None


@rule(
    "DA529",
    "pytorch-conda-channel",
    family=FAMILY,
    severity="warning",
    summary="PyTorch from its own conda channel, which stopped publishing after 2.5 (-c pytorch, pytorch-cuda)",
)
def find_pytorch_conda_channel(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags conda installs that take PyTorch from PyTorch's own channels (`-c pytorch`,
    `-c pytorch-nightly`, `pytorch::pytorch`) or install `pytorch-cuda` (a package
    only that channel has, resolved with the `nvidia` channel). An error when the
    pinned version is 2.6 or later: it was never published there. conda-forge's
    `pytorch` is not reported. NVIDIA's own `nvidia` channel is alive and not reported
    for what it publishes (`conda install -c nvidia cuda-toolkit=12.4`, `cuda-nvcc`,
    `cuda-runtime`): what goes wrong is `pytorch-cuda` with `-c nvidia` but no
    `-c pytorch` — the package exists only on PyTorch's channel, so unless a
    `conda config --add channels pytorch` adds it, the solve fails.

    ## Why is this bad?
    PyTorch stopped publishing to its conda channel with 2.6: the channel is frozen
    at 2.5.1, so an unpinned install resolves to an old torch that gets no fixes, and
    a 2.6+ pin fails to solve. The `pytorch-cuda` + `-c nvidia` recipe went with it.

    ## Example
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN conda install -y pytorch=2.5.1 pytorch-cuda=12.4 -c pytorch -c nvidia && conda clean -afy
    ```

    ## Use instead
    ```dockerfile
    FROM condaforge/miniforge3:24.7.1-0
    RUN pip install --no-cache-dir torch==2.5.1 --index-url https://download.pytorch.org/whl/cu124
    ```
    """
    configured = _configured_pytorch_channel(ctx)
    for instruction in ctx.dockerfile.instructions:
        for invocation in ctx.invocations(instruction):
            if invocation.tool != "conda" or invocation.action not in ("install", "create", "update"):
                continue
            channels = invocation.values("-c", "--channel")
            from_pytorch = [c for c in channels if _channel_name(c) in _PYTORCH_CHANNELS]
            if configured and not invocation.has("--override-channels"):
                from_pytorch.append(configured)
            for word in invocation.packages:
                value = word.value
                prefix, _, spec = value.rpartition("::")
                match = re.match(r"^(pytorch(?:-cuda)?)(?:[=<>!]=?)?([\d.*]*)", spec)
                if match is None:
                    continue
                name, version = match.groups()
                if not (from_pytorch or prefix in _PYTORCH_CHANNELS or name == "pytorch-cuda"):
                    continue  # conda-forge's pytorch
                if name == "pytorch" and version and "*" not in version and version_at_least(version, (2, 6)):
                    yield Violation(word.span, f"PyTorch {version} is not on the pytorch conda channel (publishing "
                                    "stopped with 2.6): install torch with pip, or pytorch from conda-forge (source: "
                                    "ml-compat.toml [torch_index] conda_channel_note)", severity=Severity.ERROR)  # fmt: skip
                elif name == "pytorch-cuda" and not from_pytorch and prefix not in _PYTORCH_CHANNELS and not any(
                    "$" in c for c in channels
                ):  # a channel from a variable may be PyTorch's
                    named = f" ({', '.join('-c ' + c for c in channels)} has none)" if channels else ""
                    yield Violation(word.span, f"{value}: pytorch-cuda exists only on PyTorch's conda channel, which "
                                    f"this install does not name{named}: the solve fails (PackagesNotFoundError), and "
                                    "that channel stopped publishing with 2.6; install torch with pip "
                                    "(--index-url https://download.pytorch.org/whl/cuXXX) or from conda-forge (source: "
                                    "ml-compat.toml [torch_index] conda_channel_note)", severity=Severity.ERROR)  # fmt: skip
                else:
                    via = "pytorch-cuda" if name == "pytorch-cuda" else f"-c {(from_pytorch or [prefix])[0]}"
                    yield Violation(word.span, f"{value} from PyTorch's conda channel ({via}): PyTorch's conda "
                                    "channels stopped publishing with 2.6 (the last release there is 2.5.1, no fixes "
                                    "since); install torch with pip "
                                    "(--index-url https://download.pytorch.org/whl/cuXXX) or from conda-forge (source: "
                                    "ml-compat.toml [torch_index] conda_channel_note)")  # fmt: skip
                break  # one finding per install command
