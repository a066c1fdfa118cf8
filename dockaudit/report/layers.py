"""The image side of the text report: a layer table (size, share as a bar, created_by), the largest
files and the wasted-space summary.  The image's name, history and file names come from whoever built
it: they go through ``safe_text`` like every report's input.

History records build arguments in the clear (``RUN |1 GH_TOKEN=ghp_… /bin/sh -c …``): the table masks
every build argument's value, assignments to credential-like names and known token shapes, so the
report a CI log keeps does not repeat the secret DA802 reports."""

from __future__ import annotations

import re

from dockaudit.image.audit import ImageContext
from dockaudit.report import human_size, safe_text
from dockaudit.patterns import lazy_pattern

BAR = 20
MASK = "***"

_BUILD_ARGS = lazy_pattern(r"\A(RUN )?\|(\d{1,4}) ")  # how buildah and BuildKit record build args: |N K=V ...
_CREDENTIAL_ASSIGNMENT = lazy_pattern(
    r"\b([A-Za-z0-9_]{0,64}(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|CREDENTIALS?)[A-Za-z0-9_]{0,64}=)"
    r"(\"[^\"]{0,4096}\"|'[^']{0,4096}'|\S{1,4096})",
    re.IGNORECASE,
)
_TOKEN = lazy_pattern(
    r"\b(hf_|gh[pousr]_|github_pat_|sk-|AKIA|xox[abprs]-|glpat-|npm_)[A-Za-z0-9_-]{8,4096}"
)


def mask_secrets(created_by: str) -> str:
    """``created_by`` with build-argument values, credential assignments and tokens replaced by ***."""
    found = _BUILD_ARGS.match(created_by)
    if found:
        words = created_by[found.end() :].split(" ")
        count = min(int(found.group(2)), len(words))
        masked = [word.partition("=")[0] + "=" + MASK if "=" in word else word for word in words[:count]]
        created_by = created_by[: found.end()] + " ".join([*masked, *words[count:]])
    created_by = _CREDENTIAL_ASSIGNMENT.sub(lambda m: m.group(1) + MASK, created_by)
    return _TOKEN.sub(lambda m: m.group(1) + MASK, created_by)


def render_layers(ctx: ImageContext, largest: int = 5) -> str:
    sizes = ctx.fs.layer_sizes
    total = sum(sizes) or 1
    lines = [f"{safe_text(ctx.image.name)}: {len(sizes)} layers, {human_size(sum(sizes))}"]
    for index, size in enumerate(sizes):
        share = size / total
        bar = "#" * round(share * BAR)
        created = safe_text(mask_secrets(" ".join(ctx.history_for_layer(index).split()))[:70])
        lines.append(f"  {index + 1:>3}  {human_size(size):>10}  {bar:<{BAR}}  {created}")
    files = sorted(ctx.fs.files.values(), key=lambda e: -e.size)[:largest]
    if files and files[0].size:
        lines.append("  largest files:")
        lines += [f"    {human_size(e.size):>10}  /{safe_text(e.path)}  (layer {e.layer + 1})" for e in files if e.size]
    wasted = sum(w.size for w in ctx.fs.waste)
    lines.append(f"  wasted: {human_size(wasted)} in lower layers ({wasted / total:.1%} of the layers' bytes)")
    return "\n".join(lines) + "\n"
