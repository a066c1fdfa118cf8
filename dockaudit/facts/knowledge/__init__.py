"""The ML knowledge tables (``dockaudit/facts/knowledge/ml-compat.toml``, ``base-images.toml``), loaded and checked.

Every fact keeps its ``source``; a malformed table is a ``KnowledgeError`` naming the
file and the key, never a wrong answer.  Loaded once per process, and only when an
ML rule or ``dockaudit knowledge`` asks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import zlib
from functools import lru_cache
from pathlib import Path

from dockaudit.facts.cache import read_cache_file, write_cache_file
from dockaudit.facts.versions import version_numbers
from dockaudit.files import InputError, read_regular_file
from dockaudit.patterns import lazy_pattern
from dockaudit.records import field, record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ML_COMPAT = "ml-compat.toml"
BASE_IMAGES = "base-images.toml"
KNOWLEDGE_CACHE_FORMAT = "dockaudit-knowledge-cache 2"  # the first line of the cache file starts with it
MAX_TABLE_BYTES = 4 * 1024 * 1024  # the tables are ~70 KB
MAX_CACHE_BYTES = 2 * MAX_TABLE_BYTES
_VERSION = lazy_pattern(r"^\d+\.\d+(?:\.\d+)?$")


class KnowledgeError(ValueError):
    """A knowledge table is missing, unreadable or malformed."""


@record
class TorchRelease:
    minor: str  # "2.4"
    latest_patch: str
    python: tuple[str, ...]  # CPython minors with a manylinux x86_64 wheel
    pypi_default_cuda: str  # "12.1"
    cuda_variants: tuple[str, ...]  # ("cu118", "cu121", "cu124")
    cudnn_major: int
    torchvision: dict[str, str]  # torch patch → torchvision
    torchaudio: dict[str, str]
    source: str
    verified: bool


@record
class TensorflowRelease:
    minor: str
    python: tuple[str, ...]
    cuda: str  # "12.2" (tested)
    cudnn_major: int
    source: str


@record
class OnnxRuntimeRange:
    first: tuple[int, int]  # (1, 19)
    last: tuple[int, int] | None  # None: open-ended ("1.27+")
    cuda_major: int
    cudnn_major: int


@record
class GpuModel:
    name: str  # as the table spells it ("RTX 4090"), or "sm_75"
    capability: tuple[int, int]  # (8, 9)
    segment: str | None  # datacenter, consumer, jetson; None: not known (an sm_XY entry)
    verified: bool

    @property
    def sm(self) -> str:
        return f"sm_{self.capability[0]}{self.capability[1]}"


@record
class FrameworkArchs:
    """A framework's GPU wheel architecture list and the releases it applies to ([*_cuda_arch_support])."""

    archs: tuple[str, ...]  # ("6.0", "7.0", "8.0", "8.9", "9.0+PTX")
    applies_to: tuple[str, ...]  # TensorFlow minors ("2.18"), or onnxruntime-gpu CUDA majors ("12")
    applies_verified: bool  # False: which releases the list belongs to is inferred (rules warn at most)
    source: str


NGC_CONTAINERS = {"pytorch": "ngc_pytorch", "tensorflow": "ngc_tensorflow", "tritonserver": "ngc_tritonserver"}
_NGC_FIELDS = ("cuda", "cudnn", "ubuntu", "python", "torch", "tensorflow", "driver_floor", "min_compute_capability")


@record
class NgcRelease:
    """One monthly NGC container (``nvcr.io/nvidia/pytorch:25.01-py3``): what its release notes say it is built on.

    A field is None when no source states it; ``unverified`` names the fields taken from a quotation or
    inferred from the month's sibling container, which rules must not raise an error on.
    """

    container: str  # pytorch, tensorflow, tritonserver
    release: str  # "25.01"
    cuda: str | None  # "12.8.0"
    cudnn: str | None  # "9.7.0.66"
    ubuntu: str | None  # "24.04"
    python: str | None  # "3.12"
    framework: str | None  # the container's torch/tensorflow version ("2.6.0a0+ecf3bae40a")
    driver_floor: str | None  # "560": the notes' "requires NVIDIA Driver release N or later"
    min_capability: tuple[int, int] | None  # (7, 5): the notes' GPU Requirements
    unverified: frozenset[str]
    source: str

    def verified(self, name: str) -> bool:
        return name not in self.unverified


