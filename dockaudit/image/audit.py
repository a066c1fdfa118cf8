"""Audit built images: stream every layer once, build the final filesystem, run the image rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dockaudit.context import Options
from dockaudit.facts.resources import Resources
from dockaudit.linting.engine import Place, run_rules
from dockaudit.model import FileResult, Finding, Violation
from dockaudit.image.layers import Entry, Filesystem, UnpackBudget, apply_entry, end_layer, layer_entries
from dockaudit.image.sources import SourceImage, ImageSourceError, open_source
from dockaudit.plugin import Rule
from dockaudit.patterns import lazy_pattern
from dockaudit.records import field, record, replace

if TYPE_CHECKING:
    from dockaudit.facts.knowledge import Knowledge

# Small files whose content rules read: CUDA/cuDNN versions, framework versions.
_READ = lazy_pattern(
    r"(?:^|/)usr/local/cuda[^/]*/version\.(?:json|txt)$|/(?:site|dist)-packages/torch/version\.py$"
    r"|(?:^|/)usr/include/(?:[^/]+/)?cudnn_version[^/]*\.h$"
    r"|^/(?:usr/)?(?:local/)?s?bin/[^/]+$"  # executables: their ELF header tells the architecture
)


@record(frozen=False, slots=False)
class ImageContext:
    """What image rules read: the config, the layers' history, every entry ever written, the final view."""

    image: SourceImage
    fs: Filesystem
    entries: list[Entry] = field(default_factory=list)  # every entry of every layer, in order
    contents: dict[str, bytes] = field(default_factory=dict)  # small files of interest, last writer wins
    options: Options = field(default_factory=Options)
    resources: Resources = field(default_factory=Resources)

    @property
    def knowledge(self) -> Knowledge:
        return self.resources.knowledge()

    @property
    def config(self) -> dict:
        return self.image.container_config

    def history_for_layer(self, index: int) -> str:
        """The ``created_by`` of the history entry that made layer ``index`` (empty layers skipped)."""
        layered = [h for h in self.image.history if not h.get("empty_layer")]
        return str(layered[index].get("created_by", "")) if index < len(layered) else ""


MAX_ENTRIES = 5_000_000  # entries of all layers, each kept in memory (~200 bytes); real ML images have ~500,000


def read_image(image: SourceImage, budget: UnpackBudget | None = None, progress=None) -> ImageContext:
    """Every layer read once, in order, into the final view; over ``MAX_ENTRIES`` entries is refused
    (a few MB of gzip can hold millions of tiny tar headers).  ``progress`` (``image.progress``) hears
    of each layer and of every ``PROGRESS_STEP`` bytes read."""
    fs = Filesystem()
    ctx = ImageContext(image, fs)
    budget = budget or UnpackBudget()
    if progress is not None:
        progress.start(image.name, len(image.layers))
    read = reported = 0
    try:
        for index, layer in enumerate(image.layers):
            total = 0
            if progress is not None:
                progress.update(index, read)
            for entry, content in layer_entries(layer, index, lambda path: bool(_READ.search("/" + path)), budget):
                if len(ctx.entries) >= MAX_ENTRIES:
                    raise ImageSourceError(f"{image.name}: more than {MAX_ENTRIES} files in its layers; refused")
                ctx.entries.append(entry)
                apply_entry(fs, entry)
                total += entry.size
                read += entry.size
                if content is not None:
                    ctx.contents[entry.path] = content[:20] if content[:4] == b"\x7fELF" else content
                if progress is not None and read - reported >= PROGRESS_STEP:
                    progress.update(index, read)
                    reported = read
            end_layer(fs)
            fs.layer_sizes.append(total)
    finally:
        if progress is not None:
            progress.finish()
    return ctx


PROGRESS_STEP = 8 * 1024**2  # bytes between two redraws of the bar: a few a second on a fast disk


@record(slots=False)
class ImageSummary:
    """What a report's heading says of one image."""

    reference: str  # the source as named, with its tag or platform: "docker-archive:app.tar (app:1)"
    digest: str | None  # the image id (sha256 of the config), where the source gives it
    platform: str  # "linux/amd64"
    size: int  # bytes of all layers, unpacked
    layers: int


@record(frozen=False, slots=False)
class ImageResult(FileResult):
    """An image's findings (``path`` is its reference) and its heading."""

    image: ImageSummary | None = None
    dockerfile_path: str | None = None  # --dockerfile: the file whose instructions made the layers
    layer_lines: dict[int, int] = field(default_factory=dict)  # layer index → that file's line


def _platform(image: SourceImage) -> str:
    if image.platform:
        return image.platform
    config = image.config
    parts = [config.get("os"), config.get("architecture"), config.get("variant")]
    return "/".join(str(p) for p in parts if isinstance(p, str) and p) or "?"


