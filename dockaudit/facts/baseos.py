"""What a stage's base image is known to ship: its OS family, and so which shell is where.

Fixes that name a path or rely on a tool's flavour (``SHELL ["/bin/bash", …]``, GNU wget's
``--progress``) are safe only where the base is known.  The base of a stage is the image at
the root of its ``FROM`` chain (``FROM build`` follows the earlier stage).  A variable in the
image name (``FROM $BASE``) leaves it unknown even when the ARG has a default, because the
build may pass another one; a variable inside the tag is read around (``family_of_image``).
The family comes from the image name and tag: the facts below, each with its source, and the
OS bases of ``dockaudit/facts/knowledge/base-images.toml`` (``[image.debian]``, ``[image.ubuntu]``,
``[image.python_slim]`` "minimal Debian", ``[image.nvidia_cuda_*]`` ``…-{os}`` tags,
``[image.pytorch_*]`` "ubuntu:22.04").
"""

from __future__ import annotations

import re

from dockaudit.context import LintContext
from dockaudit.facts.imageref import DOCKER_HUB, parse_image_ref
from dockaudit.facts.installs import installs
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command
from dockaudit.syntax.stages import Stage

DEBIAN = "debian"  # Debian and Ubuntu: bash is Essential (always installed) at /bin/bash
RHEL = "rhel"  # Fedora, CentOS, RHEL/UBI, Rocky, Alma, Amazon Linux: bash at /bin/bash (/bin → /usr/bin)
ALPINE = "alpine"  # BusyBox /bin/sh, /bin/ash and wget; no bash unless `apk add bash`
BASH_IMAGE = "bash"  # the official bash image: Alpine with bash built into /usr/local/bin
BUSYBOX = "busybox"
WINDOWS = "windows"  # RUN runs cmd /S /C: no POSIX shell at all

# Repositories whose every tag is one family.  Sources: the Docker official images' docs
# (docker-library/docs: debian, ubuntu, buildpack-deps, fedora, centos, rockylinux, almalinux,
# amazonlinux, alpine, busybox, bash); NVIDIA and Red Hat registries' image descriptions.
_WHOLE_REPOSITORY = {
    "debian": DEBIAN, "ubuntu": DEBIAN, "buildpack-deps": DEBIAN,
    "fedora": RHEL, "centos": RHEL, "quay.io/centos/centos": RHEL, "rockylinux": RHEL,
    "rockylinux/rockylinux": RHEL, "almalinux": RHEL, "amazonlinux": RHEL,
    "public.ecr.aws/amazonlinux/amazonlinux": RHEL,
    "registry.access.redhat.com/ubi8": RHEL, "registry.access.redhat.com/ubi9": RHEL,
    "registry.access.redhat.com/ubi10": RHEL, "redhat/ubi8": RHEL, "redhat/ubi9": RHEL,
    "alpine": ALPINE, "busybox": BUSYBOX, "bash": BASH_IMAGE,
    # base-images.toml [image.pytorch_runtime]/[image.pytorch_devel]: "ubuntu:22.04 + miniforge".
    "pytorch/pytorch": DEBIAN,
}  # fmt: skip

# Official language images built on Debian unless the tag names another OS (docker-library/docs
# "Image Variants": `<version>`, `-slim`, `-bookworm`/`-bullseye`/`-trixie` are Debian; `-alpine…`
# is Alpine; `-windowsservercore…`/`-nanoserver…` are Windows).  base-images.toml
# [image.python_full] "full Debian", [image.python_slim] "minimal Debian".
_DEBIAN_UNLESS_TAGGED = frozenset({"python", "node", "golang", "rust", "ruby", "php", "perl", "gcc"})

# nvidia/cuda tags end in the OS (base-images.toml [image.nvidia_cuda_*] tag_pattern "…-{os}";
# NVIDIA container-images/cuda README: ubuntu, ubi, rockylinux, oraclelinux).
_CUDA_REPOSITORIES = frozenset({"nvidia/cuda", "nvcr.io/nvidia/cuda"})
_TAG_OS = (
    (re.compile(r"windowsservercore|nanoserver|ltsc\d{4}"), WINDOWS),
    (re.compile(r"alpine"), ALPINE),
    (re.compile(r"ubuntu|debian|bookworm|bullseye|buster|trixie|jammy|noble|focal"), DEBIAN),
    (re.compile(r"ubi\d|rockylinux|oraclelinux|centos|amzn|almalinux"), RHEL),  # amzn2023: Amazon Linux
)
_WINDOWS_REGISTRY_PREFIXES = ("mcr.microsoft.com/windows",)

