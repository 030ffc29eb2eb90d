"""The settings table: every setting, its default, its ``PYPM_*`` variable and its type.

Values are looked up, highest priority first, in the workspace's ``[tool.pypm]`` table,
the user config file (``config.toml`` in the platformdirs config dir, or the file named
by ``PYPM_CONFIG_FILE``), the environment, and finally the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pypm.errors import ConfigError

DEFAULT_INDEX_URL = "https://pypi.org/simple/"


def _as_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"setting {name!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _as_str_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise ConfigError(f"setting {name!r} must be a list of strings, got {value!r}")


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise ConfigError(f"setting {name!r} must be true or false, got {value!r}")


def _as_choice(*choices: str) -> Callable[[str, Any], str]:
    def coerce(name: str, value: Any) -> str:
        text = _as_str(name, value)
        if text not in choices:
            raise ConfigError(f"setting {name!r} must be one of {', '.join(choices)}, got {text!r}")
        return text

    return coerce


class Setting(NamedTuple):
    """One row of the settings table."""

    name: str
    default: Any
    coerce: Callable[[str, Any], Any]
    help: str
    in_lock_inputs: bool = False

    @property
    def env_var(self) -> str:
        """The environment variable that can set this value, e.g. ``PYPM_INDEX_URL``."""
        return "PYPM_" + self.name.upper().replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting("index-url", DEFAULT_INDEX_URL, _as_str, "primary package index (PEP 503/691)", True),
    Setting("extra-index-url", [], _as_str_list, "further indexes, lower priority", True),
    Setting("find-links", [], _as_str_list, "directories or pages with distribution files", True),
    Setting("environments", [], _as_str_list, "markers limiting what the lock must serve", True),
    Setting("prerelease", "if-necessary", _as_choice("if-necessary", "allow", "disallow"),
            "when pre-releases may be chosen", True),
    Setting("cache-dir", None, _as_str, "global cache directory"),
    Setting("link-mode", "hardlink", _as_choice("hardlink", "copy", "symlink"), "how files get into .venv"),
    Setting("offline", False, _as_bool, "use the cache only, never the network"),
    Setting("python", None, _as_str, "interpreter for .venv (version like 3.12, or a path)"),
)

SETTINGS_BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
NON_SETTING_KEYS = frozenset({"workspace", "tasks", "plugins"})


class Settings:
    """Resolved settings values and where each came from."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str] | None = None) -> None:
        self.values = values
        self.sources = sources or {}

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def override(self, name: str, value: Any) -> None:
        """Set a value from the command line (the highest priority)."""
        if value is not None:
            self.values[name] = SETTINGS_BY_NAME[name].coerce(name, value)
            self.sources[name] = "command line"

    @property
    def index_urls(self) -> list[str]:
        """The primary index followed by the extra indexes, in priority order."""
        return [self.values["index-url"], *self.values["extra-index-url"]]

    @property
    def cache_dir(self) -> Path:
        """The cache directory, created on first use by its users."""
        configured = self.values["cache-dir"]
        if configured:
            return Path(configured).expanduser()
        import platformdirs

        return platformdirs.user_cache_path("pypm", appauthor=False)

    def lock_inputs(self) -> dict[str, Any]:
        """The settings that change what a lock resolves to (part of the input hash)."""
        return {s.name: self.values[s.name] for s in SETTINGS if s.in_lock_inputs}


def user_config_path() -> Path:
    """Path of the user config file (``PYPM_CONFIG_FILE`` overrides the platform default)."""
    override = os.environ.get("PYPM_CONFIG_FILE")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_config_path("pypm", appauthor=False) / "config.toml"


def load_settings(project_table: Mapping[str, Any], project_file: Path | None = None) -> Settings:
    """Merge the ``[tool.pypm]`` table, the user config file and the environment."""
    from pypm.tomlfile import read_toml

    layers: list[tuple[str, Mapping[str, Any]]] = [
        (str(project_file or "[tool.pypm]"), project_table)
    ]
    user_file = user_config_path()
    if user_file.exists():  # a directory there is reported by read_toml, not skipped
        layers.append((str(user_file), read_toml(user_file, ConfigError)))
    layers.append(("environment", _environment_layer()))
    for source, table in layers[:2]:
        _reject_unknown_keys(source, table)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        values[setting.name] = setting.default
        sources[setting.name] = "default"
        for source, table in layers:
            if setting.name in table:
                where = setting.env_var if source == "environment" else source
                try:
                    values[setting.name] = setting.coerce(setting.name, table[setting.name])
                except ConfigError as exc:
                    raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
                sources[setting.name] = source
                break
    return Settings(values, sources)


def _environment_layer() -> dict[str, str]:
    return {s.name: os.environ[s.env_var] for s in SETTINGS if os.environ.get(s.env_var)}


def _reject_unknown_keys(source: str, table: Mapping[str, Any]) -> None:
    for key in table:
        if key not in SETTINGS_BY_NAME and key not in NON_SETTING_KEYS:
            known = ", ".join(sorted(SETTINGS_BY_NAME))
            raise ConfigError(f"{source}: unknown setting {key!r}", hint=f"known settings: {known}")