def summarize_image(ctx: ImageContext) -> ImageSummary:
    sizes = ctx.fs.layer_sizes
    return ImageSummary(ctx.image.name, ctx.image.digest, _platform(ctx.image), sum(sizes), len(sizes))


def on_image(name: str, lines: dict[int, int]) -> Place:
    """Placement in an image: findings name the image (``name``), the layer and file the rule found, and,
    with ``--dockerfile``, the line that made the layer."""

    def place(rule: Rule, violation: Violation) -> Finding:
        message = violation.message
        if violation.layer is not None and violation.layer in lines:
            message += f" (made by Dockerfile line {lines[violation.layer]})"
        return Finding(rule.id, rule.name, violation.severity or rule.severity, message, name, 1, 1, 1, 1,
                       fix=None, alias=violation.alias, layer=violation.layer, file=violation.path)  # fmt: skip

    return place


_SECRET_SUBJECT = lazy_pattern(r"\A(?:Env|ENV|ARG) ([A-Za-z_][A-Za-z0-9_]{0,200}) ")
CONFIG_SECRET, DOCKERFILE_SECRET = "DA802", "DA102"


def merge_secret_findings(image_results: list[FileResult], dockerfile: FileResult | None) -> None:
    """One finding for one secret: an image's config Env that the Dockerfile's ENV set is reported by
    DA802 (image) and DA102 (Dockerfile); the Dockerfile's, which names the line to change, stays and
    says the secret is in the image too, the image's is dropped."""
    if dockerfile is None:
        return
    in_dockerfile = {}
    for finding in dockerfile.findings:
        found = _SECRET_SUBJECT.match(finding.message) if finding.rule == DOCKERFILE_SECRET else None
        if found:
            in_dockerfile.setdefault(found.group(1), finding)
    merged: set[str] = set()
    for result in image_results:
        kept = []
        for finding in result.findings:
            found = _SECRET_SUBJECT.match(finding.message) if finding.rule == CONFIG_SECRET else None
            if found and found.group(1) in in_dockerfile:
                merged.add(found.group(1))
                continue
            kept.append(finding)
        result.findings = kept
    dockerfile.findings = [
        replace(f, message=f"{f.message} (and it is in the built image's config: {CONFIG_SECRET})")
        if (found := _SECRET_SUBJECT.match(f.message)) and f.rule == DOCKERFILE_SECRET and found.group(1) in merged
        else f
        for f in dockerfile.findings
    ]


def layer_lines(image: SourceImage, dockerfile) -> dict[int, int]:
    """Layer index → the line of the Dockerfile instruction that made it.

    The last history entries are the final stage's instructions, in order (one each, empty layers
    included); earlier entries belong to the base image."""
    if dockerfile is None:
        return {}
    from dockaudit.context import LintContext

    stage = LintContext(dockerfile).target_stage
    if stage is None:
        return {}
    instructions = [i for s in reversed(stage.ancestry()) for i in s.instructions]
    history = image.history
    offset = len(history) - len(instructions)
    if offset < 0:
        return {}
    lines: dict[int, int] = {}
    layer = 0
    for position, entry in enumerate(history):
        if entry.get("empty_layer"):
            continue
        if position >= offset:
            lines[layer] = instructions[position - offset].start_line
        layer += 1
    return lines


def audit_source(
    source: str, rules: Sequence[Rule], options: Options | None = None, platform: str = "linux/amd64",
    all_platforms: bool = False,
    insecure: bool = False,
    on_image_read: Callable[[ImageContext], None] | None = None,
    dockerfile=None,
    unpack: UnpackBudget | None = None,
    progress=None,
) -> list[FileResult]:  # fmt: skip
    """One result per image the source names; a source that cannot be read is one result with an error.
    ``unpack`` caps what layers may inflate to (a reader limit, not a rule option); ``progress``
    (``image.progress.TerminalProgress``, or None) shows each image being read."""
    options = options or Options()
    results = []
    try:
        with open_source(source, platform, all_platforms, insecure) as images:
            for image in images:
                ctx = read_image(image, unpack, progress)
                ctx.options, ctx.resources = options, Resources(online=options.online)
                lines = layer_lines(image, dockerfile)
                findings = run_rules(rules, "image", ctx, on_image(image.name, lines), image.name)
                results.append(ImageResult(image.name, findings, None, image=summarize_image(ctx),
                                           dockerfile_path=dockerfile.path if dockerfile is not None else None,
                                           layer_lines=lines))  # fmt: skip
                if on_image_read is not None:
                    on_image_read(ctx)
    except ImageSourceError as error:
        results.append(ImageResult(source, [], None, str(error)))  # an image's: reports name no file for it
    return results
