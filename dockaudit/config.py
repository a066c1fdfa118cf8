"""Configuration: ``[tool.dockaudit]`` in pyproject.toml or ``.dockaudit.toml`` (nearest one up from
each file), else a ``.hadolint.yaml`` read through the rules' aliases.

Unknown keys and bad values are a ``ConfigError`` naming the file and the key; the CLI turns it into
exit code 2.  Command-line flags win over the file.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from dockaudit.model import Finding, Severity
from dockaudit.plugin import Rule
from dockaudit.suppressions import code_matches

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DOCKAUDIT_FILE = ".dockaudit.toml"
PYPROJECT = "pyproject.toml"
HADOLINT_FILES = (".hadolint.yaml", ".hadolint.yml")
FAIL_ON = ("error", "warning", "info", "style", "never")
FORMATS = ("text", "json", "sarif", "junit", "checkstyle", "gitlab", "github", "markdown")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None  # where it came from (None: defaults)
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: dict[str, Severity] = field(default_factory=dict)  # code → severity
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)  # glob → codes
    fail_on: str | None = None
    format: str | None = None
    trusted_registries: tuple[str, ...] = ()
    allowed_base_images: tuple[str, ...] = ()
    label_schema: dict[str, str] = field(default_factory=dict)
    strict_labels: bool = False
    min_driver: str | None = None
    context: Path | None = None
    max_image_size: float | None = None  # MiB, for ``dockaudit image`` (DA805)
    max_layer_size: float | None = None

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
    "allowed-base-images", "label-schema", "strict-labels", "min-driver", "context",
    "max-image-size", "max-layer-size",
}  # fmt: skip
_LABEL_TYPES = ("text", "url", "hash", "rfc3339", "semver", "email", "spdx")


def _codes(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of rule ids, prefixes or names")
    return tuple(v.strip() for v in value)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def _severity(value: object, where: str) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_config(data: dict, path: Path) -> Config:
    """Validate the dockaudit table (the keys of .dockaudit.toml or [tool.dockaudit])."""
    name = path.name if path.name != PYPROJECT else f"{path.name} [tool.dockaudit]"
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})")

    def where(key: str) -> str:
        return f"{path}: {key}" if name == path.name else f"{path}: tool.dockaudit.{key}"

    values: dict = {"path": path}
    for key, attribute in (("select", "select"), ("ignore", "ignore"), ("extend-select", "extend_select")):
        if key in data:
            values[attribute] = _codes(data[key], where(key))
    if "severity" in data:
        if not isinstance(data["severity"], dict):
            raise ConfigError(f"{where('severity')}: expected a table of rule = severity")
        values["severity"] = {
            code: _severity(level, where(f"severity.{code}")) for code, level in data["severity"].items()
        }
    if "per-file-ignores" in data:
        table = data["per-file-ignores"]
        if not isinstance(table, dict):
            raise ConfigError(f"{where('per-file-ignores')}: expected a table of glob = [rule ids]")
        values["per_file_ignores"] = {g: _codes(c, where(f"per-file-ignores.{g}")) for g, c in table.items()}
    if "fail-on" in data:
        if data["fail-on"] not in FAIL_ON:
            raise ConfigError(f"{where('fail-on')}: {data['fail-on']!r} is not one of {', '.join(FAIL_ON)}")
        values["fail_on"] = data["fail-on"]
    if "format" in data:
        if data["format"] not in FORMATS:
            raise ConfigError(f"{where('format')}: {data['format']!r} is not one of {', '.join(FORMATS)}")
        values["format"] = data["format"]
    for key, attribute in (
        ("trusted-registries", "trusted_registries"),
        ("allowed-base-images", "allowed_base_images"),
    ):
        if key in data:
            values[attribute] = _strings(data[key], where(key))
    if "label-schema" in data:
        schema = data["label-schema"]
        if not isinstance(schema, dict) or not all(v in _LABEL_TYPES for v in schema.values()):
            raise ConfigError(f"{where('label-schema')}: expected label = one of {', '.join(_LABEL_TYPES)}")
        values["label_schema"] = dict(schema)
    if "strict-labels" in data:
        if not isinstance(data["strict-labels"], bool):
            raise ConfigError(f"{where('strict-labels')}: expected true or false")
        values["strict_labels"] = data["strict-labels"]
    if "min-driver" in data:
        driver = str(data["min-driver"])
        if not all(part.isdigit() for part in driver.split(".")):
            raise ConfigError(f"{where('min-driver')}: {driver!r} is not a driver version like 535.104.05")
        values["min_driver"] = driver
    if "context" in data:
        if not isinstance(data["context"], str):
            raise ConfigError(f"{where('context')}: expected a path")
        values["context"] = (path.parent / data["context"]).resolve()
    for key in ("max-image-size", "max-layer-size"):
        if key in data:
            size = data[key]
            if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0:
                raise ConfigError(f"{where(key)}: expected a size in MiB greater than 0, got {size!r}")
            values[key.replace("-", "_")] = float(size)
    return Config(**values)


def parse_hadolint(data: object, path: Path) -> Config:
    """A .hadolint.yaml, mapped onto dockaudit: ignored, trustedRegistries, failure-threshold, override,
    label-schema, strict-labels, no-fail, format.  hadolint keys with no dockaudit meaning are skipped."""
    if data is None:
        return Config(path=path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of hadolint settings")
    values: dict = {"path": path}
    if "ignored" in data:
        values["ignore"] = _codes(data["ignored"], f"{path}: ignored")
    if "trustedRegistries" in data:
        values["trusted_registries"] = _strings(data["trustedRegistries"], f"{path}: trustedRegistries")
    threshold = data.get("failure-threshold")
    if threshold is not None:
        mapped = {"error": "error", "warning": "warning", "info": "info", "style": "style", "ignore": "never",
                  "none": "never"}.get(str(threshold).lower())  # fmt: skip
        if mapped is None:
            raise ConfigError(f"{path}: failure-threshold {threshold!r} is not error, warning, info, style or none")
        values["fail_on"] = mapped
    if data.get("no-fail") is True:
        values["fail_on"] = "never"
    if "override" in data:
        override = data["override"]
        if not isinstance(override, dict):
            raise ConfigError(f"{path}: override: expected error/warning/info/style lists")
        severity: dict[str, Severity] = {}
        for level, codes in override.items():
            for code in _codes(codes, f"{path}: override.{level}"):
                severity[code] = _severity(level, f"{path}: override.{level}")
        values["severity"] = severity
    if "label-schema" in data:
        values["label_schema"] = {str(k): str(v) for k, v in dict(data["label-schema"]).items()}
    if "strict-labels" in data:
        values["strict_labels"] = bool(data["strict-labels"])
    hadolint_formats = {"tty": "text", "json": "json", "checkstyle": "checkstyle", "codeclimate": "gitlab",
                        "gitlab_codeclimate": "gitlab", "sarif": "sarif"}  # fmt: skip
    if data.get("format") in hadolint_formats:
        values["format"] = hadolint_formats[data["format"]]
    return Config(**values)


def read_config(path: Path) -> Config:
    """Read one named configuration file (dockaudit TOML, pyproject.toml or .hadolint.yaml)."""
    if path.name in HADOLINT_FILES or path.suffix in (".yaml", ".yml"):
        import yaml  # only when a hadolint config is in play

        try:
            return parse_hadolint(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("dockaudit")
        if table is None:
            raise ConfigError(f"{path}: has no [tool.dockaudit] table")
        return parse_config(table, path)
    return parse_config(data, path)


@lru_cache(maxsize=256)
def find_config(folder: Path) -> Config:
    """The nearest configuration at or above ``folder``: .dockaudit.toml or pyproject.toml with
    [tool.dockaudit]; when none exists anywhere up the tree, the nearest .hadolint.yaml; else defaults."""
    hadolint: Path | None = None
    for directory in (folder, *folder.parents):
        candidate = directory / DOCKAUDIT_FILE
        if candidate.is_file():
            return read_config(candidate)
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _has_dockaudit_table(pyproject):
            return read_config(pyproject)
        if hadolint is None:
            hadolint = next((directory / n for n in HADOLINT_FILES if (directory / n).is_file()), None)
    return read_config(hadolint) if hadolint is not None else Config()


def _has_dockaudit_table(pyproject: Path) -> bool:
    try:
        return "dockaudit" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False


def apply_config(findings: list[Finding], config: Config, path: str, rules: dict[str, Rule]) -> list[Finding]:
    """Per-file ignores and severity overrides, applied to one file's findings."""
    ignored = config.file_ignores(path)
    out = []
    for finding in findings:
        rule = rules.get(finding.rule)
        if any(code_matches(code, finding, rule) for code in ignored):
            continue
        for code, severity in config.severity.items():
            if code_matches(code, finding, rule):
                finding = _with_severity(finding, severity)
        out.append(finding)
    return out


def _with_severity(finding: Finding, severity: Severity) -> Finding:
    from dataclasses import replace

    return replace(finding, severity=severity)


STARTER = """\
# dockaudit configuration (also accepted as [tool.dockaudit] in pyproject.toml).
# Every key is optional; command-line flags win. `dockaudit rules` lists the rule ids.

# Rules to run instead of the defaults (ids, prefixes like "DA4", names, or hadolint ids like "DL3008").
# select = ["DA"]
# Rules to add to the defaults (turns on off-by-default rules such as DA203 or DA703).
# extend-select = ["DA703"]
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

# The build context, relative to this file (default: each Dockerfile's folder).
# context = "."

# Size budgets in MiB for `dockaudit image` (DA805); --max-image-size / --max-layer-size win.
# max-image-size = 8000
# max-layer-size = 2000

# Labels the final image must carry, with their kind (text, url, hash, rfc3339, semver, email, spdx).
# [label-schema]
# "org.opencontainers.image.source" = "url"
"""
