"""Configuration: ``[tool.dockaudit]`` in pyproject.toml or ``.dockaudit.toml`` (nearest one up from
each file), else a ``.hadolint.yaml`` read through the rules' aliases.

Every file is read through ``read_regular_file`` (regular files only, at most 1 MiB) and must be UTF-8;
a .hadolint.yaml goes through ``yamlguard.load_yaml`` (no bombs, no deep nesting).  Unreadable files,
unknown keys and values of the wrong type or shape are a one-line ``ConfigError`` naming the file and
the key, echoing at most ~80 characters of a value; the CLI turns it into exit code 2.  Command-line
flags win over the file.
"""

from __future__ import annotations

import fnmatch
import math
import os
import reprlib
import stat
import sys
from functools import lru_cache
from pathlib import Path

from dockaudit.context import Options
from dockaudit.files import InputError, read_regular_file
from dockaudit.records import field, record
from dockaudit.report.output import REPORT_FORMATS
from dockaudit.model import Finding, Severity
from dockaudit.plugin import Rule
from dockaudit.linting.selectors import is_shellcheck_code, matches
from dockaudit.patterns import lazy_pattern

DOCKAUDIT_FILE = ".dockaudit.toml"
PYPROJECT = "pyproject.toml"
HADOLINT_FILES = (".hadolint.yaml", ".hadolint.yml")
FAIL_ON = ("error", "warning", "info", "style", "never")
MAX_CONFIG_BYTES = 1024 * 1024  # real configuration files are a few KiB


class ConfigError(ValueError):
    """A configuration file that cannot be used; ``str()`` is one line naming the file and the key."""


@record(slots=False)
class Config:
    path: Path | None = None  # where it came from (None: defaults)
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)  # code → severity
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)  # glob → codes
    fail_on: str | None = None
    format: str | None = None
    # What rules conclude from (trusted-registries, label-schema, min-driver, gpus, context, image
    # budgets …): read straight into the rules' own settings, which the command line then overrides.
    options: Options = field(default_factory=Options)
    exclude: tuple[str, ...] | None = None  # gitignore-style globs for directory scans (None: the defaults)
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def file_ignores(self, path: str) -> tuple[str, ...]:
        """Codes ``per-file-ignores`` turns off for ``path`` (globs relative to the config's folder)."""
        if not self.per_file_ignores or path == "-":
            return ()
        try:
            relative = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            relative = Path(path).as_posix()
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores.items():
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(Path(relative).name, pattern):
                codes.extend(ignored)
        return tuple(codes)


_KEYS = {
    "select", "ignore", "extend-select", "severity", "per-file-ignores", "fail-on", "format", "trusted-registries",
    "allowed-base-images", "label-schema", "strict-labels", "min-driver", "gpus", "gpu-segment", "context",
    "max-image-size", "max-layer-size", "exclude", "extend-exclude", "respect-gitignore",
}  # fmt: skip
_LABEL_TYPES = ("text", "url", "hash", "rfc3339", "semver", "email", "spdx")
_DRIVER = lazy_pattern(r"\A[0-9]+(?:\.[0-9]+)*\Z")  # ASCII digits: str.isdigit() also takes "²"
_PLAIN_KEY = lazy_pattern(r"[A-Za-z0-9_.*/-]{1,60}\Z")
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = 4
_SHOWN.maxlevel = 2


def _shown(value: object) -> str:
    """``value`` as an error message shows it: a bounded repr (~80 characters, one line), computed
    without walking all of a huge or deeply nested value."""
    text = _SHOWN.repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _key(key: object) -> str:
    """A key as a message shows it: as written when plain, else a bounded repr (no newline, no 1 MB key)."""
    return key if isinstance(key, str) and _PLAIN_KEY.match(key) else _shown(key)


_KINDS = {dict: "a table", list: "an array", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}


