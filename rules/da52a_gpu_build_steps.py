"""DA520–DA524 — build steps that assume a GPU machine or a fixed model: weights downloaded into a
layer, a framework image's framework reinstalled, CUDA compiled without nvcc, NVIDIA_* checks
overridden, GPU queries where no GPU exists.

Every rule reads the per-stage facts (``dockaudit.facts.mlfacts``) and the knowledge tables
(``ctx.knowledge``: ``dockaudit/facts/knowledge/*.toml``); when a version is not settled by the file (unpinned,
ARG without a default), the rule stays silent.  Messages name the fact and the table it came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockaudit.context import LintContext
from dockaudit.facts.makefiles import goal_recipes
from dockaudit.facts.mlfacts import NVCC_COMPILE_KINDS, StageFacts, ml_facts, runs_with_gpu
from dockaudit.files import InputError
from dockaudit.model import Violation
from dockaudit.plugin import rule
from dockaudit.syntax.stages import env_pairs
from dockaudit.patterns import lazy_pattern

FAMILY = "ml"


_DOWNLOADS = lazy_pattern(
    r"from_pretrained\(|snapshot_download\(|hf_hub_download\(|huggingface-cli\s+download|\bhf\s+download"
    r"|ollama\s+pull|torch\.hub\.load\(|SentenceTransformer\(|pipeline\(",
)


# File types that are model weights whatever the URL; `.bin`, `.h5`, `.pb` and archives are weights only
# with more evidence (a model host, a model-like name, a models/ destination): firmware and data use them too.
_WEIGHT_URL = lazy_pattern(r"(?:https?|s3|gs)://\S+?\.(?:safetensors|pt|pth|ckpt|gguf|ggml|onnx|tflite|engine)\b")


_AMBIGUOUS_URL = lazy_pattern(r"(?:https?|s3|gs)://\S+?\.(?:bin|h5|pb|pkl|zip|tar|tar\.gz|tgz)\b")


_MODEL_HOSTS = lazy_pattern(
    r"(?:https?://)?(?:huggingface\.co|hf\.co|cdn-lfs\.huggingface\.co|civitai\.com/api/download"
    r"|dl\.fbaipublicfiles\.com|download\.pytorch\.org/models|openaipublic\.azureedge\.net/main/whisper"
    r"|download\.tensorflow\.org/models|tfhub\.dev|www\.kaggle\.com/api/v1/models)/"
)


_NOT_WEIGHTS = (".json", ".txt", ".md", ".py", ".yaml", ".yml", ".html", ".sh")


_MODEL_NAME = lazy_pattern(
    r"(?:pytorch_model|model|weight|checkpoint|ckpt|ggml|yolo|vit_|sam_)[\w.-]*"
    r"\.(?:bin|h5|pb|pkl|zip|tar|tar\.gz|tgz)\b",
    re.IGNORECASE,
)  # a model-zoo file name: "pytorch_model.bin", "resnet50_weights.h5", "ssd_model.tar.gz"


_SCRIPT_LIMIT = 256 * 1024


# A clone of a Hugging Face model repository: its weights arrive through git-lfs (Spaces hold apps and
# datasets hold data; GIT_LFS_SKIP_SMUDGE=1 leaves pointer files only).
_HUB_CLONE = lazy_pattern(
    r"git\s+clone\b[^|;&\n]*?\s(https://(?:huggingface\.co|hf\.co)/(?!spaces/|datasets/)[\w.-]+/[\w.-]+)"
)


def _weight_download(text: str, downloader: bool) -> str | None:
    """What in a RUN (or a script it runs) downloads model weights, or None."""
    match = _DOWNLOADS.search(text)
    if match:
        return match.group(0).strip("(")
    clone = _HUB_CLONE.search(text)
    if clone and "GIT_LFS_SKIP_SMUDGE=1" not in text:
        return "git clone " + clone.group(1)
    if not downloader:
        return None
    weights = _WEIGHT_URL.search(text)
    if weights:
        return weights.group(0)
    on_hub = _model_host_url(text)
    if on_hub:
        return on_hub
    for ambiguous in _AMBIGUOUS_URL.finditer(text):
        url = ambiguous.group(0)
        if _MODEL_NAME.search(url.rsplit("/", 1)[-1]):
            return url
    return None


def _model_host_url(text: str) -> str | None:
    """A file URL on a model hub (``huggingface.co/<repo>/resolve/…``, civitai, the model zoos)."""
    for word in text.split():
        word = word.strip("'\"")
        if "://" not in word or not _MODEL_HOSTS.match(word.split("://", 1)[1]):
            continue
        name = word.split("?", 1)[0].rsplit("/", 1)[-1].lower()
        if name.endswith(_NOT_WEIGHTS) or ("huggingface" in word or "hf.co" in word) and "/resolve/" not in word:
            continue  # a config, a tokenizer text or a web page, not weights
        if "civitai" in word or "." in name:
            return word
    return None


def _context_text(ctx: LintContext, path: str) -> str | None:
    """The text of the build-context file a path in a RUN names, or None (absent, not regular, too big)."""
    found = ctx.context_file(path)
    if found is None:
        return None
    try:
        return ctx.resources.read_file(found, _SCRIPT_LIMIT).decode("utf-8", "replace")
    except InputError:
        return None  # not a regular file, or too big to be a download script: nothing known


def _script_in(words: list[str]) -> str | None:
    """The first script path among a command's first words (``bash get_models.sh``, ``python fetch.py``)."""
    return next((w for w in words if re.search(r"\.(?:sh|py)$", w) and "$" not in w), None)


