"""The image side of the text report: a layer table (size, share as a bar, created_by), the largest
files and the wasted-space summary.  The image's name, history and file names come from whoever built
it: they go through ``safe_text`` like every report's input."""

from __future__ import annotations

from dockaudit.image.audit import ImageContext
from dockaudit.report import safe_text

BAR = 20


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def render_layers(ctx: ImageContext, largest: int = 5) -> str:
    sizes = ctx.fs.layer_sizes
    total = sum(sizes) or 1
    lines = [f"{safe_text(ctx.image.name)}: {len(sizes)} layers, {_size(sum(sizes))}"]
    for index, size in enumerate(sizes):
        share = size / total
        bar = "#" * round(share * BAR)
        created = safe_text(" ".join(ctx.history_for_layer(index).split())[:70])
        lines.append(f"  {index + 1:>3}  {_size(size):>10}  {bar:<{BAR}}  {created}")
    files = sorted(ctx.fs.files.values(), key=lambda e: -e.size)[:largest]
    if files and files[0].size:
        lines.append("  largest files:")
        lines += [f"    {_size(e.size):>10}  /{safe_text(e.path)}  (layer {e.layer + 1})" for e in files if e.size]
    wasted = sum(w.size for w in ctx.fs.waste)
    lines.append(f"  wasted: {_size(wasted)} in lower layers ({wasted / total:.1%} of the layers' bytes)")
    return "\n".join(lines) + "\n"
