"""The settings table: every setting, its default, its ``PYPM_*`` variable and its type.

Values are looked up, highest priority first, as uv and pip do: the command line
(:meth:`Settings.override`), the environment (``PYPM_*``), the workspace's ``[tool.pypm]``
table (or the top level of ``pypm-workspace.toml``), for ``python`` only a
``.python-version`` file in the workspace root (as uv and pyenv read it), the user config
file (``config.toml`` in the platformdirs config dir, or the file named by
``PYPM_CONFIG_FILE``), and finally the default. Every value is checked when it is loaded;
a bad one is one error naming where it came from (the file, the variable or the option).
Markers are the one check deferred to the first read of ``environments`` and
``required-environments`` (or :meth:`Settings.check`): parsing them needs
:mod:`packaging.markers`, whose import would cost the "all up to date" path a third of its
time, and that path only hashes the text.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pypm.errors import ConfigError, UsageError

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
PYTHON_VERSION_FILE = ".python-version"
#: The pre-release policies (see pypm.resolver.provider's ``_prerelease_order``); the
#: default is uv's, which the shared resolver scenarios expect.
PRERELEASE_MODES = ("if-necessary-or-explicit", "if-necessary", "explicit", "allow", "disallow")
DEFAULT_PRERELEASE = "if-necessary-or-explicit"
DEFAULT_SOURCE = "default"
#: How long an index page the server sent without Cache-Control stays fresh: PyPI's own
#: ``max-age`` for simple pages (600 s). A page with Cache-Control follows it instead.
DEFAULT_PAGE_TTL = 600

_URL_SCHEMES = ("http", "https", "file")
#: A version request pypm matches against the interpreters it finds: 3, 3.12 or 3.12.1.
_PYTHON_VERSION = re.compile(r"\d+(\.\d+){0,2}")
#: Versions with a suffix (free-threaded, debug, pre-release): pypm.install.venv finds
#: ``X.Yt`` as the command ``pythonX.Yt`` and refuses the others when it looks for one.
_PYTHON_VARIANT = re.compile(r"\d+(\.\d+){0,2}(((a|b|rc)\d+)|t|d|\+\w+)+")


def _as_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"setting {name!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _split_url(name: str, text: str) -> Any:
    """``text`` split by :func:`urllib.parse.urlsplit`; a URL it cannot split (``http://[bad/``)
    or whose port is no number is a :class:`ConfigError` here, not a crash where it is used."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - read for the ValueError of a bad port
    except ValueError as exc:
        raise ConfigError(f"setting {name!r}: {text!r} is not a valid URL: {exc}",
                          hint="e.g. https://pypi.org/simple/") from None
    return parts


def _as_url(name: str, value: Any) -> str:
    """An index URL: ``http(s)://host/...`` or ``file:///path`` (what pip and uv accept)."""
    text = _as_str(name, value)
    parts = _split_url(name, text)
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise ConfigError(f"setting {name!r}: {text!r} is not an http://, https:// or file:// URL",
                          hint="e.g. https://pypi.org/simple/, or file:///srv/simple/ for a local directory")
    if parts.scheme.lower() != "file" and not parts.netloc:
        raise ConfigError(f"setting {name!r}: {text!r} names no host", hint="e.g. https://pypi.org/simple/")
    return text


def is_version_request(requested: str) -> bool:
    """A ``python`` request that is a plain version (``3``, ``3.12``, ``3.12.1``): matched
    against every interpreter found, not named by a path or a command. (The no-op verdict,
    which cannot import this module, applies the same rule: ``pypm.graph.noop_verdict``.)"""
    return re.fullmatch(r"\d+(\.\d+)*", requested) is not None


def is_python_variant(requested: str) -> bool:
    """A version with a build or release suffix: ``3.13t`` (free-threaded), ``3.13d``,
    ``3.14rc1``, ``3.12+debug``."""
    return _PYTHON_VARIANT.fullmatch(requested) is not None


def looks_like_path(requested: str) -> bool:
    """A ``python`` request meant as a path rather than a version (``3.12``) or a command
    name (``python3.12``): it has a separator or starts with ``~`` or ``.``."""
    return any(sep in requested for sep in ("/", "\\", os.sep)) or requested.startswith(("~", "."))


def _as_python(name: str, value: Any) -> str:
    """A Python request: a version such as ``3.12`` or a path (anything with a separator)."""
    text = _as_str(name, value)
    # a variant (3.13t, 3.14rc1) is a request pyenv writes: judged when an interpreter is looked
    # for (pypm.install.venv), so that it does not stop commands that need none (lock)
    if text[0].isdigit() and not (_PYTHON_VERSION.fullmatch(text) or is_python_variant(text)):
        raise ConfigError(f"setting {name!r}: {text!r} is not a Python version such as 3.12",
                          hint="give a version such as 3.12 or the path of a python executable")
    return text


def _as_find_link(name: str, value: Any) -> str:
    """A ``find-links`` entry: a directory, or a URL that can be split."""
    text = _as_str(name, value)
    if "://" in text:
        _split_url(name, text)
    return text


def _as_list(item: Callable[[str, Any], str]) -> Callable[[str, Any], list[str]]:
    """A list of strings, each checked by ``item``; a single string is a list of one."""

    def coerce(name: str, value: Any) -> list[str]:
        if isinstance(value, str):
            value = [value] if value.strip() else []
        if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
            raise ConfigError(f"setting {name!r} must be a list of strings, got {value!r}")
        return [item(name, entry) for entry in value if entry.strip()]

    return coerce


def _check_markers(name: str, values: list[str]) -> None:
    """Every entry is a PEP 508 marker (imports packaging: see the module docstring)."""
    from packaging.markers import InvalidMarker, Marker

    for text in values:
        try:
            Marker(text)
        except InvalidMarker as exc:
            reason = " ".join(str(exc).splitlines()[0].split())
            raise ConfigError(f"setting {name!r}: invalid marker {text!r}: {reason}",
                              hint="a marker such as sys_platform == 'linux'") from None


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise ConfigError(f"setting {name!r} must be true or false, got {value!r}")


def _as_seconds(name: str, value: Any) -> int:
    """A whole number of seconds, 0 or more (a variable gives it as text)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(f"setting {name!r} must be a whole number of seconds (0 or more), got {value!r}")


def _as_choice(*choices: str) -> Callable[[str, Any], str]:
    def coerce(name: str, value: Any) -> str:
        text = _as_str(name, value)
        if text not in choices:
            raise ConfigError(f"setting {name!r} must be one of {', '.join(choices)}, got {text!r}")
        return text

    return coerce


def split_whitespace(text: str) -> list[str]:
    """``PYPM_EXTRA_INDEX_URL``: URLs separated by spaces or newlines (as uv's ``UV_INDEX``;
    a URL holds no raw space)."""
    return text.split()


def split_commas(text: str) -> list[str]:
    """``PYPM_FIND_LINKS``: entries separated by commas or newlines, as uv's
    ``UV_FIND_LINKS``, so a path may hold spaces."""
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


def split_markers(text: str) -> list[str]:
    """``PYPM_ENVIRONMENTS`` and ``PYPM_REQUIRED_ENVIRONMENTS``: markers separated by commas
    or newlines; a comma inside a quoted marker string (``python_version in '3.11, 3.12'``)
    does not separate."""
    parts, current, quote = [], [], ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in ",\n":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


class Setting(NamedTuple):
    """One row of the settings table (``split``: how a list setting's variable is split)."""

    name: str
    default: Any
    coerce: Callable[[str, Any], Any]
    help: str
    in_lock_inputs: bool = False
    split: Callable[[str], list[str]] | None = None
    deferred_check: Callable[[str, Any], None] | None = None

    @property
    def env_var(self) -> str:
        """The environment variable that can set this value, e.g. ``PYPM_INDEX_URL``."""
        return "PYPM_" + self.name.upper().replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting("index-url", DEFAULT_INDEX_URL, _as_url, "primary package index (PEP 503/691)", True),
    Setting("extra-index-url", [], _as_list(_as_url), "further indexes, lower priority", True, split_whitespace),
    Setting("find-links", [], _as_list(_as_find_link), "directories or pages with distribution files", True,
            split_commas),
    Setting("allow-insecure-host", [], _as_list(_as_str),
            "hosts (host or host:port) whose plain-http index and find-links pages pypm may read", False,
            split_commas),
    Setting("environments", [], _as_list(_as_str), "markers limiting what the lock must serve", True,
            split_markers, _check_markers),
    Setting("required-environments", [], _as_list(_as_str),
            "markers of environments every locked package must have a file for", True, split_markers, _check_markers),
    Setting("prerelease", DEFAULT_PRERELEASE, _as_choice(*PRERELEASE_MODES),
            "when pre-releases may be chosen", True),
    Setting("cache-dir", None, _as_str, "global cache directory"),
    Setting("link-mode", "hardlink", _as_choice("hardlink", "copy", "symlink"), "how files get into .venv"),
    Setting("index-page-ttl", DEFAULT_PAGE_TTL, _as_seconds,
            "seconds an index page sent without Cache-Control is reused before it is asked for again"),
    Setting("offline", False, _as_bool, "use the cache only, never the network"),
    Setting("python", None, _as_python, "interpreter for .venv (version like 3.12, or a path)"),
)

SETTINGS_BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
#: Lock inputs hashed only when set: ``required-environments`` decides whether a lock may be
#: written (as uv records it in uv.lock, a change re-checks the lock), but unset it leaves the
#: hash of every lock made before the setting existed as it was.
LOCK_INPUTS_WHEN_SET = frozenset({"required-environments"})
#: Lock inputs that hold URLs: hashed without their user information (``user:token@``),
#: which chooses no package, so a rotated token leaves the lock fresh (uv keeps
#: credentials out of its lock too).
URL_LOCK_INPUTS = frozenset({"index-url", "extra-index-url", "find-links"})
NON_SETTING_KEYS = frozenset({"workspace", "tasks", "plugins", "sources"})


Pending = list[tuple[str, str, Any]]  # (setting, source, value) whose deferred check has not run


class Settings:
    """Resolved settings values and where each came from (a file path, a ``PYPM_*``
    variable, a command-line option, or ``"default"``). ``pending``: values (of every
    layer) whose deferred check runs on the setting's first read or on :meth:`check`."""

    def __init__(self, values: Mapping[str, Any], sources: dict[str, str] | None = None,
                 pending: Pending | None = None) -> None:
        self.values = {setting.name: setting.default for setting in SETTINGS}
        self.values.update(values)
        self.sources = {name: DEFAULT_SOURCE for name in self.values}
        self.sources.update(sources or {})
        self._pending = list(pending or [])

    def __getitem__(self, name: str) -> Any:
        if self._pending:
            self._run_checks(name)
        return self.values[name]

    def check(self) -> None:
        """Run every deferred check now (a bad value raises :class:`ConfigError`)."""
        self._run_checks(None)

    def _run_checks(self, only: str | None) -> None:
        for entry in [e for e in self._pending if only is None or e[0] == only]:
            name, source, value = entry
            check = SETTINGS_BY_NAME[name].deferred_check
            if check is not None:
                try:
                    check(name, value)
                except ConfigError as exc:
                    raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from None
            self._pending.remove(entry)

    def override(self, name: str, value: Any, source: str = "command line") -> None:
        """Set a value from the command line (the highest priority); ``None`` leaves it.
        ``source`` names the option in errors, e.g. ``--index-url``. A bad value is a
        command-line mistake (:class:`UsageError`, exit status 2)."""
        if value is None:
            return
        setting = SETTINGS_BY_NAME[name]
        try:
            coerced = setting.coerce(name, value)
            if setting.deferred_check is not None:
                setting.deferred_check(name, coerced)
        except ConfigError as exc:
            raise UsageError(f"{source}: {exc.message}", hint=exc.hint) from None
        self.values[name] = coerced
        self.sources[name] = source
        self._pending = [entry for entry in self._pending if entry[0] != name]

    def describe(self, name: str) -> str:
        """Where a value came from, for messages: ``python = '3.12' (from .../.python-version)``."""
        source = self.sources.get(name, DEFAULT_SOURCE)
        return f"{name} = {self.values[name]!r} ({'default' if source == DEFAULT_SOURCE else 'from ' + source})"

    @property
    def find_links(self) -> list[str]:
        """``find-links``, with each relative directory read against the directory of the
        file that set it (as uv reads relative paths in its configuration files); from a
        variable or an option, against the current directory."""
        source = Path(self.sources.get("find-links", DEFAULT_SOURCE))
        anchored = source.is_absolute() and source.is_file()
        return [str(source.parent / entry) if anchored and _is_relative_path(entry) else entry
                for entry in self.values["find-links"]]

    @property
    def index_urls(self) -> list[str]:
        """The primary index followed by the extra indexes, in priority order."""
        return [self.values["index-url"], *self.values["extra-index-url"]]

    @property
    def index_base_urls(self) -> list[str]:
        """:attr:`index_urls`, each ending in ``/`` (a project's page is ``<base><name>/``)."""
        return [url if url.endswith("/") else url + "/" for url in self.index_urls]

    @property
    def cache_dir(self) -> Path:
        """The cache directory, created on first use by its users."""
        configured = self.values["cache-dir"]
        if configured:
            return expanded_path(configured, self.describe("cache-dir")).absolute()  # (--cache-dir: the cwd's)
        import platformdirs

        return platformdirs.user_cache_path("pypm", appauthor=False)

    def lock_inputs(self) -> dict[str, Any]:
        """The settings that change what a lock resolves to (part of the input hash); a
        setting of :data:`LOCK_INPUTS_WHEN_SET` only when it is set."""
        inputs = {s.name: self.values[s.name] for s in SETTINGS
                  if s.in_lock_inputs and (self.values[s.name] or s.name not in LOCK_INPUTS_WHEN_SET)}
        for name in URL_LOCK_INPUTS:
            value = inputs[name]
            inputs[name] = [*map(_without_userinfo, value)] if isinstance(value, list) else _without_userinfo(value)
        return inputs


def _without_userinfo(entry: str) -> str:
    """A URL without its ``user:password@`` (anything else as it is)."""
    if "@" not in entry or "://" not in entry:
        return entry
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(entry)
    except ValueError:  # a find-links entry that is no URL urllib can split
        return entry
    if "@" not in parts.netloc:
        return entry
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _is_relative_path(entry: str) -> bool:
    """A relative directory (not a URL, not absolute, not ``~``)."""
    return "://" not in entry and not entry.startswith("~") and not Path(entry).is_absolute()


def expanded_path(value: str, where: str) -> Path:
    """``value`` as a path with ``~`` and ``~user`` expanded; a home directory that cannot
    be found (``~nobody/x``, no ``HOME``) is a settings error naming ``where`` the value
    came from, not an internal error."""
    try:
        return Path(value).expanduser()
    except RuntimeError:
        raise ConfigError(f"{where}: the home directory in {value!r} cannot be found",
                          hint="give the path in full, or one under your own ~") from None


def user_data_dir(name: str, variable: str) -> Path:
    """pypm's directory ``name`` in the user data dir (platformdirs), or the directory the
    environment ``variable`` names (named environments, native plugins)."""
    given = os.environ.get(variable, "").strip()
    if given:
        return expanded_path(given, variable)
    import platformdirs

    return platformdirs.user_data_path("pypm", appauthor=False) / name


def user_config_path() -> Path:
    """Path of the user config file (``PYPM_CONFIG_FILE`` overrides the platform default)."""
    override = os.environ.get("PYPM_CONFIG_FILE")
    if override:
        return Path(override)
    if sys.platform == "linux":
        # platformdirs' rule on Linux (XDG_CONFIG_HOME, else ~/.config), without importing it:
        # the import costs the "all up to date" path about 8 ms.
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return Path(base) / "pypm" / "config.toml"
    import platformdirs

    return platformdirs.user_config_path("pypm", appauthor=False) / "config.toml"


Layer = tuple[str, Mapping[str, Any]]


def load_settings(project_table: Mapping[str, Any], project_file: Path | None = None) -> Settings:
    """Merge the environment, the ``[tool.pypm]`` table, the workspace root's
    ``.python-version`` (next to ``project_file``) and the user config file, in that order."""
    from pypm.tomlfile import read_toml

    project: Layer = (str(project_file or "[tool.pypm]"), project_table)
    user: list[Layer] = []
    user_file = user_config_path()
    if user_file.exists():  # a directory there is reported by read_toml, not skipped
        user.append((str(user_file), read_toml(user_file, ConfigError)))
    for source, table in (project, *user):
        _reject_unknown_keys(source, table)
    version_file = read_python_version(project_file.parent) if project_file is not None else []
    layers = [*_environment_layers(), project, *version_file, *user]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    pending: Pending = []
    for setting in SETTINGS:
        # every layer's value is checked, not only the winner's (as uv reads whole files):
        # a bad committed value is reported even while a variable overrides it
        for source, table in reversed(layers):
            if setting.name in table:
                values[setting.name] = _coerce(setting, table[setting.name], source)
                sources[setting.name] = source
                if setting.deferred_check is not None and values[setting.name]:
                    pending.insert(0, (setting.name, source, values[setting.name]))
    _anchor_paths(values, sources)
    return Settings(values, sources, pending)


def _anchor_paths(values: dict[str, Any], sources: dict[str, str]) -> None:
    """A relative interpreter path or ``cache-dir`` set in a file is read against that
    file's directory (as ``find-links`` is, and uv reads relative paths in its configuration
    files), so it names the same place from a subdirectory or with ``--project``; from a
    variable, against the current directory. ``cache-dir`` is made absolute either way:
    symbolic links into the store must not lead somewhere relative to themselves."""
    for name in ("python", "cache-dir"):
        value = values.get(name)
        if not isinstance(value, str) or not value or value.startswith("~") or Path(value).is_absolute():
            continue
        if name == "python" and not looks_like_path(value):
            continue  # a version or a command name
        source = Path(sources[name])
        if source.is_absolute():  # a file (a variable is named by its name)
            values[name] = str(source.parent / value)
        elif name == "cache-dir":
            values[name] = str(Path.cwd() / value)


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    try:
        return setting.coerce(setting.name, value)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from None


def _environment_layers() -> list[Layer]:
    """One layer per ``PYPM_*`` variable that is set and not empty, named by the variable;
    list settings are split by their setting's rule."""
    layers: list[Layer] = []
    for setting in SETTINGS:
        raw = os.environ.get(setting.env_var, "")
        if raw.strip() or (raw and setting.split is None):
            layers.append((setting.env_var, {setting.name: setting.split(raw) if setting.split else raw}))
    return layers


def read_python_version(root: Path) -> list[Layer]:
    """``.python-version`` in ``root`` as a settings layer for ``python``: its first line
    that is neither blank nor a ``#`` comment (as uv and pyenv read it). Empty when the
    file is absent or holds no such line."""
    path = root / PYTHON_VERSION_FILE
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror or type(exc).__name__
        raise ConfigError(f"{path}: cannot read it: {reason}", hint="fix or remove the file") from None
    for line in text.splitlines():
        request = line.strip()
        if request and not request.startswith("#"):
            return [(str(path), {"python": request})]
    return []


def _reject_unknown_keys(source: str, table: Mapping[str, Any]) -> None:
    for key in table:
        if key not in SETTINGS_BY_NAME and key not in NON_SETTING_KEYS:
            known = ", ".join(sorted(SETTINGS_BY_NAME))
            raise ConfigError(f"{source}: unknown setting {key!r}", hint=f"known settings: {known}")
