"""``dockaudit knowledge refresh``: read the version facts again from their primary sources, and show
what changed against the shipped tables.

Sources, read only when the command runs: a PEP 691 simple index (PyPI) with its PEP 658 metadata
files; the PyTorch wheel index (PEP 503 pages) for the CUDA variants of each torch; the nvidia/cuda tag
list, through ``dockaudit.image.registry.RegistryClient``.  Every request has a deadline
(``REQUEST_SECONDS``) and every body a size cap; the whole refresh ends after ``RUN_SECONDS``.  A source
that does not answer is named in ``Refresh.problems`` and its facts are left out, never guessed.

The result is an override document: the shipped tables' shape under ``[ml-compat]`` / ``[base-images]``,
holding only what the sources said.  It is shown as a unified diff against the shipped values, and
written only where the user asks (``--write FILE``); ``DOCKAUDIT_KNOWLEDGE_OVERRIDE=FILE`` makes later runs
load it after the shipped tables.  Nothing in the installed package is ever written.
"""

from __future__ import annotations

import datetime as dt
import difflib
import email.parser
import email.policy
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dockaudit.patterns import lazy_pattern

from dockaudit.facts.versions import version_numbers
from dockaudit.records import field, record

PYPI_SIMPLE = "https://pypi.org/simple/"
PYTORCH_INDEX = "https://download.pytorch.org/whl/"
CUDA_IMAGE = "nvidia/cuda"
REQUEST_SECONDS = 30.0  # one index page, metadata file or tag list, from connecting to its last byte
RUN_SECONDS = 600.0  # everything one refresh asks
MAX_INDEX_BYTES = 64 * 1024 * 1024  # PyPI's torch page is ~3 MB of JSON; the PyTorch index's torch page ~10 MB
MAX_METADATA_BYTES = 2 * 1024 * 1024  # a METADATA file is a few KB
TORCH_MINORS = 3  # the newest torch minors refreshed (one metadata file each)
# Packages whose newest release and exact pins (Requires-Dist ==) the tables keep.
PINNED_PACKAGES = ("torchvision", "torchaudio", "xformers", "vllm", "sglang", "flash-attn")
NEWEST_PACKAGES = ("torch", "torchvision", "torchaudio", "tensorflow", "jax", "jaxlib", "onnxruntime-gpu", "xformers",
                   "vllm", "sglang", "flash-attn", "cupy-cuda13x", "nvidia-cudnn-cu12", "nvidia-cudnn-cu13",
                   "cuda-toolkit")  # fmt: skip
_PINS_OF_INTEREST = lazy_pattern(r"^(torch|torchvision|torchaudio|triton|xformers|flashinfer[\w-]*|nvidia-cudnn-cu1\d|"
                               r"cuda-toolkit)$")  # fmt: skip
