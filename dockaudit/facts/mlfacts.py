"""What an ML Dockerfile settles, per stage: the base (``mlbase``: CUDA/cuDNN/flavour/OS/Python), the framework
installs (version, CUDA variant, index), and whether anything is compiled.

Facts the file does not settle stay ``None``: a rule that needs one stays silent.  Base facts come
from the image tag (nvidia/cuda, pytorch/pytorch, tensorflow/tensorflow, python, OS images), or
from the earlier stage the stage is built FROM, with ARG defaults already resolved by the stage view.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from dockaudit.facts.condaenv import read_environment
from dockaudit.context import LintContext
from dockaudit.files import read_regular_file
from dockaudit.facts.installs import Invocation, installs
from dockaudit.facts.requirements import normalise_name, parse_requirement
from dockaudit.records import field, record
from dockaudit.syntax.nodes import Instruction
from dockaudit.syntax.shell import Command
from dockaudit.syntax.source import Span
from dockaudit.syntax.stages import Stage, env_pairs
from dockaudit.facts.mlbase import BaseFacts, os_default_python, read_base
from dockaudit.patterns import lazy_pattern

if TYPE_CHECKING:
    from dockaudit.facts.knowledge import Knowledge

_CU_TAG = lazy_pattern(r"(?:^|/|\+)(cu\d{2,3}|cpu|rocm[\d.]+)(?:/|$)")
FRAMEWORKS = frozenset(
    {"torch", "torchvision", "torchaudio", "tensorflow", "tensorflow-gpu", "tensorflow-cpu", "jax", "jaxlib",
     "jax-cuda12-plugin", "jax-cuda13-plugin", "jax-cuda12-pjrt", "jax-cuda13-pjrt", "onnxruntime", "onnxruntime-gpu",
     "flash-attn", "xformers", "apex", "vllm", "tensorrt", "paddlepaddle-gpu", "cupy", "cupy-cuda11x", "cupy-cuda12x",
     "cupy-cuda13x", "pytorch", "pytorch-cuda", "cudatoolkit", "cuda-toolkit", "bitsandbytes", "deepspeed",
     "transformers", "sentence-transformers"} | {"deepspeed", "flashinfer", "flashinfer-python", "tensorrt-llm",
                                                  "deep-gemm", "sglang", "llama-cpp-python", "horovod", "mmcv",
                                                  "flashinfer-jit-cache", "flashinfer-cubin",
                                                  "exllamav2"}
)  # fmt: skip
# Packages whose pip install compiles CUDA code against the installed torch (they import torch to build).
CUDA_SOURCE_PACKAGES = frozenset({"flash-attn", "apex", "detectron2", "pytorch3d", "mmcv-full", "causal-conv1d",
                                  "mamba-ssm", "natten", "torch-scatter", "torch-sparse", "gptqmodel", "auto-gptq"})  # fmt: skip
# Packages that compile CUDA code with nvcc at run time (JIT kernels): a devel base is deliberate.
RUNTIME_NVCC_PACKAGES = frozenset({"deepspeed", "flashinfer", "flashinfer-python", "flashinfer-jit-cache",
                                   "flashinfer-cubin", "vllm", "tensorrt-llm", "deep-gemm", "sglang"})  # fmt: skip
# Packages that run Triton kernels when the model first runs: Triton compiles a small C launcher with gcc
# against Python.h the first time a kernel runs (vLLM, SGLang and unsloth run them at every start).
TRITON_PACKAGES = frozenset({"vllm", "sglang", "unsloth", "triton"})
# Packages that build native CUDA code when installed from source (CMAKE_ARGS, HOROVOD_GPU_*, mim).
NATIVE_CUDA_PACKAGES = frozenset({"llama-cpp-python", "horovod", "mmcv", "exllamav2", "bitsandbytes"})
# Packages whose PyPI release is an sdist that nvcc compiles at install (``cupy``; the wheels are cupy-cudaXXx).
NVCC_SOURCE_PACKAGES = frozenset({"cupy"})
BUILD_TOOLS = lazy_pattern(
    r"^(?:build-essential|cmake|ninja-build|gcc(?:-\d+)?|g\+\+(?:-\d+)?|gcc-c\+\+|make)(?:[=-].*)?$"
)


@record
class FrameworkInstall:
    package: str  # normalised: torch, onnxruntime-gpu, jax …
    version: str | None  # the pinned version (``2.1.0+cu121``, or ``2.1.*``), else None
    specifier: str  # as written after the name: "==2.1.0+cu121", ">=2,<2.2", ""
    extras: tuple[str, ...]
    variant: str | None  # "cu121", "cpu", … from the local version or the index URL
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    find_links: tuple[str, ...]
    tool: str  # pip, uv, conda
    instruction: Instruction
    span: Span | None
    line: int
    no_build_isolation: bool = False
    from_file: str | None = None  # the requirements file it was read from
    vcs: bool = False  # installed from a git URL (built from source)

    @property
    def variant_cuda(self) -> str | None:
        """``cu121`` → ``12.1``; None for cpu/rocm/unknown."""
        if self.variant and re.fullmatch(r"cu\d{3}", self.variant):
            return f"{self.variant[2:4]}.{self.variant[4]}"
        if self.variant and re.fullmatch(r"cu\d{2}", self.variant):
            return f"{self.variant[2:4]}.0"
        return None


@record
class CompileSignal:
    what: str  # "nvcc", "setup.py build", "pip install flash-attn" …
    instruction: Instruction
    span: Span | None
    kind: str = "native"  # torch-extension (needs TORCH_CUDA_ARCH_LIST), nvcc, native (maybe CUDA), setup.py


@record(frozen=False, slots=False)
class StageFacts:
    stage: Stage
    base: BaseFacts
    python: str | None = None
    python_from: str | None = None  # how the Python version was settled
    installs: list[FrameworkInstall] = field(default_factory=list)
    compiles: list[CompileSignal] = field(default_factory=list)
    env: dict[str, tuple[str, Instruction]] = field(default_factory=dict)  # ENV set in this stage (and parents)
    os_packages: list[tuple[str, Instruction, Span | None]] = field(default_factory=list)  # apt, dnf, apk …
    runs_scripts: bool = False  # a RUN executes a script from the context: what it does is unknown
    system_pip: list[tuple[Invocation, Instruction]] = field(default_factory=list)  # pip outside a venv/conda
    # Installs whose dependencies the file does not show, so torch may arrive with them: a local project
    # (`pip install -e .`), a requirements file, a lock sync, or a package that requires torch (ml-requires.toml).
    may_bring_torch: list[tuple[str, Instruction]] = field(default_factory=list)
    # The local projects, wheels and requirement or lock files installed: what they bring (torch, a CUDA
    # extension to compile, DeepSpeed) is not in the Dockerfile.
    unknown_installs: list[tuple[str, Instruction]] = field(default_factory=list)
    runtime_nvcc: list[tuple[str, Instruction]] = field(default_factory=list)  # what calls nvcc when the image runs

    def installed(self, *packages: str) -> list[FrameworkInstall]:
        return [i for i in self.installs if i.package in packages]

    def to_json(self) -> dict:
        base = self.base
        return {
            "stage": self.stage.index,
            "base": {
                "image": str(base.image) if base.image else None,
                "registry": base.image.registry if base.image else None,
                "name": base.image.short_name if base.image else None,
                "tag": base.image.tag if base.image else None,
                "digest": base.image.digest if base.image else None,
                "kind": base.kind,
                "cuda": base.cuda,
                "cudnn_major": base.cudnn_major,
                "flavour": base.flavour,
                "os": base.os,
                "framework": base.framework,
                "ngc_release": (
                    {"release": base.ngc.release, "source": base.ngc.source, "unverified": sorted(base.ngc.unverified)}
                    if base.ngc else None
                ),
            },
            "python": self.python,
            "python_from": self.python_from,
            "frameworks": [
                {
                    "package": i.package,
                    "version": i.version,
                    "specifier": i.specifier,
                    "variant": i.variant,
                    "index_url": i.index_url,
                    "extra_index_urls": list(i.extra_index_urls),
                    "tool": i.tool,
                    "line": i.line,
                    "from_file": i.from_file,
                }
                for i in self.installs
            ],  # fmt: skip
            "compiles": [{"what": c.what, "line": c.instruction.start_line} for c in self.compiles],
        }


def _index_variant(url: str | None) -> str | None:
    if not url:
        return None
    match = _CU_TAG.search(url.rstrip("/") + "/")
    return match.group(1) if match else None


def _pip_installs(ctx: LintContext, invocation: Invocation, instruction: Instruction) -> Iterator[FrameworkInstall]:
    index = (invocation.values("-i", "--index-url") or [None])[-1]
    extras_urls = tuple(invocation.values("--extra-index-url"))
    links = tuple(invocation.values("-f", "--find-links"))
    isolation = invocation.has("--no-build-isolation")
    words = [(w.value, w.span, None) for w in invocation.packages]
    for option in invocation.options:
        if option.name in ("-r", "--requirement") and option.value:
            found = ctx.context_file(option.value)
            if found is not None:
                contents = ctx.reads.requirements(found, ctx.build_context)
                words += [(r.text, option.word.span, found.name) for r in contents.requirements]
    for text, span, from_file in words:
        if "$" in text:
            continue
        requirement = parse_requirement(text)
        name = requirement.name
        if name is None:
            if requirement.is_vcs:
                name = _vcs_package(text)
            if name is None:
                continue
        bracket = re.search(r"\[([^\]]*)\]", text)  # "torch[opt]"; an unclosed "[" means no extras
        extras = tuple(e.strip() for e in bracket.group(1).split(",")) if bracket else ()
        if name not in FRAMEWORKS and not name.startswith("nvidia-") and name not in CUDA_SOURCE_PACKAGES:
            continue
        version = requirement.version
        local = version.split("+", 1)[1] if version and "+" in version else None
        variant = local if local and re.fullmatch(r"cu\d+|cpu|rocm[\d.]+", local) else None
        variant = (
            variant
            or _index_variant(index)
            or next((_index_variant(u) for u in extras_urls + links if _index_variant(u)), None)
        )
        yield FrameworkInstall(
            name, version, requirement.specifier, extras, variant, index, extras_urls, links, invocation.tool,
            instruction, span, instruction.start_line, isolation, from_file, requirement.is_vcs,
        )  # fmt: skip


def _unknown_installs(ctx: LintContext, invocation: Invocation) -> Iterator[str]:
    """The parts of a pip/uv install whose contents this file does not show: requirement files not found in
    the build context, editable and local projects, wheels, variables."""
    for option in invocation.options:
        if option.name in ("-r", "--requirement") and option.value and ctx.context_file(option.value) is None:
            yield f"{option.name} {option.value}"
        elif option.name in ("-e", "--editable") and option.value:
            yield f"{option.name} {option.value}"
    for word in invocation.packages:
        if _is_local(word.value):
            yield word.value


def _is_local(text: str) -> bool:
    return text.startswith((".", "/", "$")) or (
        ("/" in text or text.endswith((".whl", ".tar.gz"))) and "://" not in text and "@" not in text
    )


def _torch_carriers(invocation: Invocation) -> Iterator[str]:
    """The named packages of a pip/uv install that require torch (ml-requires.toml [requires_torch])."""
    for word in invocation.packages:
        name = None if _is_local(word.value) else parse_requirement(word.value).name
        if name is not None and name in requires_torch():
            yield name


# Repositories whose checkout is built into something that compiles CUDA code with nvcc when it runs
# (DeepSpeed ops JIT-load with nvcc) or needs nvcc to build (darknet GPU=1, CuPy from source).
_NVCC_REPOSITORIES = lazy_pattern(r"github\.com/(?:microsoft/deepspeed|deepspeedai/deepspeed|cupy/cupy|"
                                r"alexeyab/darknet|pjreddie/darknet|hank-ai/darknet)\b", re.IGNORECASE)  # fmt: skip


def _runtime_nvcc_source(command: Command) -> str | None:
    """A command that makes the image need nvcc: a clone of DeepSpeed/CuPy/darknet, DeepSpeed op builds."""
    if command.name == "git" and any(_NVCC_REPOSITORIES.search(a) for a in command.argv[2:]):
        return "git clone " + next(a for a in command.argv[2:] if _NVCC_REPOSITORIES.search(a))
    if any(a.startswith("DS_BUILD_") for a in command.assignments):
        return "DeepSpeed op build (DS_BUILD_*)"
    return None


def _syncs_a_project(command: Command) -> bool:
    """``uv sync``, ``poetry install``, ``pdm install``, ``pipenv install``: dependencies from a lock file."""
    argv = command.argv
    return (command.name == "uv" and argv[1:2] == ["sync"]) or (
        command.name in ("poetry", "pdm", "pipenv") and argv[1:2] in (["install"], ["sync"])
    )


@lru_cache(maxsize=1)
def ml_requires() -> dict:
    """``dockaudit/facts/knowledge/ml-requires.toml``: Requires-Dist facts (which packages need torch, exact torch pins)."""
    from dockaudit.facts.knowledge import data_dir

    if sys.version_info >= (3, 11):  # imported here: a file that installs no ML package never reads it
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    data = read_regular_file(os.path.join(data_dir(), "ml-requires.toml"), _REQUIRES_LIMIT)
    return tomllib.loads(data.decode("utf-8"))


def requires_torch() -> frozenset[str]:
    """Packages whose every release requires torch (ml-requires.toml [requires_torch])."""
    return frozenset(ml_requires().get("requires_torch", {}).get("packages", []))


_REQUIRES_LIMIT = 1 << 20


def _vcs_package(text: str) -> str | None:
    lowered = text.lower()
    for name, marker in (("apex", "nvidia/apex"), ("xformers", "xformers"), ("flash-attn", "flash-attention"),
                         ("detectron2", "detectron2"), ("pytorch3d", "pytorch3d")):  # fmt: skip
        if marker in lowered:
            return name
    return None


def _conda_installs(invocation: Invocation, instruction: Instruction) -> Iterator[FrameworkInstall]:
    for word in invocation.packages:
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:[=<>!]=?)?([\w.*+]*)", word.value.split("::")[-1])
        if not match:
            continue
        name, version = normalise_name(match.group(1)), match.group(2)
        if name not in FRAMEWORKS:
            continue
        exact = version if version and "*" not in version else None
        yield FrameworkInstall(name, exact, word.value[len(match.group(1)) :], (), None, None, (), (), "conda",
                               instruction, word.span, instruction.start_line)  # fmt: skip


_SETUP_COMMANDS = ("install", "build_ext", "bdist_wheel", "develop", "build")


def _compile_signal(command: Command) -> tuple[str, str] | None:
    """(what, kind) when ``command`` compiles native code that may target CUDA."""
    argv = command.argv
    name = command.name
    if name == "nvcc":
        return "nvcc", "nvcc"
    if any("--cuda_ext" in a or "--cpp_ext" in a for a in argv[1:]) and (
        name.startswith(("python", "pip")) or name == "uv"
    ):
        return "apex --cuda_ext build", "torch-extension"
    if _forces_cuda(command) and (
        (name.startswith("python") and "setup.py" in argv[1:3]) or (name.startswith("pip") and "install" in argv[1:3])
    ):
        return f"{' '.join(argv[:2])} with FORCE_CUDA/BUILD_EXT", "torch-extension"
    if name.startswith("python") and "setup.py" in argv[1:3] and set(_SETUP_COMMANDS) & set(argv):
        return "python setup.py " + next(a for a in argv if a in _SETUP_COMMANDS), "setup.py"
    if name == "cmake" and any(re.search(r"CUDA|CUBLAS", a) for a in argv):
        return "cmake with CUDA", "nvcc"
    if name == "make" and any(
        re.search(r"(?:GGML_CUDA|LLAMA_CUBLAS|CUDA|GPU|CUDNN)=1", a) for a in argv + list(command.assignments)
    ):
        return "make with CUDA", "nvcc"
    if name == "sed" and any(re.search(r"\b(?:GPU|CUDNN)=1\b", a) for a in argv[1:]):
        return "Makefile switched to GPU=1 (darknet)", "nvcc"
    if name == "mim" and argv[1:2] == ["install"]:
        return "mim install " + " ".join(argv[2:3]), "native"
    return None


def _forces_cuda(command: Command) -> bool:
    """``FORCE_CUDA=1`` (detectron2, torch-scatter, mmcv) or ``BUILD_EXT=1`` (ColossalAI) on the command: the
    package builds its CUDA extension even without a visible GPU."""
    return any(re.match(r"^(?:FORCE_CUDA|BUILD_EXT)=[\"']?(?:1|true|yes)", a, re.IGNORECASE) for a in command.assignments)


def _python_from_conda(invocation: Invocation) -> str | None:
    for word in invocation.packages:
        match = re.match(r"^python(?:=|==)(\d+\.\d+)", word.value)
        if match:
            return match.group(1)
    return None


def _apt_python(packages: list[str]) -> str | None | bool:
    """``python3.11`` → "3.11"; ``python3``/``python3-pip`` → True (the OS default); else None."""
    for package in packages:
        match = re.match(r"^python(3\.\d+)(?:-[a-z]+)?(?:=.*)?$", package)
        if match:
            return match.group(1)
    if any(re.match(r"^python3(?:-pip|-venv|-dev)?(?:=.*)?$", p) for p in packages):
        return True
    return None


def ml_facts(ctx: LintContext) -> MlFacts:
    """The facts of the Dockerfile being linted, computed once and shared by every ML rule."""
    return ctx.derived("ml-facts", lambda: MlFacts(ctx))


class MlFacts:
    """Facts for every stage of one Dockerfile, read from its context when made.  They keep no reference to
    the context, which keeps them (``ctx.derived``): a cycle would leave the file's views (shell commands,
    stages, ~1 KB a line) to the cyclic collector."""

    def __init__(self, ctx: LintContext) -> None:
        self.stages = self._read_stages(ctx)

    def _read_stages(self, ctx: LintContext) -> list[StageFacts]:
        knowledge = ctx.knowledge
        os_python = knowledge.os_python
        facts: list[StageFacts] = []
        by_stage: dict[int, StageFacts] = {}
        for stage in ctx.stages:
            parent = by_stage.get(id(stage.parent)) if stage.parent is not None else None
            base = read_base(stage, parent, knowledge)
            current = StageFacts(stage, base, python=parent.python if parent else base.python)
            if parent is not None:
                current.python_from = parent.python_from
                current.installs = list(parent.installs)
                current.env = dict(parent.env)
                current.os_packages = list(parent.os_packages)
                current.runs_scripts = parent.runs_scripts
                current.compiles = list(parent.compiles)
                current.may_bring_torch = list(parent.may_bring_torch)
                current.unknown_installs = list(parent.unknown_installs)
                current.runtime_nvcc = list(parent.runtime_nvcc)
            elif base.python:
                current.python_from = f"base image {base.image}"
            self._read_stage(ctx, current, os_python)
            facts.append(current)
            by_stage[id(stage)] = current
        return facts

    def of(self, stage: Stage) -> StageFacts | None:
        facts = self.stages[stage.index] if 0 <= stage.index < len(self.stages) else None
        return facts if facts is not None and facts.stage is stage else None  # one fact per stage, in order

    def _read_environment_file(
        self, ctx: LintContext, facts: StageFacts, name: str, instruction: Instruction, invocation: Invocation
    ) -> None:
        """``conda env create -f environment.yml``: its conda and pip dependencies, from the build context."""
        found = ctx.context_file(name)
        environment = read_environment(found) if found is not None and found.suffix in (".yml", ".yaml") else None
        if environment is None:
            return
        if environment.python:
            facts.python, facts.python_from = environment.python, f"{found.name} python="
        span = next((o.word.span for o in invocation.options if o.value == name), invocation.command.span)
        for dependency in environment.conda:
            match = re.match(r"^([A-Za-z0-9_.-]+)\s*(?:[=<>!]=?)?\s*([\w.*+]*)", dependency.split("::")[-1])
            if match and normalise_name(match.group(1)) in FRAMEWORKS:
                version = match.group(2) if match.group(2) and "*" not in match.group(2) else None
                facts.installs.append(FrameworkInstall(
                    normalise_name(match.group(1)), version, dependency[len(match.group(1)):], (), None, None, (), (),
                    "conda", instruction, span, instruction.start_line, from_file=found.name))  # fmt: skip
        for dependency in environment.pip:
            requirement = parse_requirement(dependency)
            if requirement.name in FRAMEWORKS:
                local = (requirement.version or "").partition("+")[2]
                variant = local if re.fullmatch(r"cu\d+|cpu", local or "") else None
                facts.installs.append(FrameworkInstall(
                    requirement.name, requirement.version, requirement.specifier, (), variant, None, (), (), "pip",
                    instruction, span, instruction.start_line, from_file=found.name))  # fmt: skip

    def _read_stage(self, ctx: LintContext, facts: StageFacts, os_python: dict[str, str]) -> None:
        in_venv = facts.base.is_ngc or facts.base.kind in ("conda", "pytorch", "python", "alpine", "tensorflow")
        for instruction in facts.stage.instructions:
            if instruction.name == "ENV":
                for key, value, _sep in env_pairs(instruction):
                    facts.env[key] = (value, instruction)
                    if key == "PATH" and re.search(r"venv|/opt/conda|\.venv|/env/bin|miniconda|mamba", value):
                        in_venv = True
            commands = ctx.commands(instruction)
            for command in commands:
                if _syncs_a_project(command):
                    facts.unknown_installs.append((" ".join(command.argv[:2]), instruction))
                    facts.may_bring_torch.append((" ".join(command.argv[:2]), instruction))
                nvcc_use = _runtime_nvcc_source(command)
                if nvcc_use:
                    facts.runtime_nvcc.append((nvcc_use, instruction))
                if command.name.endswith(".sh") or (
                    command.name in ("bash", "sh") and any(w.value.endswith(".sh") for w in command.args[:2])
                ):
                    facts.runs_scripts = True
                signal = _compile_signal(command)
                if signal:
                    facts.compiles.append(CompileSignal(signal[0], instruction, command.span, signal[1]))
                if command.name in ("virtualenv",) or (
                    command.name.startswith("python") and "venv" in command.argv[1:3]
                ):
                    in_venv = True
                if command.name == "uv" and command.argv[1:2] == ["venv"]:
                    in_venv = True
                if command.name == "uv" and command.argv[1:3] == ["python", "install"] and len(command.argv) > 3:
                    facts.python, facts.python_from = command.argv[3], "uv python install"
            for invocation in ctx.invocations(instruction):
                if invocation.tool in ("apt-get", "apt", "dnf", "yum", "apk", "zypper") and (
                    installs(invocation) or invocation.action in ("groupinstall", "group install")
                ):
                    names = [w.value for w in invocation.packages]
                    facts.os_packages += [(w.value, instruction, w.span) for w in invocation.packages]
                    found = _apt_python(names) if invocation.tool in ("apt-get", "apt") else None
                    if isinstance(found, str):
                        facts.python, facts.python_from = found, f"apt {found}"
                    elif found is True and facts.python is None:
                        default = os_default_python(facts.base, os_python)
                        if default:
                            facts.python, facts.python_from = default, f"apt python3 on {facts.base.os}"
                elif invocation.tool == "conda" and invocation.action in ("install", "create", "update"):
                    in_venv = True
                    version = _python_from_conda(invocation)
                    if version:
                        facts.python, facts.python_from = version, "conda python="
                    facts.installs += list(_conda_installs(invocation, instruction))
                    for env_file in invocation.values("-f", "--file"):
                        self._read_environment_file(ctx, facts, env_file, instruction, invocation)
                elif invocation.tool in ("pip", "uv", "pipx") and installs(invocation):
                    new = list(_pip_installs(ctx, invocation, instruction))
                    unknown = [(what, instruction) for what in _unknown_installs(ctx, invocation)]
                    facts.unknown_installs += unknown
                    facts.may_bring_torch += unknown + [(what, instruction) for what in _torch_carriers(invocation)]
                    facts.installs += new
                    if (
                        invocation.tool == "pip"
                        and not in_venv
                        and not invocation.has("--user", "--prefix", "--target", "-t")
                    ):
                        facts.system_pip.append((invocation, instruction))
                    for item in new:
                        prebuilt = bool(item.find_links) and not item.vcs  # -f wheel pages (PyG, OpenMMLab)
                        if prebuilt:
                            continue
                        if item.package in CUDA_SOURCE_PACKAGES or (item.package == "xformers" and item.vcs):
                            facts.compiles.append(
                                CompileSignal(f"pip install {item.package}", instruction, item.span, "torch-extension")
                            )
                        elif item.package in NVCC_SOURCE_PACKAGES:
                            facts.compiles.append(CompileSignal(f"pip install {item.package}", instruction, item.span,
                                                                "nvcc"))  # fmt: skip
                        elif item.package in NATIVE_CUDA_PACKAGES:
                            facts.compiles.append(CompileSignal(f"pip install {item.package}", instruction, item.span))


PYTORCH_WHEEL_HOST = "download.pytorch.org"  # PyTorch's own wheel indexes: /whl/cu124, /whl/cpu …
NVCC_COMPILE_KINDS = ("torch-extension", "nvcc")  # the CompileSignal kinds that certainly run nvcc


def image_stage_facts(ctx: LintContext) -> StageFacts | None:
    """Facts of the stage that becomes the image (``--target`` or the last); None without stages."""
    return ml_facts(ctx).of(ctx.target_stage) if ctx.target_stage else None


def torch_install_cuda(install: FrameworkInstall, knowledge: Knowledge) -> tuple[str | None, str]:
    """The CUDA a torch install brings, and where that fact comes from ("cpu" for CPU builds);
    ``(None, "")`` when the install does not settle it."""
    if install.variant == "cpu":
        return "cpu", "the cpu wheel index"
    if install.variant_cuda:
        return install.variant_cuda, f"the {install.variant} build"
    if install.version and install.index_url is None and install.tool != "conda":
        release = knowledge.torch_release(install.version)
        if release is not None:
            return release.pypi_default_cuda, f'PyPI default, ml-compat.toml [torch."{release.minor}"]'
    return None, ""


def run_time_compiles(facts: StageFacts) -> tuple[str | None, str | None]:
    """(what compiles C when the image runs, what runs nvcc when it runs), each None when nothing does.

    torch counts for C: ``torch.compile`` (Inductor) builds C++ on the CPU and Triton launchers on the
    GPU with the system compiler, so a compiler next to torch may be there for it.
    """
    c_user = next((i.package for i in facts.installs if i.package in TRITON_PACKAGES | {"torch"}), None)
    nvcc_user = next((i.package for i in facts.installed(*RUNTIME_NVCC_PACKAGES)), None)
    if nvcc_user is None and facts.runtime_nvcc:
        nvcc_user = facts.runtime_nvcc[0][0]
    return c_user or nvcc_user, nvcc_user


def runs_with_gpu(instruction: Instruction) -> bool:
    """``RUN --device=nvidia.com/gpu=…`` (BuildKit CDI devices, Dockerfile 1.14 labs): the step runs with a GPU."""
    return any(
        flag.name == "device" and flag.value and re.match(r"(?:nvidia\.com/gpu|/dev/nvidia)", flag.value)
        for flag in instruction.flags
    )


def exact_torch_pin(package: str, version: str, knowledge: Knowledge) -> tuple[str, str] | None:
    """(torch version, source) that ``package==version`` requires exactly, or None when not known.

    From ml-requires.toml [exact_torch.*] (vllm, xformers) and ml-compat.toml's torchvision/torchaudio
    pairing tables.
    """
    release = version.split("+")[0]
    row = ml_requires().get("exact_torch", {}).get(package)
    if row is not None:
        pinned = row.get("pins", {}).get(release)
        return (str(pinned), f"ml-requires.toml [exact_torch.{package}]") if pinned else None
    if package in ("torchvision", "torchaudio"):
        for torch_release in knowledge.torch.values():
            pairs = torch_release.torchvision if package == "torchvision" else torch_release.torchaudio
            for torch_version, companion in pairs.items():
                if companion.split(" ")[0] == release:
                    return torch_version, f'ml-compat.toml [torch."{torch_release.minor}"]'
    return None