def _scripts_run(ctx: LintContext, instruction) -> Iterator[tuple[str, str]]:
    """(path, text) of build-context scripts a RUN executes (``bash get_models.sh``, ``python fetch.py``)."""
    for command in ctx.commands(instruction):
        path = _script_in([command.name] + [w.value for w in command.args[:2]])
        text = _context_text(ctx, path) if path else None
        if text is not None:
            yield path, text


_MAKE_VALUED = frozenset({"-C", "--directory", "-f", "--file", "--makefile", "-I", "--include-dir", "-o", "--old-file",
                          "-W", "--what-if"})  # fmt: skip
_MAKE_NUMBERED = frozenset({"-j", "--jobs", "-l", "--load-average"})  # their number is optional


def _make_goals(argv: list[str]) -> tuple[str, str | None, list[str]]:
    """(directory, makefile, goals) of a ``make`` command line; variable overrides are not goals."""
    directory, makefile, goals = "", None, []
    at = 1
    while at < len(argv):
        word = argv[at]
        option, equals, value = word.partition("=")
        if word in _MAKE_VALUED or word in _MAKE_NUMBERED:
            taken = at + 1 < len(argv) and (word in _MAKE_VALUED or argv[at + 1].replace(".", "").isdigit())
            value, at = (argv[at + 1], at + 1) if taken else ("", at)
        elif re.match(r"^-[Cf].", word):
            option, value = word[:2], word[2:]
        elif not word.startswith("-") and not equals:
            goals.append(word)
        if option in ("-C", "--directory") and value:
            directory = value.rstrip("/") + "/"
        elif option in ("-f", "--file", "--makefile") and value:
            makefile = value
        at += 1
    return directory, makefile, goals


def _make_recipes(ctx: LintContext, instruction) -> Iterator[tuple[str, str]]:
    """(where, text) of what each ``make GOAL`` of a RUN executes: the goal's recipe lines read from the
    build context's Makefile, and the text of a script a recipe line runs."""
    for command in ctx.commands(instruction):
        if command.name not in ("make", "gmake"):
            continue
        directory, makefile, goals = _make_goals(command.argv)
        names = [makefile] if makefile else ["GNUmakefile", "makefile", "Makefile"]
        path, text = next(((directory + n, t) for n in names if (t := _context_text(ctx, directory + n))), ("", None))
        if text is None or "$" in path:
            continue
        recipes = goal_recipes(text, goals)
        goal = f"make {' '.join(goals)}".strip()
        yield f"{path}, which '{goal}' runs", "\n".join(recipes)
        for line in recipes:
            script = _script_in(line.split()[:3])
            script_text = _context_text(ctx, directory + script) if script else None
            if script_text is not None:
                yield f"{script}, which '{goal}' runs", script_text


