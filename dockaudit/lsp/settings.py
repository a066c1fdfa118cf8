"""The editor's settings for the server (``initializationOptions``, ``workspace/didChangeConfiguration``).

They apply on top of the configuration found for each document, as the same command-line flags do:
``select`` replaces the configured selection, ``extendSelect`` and ``ignore`` add to it, ``config``
is ``--config``.  ``unsafeFixes`` puts the unsafe fixes into "fix all" (``--fix --unsafe-fixes``);
``lintOnChange`` false lints on open and save only.  The settings may come wrapped in a
``dockaudit`` section (what VS Code and Neovim send for ``settings = { dockaudit = {...} }``).
"""

from __future__ import annotations

from pathlib import Path

from dockaudit.records import record
from dockaudit.run import Flags

SECTION = "dockaudit"
_SELECTOR_KEYS = {"select": "select", "extendSelect": "extend_select", "ignore": "ignore"}
_FLAG_KEYS = {"unsafeFixes": "unsafe_fixes", "lintOnChange": "lint_on_change"}
KNOWN = ("config", *_SELECTOR_KEYS, *_FLAG_KEYS)


class SettingsError(ValueError):
    """Settings the server cannot apply; ``str()`` is one line for ``window/showMessage``."""


@record(slots=False)
class Settings:
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    config: Path | None = None
    unsafe_fixes: bool = False
    lint_on_change: bool = True

    @property
    def flags(self) -> Flags:
        """The settings as the command line's flags (never ``--online``: an editor must not wait on a registry)."""
        return Flags(select=self.select, ignore=self.ignore, extend_select=self.extend_select, config=self.config)


def read_settings(value: object, root: Path | None) -> Settings:
    """``Settings`` from what the client sent (None or ``{}``: the defaults); a relative ``config``
    is taken from the workspace ``root`` (else the working directory).  Raises ``SettingsError``."""
    if value is None:
        return Settings()
    if not isinstance(value, dict):
        raise SettingsError(f"dockaudit settings: expected an object, got {type(value).__name__}")
    section = value.get(SECTION, value)
    if not isinstance(section, dict):
        raise SettingsError(f"dockaudit settings: {SECTION!r} must be an object, got {type(section).__name__}")
    unknown = sorted(set(section) - set(KNOWN))
    if unknown:
        raise SettingsError(f"dockaudit settings: unknown setting {unknown[0]!r} (known: {', '.join(KNOWN)})")
    fields: dict[str, object] = {}
    for key, name in _SELECTOR_KEYS.items():
        if section.get(key) is not None:
            fields[name] = _selectors(section[key], key)
    for key, name in _FLAG_KEYS.items():
        if section.get(key) is not None:
            if not isinstance(section[key], bool):
                raise SettingsError(f"dockaudit settings: {key} must be true or false, got {section[key]!r}")
            fields[name] = section[key]
    if section.get("config"):
        fields["config"] = _config_path(section["config"], root)
    return Settings(**fields)  # type: ignore[arg-type]


def _selectors(value: object, key: str) -> tuple[str, ...]:
    from dockaudit.linting.engine import load_rules, unknown_selectors

    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise SettingsError(f"dockaudit settings: {key} must be a list of rule codes, got {value!r}")
    unknown = unknown_selectors(load_rules(), value)
    if unknown:
        raise SettingsError(f"dockaudit settings: {key}: unknown rule selector {unknown[0]!r} (see `dockaudit rules`)")
    return tuple(value)


def _config_path(value: object, root: Path | None) -> Path:
    """The configuration file, read once here so that a bad one is one message, not a diagnostic per document."""
    from dockaudit.config import ConfigError, read_config

    if not isinstance(value, str):
        raise SettingsError(f"dockaudit settings: config must be a path, got {value!r}")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (root or Path.cwd()) / path
    try:
        read_config(path)
    except ConfigError as exc:
        raise SettingsError(f"dockaudit settings: config: {exc}") from None
    return path