@record(slots=False)
class Knowledge:
    as_of: str
    sources: dict[str, str]
    torch: dict[str, TorchRelease]
    tensorflow: dict[str, TensorflowRelease]
    cuda_min_driver: dict[str, str]  # "12.4.1" → "550.54.15"
    cuda_major_min_driver: dict[int, str]  # 12 → "525" (minor-version compatibility floor)
    onnxruntime: tuple[OnnxRuntimeRange, ...]
    jax: dict
    xformers_torch: dict[str, str]  # xformers version → torch requirement
    os_python: dict[str, str]  # "ubuntu:22.04" → "3.10"
    externally_managed: tuple[str, ...]
    eol: dict[str, dict[str, dt.date]]  # "python" → {"3.8": date}
    images: dict[str, dict]  # base-images.toml [image.*]
    raw: dict[str, dict] = field(repr=False, default_factory=dict)
    gpu_models: dict[str, GpuModel] = field(default_factory=dict)  # gpu_key(name) → model
    torch_arch_x86: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "12.8" → ("7.5", …, "12.0")
    torch_arch_minors: tuple[str, ...] = ()  # torch minors the architecture table was read for
    ngc: dict[tuple[str, str], NgcRelease] = field(default_factory=dict)  # ("pytorch", "25.01") → release
    framework_archs: dict[str, FrameworkArchs] = field(default_factory=dict)  # "tensorflow", "onnxruntime-gpu"

    def ngc_release(self, container: str, tag: str) -> NgcRelease | None:
        """The row for an NGC tag (``25.01-py3``, ``25.01-py3-igpu``, ``24.10-trtllm-python-py3``), or None."""
        match = re.match(r"^(\d{2}\.\d{2})(?:-|$)", tag)
        return self.ngc.get((container, match.group(1))) if match else None

    def gpu(self, name: str) -> GpuModel | None:
        """A fleet entry: a model name from [gpu_models] ("H100", "GeForce RTX 4090") or ``sm_75``/``7.5``."""
        match = re.fullmatch(r"(?:sm_?|compute_)?(\d{1,2})\.?(\d)", name.strip().lower())
        if match:
            return GpuModel(f"sm_{match.group(1)}{match.group(2)}", (int(match.group(1)), int(match.group(2))), None,
                            True)  # fmt: skip
        return self.gpu_models.get(gpu_key(name))

    def newest(self, family: str) -> str | None:
        """The newest version a table family knows ("torch" → "2.15", "cuda" → "13.5"), for ``knowledge``."""
        keys = [k for k in self.raw.get(ML_COMPAT, {}).get(family, {}) if re.match(r"^\d+\.\d+$", k)]
        return max(keys, key=lambda k: tuple(int(p) for p in k.split("."))) if keys else None

    def torch_release(self, version: str) -> TorchRelease | None:
        """The table row for a torch version (``2.4.1``, ``2.4.1+cu121``, ``2.4``)."""
        minor = ".".join(version.split("+")[0].split(".")[:2])
        return self.torch.get(minor)

    def tensorflow_release(self, version: str) -> TensorflowRelease | None:
        minor = ".".join(version.split(".")[:2])
        return self.tensorflow.get(minor)

    def onnxruntime_range(self, version: str) -> OnnxRuntimeRange | None:
        parts = _int_parts(version)
        if parts is None:
            return None
        key = parts[:2]
        for entry in self.onnxruntime:
            if key >= entry.first and (entry.last is None or key <= entry.last):
                return entry
        return None


def gpu_key(name: str) -> str:
    """A GPU name as the table is keyed: lower case, no spaces or dashes, without NVIDIA/Tesla/GeForce."""
    words = re.sub(r"[\s_-]+", " ", name.strip().lower()).split()
    return "".join(w for w in words if w not in ("nvidia", "tesla", "geforce"))


