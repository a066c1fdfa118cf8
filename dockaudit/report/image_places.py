"""Where a report puts an image finding.

An image finding has no line of its own: it is in the image's config or in one of its layers, perhaps
at a file.  With ``--dockerfile`` a layer maps to the instruction that made it, a real file and line
that code review tools can annotate; everything else is named logically, by the image reference, the
layer and the file.  Each format uses what its consumers can show (SARIF: a logical location; GitHub:
no file; GitLab and Checkstyle: the reference as the path)."""

from __future__ import annotations


from dockaudit.model import FileResult
from dockaudit.model import Finding
from dockaudit.records import record
from dockaudit.report._safe import safe_text


@record(slots=False)
class ImagePlace:
    reference: str  # the image as named, already through safe_text
    layer: int | None  # 1-based, as the layer table numbers them; None: the image config
    file: str | None  # the path in the image, through safe_text
    dockerfile: str | None  # the --dockerfile path, when the layer maps to one of its lines
    line: int | None

    @property
    def part(self) -> str:
        """"config", "layer 2" or "layer 2 /app/.env", as the text report's lines name it."""
        where = "config" if self.layer is None else f"layer {self.layer}"
        return f"{where} /{self.file.lstrip('/')}" if self.file else where

    @property
    def logical_name(self) -> str:
        """The image, its layer and its file as one path: "docker-archive:app.tar (app:1)/layer 2/app/.env"."""
        name = self.reference
        if self.layer is not None:
            name += f"/layer {self.layer}"
        if self.file:
            name += "/" + self.file.lstrip("/")
        return name


def is_image_result(result: FileResult) -> bool:
    """Whether ``result`` is an image's (``dockaudit.image.audit.ImageResult``, with or without a
    summary: an image that could not be read has none); asked of the result so that reports of
    Dockerfiles never import the image code."""
    return hasattr(result, "layer_lines")


def image_results(results: list[FileResult]) -> dict[str, FileResult]:
    """The image results among ``results``, by the path their findings carry (the image reference)."""
    return {r.path: r for r in results if getattr(r, "image", None) is not None}


def image_place(finding: Finding, images: dict[str, FileResult]) -> ImagePlace | None:
    """Where ``finding`` is in its image, or None for a finding of a Dockerfile or Compose file."""
    result = images.get(finding.path)
    if result is None:
        return None
    line = result.layer_lines.get(finding.layer) if finding.layer is not None else None
    dockerfile = result.dockerfile_path if line else None
    return ImagePlace(
        reference=safe_text(result.image.reference),
        layer=None if finding.layer is None else finding.layer + 1,
        file=None if finding.file is None else safe_text(finding.file),
        dockerfile=dockerfile,
        line=line if dockerfile else None,
    )
