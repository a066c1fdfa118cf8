"""The Python frameworks a built image really holds: wheel versions from ``*.dist-info`` folders and the
torch build from ``torch/version.py`` — what pip resolved, not what a Dockerfile asked for."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockaudit.image.audit import ImageContext

# Debian's and NGC's system Python installs into dist-packages, pip elsewhere into site-packages.
_DIST_INFO = re.compile(r"/(?:site|dist)-packages/([A-Za-z0-9_.]+)-([^/]+)\.dist-info/")
_TORCH_VERSION_FILE = re.compile(r"/(?:site|dist)-packages/torch/version\.py$")
# `__version__ = '2.5.1+cu124'` and `cuda: Optional[str] = '12.4'`, with or without the type annotation
_TORCH_VERSION = re.compile(rb"^__version__[ \t]*(?::[^=\n]*)?=[ \t]*['\"]([^'\"\n]{1,64})['\"]", re.M)
_TORCH_CUDA = re.compile(rb"^cuda[ \t]*(?::[^=\n]*)?=[ \t]*['\"]([0-9.]{1,16})['\"]", re.M)
# A release build as pip installs it from PyPI or the PyTorch index ("2.11.0", "2.11.0+cu128"): NGC's and
# source builds ("2.6.0a0+ecf3bae40a") pick their own architecture lists, which no table holds.
_RELEASE_BUILD = re.compile(r"^\d+\.\d+\.\d+(?:\+cu\d{2,3})?$")


def wheel_versions(ctx: ImageContext) -> dict[str, str]:
    """Normalised distribution name → installed version, from every ``*.dist-info`` folder in the final view."""
    found: dict[str, str] = {}
    for path in ctx.fs.files:
        match = _DIST_INFO.search("/" + path)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def torch_build(ctx: ImageContext) -> tuple[str, str, str] | None:
    """(version, CUDA, path) of a torch release build with CUDA in the image, from its ``torch/version.py``;
    None for CPU builds, pre-release or vendor builds, and images without torch."""
    for path, data in sorted(ctx.contents.items()):
        if not _TORCH_VERSION_FILE.search("/" + path) or path not in ctx.fs.files:
            continue
        version, cuda = _TORCH_VERSION.search(data), _TORCH_CUDA.search(data)
        if version and cuda:
            text = version.group(1).decode("ascii", "replace")
            if _RELEASE_BUILD.match(text):
                return text, cuda.group(1).decode("ascii"), path
    return None