def _gpu_models(compat: dict) -> dict[str, GpuModel]:
    table = compat.get("gpu_models", {})
    unverified = set(compat.get("gpu_models_unverified", {}).get("names", []))
    models: dict[str, GpuModel] = {}
    for name, row in table.items():
        if not isinstance(row, dict):
            continue
        where = f'{ML_COMPAT}: [gpu_models] "{name}"'
        cc = str(_need(row, "cc", str, where))
        match = re.fullmatch(r"(\d{1,2})\.(\d)", cc)
        segment = str(_need(row, "segment", str, where))
        if not match or segment not in ("datacenter", "consumer", "jetson"):
            raise KnowledgeError(f"{where}: needs cc like 8.9 and segment datacenter, consumer or jetson")
        models[gpu_key(name)] = GpuModel(name, (int(match.group(1)), int(match.group(2))), segment,
                                         bool(table.get("verified")) and name not in unverified)  # fmt: skip
    return models


def _arch_texts(archs: object, where: str) -> tuple[str, ...]:
    if not isinstance(archs, list) or not archs or not all(
        isinstance(a, str) and re.fullmatch(r"\d+\.\d(?:\+PTX)?", a) for a in archs
    ):
        raise KnowledgeError(f"{where} should list archs like 8.0 or 9.0+PTX")
    return tuple(archs)


def _framework_archs(compat: dict) -> dict[str, FrameworkArchs]:
    """[tensorflow_cuda_arch_support] (per TF minor) and [onnxruntime_cuda_arch_support] (per CUDA major)."""
    found = {}
    for package, table, key in (("tensorflow", "tensorflow_cuda_arch_support", "applies_to"),
                                ("onnxruntime-gpu", "onnxruntime_cuda_arch_support", "applies_to_cuda_majors")):  # fmt: skip
        row = compat.get(table)
        if row is None:
            continue
        where = f"{ML_COMPAT}: [{table}]"
        applies = [str(v) for v in _need(row, key, list, where)]
        found[package] = FrameworkArchs(_arch_texts(row.get("archs"), f"{where} archs"), tuple(applies),
                                        bool(row.get("verified")) and bool(row.get("applies_to_verified", True)),
                                        str(row["source"]))  # fmt: skip
    return found


def _torch_arch(compat: dict) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """[torch_cuda_arch_support] linux_x86, keyed by CUDA major.minor ("12.6.3" → "12.6")."""
    table = compat.get("torch_cuda_arch_support", {})
    rows = {}
    for cuda, archs in table.get("linux_x86", {}).items():
        where = f'{ML_COMPAT}: [torch_cuda_arch_support] linux_x86."{cuda}"'
        rows[".".join(cuda.split(".")[:2])] = _arch_texts(archs, where)
    return rows, tuple(table.get("applies_to", ()))


def _ngc_releases(compat: dict) -> dict[tuple[str, str], NgcRelease]:
    """[ngc_pytorch] / [ngc_tensorflow] / [ngc_tritonserver], one row per YY.MM release."""
    releases = {}
    for container, family in NGC_CONTAINERS.items():
        for release, row in compat.get(family, {}).items():
            where = f'{ML_COMPAT}: [{family}."{release}"]'
            if not re.fullmatch(r"\d{2}\.\d{2}", release) or not isinstance(row, dict):
                raise KnowledgeError(f"{where}: releases are keyed YY.MM")
            values = {}
            for name in _NGC_FIELDS:
                value = row.get(name)
                if value is not None and not isinstance(value, str):
                    raise KnowledgeError(f"{where}: '{name}' should be a string")
                values[name] = value
            capability = values["min_compute_capability"]
            if capability is not None and not re.fullmatch(r"\d{1,2}\.\d", capability):
                raise KnowledgeError(f"{where}: 'min_compute_capability' should look like 7.5")
            unverified = set(row.get("unverified_fields", []))
            if not row.get("verified", False):
                unverified |= {n for n in _NGC_FIELDS if values[n] is not None}
            releases[(container, release)] = NgcRelease(
                container, release, values["cuda"], values["cudnn"], values["ubuntu"], values["python"],
                values["torch"] or values["tensorflow"], values["driver_floor"],
                tuple(int(p) for p in capability.split(".")) if capability else None,  # type: ignore[arg-type]
                frozenset(unverified | ({"framework"} if {"torch", "tensorflow"} & unverified else set())),
                str(_need(row, "source", str, where)),
            )  # fmt: skip
    return releases


def _int_parts(version: str) -> tuple[int, ...] | None:
    """Up to three numbers of a release (local ``+cu124`` dropped); None when it has fewer than two."""
    numbers = version_numbers(version.split("+")[0], 3)
    return numbers if len(numbers) >= 2 else None


