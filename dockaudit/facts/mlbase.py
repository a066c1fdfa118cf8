"""What a stage's base image settles: CUDA, cuDNN, flavour (base/runtime/devel), OS, Python and the
frameworks it ships, read from the tag of nvidia/cuda, pytorch/pytorch, tensorflow/tensorflow, NGC
(through the verified rows of the NGC tables), python, conda and OS images — or inherited from the
earlier stage the stage is built FROM.  A fact the tag does not settle stays None."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dockaudit.facts.imageref import ImageRef, parse_image_ref
from dockaudit.patterns import lazy_pattern
from dockaudit.records import record
from dockaudit.syntax.stages import Stage

if TYPE_CHECKING:
    from dockaudit.facts.knowledge import Knowledge, NgcRelease
    from dockaudit.facts.mlfacts import StageFacts


_CUDA_TAG = lazy_pattern(r"^(\d+\.\d+(?:\.\d+)?)-(?:(cudnn\d*)-)?(base|runtime|devel)(?:-(.+))?$")


_PYTORCH_TAG = lazy_pattern(r"^(\d+\.\d+(?:\.\d+)?)-cuda(\d+\.\d+)-cudnn(\d+)-(runtime|devel)$")


_TF_TAG = lazy_pattern(r"^(\d+\.\d+(?:\.\d+)?|latest|nightly)(-gpu)?(-jupyter)?$")


_PYTHON_TAG = lazy_pattern(r"^(\d+\.\d+)(?:\.\d+)?(?:[a-z]+\d*)?(?:-(.*))?$")


_CONDA_IMAGES = ("continuumio/miniconda3", "continuumio/anaconda3", "condaforge/miniforge3", "condaforge/mambaforge",
                 "mambaorg/micromamba", "conda/miniconda3")  # fmt: skip


@record
class BaseFacts:
    image: ImageRef | None
    kind: str  # nvidia-cuda, pytorch, nvcr-pytorch, nvcr-tensorflow, nvcr-tritonserver, tensorflow, python,
    #            ubuntu, debian, alpine, conda, stage, other
    cuda: str | None = None  # "12.4.1"
    cudnn_major: int | None = None
    flavour: str | None = None  # base, runtime, devel
    os: str | None = None  # "ubuntu22.04", "debian12", "alpine3.20"
    python: str | None = None  # "3.12" when the image ships it
    framework: str | None = None  # "torch 2.5.1" for framework images
    gpu: bool = False  # the image carries CUDA user-space libraries
    ships: tuple[str, ...] = ()  # Python framework packages the image's own Python already has (torch …)
    # An NGC tag's release row (ml-compat.toml [ngc_*]), unverified fields included; the fields above hold
    # only its verified facts, so a rule reading them never judges on a quotation or an inference.
    ngc: NgcRelease | None = None

    @property
    def cuda_major(self) -> int | None:
        return int(self.cuda.split(".")[0]) if self.cuda else None

    @property
    def has_nvcc(self) -> bool | None:
        if self.kind in ("nvidia-cuda", "pytorch"):
            return self.flavour == "devel"
        if self.kind in ("nvcr-pytorch", "nvcr-tensorflow"):
            return True
        return None if self.kind in ("stage", "other", "nvcr-tritonserver") else False

    @property
    def is_ngc(self) -> bool:
        """An NGC framework image: one flavour with the toolkit, no runtime sibling to ship instead."""
        return self.kind.startswith("nvcr-")


def read_base(stage: Stage, parent: StageFacts | None, knowledge: Knowledge) -> BaseFacts:
    """What the FROM image says about CUDA, Python and OS."""
    if parent is not None:
        return parent.base  # FROM an earlier stage: its base is this stage's base
    if stage.is_implicit or stage.unresolved:
        return BaseFacts(None, "other")
    ref = parse_image_ref(stage.image)
    if ref is None:
        return BaseFacts(None, "other")
    name, tag = ref.short_name.lower(), (ref.tag or "").lower()
    if name.endswith("nvidia/cuda") and (ref.registry in ("docker.io", "nvcr.io")):
        match = _CUDA_TAG.match(tag)
        if match:
            cuda, cudnn, flavour, os_name = match.groups()
            return BaseFacts(ref, "nvidia-cuda", cuda, _cudnn_major(cudnn, cuda), flavour, os_name, gpu=True)
        return BaseFacts(ref, "nvidia-cuda", gpu=True)
    if name == "pytorch/pytorch":
        match = _PYTORCH_TAG.match(tag)
        if match:
            torch, cuda, cudnn, flavour = match.groups()
            return BaseFacts(ref, "pytorch", cuda, int(cudnn), flavour, "ubuntu22.04", None, f"torch {torch}", True,
                             ("torch",))  # fmt: skip
        return BaseFacts(ref, "pytorch", framework="torch", gpu=True, ships=("torch",))
    if ref.registry == "nvcr.io" and name in _NGC_TABLES:
        return _ngc_base(ref, name, tag, knowledge)
    if name == "tensorflow/tensorflow":
        match = _TF_TAG.match(tag or "latest")
        version = match.group(1) if match else None
        gpu = bool(match and match.group(2))
        framework = f"tensorflow {version}" if version and version[0].isdigit() else "tensorflow"
        return BaseFacts(ref, "tensorflow", framework=framework, gpu=gpu, ships=("tensorflow",))
    if name == "python":
        match = _PYTHON_TAG.match(tag)
        if match:
            variant = match.group(2) or ""
            os_name = "alpine" + variant[6:] if variant.startswith("alpine") else _debian_of(variant)
            return BaseFacts(
                ref, "alpine" if variant.startswith("alpine") else "python", os=os_name, python=match.group(1)
            )
        return BaseFacts(ref, "python")
    if name in ("ubuntu", "debian", "alpine"):
        version = _os_version(name, tag)
        return BaseFacts(ref, name, os=f"{name}{version}" if version else None)
    if name in _CONDA_IMAGES:
        return BaseFacts(ref, "conda")
    return BaseFacts(ref, "other")


_NGC_ROW_FLAVOURS = {"pytorch": ("py3",), "tensorflow": ("tf2-py3", "tf1-py3", "py3"), "tritonserver": ("py3",)}


_NGC_TABLES = {"nvidia/pytorch": "ngc_pytorch", "nvidia/tensorflow": "ngc_tensorflow",
               "nvidia/tritonserver": "ngc_tritonserver"}  # fmt: skip


def _ngc_base(ref: ImageRef, name: str, tag: str, knowledge: Knowledge) -> BaseFacts:
    """An NGC framework image: its flavour's frameworks, and the CUDA, cuDNN, Ubuntu, Python and framework
    version its YY.MM release row states and verifies (the rest stays unknown, as on an unknown tag)."""
    container = name.split("/")[1]
    ships = _ngc_ships(name, tag, knowledge)
    flavour = tag.split("-", 1)[1] if "-" in tag else ""
    # The notes describe the main flavour only: -igpu (Jetson), Triton's -py3-min and -trtllm-… differ.
    row = knowledge.ngc_release(container, tag) if flavour in _NGC_ROW_FLAVOURS[container] else None

    def known(field_name: str, value: str | None) -> str | None:
        return value if row is not None and row.verified(field_name) else None

    framework = ships[0] if ships else None
    version = known("framework", row.framework) if row else None
    if framework and version and container in ("pytorch", "tensorflow"):
        framework = f"{framework} {version}"
    cuda = known("cuda", row.cuda) if row else None
    cudnn = known("cudnn", row.cudnn) if row else None
    ubuntu = known("ubuntu", row.ubuntu) if row else None
    return BaseFacts(ref, "nvcr-" + container, cuda, int(cudnn.split(".")[0]) if cudnn else None, "devel",
                     f"ubuntu{ubuntu}" if ubuntu else None, known("python", row.python) if row else None,
                     framework, True, ships, row)  # fmt: skip


def _ngc_ships(name: str, tag: str, knowledge: Knowledge) -> tuple[str, ...]:
    """The Python frameworks an NGC image's flavour ships, from base-images.toml [image.ngc_*].

    Triton's flavours differ: ``-py3`` and ``-py3-min`` have no Python torch (its PyTorch backend is
    libtorch), ``-vllm-python-py3`` has torch because vllm needs it.  The flavour is the tag after ``YY.MM-``.
    """
    row = knowledge.images.get(_NGC_TABLES[name], {})
    flavour = tag.split("-", 1)[1] if "-" in tag else ""
    by_flavour = row.get("python_frameworks_by_flavour", {})
    found = by_flavour.get(flavour, row.get("python_frameworks", []))
    return tuple(str(p) for p in found)


def _cudnn_major(word: str | None, cuda: str) -> int | None:
    if not word:
        return None
    if word[5:].isdigit():
        return int(word[5:])
    return 9  # plain "cudnn" tags (CUDA 12.4 and later) carry cuDNN 9


_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "stretch": "9"}


_UBUNTU_CODENAMES = {"bionic": "18.04", "focal": "20.04", "jammy": "22.04", "noble": "24.04", "xenial": "16.04"}


def _debian_of(variant: str) -> str | None:
    for codename, number in _DEBIAN_CODENAMES.items():
        if codename in variant:
            return f"debian{number}"
    return None


def _os_version(name: str, tag: str) -> str | None:
    if name == "ubuntu":
        for codename, number in _UBUNTU_CODENAMES.items():
            if tag.startswith(codename):
                return number
        match = re.match(r"^(\d+\.\d+)", tag)
        return match.group(1) if match else None
    if name == "debian":
        for codename, number in _DEBIAN_CODENAMES.items():
            if tag.startswith(codename):
                return number
        match = re.match(r"^(\d+)", tag)
        return match.group(1) if match else None
    match = re.match(r"^(\d+\.\d+)", tag)
    return match.group(1) if match else None


def os_default_python(base: BaseFacts, knowledge_os_python: dict[str, str]) -> str | None:
    if not base.os:
        return None
    match = re.match(r"^(ubuntu|debian)(\d+(?:\.\d+)?)$", base.os)
    if not match:
        return None
    return knowledge_os_python.get(f"{match.group(1)}:{match.group(2)}")
