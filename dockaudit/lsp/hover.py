"""Hover text (markdown): a finding's rule docs, what the knowledge tables say about a FROM
line's base, and the framework build a ``pip install torch…`` line resolves to.

Facts come from ``mlfacts`` (what the file settles) and ``knowledge`` (rules/data tables); a fact
neither knows is left out, never guessed."""

from __future__ import annotations

import datetime as dt
import re

from lsprotocol import types

from dockaudit.lsp.linting import DocumentLint
from dockaudit.lsp.protocol import Positions, lint_source_text

_SIZE_KEYS = ("uncompressed_mb", "compressed_mb", "uncompressed_gb", "compressed_gb")
_NON_ROOT_IMAGE = re.compile(r"(?:^|/)(?:jupyter/|bitnami/)|[:-]nonroot\b|^cgr\.dev/chainguard/")


def hover_markdown(lint: DocumentLint, where: types.Position, encoding: str) -> str | None:
    """Markdown for the LSP position ``where``: the base or framework facts of the instruction on
    its line, then the docs of the rules whose findings' ranges hold it; None when there is nothing
    to say."""
    parts = []
    if lint.result is not None and lint.result.dockerfile is not None and lint.plan is not None:
        parts.extend(_instruction_facts(lint, where.line + 1))
    positions = Positions(lint_source_text(lint), encoding)
    at = (where.line, where.character)
    hit = [f.rule for f in lint.findings if _holds(positions.finding(f), at)]
    parts.extend(filter(None, (_rule_docs(rule_id) for rule_id in dict.fromkeys(hit))))
    return "\n\n---\n\n".join(parts) or None


def _holds(rng: types.Range, at: tuple[int, int]) -> bool:
    return (rng.start.line, rng.start.character) <= at <= (rng.end.line, rng.end.character)


def _rule_docs(rule_id: str) -> str | None:
    from dockaudit.linting.catalogue import render_rule_docs
    from dockaudit.linting.engine import rule_by_id

    found = rule_by_id(rule_id) if rule_id.upper().startswith("DA") else None
    return render_rule_docs(found) if found else None


def _instruction_facts(lint: DocumentLint, line: int) -> list[str]:
    from dockaudit.context import LintContext
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge
    from dockaudit.facts.mlfacts import ml_facts

    assert lint.result is not None and lint.result.dockerfile is not None and lint.plan is not None
    try:
        ctx = LintContext(lint.result.dockerfile, lint.plan.options)
        knowledge = load_knowledge()
        stages = ml_facts(ctx).stages
    except KnowledgeError as exc:
        return [f"_dockaudit: the knowledge tables could not be read: {exc}_"]
    out = []
    for facts in stages:
        start = facts.stage.from_instruction
        if start is not None and start.start_line <= line <= start.end_line:
            out.append(base_markdown(facts, knowledge))
        for install in facts.installs:
            if install.from_file is None and install.instruction.start_line <= line <= install.instruction.end_line:
                out.append(install_markdown(install, knowledge))
    return out


def base_markdown(facts, knowledge) -> str:
    """What is known of a stage's base image: CUDA, cuDNN, flavour, OS, Python, driver floor,
    end of life, size, default user."""
    base = facts.base
    title = str(base.image) if base.image else (facts.stage.image or "the base")
    rows: list[tuple[str, str]] = [("kind", base.kind)]
    if facts.stage.parent is not None:
        rows.append(("built from", f"stage {facts.stage.parent.name or facts.stage.parent.index}"))
    if base.framework:
        rows.append(("framework", base.framework))
    if base.cuda:
        rows.append(("CUDA", base.cuda))
        floor = _driver_floor(base.cuda, knowledge)
        if floor:
            rows.append(("driver floor", floor))
    if base.cudnn_major is not None:
        rows.append(("cuDNN", str(base.cudnn_major)))
    if base.flavour:
        rows.append(("flavour", base.flavour + (" (nvcc)" if base.has_nvcc else "")))
    if base.os:
        rows.append(("OS", base.os))
    python = facts.python or base.python
    if python:
        rows.append(("Python", python + (f" ({facts.python_from})" if facts.python_from else "")))
    for what, when in _end_of_life(base, python, knowledge):
        state = "reached end of life" if when <= dt.date.today() else "end of life"
        rows.append(("EOL", f"{what}: {state} {when.isoformat()}"))
    size = _size(base, knowledge)
    if size:
        rows.append(("size", size))
    if base.image is not None:
        user = "non-root (image default)" if _NON_ROOT_IMAGE.search(str(base.image)) else "root unless a USER says"
        rows.append(("user", user))
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"**{title}**\n\n| | |\n|---|---|\n{table}\n\n_knowledge tables as of {knowledge.as_of}_"


