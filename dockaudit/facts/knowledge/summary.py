"""What ``dockaudit knowledge`` prints of the tables (their date, the newest versions they know, their
spans), the note a run prints once when they are over six months old, and which facts of a stage the
tables do not know (``dockaudit parse``)."""

from __future__ import annotations

import datetime as dt
import re

from dockaudit.facts.knowledge import ML_COMPAT, NGC_CONTAINERS, Knowledge, override_path
from dockaudit.facts.versions import version_numbers


def _span(versions: list[str]) -> str:
    ordered = sorted(versions, key=version_numbers)
    return f"{ordered[0]} … {ordered[-1]} ({len(ordered)})" if ordered else "none"


STALE_AFTER_DAYS = 183  # six months


def today() -> dt.date:
    """The day staleness is judged by (a function, so tests can pin it)."""
    return dt.date.today()


def staleness_note(knowledge: Knowledge, on: dt.date) -> str | None:
    """One line when the tables are older than six months on ``on``, else None."""
    try:
        made = dt.date.fromisoformat(knowledge.as_of)
    except ValueError:
        return None
    if (on - made).days <= STALE_AFTER_DAYS:
        return None
    return (f"note: the ML knowledge tables are from {knowledge.as_of}, over six months old: releases since then are "
            "unknown to the DA5xx rules (upgrade dockaudit, or run `dockaudit knowledge refresh`)")  # fmt: skip


def _newest_seen(knowledge: Knowledge) -> dict[str, str]:
    """The newest versions the tables know: the rows' newest keys and [meta] newest_seen."""
    meta = knowledge.raw.get(ML_COMPAT, {}).get("meta", {})
    seen = meta.get("newest_seen", {}) if isinstance(meta.get("newest_seen"), dict) else {}
    newest = {"torch": knowledge.newest("torch"), "tensorflow": knowledge.newest("tensorflow"),
              "CUDA": knowledge.newest("cuda")}  # fmt: skip
    newest |= {k: str(v) for k, v in seen.items() if isinstance(v, (str, int, float))}
    refreshed = knowledge.raw.get(ML_COMPAT, {}).get("pypi_newest", {})  # from an override file
    newest |= {k: v for k, v in refreshed.items() if isinstance(v, str) and k != "source"}
    return {k: v for k, v in newest.items() if v}


def unknown_facts(stage: dict, knowledge: Knowledge) -> list[str]:
    """What a stage's facts (``StageFacts.to_json``) name that the tables do not know — newer than them."""
    unknown = []
    cuda = stage.get("base", {}).get("cuda")
    if isinstance(cuda, str) and re.match(r"^\d+\.\d+", cuda):
        minor = ".".join(cuda.split(".")[:2])
        if minor not in knowledge.raw.get(ML_COMPAT, {}).get("cuda", {}):
            unknown.append(f"CUDA {cuda}: no row in ml-compat.toml [cuda] (judged by the {cuda.split('.')[0]}.x floor)")
    for framework in stage.get("frameworks", []):
        version = framework.get("version")
        if not isinstance(version, str) or not re.match(r"^\d+\.\d+", version):
            continue
        if framework.get("package") == "torch" and knowledge.torch_release(version) is None:
            unknown.append(f"torch {version}: no row in ml-compat.toml [torch] (unknown to the tables)")
        if framework.get("package") in ("tensorflow", "tensorflow-cpu") and knowledge.tensorflow_release(version) is None:
            unknown.append(f"tensorflow {version}: no row in ml-compat.toml [tensorflow] (unknown to the tables)")
    return unknown


def summarize_knowledge(knowledge: Knowledge) -> dict:
    """What the tables cover, for ``dockaudit knowledge``."""
    cuda_minors = sorted({".".join(v.split(".")[:2]) for v in knowledge.cuda_min_driver})
    return {
        "as_of": knowledge.as_of,
        "override": override_path() or "none",
        "newest known": [f"{k} {v}" for k, v in _newest_seen(knowledge).items()],
        "torch": _span(list(knowledge.torch)),
        "torch CUDA variants": sorted(
            {v for r in knowledge.torch.values() for v in r.cuda_variants}, key=lambda v: int(v[2:])
        ),  # fmt: skip
        "tensorflow": _span(list(knowledge.tensorflow)),
        "jax": str(knowledge.jax.get("latest", "unknown")).split(" ")[0],
        "onnxruntime-gpu": _span([".".join(map(str, r.first)) for r in knowledge.onnxruntime]),
        "CUDA driver floors": _span(cuda_minors),
        "OS default Pythons": sorted(knowledge.os_python),
        "end-of-life tables": [f"{name} ({len(dates)})" for name, dates in sorted(knowledge.eol.items())],
        "base images": len(knowledge.images),
        "GPU models": len(knowledge.gpu_models),
        "architecture lists": [f"torch {_span(list(knowledge.torch_arch_minors))}"]
        + [f"{name} ({', '.join(table.applies_to)}{'' if name == 'tensorflow' else ': CUDA majors'})"
           for name, table in knowledge.framework_archs.items()],  # fmt: skip
        "NGC releases": [f"{container} {_span([r for c, r in knowledge.ngc if c == container])}"
                         for container in NGC_CONTAINERS if any(c == container for c, _ in knowledge.ngc)],
    }
