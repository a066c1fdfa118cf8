"""The GPU fleet against a framework build: which configured GPUs a build has no kernels for.

One judgment for every input — a Dockerfile's installs and base, a Compose service's image tag, the
torch found inside a built image — so the fleet gate says the same thing wherever a build is named.
A build's architecture list comes from ``ml-compat.toml`` ([torch_cuda_arch_support],
[tensorflow_cuda_arch_support], [onnxruntime_cuda_arch_support], an NGC release's minimum compute
capability); a build the tables hold no list for gets no verdict, never a guess.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dockaudit.context import Options
from dockaudit.facts.versions import version_numbers
from dockaudit.records import record

if TYPE_CHECKING:
    from dockaudit.facts.knowledge import GpuModel, Knowledge, NgcRelease
    from dockaudit.facts.mlbase import BaseFacts


@record
class FleetGpu:
    label: str  # as the configuration wrote it
    model: GpuModel
    segment: str | None  # datacenter, consumer, jetson, or None when unknown


@record
class ArchVerdict:
    """The fleet GPUs a build cannot run on, and how sure the tables are of it."""

    archs: tuple[str, ...]  # the build's list ("7.5", "8.0", …, "12.0+PTX"), or (">= 7.5",) for a floor
    missing: tuple[FleetGpu, ...]
    verified: bool  # False: a generalised or inferred fact, or a GPU row from a secondary copy (warn at most)
    source: str  # "ml-compat.toml [torch_cuda_arch_support] for torch 2.11"


def fleet_of(options: Options, knowledge: Knowledge) -> list[FleetGpu]:
    """The configured fleet, resolved (names the table does not know are left out: config refuses them)."""
    fleet = []
    for label in options.gpus:
        model = knowledge.gpu(label)
        if model is not None:
            fleet.append(FleetGpu(label, model, model.segment or options.gpu_segment))
    return fleet


def _arch(text: str) -> tuple[int, int, bool]:
    major, minor = text.split("+")[0].split(".")
    return int(major), int(minor), text.endswith("+PTX")


def covers(archs: tuple[str, ...], capability: tuple[int, int]) -> bool:
    """Whether a build with these architectures runs on a GPU of ``capability``: SASS for X.y runs on X.z
    with z >= y (same major), PTX for X.y JIT-compiles on any newer GPU."""
    for text in archs:
        major, minor, ptx = _arch(text)
        if (major == capability[0] and minor <= capability[1]) or (ptx and (major, minor) <= capability):
            return True
    return False


def _verdict(archs: tuple[str, ...], fleet: list[FleetGpu], verified: bool, source: str) -> ArchVerdict | None:
    missing = tuple(g for g in fleet if not covers(archs, g.model.capability))
    if not missing:
        return None
    return ArchVerdict(archs, missing, verified and all(g.model.verified for g in missing), source)


def torch_verdict(knowledge: Knowledge, fleet: list[FleetGpu], version: str, cuda: str) -> ArchVerdict | None:
    """A torch build (``2.11.0``, CUDA ``12.8``) against the fleet. A torch newer than the architecture table
    is judged from the newest matrix known (unverified); an older one, or a CUDA with no row, gets no verdict."""
    known = sorted(knowledge.torch_arch_minors, key=lambda v: version_numbers(v, 2))
    minor = ".".join(version.split("+")[0].split(".")[:2])
    archs = knowledge.torch_arch_x86.get(".".join(cuda.split(".")[:2]))
    if archs is None or not known or not re.match(r"^\d+\.\d+$", minor):
        return None
    if version_numbers(minor, 2) < version_numbers(known[0], 2):
        return None
    generalised = minor not in known
    if generalised and version_numbers(minor, 2) < version_numbers(known[-1], 2):
        return None  # between two known minors yet missing from the table: not known, not generalised
    where = f"the torch {known[-1]} matrix, generalised to {minor}" if generalised else f"torch {minor}"
    return _verdict(archs, fleet, not generalised, f"ml-compat.toml [torch_cuda_arch_support] for {where}")


def tensorflow_verdict(knowledge: Knowledge, fleet: list[FleetGpu], version: str) -> ArchVerdict | None:
    """A TensorFlow GPU build against [tensorflow_cuda_arch_support], for the releases it names."""
    table = knowledge.framework_archs.get("tensorflow")
    minor = ".".join(version.split(".")[:2])
    if table is None or minor not in table.applies_to:
        return None
    return _verdict(table.archs, fleet, table.applies_verified,
                    f"ml-compat.toml [tensorflow_cuda_arch_support] for tensorflow {minor}")  # fmt: skip


def onnxruntime_verdict(knowledge: Knowledge, fleet: list[FleetGpu], version: str) -> ArchVerdict | None:
    """An onnxruntime-gpu release (its CUDA major from [onnxruntime_gpu.versions]) against its wheels' list."""
    table = knowledge.framework_archs.get("onnxruntime-gpu")
    span = knowledge.onnxruntime_range(version)
    if table is None or span is None or str(span.cuda_major) not in table.applies_to:
        return None
    return _verdict(table.archs, fleet, table.applies_verified,
                    f"ml-compat.toml [onnxruntime_cuda_arch_support] for CUDA {span.cuda_major} wheels")  # fmt: skip