# Where each family keeps the shells a SHELL instruction can name (paths known present).
_SHELLS = {
    DEBIAN: {"bash": "/bin/bash", "sh": "/bin/sh"},
    RHEL: {"bash": "/bin/bash", "sh": "/bin/sh"},
    ALPINE: {"ash": "/bin/ash", "sh": "/bin/sh"},  # busybox applet links made by Alpine's busybox package
    BASH_IMAGE: {"bash": "/usr/local/bin/bash", "ash": "/bin/ash", "sh": "/bin/sh"},  # docker-library/bash
    BUSYBOX: {"sh": "/bin/sh"},
}


def root_image(stage: Stage) -> str | None:
    """The image at the root of the stage's FROM chain as written (variables unexpanded), or None for
    a FROM-less snippet."""
    root = stage.ancestry()[-1]
    if root.is_implicit or root.parent is not None:  # a parent here means a FROM cycle
        return None
    return root.image_raw


_VARIABLE = re.compile(r"\$\{[^}]*\}|\$\w+")


def family_of_image(image: str) -> str | None:
    """The OS family of an image reference, or None when it is not known.

    A variable may stand in the tag (``nvidia/cuda:${CUDA}-devel-ubuntu22.04``): the written parts
    of the tag still name the OS.  A variable in the name, or a tag that is only variables where the
    tag decides the OS (``python:${TAG}``), leaves the family unknown: the build may pass anything."""
    reference = image.strip().split("@", 1)[0]
    colon = reference.rfind(":")
    name, tag = (reference[:colon], reference[colon + 1 :]) if colon > reference.rfind("/") else (reference, "")
    ref = parse_image_ref(name)
    if ref is None:  # empty, or a variable in the name
        return None
    repository = (ref.short_name if ref.registry == DOCKER_HUB else ref.repository).lower()
    written = _VARIABLE.sub(" ", tag.lower())
    if repository.startswith(_WINDOWS_REGISTRY_PREFIXES):
        return WINDOWS
    if repository in _WHOLE_REPOSITORY:
        return _WHOLE_REPOSITORY[repository]
    tagged = next((family for pattern, family in _TAG_OS if pattern.search(written)), None)
    if repository in _CUDA_REPOSITORIES:
        return tagged  # a CUDA tag without an OS suffix is not a complete tag
    if repository in _DEBIAN_UNLESS_TAGGED:
        return tagged or (DEBIAN if written == tag.lower() else None)
    return None


def stage_family(stage: Stage) -> str | None:
    """The OS family of the stage's base, or None when it is not known."""
    image = root_image(stage)
    return family_of_image(image) if image is not None else None


def shell_path(family: str | None, shell: str) -> str | None:
    """Where ``shell`` (``bash``, ``ash``, ``sh``) is on a base of ``family``; None when not known there."""
    return _SHELLS.get(family or "", {}).get(shell)


_OS_INSTALLERS = frozenset({"apk", "apt-get", "apt", "dnf", "yum", "zypper"})


def installed_before(
    ctx: LintContext, stage: Stage, instruction: Instruction, command: Command | None, package: str
) -> bool:
    """An OS package manager installed ``package`` earlier: in a RUN of a stage this one is built FROM,
    earlier in this stage, or earlier in this RUN than ``command`` (none of it when ``command`` is None:
    a SHELL placed before this RUN runs it, so what this RUN installs comes too late)."""
    for walk in reversed(stage.ancestry()):
        for earlier in walk.instructions:
            if earlier.name != "RUN":
                continue
            current = earlier is instruction
            for invocation in ctx.invocations(earlier):
                if current and (command is None or _starts(invocation.command) >= _starts(command)):
                    break
                if (
                    invocation.tool in _OS_INSTALLERS
                    and installs(invocation)
                    and any(re.split(r"[=~<>]", w.value, maxsplit=1)[0] == package for w in invocation.packages)
                ):
                    return True
            if current:
                return False
    return False


def _starts(command: Command) -> int:
    return command.span.start if command.span is not None else -1