def _kind(value: object) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _codes(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of rule ids, prefixes or names, got {_shown(value)}")
    return tuple(v.strip() for v in value)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {_shown(value)}")
    return tuple(value)


def _severity(value: object, where: str) -> Severity:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a severity name (style, info, warning, error), got {_shown(value)}")
    try:
        return Severity.parse(value)
    except ValueError:
        raise ConfigError(
            f"{where}: unknown severity {_shown(value)} (choose from style, info, warning, error)"
        ) from None


def _table(value: object, where: str, expected: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected {expected}, got {_kind(value)}")
    return value


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {_shown(value)}")
    return value


def _choice(value: object, choices: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{where}: {_shown(value)} is not one of {', '.join(choices)}")
    return value


def _label_schema(value: object, where: str) -> dict[str, str]:
    schema = _table(value, where, f"a table of label = one of {', '.join(_LABEL_TYPES)}")
    for label, kind in schema.items():
        if not isinstance(label, str) or kind not in _LABEL_TYPES:
            raise ConfigError(f"{where}.{_key(label)}: {_shown(kind)} is not one of {', '.join(_LABEL_TYPES)}")
    return dict(schema)


def _context(value: object, base: Path, where: str) -> Path:
    if not isinstance(value, str) or "\0" in value:
        raise ConfigError(f"{where}: expected a path, got {_shown(value)}")
    try:
        return (base / value).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ConfigError(f"{where}: cannot resolve {_shown(value)}: {getattr(exc, 'strerror', None) or exc}") from None


GPU_SEGMENTS = ("datacenter", "consumer")
MAX_FLEET_GPUS = 64


def _gpus(value: object, where: str) -> tuple[str, ...]:
    """A fleet: at most ``MAX_FLEET_GPUS`` names, each known to the GPU table ([gpu_models]) or ``sm_XY``."""
    names = _strings(value, where)
    if not names or len(names) > MAX_FLEET_GPUS:
        raise ConfigError(f"{where}: expected 1 to {MAX_FLEET_GPUS} GPU names, got {len(names)}")
    from dockaudit.facts.knowledge import KnowledgeError, load_knowledge

    try:
        knowledge = load_knowledge()
    except KnowledgeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    for name in names:
        if knowledge.gpu(name) is None:
            raise ConfigError(f"{where}: unknown GPU {_shown(name)} (a name from ml-compat.toml [gpu_models], "
                              "e.g. H100, L4, RTX 4090, or a compute capability like sm_75)")  # fmt: skip
    return names


def _size_mib(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigError(f"{where}: expected a size in MiB greater than 0, got {_shown(value)}")
    return float(value)


def parse_config(data: object, path: Path) -> Config:
    """Validate the dockaudit table (the keys of .dockaudit.toml or [tool.dockaudit]); any wrong key,
    type or value is a ``ConfigError`` naming the file and the key."""
    in_pyproject = path.name == PYPROJECT

    def where(key: str) -> str:
        return f"{path}: tool.dockaudit.{key}" if in_pyproject else f"{path}: {key}"

    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {'tool.dockaudit: ' if in_pyproject else ''}expected a table, got {_kind(data)}")
    unknown = sorted((k for k in data if k not in _KEYS), key=str)
    if unknown:
        raise ConfigError(f"{path}: unknown key {_shown(unknown[0])} (known: {', '.join(sorted(_KEYS))})")

    values: dict = {"path": path}
    for key, attribute in (("select", "select"), ("ignore", "ignore"), ("extend-select", "extend_select")):
        if key in data:
            values[attribute] = _codes(data[key], where(key))
    if "severity" in data:
        table = _table(data["severity"], where("severity"), "a table of rule = severity")
        values["severity"] = {code: _severity(level, where(f"severity.{_key(code)}")) for code, level in table.items()}
    if "per-file-ignores" in data:
        table = _table(data["per-file-ignores"], where("per-file-ignores"), "a table of glob = [rule ids]")
        values["per_file_ignores"] = {
            glob: _codes(codes, where(f"per-file-ignores.{_key(glob)}")) for glob, codes in table.items()
        }
    if "fail-on" in data:
        values["fail_on"] = _choice(data["fail-on"], FAIL_ON, where("fail-on"))
    if "format" in data:
        values["format"] = _choice(data["format"], REPORT_FORMATS, where("format"))
    options: dict = {}
    for key, attribute in (
        ("trusted-registries", "trusted_registries"),
        ("allowed-base-images", "allowed_base_images"),
    ):
        if key in data:
            options[attribute] = _strings(data[key], where(key))
    if "label-schema" in data:
        options["label_schema"] = _label_schema(data["label-schema"], where("label-schema"))
    if "strict-labels" in data:
        options["strict_labels"] = _flag(data["strict-labels"], where("strict-labels"))
    if "min-driver" in data:
        driver = data["min-driver"]
        if isinstance(driver, bool) or not isinstance(driver, (str, int, float)) or not _DRIVER.match(str(driver)):
            raise ConfigError(f"{where('min-driver')}: {_shown(driver)} is not a driver version like 535.104.05")
        options["min_driver"] = str(driver)
    if "gpus" in data:
        options["gpus"] = _gpus(data["gpus"], where("gpus"))
    if "gpu-segment" in data:
        options["gpu_segment"] = _choice(data["gpu-segment"], GPU_SEGMENTS, where("gpu-segment"))
    for key in ("exclude", "extend-exclude"):
        if key in data:
            values[key.replace("-", "_")] = _strings(data[key], where(key))
    if "respect-gitignore" in data:
        values["respect_gitignore"] = _flag(data["respect-gitignore"], where("respect-gitignore"))
    if "context" in data:
        options["context_dir"] = _context(data["context"], path.parent, where("context"))
    image, layer = (_size_mib(data[key], where(key)) if key in data else None
                    for key in ("max-image-size", "max-layer-size"))  # fmt: skip
    if image or layer:
        options["image_budget"] = (image, layer)
    return Config(**values, options=Options(**options))


_HADOLINT_THRESHOLDS = {"error": "error", "warning": "warning", "info": "info", "style": "style", "ignore": "never",
                        "none": "never"}  # fmt: skip
_HADOLINT_FORMATS = {"tty": "text", "json": "json", "checkstyle": "checkstyle", "codeclimate": "gitlab",
                     "gitlab_codeclimate": "gitlab", "sarif": "sarif"}  # fmt: skip


def parse_hadolint(data: object, path: Path) -> Config:
    """A .hadolint.yaml, mapped onto dockaudit: ignored, trustedRegistries, failure-threshold, override,
    label-schema, strict-labels, no-fail, format.  hadolint keys with no dockaudit meaning are skipped
    (and so are hadolint formats dockaudit has no counterpart for); a known key of the wrong type or
    value is a ``ConfigError`` naming the file and the key."""
    if data is None:
        return Config(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of hadolint settings, got {_kind(data)}")
    values: dict = {"path": path}
    options: dict = {}
    if "ignored" in data:
        ignored = _codes(data["ignored"], f"{path}: ignored")
        # A ShellCheck code names one part of DA703: ignored there, not by turning all of ShellCheck off.
        values["ignore"] = tuple(c for c in ignored if not is_shellcheck_code(c))
        shellcheck = tuple(c for c in ignored if is_shellcheck_code(c))
        if shellcheck:
            values["per_file_ignores"] = {"*": shellcheck}
    if "trustedRegistries" in data:
        options["trusted_registries"] = _strings(data["trustedRegistries"], f"{path}: trustedRegistries")
    threshold = data.get("failure-threshold")
    if threshold is not None:
        mapped = _HADOLINT_THRESHOLDS.get(threshold.lower()) if isinstance(threshold, str) else None
        if mapped is None:
            raise ConfigError(
                f"{path}: failure-threshold {_shown(threshold)} is not error, warning, info, style or none"
            )
        values["fail_on"] = mapped
    if "no-fail" in data and _flag(data["no-fail"], f"{path}: no-fail"):
        values["fail_on"] = "never"
    if "override" in data:
        override = _table(data["override"], f"{path}: override", "error/warning/info/style lists")
        severity: dict[str, Severity] = {}
        for level, codes in override.items():
            where = f"{path}: override.{_key(level)}"
            for code in _codes(codes, where):
                severity[code] = _severity(level, where)
        values["severity"] = severity
    if "label-schema" in data:
        options["label_schema"] = _label_schema(data["label-schema"], f"{path}: label-schema")
    if "strict-labels" in data:
        options["strict_labels"] = _flag(data["strict-labels"], f"{path}: strict-labels")
    if "format" in data:
        if not isinstance(data["format"], str):
            raise ConfigError(f"{path}: format: expected a format name, got {_shown(data['format'])}")
        if data["format"] in _HADOLINT_FORMATS:
            values["format"] = _HADOLINT_FORMATS[data["format"]]
    return Config(**values, options=Options(**options))


def _one_line(text: str) -> str:
    """A parser's message, made safe to print: one line, bounded (it may quote the input)."""
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"


def _read_bytes(path: Path) -> bytes:
    try:
        return read_regular_file(path, MAX_CONFIG_BYTES)
    except InputError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.reason}") from None


def _decode_utf8(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _decode_toml(data: bytes, path: Path) -> dict:
    """The TOML document in ``data``, or a ``ConfigError`` naming ``path``."""
    if sys.version_info >= (3, 11):  # imported only when a TOML file is read: most runs find no config
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    text = _decode_utf8(data, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {_one_line(str(exc))}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply") from None


def _read_hadolint(path: Path) -> Config:
    from dockaudit.yamlguard import YamlRefused, load_yaml  # only when a hadolint config is in play

    text = _decode_utf8(_read_bytes(path), path)
    try:
        document = load_yaml(text)
    except YamlRefused as exc:
        raise ConfigError(f"{path}: {_one_line(str(exc))}") from None
    return parse_hadolint(document, path)


def _dockaudit_table(document: dict, path: Path) -> object | None:
    """``[tool.dockaudit]`` of a pyproject.toml document, or None when it has none (including a
    ``tool`` that is not a table: not dockaudit's to judge)."""
    tool = document.get("tool")
    if not isinstance(tool, dict) or "dockaudit" not in tool:
        return None
    table = tool["dockaudit"]
    if isinstance(table, list):
        raise ConfigError(f"{path}: tool.dockaudit: expected a table [tool.dockaudit], got an array of tables")
    return table


def read_config(path: Path) -> Config:
    """Read one named configuration file (dockaudit TOML, pyproject.toml or .hadolint.yaml): a regular
    file of at most ``MAX_CONFIG_BYTES`` in UTF-8; anything else is a one-line ``ConfigError``."""
    if path.name in HADOLINT_FILES or path.suffix in (".yaml", ".yml"):
        return _read_hadolint(path)
    document = _decode_toml(_read_bytes(path), path)
    if path.name == PYPROJECT:
        table = _dockaudit_table(document, path)
        if table is None:
            raise ConfigError(f"{path}: has no [tool.dockaudit] table")
        return parse_config(table, path)
    return parse_config(document, path)


def _discovered_pyproject(path: Path) -> Config | None:
    """The ``[tool.dockaudit]`` configuration of a pyproject.toml found on the way up, or None.

    A pyproject.toml is the whole project's file, not dockaudit's, so one dockaudit cannot use is
    skipped rather than allowed to stop the run: unreadable, too large, not UTF-8 or not TOML.  The
    exception is a broken one whose bytes mention dockaudit: that is likely the user's dockaudit
    configuration, and linting as if it did not exist would hide the mistake, so it is a ``ConfigError``.
    A readable one with a malformed ``[tool.dockaudit]`` is a ``ConfigError`` too.
    """
    try:
        data = read_regular_file(path, MAX_CONFIG_BYTES)
    except InputError:
        return None
    try:
        document = _decode_toml(data, path)
    except ConfigError:
        if b"dockaudit" in data:
            raise
        return None
    table = _dockaudit_table(document, path)
    return None if table is None else parse_config(table, path)


def _is_candidate(path: Path) -> bool:
    """Something other than a folder is there: dockaudit's own config names are read (and refused when a
    FIFO or a device) rather than skipped, so a planted one is an error, never silently another config."""
    try:
        return not stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


@lru_cache(maxsize=256)
def find_config(folder: Path) -> Config:
    """The nearest configuration at or above ``folder``: .dockaudit.toml or pyproject.toml with
    [tool.dockaudit]; when none exists anywhere up the tree, the nearest .hadolint.yaml; else defaults."""
    hadolint: Path | None = None
    for directory in (folder, *folder.parents):
        candidate = directory / DOCKAUDIT_FILE
        if _is_candidate(candidate):
            return read_config(candidate)
        pyproject = directory / PYPROJECT
        if pyproject.is_file():
            config = _discovered_pyproject(pyproject)
            if config is not None:
                return config
        if hadolint is None:
            hadolint = next((directory / n for n in HADOLINT_FILES if _is_candidate(directory / n)), None)
    return read_config(hadolint) if hadolint is not None else Config()


def apply_config(findings: list[Finding], config: Config, path: str, rules: dict[str, Rule],
                 ignored_parts: tuple[str, ...] = ()) -> list[Finding]:  # fmt: skip
    """Per-file ignores, the run's ignored rule parts (``selectors.names_part``: ``--ignore DL3033``)
    and severity overrides, applied to one file's findings."""
    ignored = (*config.file_ignores(path), *ignored_parts)
    out = []
    for finding in findings:
        rule = rules.get(finding.rule)
        if any(matches(code, finding.rule, rule, finding.alias) for code in ignored):
            continue
        for code, severity in config.severity.items():
            if matches(code, finding.rule, rule, finding.alias):
                finding = _with_severity(finding, severity)
        out.append(finding)
    return out


def _with_severity(finding: Finding, severity: Severity) -> Finding:
    from dockaudit.records import replace

    return replace(finding, severity=severity)


def write_starter(folder: Path) -> Path:
    """Write ``STARTER`` as ``folder/.dockaudit.toml`` and return its path: whole or not at all, and
    never over a file of that name (``dockaudit.atomic.create_atomically``).  Any failure is a
    one-line ``ConfigError``."""
    from dockaudit.atomic import create_atomically

    target = folder / DOCKAUDIT_FILE
    try:
        create_atomically(target, STARTER.encode("utf-8"))
    except FileExistsError:
        raise ConfigError(f"{target}: already exists; not overwriting") from None
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return target


STARTER = """\
# dockaudit configuration (also accepted as [tool.dockaudit] in pyproject.toml).
# Every key is optional; command-line flags win. `dockaudit rules` lists the rule ids.

# Rules to run instead of the defaults (ids, prefixes like "DA4", names, hadolint ids like "DL3008", or
# presets: recommended, security, ml, reproducible, size, hadolint, all; see docs/selectors.md).
# select = ["recommended"]
# Rules to add to the defaults (turns on off-by-default rules such as DA203 or DA703).
# extend-select = ["reproducible"]
# Rules to skip.
# ignore = ["DA303"]

# Lowest severity that fails the run: error, warning, info, style or never.
fail-on = "warning"

# Default report format: text, json, sarif, junit, checkstyle, gitlab, github or markdown.
# format = "text"

# Per-rule severity overrides.
# [severity]
# DA204 = "info"

# Rules to skip for some files (globs relative to this file).
# [per-file-ignores]
# "tests/**" = ["DA101"]

# Registries images may come from (turns on DA111); "*.example.com" allowed.
# trusted-registries = ["docker.io", "ghcr.io"]

# The oldest NVIDIA driver in your GPU fleet (turns on DA512).
# min-driver = "535.104.05"
# The GPUs the images run on (names from ml-compat.toml [gpu_models], or sm_XY): turns on DA540-DA542.
# gpus = ["H100", "L4", "RTX 4090"]

# The build context, relative to this file (default: each Dockerfile's folder).
# context = "."

# Size budgets in MiB for `dockaudit image` (DA805); --max-image-size / --max-layer-size win.
# max-image-size = 8000
# max-layer-size = 2000

# Labels the final image must carry, with their kind (text, url, hash, rfc3339, semver, email, spdx).
# [label-schema]
# "org.opencontainers.image.source" = "url"
"""