def ngc_verdict(fleet: list[FleetGpu], release: NgcRelease) -> ArchVerdict | None:
    """An NGC container against the minimum compute capability its release notes state."""
    if release.min_capability is None:
        return None
    floor = release.min_capability
    missing = tuple(g for g in fleet if g.model.capability < floor)
    if not missing:
        return None
    verified = release.verified("min_compute_capability") and all(g.model.verified for g in missing)
    return ArchVerdict((f">= {floor[0]}.{floor[1]}",), missing, verified,
                       f'ml-compat.toml [ngc_{release.container}."{release.release}"] min_compute_capability')  # fmt: skip


def base_verdicts(base: BaseFacts, fleet: list[FleetGpu], knowledge: Knowledge) -> list[tuple[str, ArchVerdict]]:
    """(how the build is named, verdict) for what a base image tag settles: a ``pytorch/pytorch`` tag's
    torch, an NGC release's floor, a TensorFlow GPU tag's release."""
    tag = base.image.tag if base.image else ""
    found = []
    if base.kind == "pytorch" and base.framework and " " in base.framework and base.cuda:
        found.append((f"pytorch/pytorch:{tag}", torch_verdict(knowledge, fleet, base.framework.split(" ")[-1],
                                                              base.cuda)))  # fmt: skip
    if base.ngc is not None:
        found.append((f"NGC {base.ngc.container} {base.ngc.release}", ngc_verdict(fleet, base.ngc)))
    if base.kind == "tensorflow" and base.gpu and base.framework and " " in base.framework:
        found.append((f"tensorflow/tensorflow:{tag}",
                      tensorflow_verdict(knowledge, fleet, base.framework.split(" ", 1)[1])))  # fmt: skip
    return [(named, verdict) for named, verdict in found if verdict is not None]


def uncovered_message(named: str, verdict: ArchVerdict) -> str:
    """The fleet gate's sentence, the same for a Dockerfile, a Compose service and an image."""
    has = (f"supports compute capability {verdict.archs[0][3:]} and later only" if verdict.archs[0].startswith(">=")
           else f"has kernels for sm {', '.join(verdict.archs)} only")  # fmt: skip
    missing = ", ".join(f"{g.label} ({g.model.sm})" for g in verdict.missing)
    advice = ". cu126 covers sm_50-sm_90, cu128 and newer sm_75-sm_120" if "[torch_cuda" in verdict.source else ""
    return f"{named} {has}: no kernel image for {missing} in the fleet (source: {verdict.source}; [gpu_models]){advice}"