def _plain_http(found: str) -> str:
    return " over plain http (nothing checks what arrives)" if found.startswith("http://") else ""


@rule(
    "DA520",
    "model-download-at-build",
    family=FAMILY,
    severity="warning",
    summary="model weights downloaded at build time into a layer",
    enabled=False,  # precision ledger: 3 of 3 judged not worth reading
)
def find_model_downloads_at_build(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags RUNs that download model weights into the image — `from_pretrained(…)`,
    `snapshot_download`, `huggingface-cli download`, `hf download`, `ollama pull`,
    `torch.hub.load`, `git clone https://huggingface.co/<org>/<model>` (the weights
    arrive through git-lfs), curl/wget of `*.safetensors|*.pt|*.pth|*.ckpt|*.gguf|*.onnx`
    or of a file on a model hub (`huggingface.co/…/resolve/…`, civitai, the PyTorch
    and fairseq model zoos) — and `ADD` of such URLs. With the build context there,
    the scripts a RUN executes (`bash download_models.sh`, `python fetch.py`) are read
    too, and so is the Makefile a `make` goal comes from (`make download-models`: the
    goal's recipe and its prerequisites', with the Makefile's variables expanded, and
    a script a recipe line runs). `sh -c '…'` and `bash -c "…"` strings count as the
    commands they hold. A `.bin`, `.h5` or `.pb` URL counts only with a model-like file name
    (`pytorch_model.bin`): firmware and data files use those suffixes too. Plain
    `http://` downloads are called out (no integrity). When a token comes from ARG or
    ENV, the message says so (DA102 reports the secret itself).

    ## Why is this bad?
    The weights (gigabytes) land in a layer under `~/.cache/huggingface`: every rebuild
    that touches an earlier layer downloads them again, every push and pull carries
    them, and a model update needs an image rebuild.

    ## Example
    ```dockerfile
    FROM python:3.11-slim
    RUN python -c "from transformers import AutoModel; AutoModel.from_pretrained('bert-base-uncased')"
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.11-slim
    ENV HF_HOME=/models
    VOLUME /models
    ```
    """
    token_in_env = any(
        i.name in ("ARG", "ENV") and any(re.match(r"(?:HF_TOKEN|HUGGING_?FACE_HUB_TOKEN|HUGGINGFACE_TOKEN)\b", v) for v in i.values)
        for i in ctx.dockerfile.instructions
    )  # fmt: skip
    suffix = "; the token from ARG/ENV stays in the image history" if token_in_env else ""
    advice = ": fetch them at start-up into a mounted volume (HF_HOME=/models)" + suffix
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name == "ADD":
            for arg in target.args[:-1]:
                found = _weight_download(arg.value, downloader=True)
                if found and "://" in found:
                    yield Violation(arg.span, f"ADD {found}: model weights downloaded into a layer at build time"
                                    f"{_plain_http(found)}{advice}")  # fmt: skip
        if target.name != "RUN":
            continue
        text = target.args_text + "".join(h.content for h in target.heredocs)
        downloader = any(c.name in ("wget", "curl", "aria2c", "gsutil", "aws", "rclone") for c in ctx.commands(instruction))
        found = _weight_download(text, downloader)
        where = ""
        if found is None:
            read = [(f"{path}, which this RUN executes", text) for path, text in _scripts_run(ctx, instruction)]
            for path, script in read + list(_make_recipes(ctx, instruction)):
                found = _weight_download(script, downloader=bool(re.search(r"\b(?:wget|curl|aria2c)\b", script)))
                if found:
                    where = f" (in {path})"
                    break
        if found:
            yield Violation(target.keyword_span, f"'{found}'{where} downloads model weights into a layer at build "
                            f"time{_plain_http(found)}{advice}")  # fmt: skip


_REINSTALLABLE = ("torch", "tensorflow")  # the frameworks DA521 knows an image may ship


def _reinstalls(facts: StageFacts, package: str) -> Iterator[Violation]:
    """pip installs of ``package`` in the stage, on a base whose table row says it ships that package."""
    name, _, shipped = (facts.base.framework or "").partition(" ")
    shipped_version = shipped if name == package and shipped else None
    for install in facts.installed(package):
        if install.instruction not in facts.stage.instructions or install.tool == "conda":
            continue
        installed = (install.version or "").split("+")[0] or None
        if installed is not None and shipped_version is not None and installed == shipped_version:
            continue
        if installed is None and install.specifier:
            continue  # a range the shipped version may satisfy: pip keeps it
        what = f"{package} {installed}" if installed else f"unpinned {package}"
        ships = facts.base.framework if shipped_version else package
        yield Violation(install.span, f"{what} on '{facts.base.image}', which already ships {ships}: a second copy "
                        "(and CUDA stack) on top; pick the image tag that matches instead (source: ml-compat.toml "
                        "[pytorch_image], base-images.toml [image.ngc_*])")  # fmt: skip


@rule(
    "DA521",
    "reinstall-framework",
    family=FAMILY,
    severity="warning",
    summary="a framework image whose framework is installed again at another version",
)
def find_framework_reinstalls(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags `pip install torch` on `pytorch/pytorch` or `nvcr.io/nvidia/pytorch` images,
    and `pip install tensorflow` on `tensorflow/tensorflow`, when the version differs
    from the one in the tag or is not pinned (so pip may replace it).

    ## Why is this bad?
    The image's framework stays in its layer and a second copy — often with another
    CUDA — is added on top: gigabytes of duplicate libraries, and NVIDIA's tuned build
    replaced by a generic wheel.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.1.0-cuda11.8-cudnn8-runtime
    RUN pip install --no-cache-dir torch==2.3.0
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.3.0-cuda11.8-cudnn8-runtime
    ```
    """
    for facts in ml_facts(ctx).stages:
        for package in (p for p in facts.base.ships if p in _REINSTALLABLE):
            yield from _reinstalls(facts, package)


@rule(
    "DA522",
    "compile-on-runtime-image",
    family=FAMILY,
    severity="error",
    summary="CUDA extension compiled on a runtime base (no nvcc): the build fails",
)
def find_compiles_without_nvcc(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags a CUDA extension build (flash-attn, apex, `setup.py build_ext`, nvcc) in a
    stage whose base has no CUDA compiler: `nvidia/cuda:*-runtime|base`,
    `pytorch/pytorch:*-runtime`.

    ## Why is this bad?
    The build stops with "CUDA_HOME environment variable is not set" or "nvcc not
    found" — after the long dependency installs before it.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.7.0.post2
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-devel
    ENV TORCH_CUDA_ARCH_LIST="8.0;9.0"
    RUN pip install --no-cache-dir --no-build-isolation flash-attn==2.7.0.post2
    ```
    """
    for facts in ml_facts(ctx).stages:
        if facts.base.has_nvcc is not False or facts.base.kind not in ("nvidia-cuda", "pytorch"):
            continue
        installs_toolkit = any(re.match(r"cuda-(?:nvcc|toolkit)", p) for p, _i, _s in facts.os_packages)
        if installs_toolkit:
            continue
        for signal in facts.compiles:
            if signal.instruction in facts.stage.instructions and signal.kind in NVCC_COMPILE_KINDS:
                yield Violation(signal.span, f"{signal.what} needs nvcc, which the {facts.base.flavour} image "
                                f"'{facts.base.image}' does not have: build in the devel flavour and copy the result")  # fmt: skip
                break


@rule(
    "DA523",
    "nvidia-env-override",
    family=FAMILY,
    severity="info",
    summary="NVIDIA_REQUIRE_CUDA/NVIDIA_DISABLE_REQUIRE overridden, or driver capabilities set to all",
)
def find_nvidia_env_overrides(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Notes `ENV NVIDIA_REQUIRE_CUDA=…` and `NVIDIA_DISABLE_REQUIRE=…` on a base that
    sets the requirement itself (`nvidia/cuda`, the framework images), and
    `NVIDIA_DRIVER_CAPABILITIES=all` baked into an image. On a base that is not a
    CUDA image (a distroless or plain OS image for a GPU tool) there is no
    requirement to override, so those two stay silent.

    ## Why is this bad?
    The CUDA images set `NVIDIA_REQUIRE_CUDA` so the container runtime refuses a host
    whose driver is too old. Overriding it moves that failure from start-up to the
    first kernel launch. `all` capabilities mount graphics and video libraries a
    compute job does not need (`compute,utility` does).

    ## Example
    ```dockerfile
    FROM nvidia/cuda:12.9.1-runtime-ubuntu22.04
    ENV NVIDIA_REQUIRE_CUDA="cuda>=12.0"
    ```

    ## Use instead
    ```dockerfile
    FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
    ```
    """
    facts = ml_facts(ctx)
    for instruction in ctx.dockerfile.instructions:
        if instruction.name != "ENV":
            continue
        stage = ctx.stage_of(instruction)
        stage_facts = facts.of(stage) if stage else None
        # On a base that sets the requirement itself (nvidia/cuda, framework images) an ENV overrides it;
        # on a plain OS base it is how you build your own CUDA image.
        overrides = stage_facts is not None and stage_facts.base.gpu
        for index, (key, value, _sep) in enumerate(env_pairs(instruction)):
            span = instruction.args[index * 3].span
            plain = value.strip("'\"").lower()
            if key in ("NVIDIA_DISABLE_REQUIRE", "NVIDIA_REQUIRE_CUDA") and overrides:
                yield Violation(span, f"{key} overrides the driver check of the CUDA image: an old driver then fails at "
                                "the first kernel launch instead of at start (source: ml-compat.toml "
                                "[nvidia_cuda_image] env_require)")  # fmt: skip
            elif key == "NVIDIA_DRIVER_CAPABILITIES" and plain == "all":
                yield Violation(span, "NVIDIA_DRIVER_CAPABILITIES=all mounts graphics and video libraries too: "
                                "compute,utility is enough for CUDA")  # fmt: skip


_GPU_QUERIES = lazy_pattern(
    r"nvidia-smi|torch\.cuda\.(?:is_available|device_count|get_device_name)\(|list_physical_devices\(\s*['\"]GPU"
    r"|jax\.devices\(\s*['\"]gpu|cupy\.cuda\.runtime\.getDeviceCount"
)


@rule(
    "DA524",
    "gpu-query-at-build",
    family=FAMILY,
    severity="warning",
    summary="nvidia-smi or torch.cuda.is_available() in RUN: no GPU exists at build time",
)
def find_gpu_queries_at_build(ctx: LintContext) -> Iterator[Violation]:
    """
    ## What it does
    Flags RUNs that ask for a GPU: `nvidia-smi`, `torch.cuda.is_available()`,
    `tf.config.list_physical_devices('GPU')`, `jax.devices('gpu')`.

    A RUN given a GPU with BuildKit's `RUN --device=nvidia.com/gpu=all` (a CDI
    device) is not reported: that step has one.

    ## Why is this bad?
    `docker build` runs without GPUs, so the answer is always "none": a check that
    fails the build on every builder, or a branch that always takes the CPU path and
    bakes that decision into the image.

    ## Example
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    RUN python -c "import torch; assert torch.cuda.is_available()"
    ```

    ## Use instead
    ```dockerfile
    FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime
    RUN python -c "import torch; print(torch.version.cuda)"
    ```
    """
    for instruction in ctx.dockerfile.instructions:
        target = instruction.trigger or instruction
        if target.name != "RUN" or runs_with_gpu(target):
            continue
        text = target.args_text + "".join(h.content for h in target.heredocs)
        match = _GPU_QUERIES.search(text)
        if match:
            yield Violation(target.keyword_span, f"'{match.group(0).rstrip('(')}' at build time: there is no GPU "
                            "during docker build, so the answer is always 'none'")  # fmt: skip
