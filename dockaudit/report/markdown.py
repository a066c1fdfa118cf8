"""A Markdown summary for pull-request comments: counts, then the findings (capped).

Text from the input goes through ``safe_text`` first (no newline or control character can break a
table row or reach a terminal showing the file).  Then it is shown as written, not as Markdown: a
message escapes the characters that make links, images, HTML, entities and emphasis, and a path is a
code span whose backtick fence is longer than any run of backticks in it.  ``|`` is escaped in both
(GitHub splits table cells on it before anything else).  Audited images get a line each (reference,
id, platform, size) and their findings a place in the config or a layer, not a line."""

from __future__ import annotations

import re

from dockaudit.model import FileResult
from dockaudit.model import Finding
from dockaudit.report import human_size, safe_text, summarize
from dockaudit.report.image_places import ImagePlace, image_place, image_results
from dockaudit.patterns import lazy_pattern

MAX_ROWS = 200  # a PR comment stays readable; the rest is counted


_MARKUP = lazy_pattern(r"([\\`*_~\[\]<>&|])")


def _cell(text: str) -> str:
    return _MARKUP.sub(r"\\\1", safe_text(text))


def _code(text: str) -> str:
    text = safe_text(text).replace("|", "\\|")
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{text}{pad}{fence}"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _checked(results: list[FileResult], images: int) -> str:
    """ "2 files", or "1 image and 1 file" when images were audited (as the text report counts)."""
    files = len(results) - images
    if not images:
        return _plural(files, "file")
    return _plural(images, "image") + (f" and {_plural(files, 'file')}" if files else "")


def _image_line(image) -> str:
    """One line per audited image: what the text report's heading says of it."""
    digest = f"id `{image.digest[:19]}…`" if image.digest else "id unknown"
    return (f"- Image {_code(image.reference)}: {digest}, {_cell(image.platform)}, "
            f"{human_size(image.size)} in {_plural(image.layers, 'layer')}")  # fmt: skip


def _location(f: Finding, place: ImagePlace | None) -> str:
    """A file and line; for an image finding its ``--dockerfile`` line or, failing that, the image, and
    always the config or layer it is in (no image finding has a line of its own)."""
    if place is None:
        return _code(f"{f.path}:{f.line}")
    if place.dockerfile:
        return f"{_code(f'{place.dockerfile}:{place.line}')} {_cell(place.part)}"
    return f"{_code(place.reference)} {_cell(place.part)}"


def render(results: list[FileResult], findings: list[Finding]) -> str:
    summary = summarize(results, findings)
    images = image_results(results)
    checked = _checked(results, len(images))
    counts = ", ".join(f"{n} {label}{'s' if n != 1 else ''}" for label, n in summary.by_severity.items() if n)
    lines = ["## dockaudit", ""]
    if not findings:
        lines.append(f"No findings in {checked}. :white_check_mark:")
    else:
        lines.append(f"**{_plural(summary.findings, 'finding')}** in {checked}: {counts}.")
    if images:
        lines += ["", *(_image_line(r.image) for r in images.values())]
    if findings:
        lines += ["", "| location | rule | severity | message |", "|---|---|---|---|"]
        for f in findings[:MAX_ROWS]:
            where = _location(f, image_place(f, images))
            lines.append(f"| {where} | {f.rule} `{f.name}` | {f.severity.label} | {_cell(f.message)} |")
        if len(findings) > MAX_ROWS:
            lines += ["", f"… and {len(findings) - MAX_ROWS} more."]
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "**Not checked:**", *(f"- {_code(r.path)}: {_cell(r.error or '')}" for r in errors)]
    return "\n".join(lines) + "\n"