_FINAL = lazy_pattern(r"^\d+(?:\.\d+)*(?:\.post\d+)?$")  # no pre-releases or dev releases
_WHEEL = lazy_pattern(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$")
_SDIST = lazy_pattern(r"^(?P<name>.+?)-(?P<version>\d[^-]*)\.(?:tar\.gz|zip)$")


class RefreshError(Exception):
    """A source that cannot be read: one line naming it."""


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed only to http(s): an index cannot send the refresh to ftp:// or file://."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.HTTPError(newurl, code, "redirect to a non-HTTP URL refused", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


@record(frozen=False, slots=False)
class Fetcher:
    """HTTP(S) GETs, each with a deadline and a size cap, all of them within one run budget."""

    run_seconds: float = RUN_SECONDS
    request_seconds: float = REQUEST_SECONDS
    ends: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.ends = time.monotonic() + self.run_seconds

    def get(self, url: str, cap: int, accept: str | None = None) -> bytes:
        """The body of ``url``; ``RefreshError`` on a non-200 answer, a body over ``cap`` or a missed deadline."""
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RefreshError(f"{url}: only http and https sources are read")
        deadline = min(self.ends, time.monotonic() + self.request_seconds)
        left = deadline - time.monotonic()
        if left <= 0:
            raise RefreshError(f"{url}: the refresh's {self.run_seconds:g} s are spent; not asked")
        request = urllib.request.Request(url, headers={"User-Agent": "dockaudit-knowledge-refresh",
                                                       "Accept": accept or "*/*"})  # fmt: skip
        try:
            with _OPENER.open(request, timeout=left) as response:  # the scheme is checked above
                parts, count = [], 0
                while True:
                    if time.monotonic() > deadline:
                        raise RefreshError(f"{url}: not read within {self.request_seconds:g} s; gave up")
                    chunk = response.read1(65536)  # one socket read: a trickling server meets the deadline
                    if not chunk:
                        return b"".join(parts)
                    count += len(chunk)
                    if count > cap:
                        raise RefreshError(f"{url}: larger than {cap} bytes; refused")
                    parts.append(chunk)
        except urllib.error.HTTPError as exc:
            raise RefreshError(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise RefreshError(f"{url}: {str(reason)[:200]}") from None


@record(slots=False)
class Sources:
    pypi: str = PYPI_SIMPLE
    pytorch: str | None = PYTORCH_INDEX
    registry_image: str | None = CUDA_IMAGE  # the nvidia/cuda repository to list tags of (None: skip)


@record(frozen=False, slots=False)
class Refresh:
    override: dict  # {"ml-compat": {...}} in the shipped tables' shape
    problems: list[str]  # sources that did not answer


def project_files(fetcher: Fetcher, index: str, project: str) -> list[dict]:
    """The files of ``project`` on a PEP 691 JSON simple index, with absolute URLs."""
    url = urllib.parse.urljoin(index.rstrip("/") + "/", f"{project}/")
    data = fetcher.get(url, MAX_INDEX_BYTES, "application/vnd.pypi.simple.v1+json")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise RefreshError(f"{url}: not a PEP 691 JSON page") from None
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, list):
        raise RefreshError(f"{url}: no list of files")
    found = []
    for entry in files:
        if isinstance(entry, dict) and isinstance(entry.get("filename"), str) and isinstance(entry.get("url"), str):
            found.append(dict(entry, url=urllib.parse.urljoin(url, entry["url"])))
    return found


def releases(files: list[dict]) -> dict[str, list[dict]]:
    """Final (not pre-release, not yanked) versions → their files."""
    by_version: dict[str, list[dict]] = {}
    for entry in files:
        if entry.get("yanked"):
            continue
        match = _WHEEL.match(entry["filename"]) or _SDIST.match(entry["filename"])
        if match and _FINAL.match(match.group("version")):
            by_version.setdefault(match.group("version"), []).append(entry)
    return by_version


def wheel_pythons(files: list[dict]) -> list[str]:
    """CPython minors with a Linux x86_64 wheel among ``files`` (``cp312`` → ``3.12``; free-threaded excluded)."""
    pythons = set()
    for entry in files:
        match = _WHEEL.match(entry["filename"])
        if match and "x86_64" in match.group("plat") and "linux" in match.group("plat"):
            for tag in match.group("py").split("."):
                found = re.fullmatch(r"cp3(\d+)", tag)
                if found and not match.group("abi").endswith("t"):
                    pythons.add(f"3.{found.group(1)}")
    return sorted(pythons, key=version_numbers)


def metadata(fetcher: Fetcher, entry: dict) -> email.message.Message | None:
    """The PEP 658 metadata of a file, when the index offers it."""
    if not (entry.get("core-metadata") or entry.get("data-dist-info-metadata")):
        return None
    data = fetcher.get(entry["url"].split("#")[0] + ".metadata", MAX_METADATA_BYTES)
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)