def _driver_floor(cuda: str, knowledge) -> str | None:
    parts = cuda.split(".")
    exact = knowledge.cuda_min_driver.get(cuda) or knowledge.cuda_min_driver.get(".".join(parts[:2] + ["0"]))
    if exact:
        return f'{exact} (ml-compat.toml [cuda."{".".join(parts[:2])}"])'
    floor = knowledge.cuda_major_min_driver.get(int(parts[0])) if parts[0].isdigit() else None
    return f"{floor} (minor-version compatibility)" if floor else None


def _end_of_life(base, python: str | None, knowledge) -> list[tuple[str, dt.date]]:
    eol = knowledge.eol
    found = []
    if python and python in eol.get("python", {}):
        found.append((f"python {python}", eol["python"][python]))
    match = re.match(r"^(ubuntu|debian|alpine)(\d+(?:\.\d+)?)$", base.os or "")
    if match and match.group(2) in eol.get(match.group(1), {}):
        found.append((f"{match.group(1)} {match.group(2)}", eol[match.group(1)][match.group(2)]))
    return found


def _image_key(base) -> str | None:
    """The ``[image.*]`` row of base-images.toml that describes this base."""
    tag = (base.image.tag or "") if base.image else ""
    keys = {
        "nvidia-cuda": f"nvidia_cuda_{base.flavour}" if base.flavour else None,
        "pytorch": f"pytorch_{base.flavour}" if base.flavour else None,
        "nvcr-pytorch": "nvcr_pytorch",
        "tensorflow": "tensorflow_gpu" if base.gpu else "tensorflow_cpu",
        "python": "python_alpine" if "alpine" in tag else "python_slim" if "slim" in tag else "python_full",
        "ubuntu": "ubuntu",
        "debian": "debian",
    }
    return keys.get(base.kind)


def _size(base, knowledge) -> str | None:
    row = knowledge.images.get(_image_key(base) or "", {})
    sizes = [f"{key.replace('_', ' ')} {row[key]}" for key in _SIZE_KEYS if isinstance(row.get(key), (str, int, float))]
    return "; ".join(sizes) or None


def install_markdown(install, knowledge) -> str:
    """A framework install as resolved: version, CUDA variant, index; for torch and tensorflow, the
    table's row for that release."""
    rows = [
        ("tool", install.tool),
        ("version", install.version or f"unpinned{' ' + install.specifier if install.specifier else ''}"),
    ]
    if install.variant:
        rows.append(("variant", install.variant + (f" (CUDA {install.variant_cuda})" if install.variant_cuda else "")))
    if install.index_url:
        rows.append(("index", install.index_url))
    for url in install.extra_index_urls:
        rows.append(("extra index", url))
    if install.package == "torch" and install.version:
        release = knowledge.torch_release(install.version)
        if release:
            rows += [("wheels for Python", ", ".join(release.python)),
                     ("PyPI default CUDA", release.pypi_default_cuda),
                     ("CUDA variants", ", ".join(release.cuda_variants)),
                     ("cuDNN", str(release.cudnn_major)),
                     ("latest patch", release.latest_patch)]  # fmt: skip
            vision = release.torchvision.get(install.version.split("+")[0])
            if vision:
                rows.append(("torchvision", vision))
    if install.package.startswith("tensorflow") and install.version:
        release = knowledge.tensorflow_release(install.version)
        if release:
            rows += [("wheels for Python", ", ".join(release.python)), ("tested CUDA", release.cuda),
                     ("cuDNN", str(release.cudnn_major))]  # fmt: skip
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"**{install.package}**\n\n| | |\n|---|---|\n{table}\n\n_knowledge tables as of {knowledge.as_of}_"