def data_dir() -> str:
    """The folder of the tables: this package's own (an installed package directory, never a zip)."""
    return os.path.dirname(os.path.abspath(__file__))


def _data_file(name: str) -> Path:
    return Path(data_dir(), name)


def _need(data: dict, key: str, kind: type | tuple[type, ...], where: str) -> object:
    if key not in data:
        raise KnowledgeError(f"{where}: missing key '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise KnowledgeError(f"{where}: '{key}' should be a {expected}, got {type(value).__name__}")
    return value


def _versions(values: list, where: str, key: str) -> tuple[str, ...]:
    for value in values:
        if not isinstance(value, str) or not _VERSION.match(value):
            raise KnowledgeError(f"{where}: '{key}' holds {value!r}, not a version like '3.12'")
    return tuple(values)


def _date(value: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise KnowledgeError(f"{where}: {value!r} is not a date like 2026-10-31") from None


_FAMILIES = frozenset({"torch", "tensorflow", "cuda", "image", "eol", "payload", "requires_dist", "ngc_pytorch",
                       "ngc_tensorflow", "ngc_tritonserver", "ngc_other"})  # tables of sub-tables


def _sourced(tables: dict, file: str) -> None:
    """Every fact table names where it came from."""
    for name, table in tables.items():
        if name in ("meta", "sources") or not isinstance(table, dict):
            continue
        rows = table.items() if name in _FAMILIES else [(None, table)]
        for sub, row in rows:
            if isinstance(row, dict) and "source" not in row:
                key = f'{name}."{sub}"' if sub else name
                raise KnowledgeError(f"{file}: [{key}] has no 'source'")


def parse_knowledge(compat: dict, bases: dict) -> Knowledge:
    """Validate the two tables and build typed views; raises ``KnowledgeError`` on the first problem."""
    meta = _need(compat, "meta", dict, ML_COMPAT)
    as_of = str(_need(meta, "as_of", str, f"{ML_COMPAT}: [meta]"))
    _sourced(compat, ML_COMPAT)
    torch: dict[str, TorchRelease] = {}
    for minor, row in _need(compat, "torch", dict, ML_COMPAT).items():
        where = f'{ML_COMPAT}: [torch."{minor}"]'
        torch[minor] = TorchRelease(
            minor=minor,
            latest_patch=str(_need(row, "latest_patch", str, where)),
            python=_versions(_need(row, "python", list, where), where, "python"),
            pypi_default_cuda=str(_need(row, "pypi_default_cuda", str, where)),
            cuda_variants=tuple(_need(row, "cuda_variants", list, where)),
            cudnn_major=int(_need(row, "cudnn_major", int, where)),
            torchvision=dict(_need(row, "torchvision", dict, where)),
            torchaudio=dict(_need(row, "torchaudio", dict, where)),
            source=str(_need(row, "source", str, where)),
            verified=bool(row.get("verified", False)),
        )
    tensorflow: dict[str, TensorflowRelease] = {}
    for minor, row in _need(compat, "tensorflow", dict, ML_COMPAT).items():
        where = f'{ML_COMPAT}: [tensorflow."{minor}"]'
        cuda = str(_need(row, "cuda", str, where))
        match = re.match(r"\d+\.\d+", cuda)
        if not match:
            raise KnowledgeError(f"{where}: 'cuda' should start with a version like 12.2, got {cuda!r}")
        tensorflow[minor] = TensorflowRelease(
            minor=minor,
            python=_versions(_need(row, "python", list, where), where, "python"),
            cuda=match.group(0),
            cudnn_major=int(_need(row, "cudnn_major", int, where)),
            source=str(_need(row, "source", str, where)),
        )
    drivers: dict[str, str] = {}
    for minor, row in _need(compat, "cuda", dict, ML_COMPAT).items():
        where = f'{ML_COMPAT}: [cuda."{minor}"]'
        for patch, driver in _need(row, "min_driver_linux", dict, where).items():
            drivers[patch] = str(driver)
    floors = {}
    for key, row in _need(compat, "cuda_minor_version_compat", dict, ML_COMPAT).items():
        if isinstance(row, dict) and key.endswith(".x"):
            floors[int(key.split(".")[0])] = str(
                _need(row, "min_driver", str, f"{ML_COMPAT}: [cuda_minor_version_compat] {key}")
            )
    ort = []
    ort_table = _need(
        _need(compat, "onnxruntime_gpu", dict, ML_COMPAT), "versions", dict, f"{ML_COMPAT}: [onnxruntime_gpu]"
    )
    for span, row in ort_table.items():
        if not isinstance(row, dict) or not re.match(r"^\d+\.\d+", span):
            continue
        where = f'{ML_COMPAT}: [onnxruntime_gpu.versions] "{span}"'
        cuda_text = str(row.get("pypi_cuda") or row.get("cuda") or "")
        if not re.match(r"\d+", cuda_text):
            raise KnowledgeError(f"{where}: needs 'cuda' or 'pypi_cuda'")
        first_text, _, last_text = span.rstrip("+").partition("-")
        first = _int_parts(first_text)
        last = _int_parts(last_text) if last_text else (None if span.endswith("+") else first)
        ort.append(OnnxRuntimeRange(first[:2], last[:2] if last else None, int(cuda_text.split(".")[0]),
                                    int(_need(row, "cudnn_major", int, where))))  # fmt: skip
    extension = compat.get("torch_extension_build", {})
    _sourced(bases, BASE_IMAGES)
    os_python = {k: v for k, v in _need(bases, "os_python", dict, BASE_IMAGES).items() if ":" in k or "/" in k}
    pep668 = tuple(
        _need(_need(bases, "os_pep668", dict, BASE_IMAGES), "externally_managed", list, f"{BASE_IMAGES}: [os_pep668]")
    )
    eol: dict[str, dict[str, dt.date]] = {}
    for name, row in bases.get("eol", {}).items():
        where = f"{BASE_IMAGES}: [eol.{name}]"
        _need(row, "source", str, where)
        if "dates" in row:
            eol[name] = {k: _date(v, f"{where} dates.{k}") for k, v in _need(row, "dates", dict, where).items()}
    arch_rows, arch_minors = _torch_arch(compat)
    return Knowledge(
        as_of=as_of,
        sources=dict(compat.get("sources", {})) | dict(bases.get("sources", {})),
        torch=torch,
        tensorflow=tensorflow,
        cuda_min_driver=drivers,
        cuda_major_min_driver=floors,
        onnxruntime=tuple(ort),
        jax=dict(compat.get("jax", {})),
        xformers_torch=dict(extension.get("xformers_torch_pins", {})),
        os_python=os_python,
        externally_managed=pep668,
        eol=eol,
        images=dict(bases.get("image", {})),
        raw={ML_COMPAT: compat, BASE_IMAGES: bases},
        gpu_models=_gpu_models(compat),
        torch_arch_x86=arch_rows,
        torch_arch_minors=arch_minors,
        ngc=_ngc_releases(compat),
        framework_archs=_framework_archs(compat),
    )


OVERRIDE_ENV = "DOCKAUDIT_KNOWLEDGE_OVERRIDE"  # a file of newer facts (``knowledge refresh --write``) loaded last
_OVERRIDE_TABLES = {"ml-compat": ML_COMPAT, "base-images": BASE_IMAGES}
def merge_tables(shipped: dict, newer: dict) -> dict:
    """``shipped`` with ``newer``'s tables merged in, key by key; a value that is not a table replaces.
    Recursion goes only as deep as ``shipped`` (four levels), whatever ``newer`` holds."""
    merged = dict(shipped)
    for key, value in newer.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = value
    return merged


def override_path() -> str | None:
    return os.environ.get(OVERRIDE_ENV) or None


def _apply_override(path: str, data: bytes, compat: dict, bases: dict) -> tuple[dict, dict]:
    """The shipped tables with the override file's ``[ml-compat]`` / ``[base-images]`` merged in."""
    document = _parse_table(path, data)
    unknown = [k for k in document if k not in _OVERRIDE_TABLES]
    if unknown:
        raise KnowledgeError(f"{path}: unknown table [{unknown[0]}] (an override holds [ml-compat] and [base-images])")
    for name in _OVERRIDE_TABLES:
        if not isinstance(document.get(name, {}), dict):
            raise KnowledgeError(f"{path}: [{name}] should be a table")
    return merge_tables(compat, document.get("ml-compat", {})), merge_tables(bases, document.get("base-images", {}))


@lru_cache(maxsize=1)
def load_knowledge() -> Knowledge:
    """The validated tables, parsed from the cache when it was made from these very table bytes.

    Reading the tables from TOML costs ~17 ms of CPU in a fresh process, from the cache ~2 ms (JSON
    decoding ~1 ms, validating again ~1 ms).  The cache holds plain data (the tables as TOML decodes
    them), never code, and goes through ``parse_knowledge`` like the TOML does, so a damaged cache file
    is only a miss.  One restored from elsewhere (a CI cache of another branch) can still hold wrong
    facts that validate: a key cannot tell who wrote the file.
    """
    folder = data_dir()
    tables = {name: _table_bytes(folder, name) for name in (ML_COMPAT, BASE_IMAGES)}
    override = override_path()
    if override:  # the user asked for it (DOCKAUDIT_KNOWLEDGE_OVERRIDE): its bytes are part of the cache key
        try:
            tables[override] = read_regular_file(override, MAX_TABLE_BYTES, label=override)
        except InputError as exc:
            raise KnowledgeError(f"{override}: cannot read the knowledge override ({exc.reason})") from None
    key = _cache_key(folder, tables)
    cache_name = _cache_name(folder)
    cached = _decode_cache(read_cache_file(cache_name, MAX_CACHE_BYTES), key)
    if cached is not None:
        try:
            return parse_knowledge(*cached)
        except KnowledgeError:
            pass  # decodes, but not into valid tables: only a miss
    compat, bases = _parse_table(ML_COMPAT, tables[ML_COMPAT]), _parse_table(BASE_IMAGES, tables[BASE_IMAGES])
    if override:
        compat, bases = _apply_override(override, tables[override], compat, bases)
        try:
            knowledge = parse_knowledge(compat, bases)
        except KnowledgeError as exc:
            raise KnowledgeError(f"{override} (override): {exc}") from None
    else:
        knowledge = parse_knowledge(compat, bases)
    try:
        payload = json.dumps([compat, bases], ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return knowledge  # a TOML date or time: not plain JSON, so not cached
    write_cache_file(cache_name, key + b"\n" + payload.encode("utf-8"))
    return knowledge


def _table_bytes(folder: str, name: str) -> bytes:
    try:
        return read_regular_file(os.path.join(folder, name), MAX_TABLE_BYTES, label=name)
    except InputError as exc:
        raise KnowledgeError(f"{name}: cannot read the knowledge table ({exc.reason})") from None


def _parse_table(name: str, data: bytes) -> dict:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise KnowledgeError(f"{name}: not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{name}: not valid TOML: {exc}") from None


def _cache_name(folder: str) -> str:
    """One cache file per install (the tables' ``folder``) and version, so installs side by side
    (virtualenvs, pipx, a checkout) do not overwrite each other's."""
    from dockaudit import __version__

    return f"knowledge-{__version__}-{zlib.crc32(os.fsencode(folder)):08x}.json"


def _cache_key(folder: str, tables: dict[str, bytes]) -> bytes:
    """The cache file's first line: format, version, install folder, and each table's size and checksum.

    The checksum is CRC-32 of the bytes (zlib is loaded already; hashlib would add ~6 ms to every run):
    it tells an edited table from the cached one, which is all a key must do, since anyone who can
    write the cache file can write any key into it.
    """
    from dockaudit import __version__

    sums = [[name, len(data), zlib.crc32(data)] for name, data in tables.items()]
    return json.dumps([KNOWLEDGE_CACHE_FORMAT, __version__, folder, sums]).encode("utf-8")


def _decode_cache(cached: bytes | None, key: bytes) -> tuple[dict, dict] | None:
    """The two raw tables stored after ``key``, or None when the file is for other tables or damaged;
    the payload is not decoded unless the key matches."""
    if cached is None:
        return None
    stored_key, newline, payload = cached.partition(b"\n")
    if not newline or stored_key != key:
        return None
    try:
        tables = json.loads(payload)
    except (ValueError, RecursionError):  # ValueError: bad JSON, bad UTF-8, a 5000-digit number
        return None
    if not (isinstance(tables, list) and len(tables) == 2 and all(isinstance(t, dict) for t in tables)):
        return None
    return tables[0], tables[1]