def exact_pins(requires: list[str]) -> dict[str, str]:
    """``name==version`` requirements of interest, outside extras (``torch==2.14.0``)."""
    pins = {}
    for requirement in requires:
        text, _, marker = requirement.partition(";")
        if "extra ==" in marker or "extra==" in marker:
            continue
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\(?==([\w.+]+)", re.sub(r"\s+", "", text))
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            if _PINS_OF_INTEREST.match(name):
                pins[name] = match.group(2)
    return pins


def _linux_wheel(files: list[dict]) -> dict | None:
    wheels = [e for e in files if (m := _WHEEL.match(e["filename"])) and "linux" in m.group("plat")
              and "x86_64" in m.group("plat")]  # fmt: skip
    return wheels[-1] if wheels else None


def _torch_cuda(requires: list[str]) -> tuple[str | None, str | None]:
    """(CUDA major.minor, cuDNN version) a PyPI torch pulls: cuda-toolkit==13.2.2 or nvidia-cuda-runtime-cu12==12.8.90."""
    cuda = cudnn = None
    for requirement in requires:
        text = requirement.split(";")[0].replace(" ", "")
        toolkit = re.match(r"^cuda-toolkit(?:\[[^\]]*\])?==(\d+\.\d+)", text)
        runtime = re.match(r"^nvidia-cuda-runtime(?:-cu\d+)?==(\d+\.\d+)", text)
        found = re.match(r"^nvidia-cudnn-cu\d+==([\d.]+)", text)
        hit = toolkit or runtime
        if hit and cuda is None:
            cuda = hit.group(1)
        cudnn = found.group(1) if found else cudnn
    return cuda, cudnn


def _torch_rows(fetcher: Fetcher, index: str, problems: list[str]) -> dict[str, dict]:
    files = project_files(fetcher, index, "torch")
    by_version = releases(files)
    minors: dict[str, list[str]] = {}
    for version in by_version:
        if "+" not in version:
            minors.setdefault(".".join(version.split(".")[:2]), []).append(version)
    rows = {}
    for minor in sorted(minors, key=version_numbers)[-TORCH_MINORS:]:
        latest = max(minors[minor], key=version_numbers)
        first = min(minors[minor], key=version_numbers)
        row: dict = {"latest_patch": latest, "python": wheel_pythons(by_version[latest])}
        uploads = sorted(str(e.get("upload-time", ""))[:10] for e in by_version[first] if e.get("upload-time"))
        if uploads and re.fullmatch(r"\d{4}-\d\d-\d\d", uploads[0]):
            row["release_date"] = uploads[0]
        wheel = _linux_wheel(by_version[latest])
        try:
            meta = metadata(fetcher, wheel) if wheel else None
        except RefreshError as exc:
            problems.append(str(exc))
            meta = None
        if meta is not None:
            cuda, cudnn = _torch_cuda(meta.get_all("Requires-Dist") or [])
            if cuda:
                row["pypi_default_cuda"] = cuda
            if cudnn:
                row["pypi_cudnn"] = cudnn
                row["cudnn_major"] = int(cudnn.split(".")[0])
            if meta.get("Requires-Python"):
                row["requires_python"] = str(meta.get("Requires-Python"))
        row["source"] = f"dockaudit knowledge refresh: {index.rstrip('/')}/torch/ (wheel tags, upload-time, PEP 658 metadata)"
        row["verified"] = True
        rows[minor] = row
    return rows


def pytorch_variants(fetcher: Fetcher, index: str) -> dict[str, list[str]]:
    """torch minor → the cuXXX builds on the PyTorch index (its ``torch/`` page lists every build)."""
    url = urllib.parse.urljoin(index.rstrip("/") + "/", "torch/")
    page = fetcher.get(url, MAX_INDEX_BYTES, "text/html").decode("utf-8", "replace")
    variants: dict[str, set[str]] = {}
    for version, variant in re.findall(r"torch-(\d+\.\d+\.\d+)\+(cu\d{2,3})-", urllib.parse.unquote(page)):
        variants.setdefault(".".join(version.split(".")[:2]), set()).add(variant)
    return {minor: sorted(found, key=version_numbers) for minor, found in variants.items()}


def cuda_tags(tags: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """nvidia/cuda tags → (CUDA major.minor → Ubuntu versions, CUDA major.minor → newest patch)."""
    ubuntu: dict[str, set[str]] = {}
    newest: dict[str, str] = {}
    for tag in tags:
        match = re.fullmatch(r"(\d+\.\d+)\.(\d+)-(?:cudnn\d*-)?(?:base|runtime|devel)-ubuntu(\d+\.\d+)", tag)
        if not match:
            continue
        minor, patch = match.group(1), f"{match.group(1)}.{match.group(2)}"
        ubuntu.setdefault(minor, set()).add(match.group(3))
        if minor not in newest or version_numbers(patch) > version_numbers(newest[minor]):
            newest[minor] = patch
    return {m: sorted(v, key=version_numbers) for m, v in ubuntu.items()}, newest


def _registry_tags(image: str) -> list[str]:
    from dockaudit.image.registry import RegistryClient, parse_reference
    from dockaudit.image.sources import ImageSourceError

    ref = parse_reference(image)
    local = ref.host.startswith(("127.0.0.1", "localhost"))  # local registries speak plain HTTP, as docker allows
    try:
        return RegistryClient(ref, insecure=local, request_seconds=REQUEST_SECONDS,
                              operation_seconds=REQUEST_SECONDS).tags()  # fmt: skip
    except ImageSourceError as exc:
        raise RefreshError(str(exc)) from None


def _complete_new_rows(torch: dict[str, dict], shipped_torch: dict, problems: list[str]) -> None:
    """A minor the shipped tables lack needs every key a row has; one whose CUDA is not known is dropped."""
    for minor in [m for m in torch if m not in shipped_torch]:
        row = torch[minor]
        if "pypi_default_cuda" not in row or "cudnn_major" not in row:
            problems.append(f"torch {minor}: its PyPI CUDA and cuDNN were not read (no metadata); row left out")
            del torch[minor]
            continue
        row.setdefault("cuda_variants", [])
        row.setdefault("torchvision", {})
        row.setdefault("torchaudio", {})
        if not row["cuda_variants"]:
            row["verified"] = False
            row["unverified_reason"] = "the PyTorch index was not read: its CUDA variants are not known"


def refresh(sources: Sources, fetcher: Fetcher | None = None, today: dt.date | None = None,
            shipped: dict | None = None) -> Refresh:  # fmt: skip
    """Ask every source; what answers becomes the override document, what does not a problem line.
    ``shipped`` (the raw ml-compat table) tells rows the tables already have from new ones."""
    fetcher = fetcher or Fetcher()
    problems: list[str] = []
    compat: dict = {"meta": {"as_of": (today or dt.date.today()).isoformat()}}
    newest: dict = {"source": f"dockaudit knowledge refresh: {sources.pypi} (PEP 691 file lists)", "verified": True}
    for package in NEWEST_PACKAGES:
        try:
            versions = releases(project_files(fetcher, sources.pypi, package))
        except RefreshError as exc:
            problems.append(str(exc))
            continue
        plain = [v for v in versions if "+" not in v]
        if plain:
            newest[package] = max(plain, key=version_numbers)
    if len(newest) > 2:
        compat["pypi_newest"] = newest
    try:
        torch = _torch_rows(fetcher, sources.pypi, problems)
    except RefreshError as exc:
        problems.append(str(exc))
        torch = {}
    if sources.pytorch:
        try:
            variants = pytorch_variants(fetcher, sources.pytorch)
        except RefreshError as exc:
            problems.append(str(exc))
            variants = {}
        for minor, row in torch.items():
            if minor in variants:
                row["cuda_variants"] = variants[minor]
                row["source"] += f"; {sources.pytorch.rstrip('/')}/torch/ (CUDA variants)"
    _complete_new_rows(torch, (shipped or {}).get("torch", {}), problems)
    if torch:
        compat["torch"] = torch
    pins = _requires_dist(fetcher, sources.pypi, newest, problems)
    if pins:
        compat["requires_dist"] = pins
    if sources.registry_image:
        try:
            ubuntu, patches = cuda_tags(_registry_tags(sources.registry_image))
        except RefreshError as exc:
            problems.append(str(exc))
            ubuntu, patches = {}, {}
        if ubuntu:
            compat["nvidia_cuda_tags"] = {
                "source": f"dockaudit knowledge refresh: tag list of {sources.registry_image}",
                "verified": True,
                "ubuntu_by_cuda": ubuntu,
                "newest_patch": patches,
            }
    return Refresh({"ml-compat": compat}, problems)


def _requires_dist(fetcher: Fetcher, index: str, newest: dict, problems: list[str]) -> dict:
    """Exact pins of the newest release of each of ``PINNED_PACKAGES`` (from a wheel's PEP 658 metadata)."""
    found = {}
    for package in PINNED_PACKAGES:
        version = newest.get(package)
        if not isinstance(version, str):
            continue
        try:
            files = releases(project_files(fetcher, index, package)).get(version, [])
            wheel = next((e for e in files if e["filename"].endswith(".whl")), None)
            meta = metadata(fetcher, wheel) if wheel else None
        except RefreshError as exc:
            problems.append(str(exc))
            continue
        if meta is None:
            continue  # sdist only (flash-attn) or no metadata file: its pins are not known
        found[package] = {
            "version": version,
            "pins": exact_pins(meta.get_all("Requires-Dist") or []),
            "requires_python": str(meta.get("Requires-Python") or ""),
            "source": f"dockaudit knowledge refresh: PEP 658 metadata of {wheel['filename']}",
            "verified": True,
        }
    return found


# ---------------------------------------------------------------------------------------------
# Rendering: the override as TOML, and the diff a maintainer reviews
# ---------------------------------------------------------------------------------------------

_BARE_KEY = lazy_pattern(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def render_toml(document: dict, prefix: tuple[str, ...] = ()) -> str:
    """``document`` as TOML: a table per dict that holds plain values, inline tables one level below that."""
    lines = []
    scalars = {k: v for k, v in document.items() if not isinstance(v, dict) or not _has_tables(v)}
    tables = {k: v for k, v in document.items() if k not in scalars}
    if scalars and prefix:
        lines.append("[" + ".".join(_key(p) for p in prefix) + "]")
    lines += [f"{_key(k)} = {_value(v)}" for k, v in scalars.items()]
    if scalars and prefix:
        lines.append("")
    for key, table in tables.items():
        lines.append(render_toml(table, (*prefix, key)))
    return "\n".join(lines)


def _has_tables(value: dict) -> bool:
    """Whether a dict is rendered as a [table] (it holds a dict of its own, or is a fact row)."""
    return any(isinstance(v, dict) for v in value.values()) or "source" in value or len(value) > 4


def _shipped_like(shipped: dict, override: dict) -> dict:
    """The shipped values at the override's keys (absent keys left out), for the diff's left side."""
    found = {}
    for key, value in override.items():
        if key not in shipped:
            continue
        if isinstance(value, dict) and isinstance(shipped[key], dict):
            inner = _shipped_like(shipped[key], value)
            if inner:
                found[key] = inner
        else:
            found[key] = shipped[key]
    return found


def review_diff(shipped: dict, override: dict) -> str:
    """A unified diff from the shipped tables' values to the refreshed ones (empty when nothing changed)."""
    before = render_toml(_shipped_like(shipped, override)).splitlines(keepends=True)
    after = render_toml(override).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, "shipped tables", "refreshed from the sources"))


def write_override(path: str, text: str) -> None:
    """Write the override file the user named — never into the installed tables' folder."""
    import os
    from pathlib import Path

    from dockaudit.atomic import write_atomically
    from dockaudit.facts.knowledge import data_dir

    target = os.path.realpath(path)
    if os.path.dirname(target) == os.path.realpath(data_dir()):
        raise ValueError("refusing to write into the installed knowledge tables; commit table changes by hand")
    write_atomically(Path(target), ("# dockaudit knowledge override, written by `dockaudit knowledge refresh`\n" + text).encode())
