"""Settings: defaults, the layer priority, the user config file, env parsing and errors.

Documented priority, highest first (as uv and pip): command line > ``PYPM_*`` environment
variables > ``[tool.pypm]`` > ``.python-version`` (``python`` only) > user config file
(``PYPM_CONFIG_FILE``) > defaults.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from pypm.config import SETTINGS, load_settings
from pypm.errors import ConfigError, UsageError, WorkspaceError
from pypm.workspace.model import load_workspace

# The documented defaults (the spec, not read back from pypm.config).
DEFAULTS: dict[str, Any] = {
    "index-url": "https://pypi.org/simple/",
    "extra-index-url": [],
    "find-links": [],
    "allow-insecure-host": [],
    "environments": [],
    "required-environments": [],
    "prerelease": "if-necessary-or-explicit",
    "cache-dir": None,
    "link-mode": "hardlink",
    "index-page-ttl": 600,
    "offline": False,
    "python": None,
}
LOCK_INPUT_KEYS = {"index-url", "extra-index-url", "find-links", "environments", "prerelease"}
# Lock inputs only when set (so locks made before the setting existed keep their input hash).
LOCK_INPUT_KEYS_WHEN_SET = {"required-environments"}

# setting -> value per layer.  Each entry is (value as written in that layer, value after loading).
# The environment layer always holds a string.
LAYER_VALUES: dict[str, dict[str, tuple[Any, Any]]] = {
    "index-url": {
        "tool": ("http://tool.example/simple/", "http://tool.example/simple/"),
        "user": ("http://user.example/simple/", "http://user.example/simple/"),
        "env": ("  http://env.example/simple/ ", "http://env.example/simple/"),
    },
    "extra-index-url": {
        "tool": (["http://t1/simple/", "http://t2/simple/"], ["http://t1/simple/", "http://t2/simple/"]),
        "user": (["http://u1/simple/"], ["http://u1/simple/"]),
        "env": ("http://e1/simple/ http://e2/simple/", ["http://e1/simple/", "http://e2/simple/"]),
    },
    "find-links": {
        "tool": (["./wheels"], ["./wheels"]),
        "user": (["/srv/user wheels"], ["/srv/user wheels"]),
        "env": ("/srv/my wheels,/srv/b", ["/srv/my wheels", "/srv/b"]),
    },
    "allow-insecure-host": {
        "tool": (["mirror.example"], ["mirror.example"]),
        "user": (["user.example:8080"], ["user.example:8080"]),
        "env": ("a.example, b.example:81", ["a.example", "b.example:81"]),
    },
    "environments": {
        "tool": (["sys_platform == 'linux'"], ["sys_platform == 'linux'"]),
        "user": (["sys_platform == 'win32'"], ["sys_platform == 'win32'"]),
        "env": ("sys_platform == 'darwin'", ["sys_platform == 'darwin'"]),
    },
    "required-environments": {
        "tool": (["sys_platform == 'linux'"], ["sys_platform == 'linux'"]),
        "user": (["os_name == 'nt'"], ["os_name == 'nt'"]),
        "env": ("sys_platform == 'darwin' and platform_machine == 'x86_64'",
                ["sys_platform == 'darwin' and platform_machine == 'x86_64'"]),
    },
    "prerelease": {
        "tool": ("allow", "allow"),
        "user": ("disallow", "disallow"),
        "env": ("if-necessary", "if-necessary"),
    },
    "cache-dir": {
        "tool": ("/cache/tool", "/cache/tool"),
        "user": ("/cache/user", "/cache/user"),
        "env": ("/cache/env", "/cache/env"),
    },
    "link-mode": {
        "tool": ("copy", "copy"),
        "user": ("symlink", "symlink"),
        "env": ("hardlink", "hardlink"),
    },
    "index-page-ttl": {
        "tool": (0, 0),
        "user": (3600, 3600),
        "env": (" 120 ", 120),
    },
    "offline": {
        "tool": (True, True),
        "user": (False, False),
        "env": ("yes", True),
    },
    "python": {
        "tool": ("3.12", "3.12"),
        "user": ("3.11", "3.11"),
        "env": ("/usr/bin/python3", "/usr/bin/python3"),
    },
}
PRIORITY = ("env", "tool", "user")


def env_var(name: str) -> str:
    return "PYPM_" + name.upper().replace("-", "_")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No outer PYPM_* variables; PYPM_CONFIG_FILE names a file the test may create."""
    for key in list(os.environ):
        if key.startswith("PYPM_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("PYP_WORKSPACE_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    user_file = tmp_path / "user-config" / "config.toml"
    monkeypatch.setenv("PYPM_CONFIG_FILE", str(user_file))
    return user_file


@pytest.fixture
def user_file(isolated_env: Path) -> Path:
    return isolated_env


def write_user_config(path: Path, table: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(table))


def test_every_setting_is_covered_by_this_file() -> None:
    assert {s.name for s in SETTINGS} == set(DEFAULTS) == set(LAYER_VALUES)
    assert {s.name: s.env_var for s in SETTINGS} == {name: env_var(name) for name in DEFAULTS}


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.values == DEFAULTS
    assert set(settings.sources.values()) == {"default"}
    assert settings.index_urls == ["https://pypi.org/simple/"]


@pytest.mark.parametrize("setting", list(LAYER_VALUES))
@pytest.mark.parametrize(
    "present",
    [combo for n in range(len(PRIORITY) + 1) for combo in itertools.combinations(PRIORITY, n)],
    ids=lambda combo: "+".join(combo) or "none",
)
def test_layer_priority(
    setting: str, present: tuple[str, ...], user_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = LAYER_VALUES[setting]
    project_file = tmp_path / "pyproject.toml"
    tool_table = {setting: values["tool"][0]} if "tool" in present else {}
    if "user" in present:
        write_user_config(user_file, {setting: values["user"][0]})
    if "env" in present:
        monkeypatch.setenv(env_var(setting), values["env"][0])

    settings = load_settings(tool_table, project_file)

    winner = next((layer for layer in PRIORITY if layer in present), None)
    expected = DEFAULTS[setting] if winner is None else values[winner][1]
    sources = {None: "default", "tool": str(project_file), "user": str(user_file), "env": env_var(setting)}
    expected_source = sources[winner]
    assert settings[setting] == expected
    assert settings.sources[setting] == expected_source
    # other settings are untouched
    for other, default in DEFAULTS.items():
        if other != setting:
            assert settings[other] == default


def test_layers_mix_per_setting(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each setting takes its own highest layer: the layers are merged, not chosen whole."""
    write_user_config(user_file, {"cache-dir": "/cache/user", "python": "3.11", "link-mode": "copy"})
    monkeypatch.setenv("PYPM_PYTHON", "3.9")
    monkeypatch.setenv("PYPM_FIND_LINKS", "/srv/wheels")
    settings = load_settings({"index-url": "http://tool/simple/", "cache-dir": "/cache/tool", "python": "3.10"}, None)
    assert settings["index-url"] == "http://tool/simple/"
    assert settings["cache-dir"] == "/cache/tool"
    assert settings["python"] == "3.9"
    assert settings["link-mode"] == "copy"
    assert settings["find-links"] == ["/srv/wheels"]
    assert settings["extra-index-url"] == []


def test_config_file_env_var_selects_the_user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {name: tmp_path / name / "pypm.toml" for name in ("first", "second")}
    for name, path in files.items():
        write_user_config(path, {"index-url": f"http://{name}/simple/"})
    for name, path in files.items():
        monkeypatch.setenv("PYPM_CONFIG_FILE", str(path))
        settings = load_settings({})
        assert settings["index-url"] == f"http://{name}/simple/"
        assert settings.sources["index-url"] == str(path)
    monkeypatch.setenv("PYPM_CONFIG_FILE", str(tmp_path / "missing.toml"))
    assert load_settings({})["index-url"] == DEFAULTS["index-url"]


# (setting, raw variable, expected list): URLs split on whitespace (as uv's UV_INDEX);
# paths and markers on commas or newlines (as uv's UV_FIND_LINKS), so they may hold spaces.
ENV_LISTS = [
    ("extra-index-url", "http://x/simple/", ["http://x/simple/"]),
    ("extra-index-url", "  http://x/simple/\t\thttp://y/simple/ \n http://z/simple/ ",
     ["http://x/simple/", "http://y/simple/", "http://z/simple/"]),
    ("find-links", "/srv/wheels", ["/srv/wheels"]),
    ("find-links", "/srv/my wheels", ["/srv/my wheels"]),
    ("find-links", " /srv/a dir , C:\\Program Files\\wheels,\n/srv/c ",
     ["/srv/a dir", "C:\\Program Files\\wheels", "/srv/c"]),
    ("find-links", "file:///srv/a%20b,https://host/links.html", ["file:///srv/a%20b", "https://host/links.html"]),
    ("environments", "sys_platform == 'linux'", ["sys_platform == 'linux'"]),
    ("environments", "sys_platform == 'linux' and platform_machine == 'x86_64'",
     ["sys_platform == 'linux' and platform_machine == 'x86_64'"]),
    ("environments", "sys_platform == 'linux', sys_platform == 'darwin'",
     ["sys_platform == 'linux'", "sys_platform == 'darwin'"]),
    ("environments", "python_version in '3.11, 3.12'\nos_name == \"nt\"",
     ["python_version in '3.11, 3.12'", 'os_name == "nt"']),
    ("required-environments", "sys_platform == 'win32' and platform_machine == 'AMD64'",
     ["sys_platform == 'win32' and platform_machine == 'AMD64'"]),
    ("required-environments", "sys_platform == 'linux', python_version in '3.11, 3.12'",
     ["sys_platform == 'linux'", "python_version in '3.11, 3.12'"]),
]


@pytest.mark.parametrize(("setting", "raw", "expected"), ENV_LISTS, ids=[f"{s}={r!r}" for s, r, _ in ENV_LISTS])
def test_list_settings_from_env_split_by_their_rule(
    setting: str, raw: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env_var(setting), raw)
    settings = load_settings({})
    assert settings[setting] == expected
    assert settings.sources[setting] == env_var(setting)


@pytest.mark.parametrize(("setting", "value"), [
    ("find-links", "./my wheels"), ("environments", "sys_platform == 'linux'"), ("extra-index-url", "http://a/"),
    ("required-environments", "sys_platform == 'linux'"),
])
def test_a_single_string_in_a_file_is_a_list_of_one(setting: str, value: str) -> None:
    assert load_settings({setting: value})[setting] == [value]


@pytest.mark.parametrize("setting", list(DEFAULTS))
def test_empty_env_var_means_unset(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var(setting), "")
    settings = load_settings({})
    assert settings[setting] == DEFAULTS[setting]
    assert settings.sources[setting] == "default"


def test_index_urls_orders_primary_then_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPM_EXTRA_INDEX_URL", "http://b/ http://c/")
    assert load_settings({"index-url": "http://a/"}).index_urls == ["http://a/", "http://b/", "http://c/"]


def test_env_overrides_a_committed_index_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a CI must override (indexes, cache, offline, python) beats [tool.pypm], as in uv."""
    committed = {"index-url": "https://committed/simple/", "cache-dir": "/c", "offline": False, "python": "3.11"}
    for key, value in {"index-url": "http://mirror/simple/", "cache-dir": "/ci-cache", "offline": "1",
                       "python": "3.12"}.items():
        monkeypatch.setenv(env_var(key), value)
    settings = load_settings(committed, tmp_path / "pyproject.toml")
    assert (settings["index-url"], settings["cache-dir"], settings["offline"], settings["python"]) == (
        "http://mirror/simple/", "/ci-cache", True, "3.12")
    assert settings.sources["index-url"] == "PYPM_INDEX_URL"


def test_command_line_overrides_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPM_INDEX_URL", "http://env/simple/")
    settings = load_settings({"index-url": "http://tool/simple/"})
    settings.override("index-url", "http://cli/simple/", source="--index-url")
    settings.override("python", None, source="--python")  # an option not given changes nothing
    assert settings["index-url"] == "http://cli/simple/"
    assert settings.sources["index-url"] == "--index-url"
    assert settings["python"] is None and settings.sources["python"] == "default"


def test_bad_command_line_value_is_a_usage_error_naming_the_option() -> None:
    settings = load_settings({})
    with pytest.raises(UsageError) as info:
        settings.override("index-url", "ftp://x/", source="--index-url")
    assert info.value.exit_code == 2
    assert info.value.one_line().startswith("--index-url: setting 'index-url'")
    assert settings["index-url"] == DEFAULTS["index-url"]


def test_cache_dir_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_settings({"cache-dir": "~/pypm-cache"}).cache_dir == tmp_path / "pypm-cache"


@pytest.mark.parametrize("key", ["index_url", "indexurl", "lock-file", "Index-Url", "virtualenv"])
def test_unknown_key_in_tool_pypm_is_an_error(key: str, tmp_path: Path) -> None:
    project_file = tmp_path / "pyproject.toml"
    with pytest.raises(ConfigError) as info:
        load_settings({"index-url": "http://ok/", key: "x"}, project_file)
    assert repr(key) in info.value.message
    assert str(project_file) in info.value.message
    assert "index-url" in (info.value.hint or "")  # the hint lists the known settings


def test_unknown_key_in_user_file_is_an_error(user_file: Path) -> None:
    write_user_config(user_file, {"python": "3.12", "colour": "blue"})
    with pytest.raises(ConfigError) as info:
        load_settings({})
    assert "'colour'" in info.value.message and str(user_file) in info.value.message


@pytest.mark.parametrize("key", ["workspace", "tasks", "plugins"])
def test_non_setting_tables_are_allowed_in_tool_pypm(key: str) -> None:
    assert load_settings({key: {"anything": 1}}).values == DEFAULTS


def test_unknown_pypm_env_var_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPM_NOT_A_SETTING", "1")
    assert load_settings({}).values == DEFAULTS


WRONG_TYPES = [
    ("index-url", 5),
    ("index-url", ""),
    ("index-url", "   "),
    ("index-url", ["http://a/"]),
    ("extra-index-url", [1, 2]),
    ("extra-index-url", {"url": "http://a/"}),
    ("find-links", True),
    ("environments", [["nested"]]),
    ("cache-dir", 3.5),
    ("python", 3.12),
    ("python", ""),
    ("cache-dir", ["/a", "/b"]),
    ("index-url", "pypi.org/simple"),
    ("index-url", "ftp://host/simple/"),
    ("index-url", "https:///simple/"),
    ("extra-index-url", ["http://ok/", "not a url"]),
    ("environments", ["sys_platform = 'linux'"]),
    ("environments", "os_name == "),
    ("required-environments", ["sys_platform = 'linux'"]),
    ("required-environments", [3]),
    ("python", "3.x"),
    ("python", "3..12"),
    ("index-page-ttl", -1),
    ("index-page-ttl", True),
    ("index-page-ttl", 1.5),
]


@pytest.mark.parametrize(("key", "value"), WRONG_TYPES, ids=[f"{k}={v!r}" for k, v in WRONG_TYPES])
@pytest.mark.parametrize("layer", ["tool", "user"])
def test_wrong_types_are_config_errors(key: str, value: Any, layer: str, user_file: Path) -> None:
    if layer == "user":
        write_user_config(user_file, {key: value})
        call = lambda: load_settings({}).check()  # noqa: E731
    else:
        call = lambda: load_settings({key: value}, user_file.parent / "pyproject.toml").check()  # noqa: E731
    with pytest.raises(ConfigError) as info:
        call()
    assert repr(key) in info.value.one_line()


@pytest.mark.parametrize("layer", ["tool", "user", "env"])
def test_wrong_type_error_names_where_the_value_came_from(
    layer: str, user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With four layers, "setting X is wrong" is not enough: the message must say which file (or env var)."""
    project_file = user_file.parent / "pyproject.toml"
    tool_table: dict[str, Any] = {}
    if layer == "tool":
        tool_table = {"extra-index-url": 7}
        where = str(project_file)
    elif layer == "user":
        write_user_config(user_file, {"extra-index-url": 7})
        where = str(user_file)
    else:
        monkeypatch.setenv("PYPM_PYTHON", "   ")
        where = "PYPM_PYTHON"
    with pytest.raises(ConfigError) as info:
        load_settings(tool_table, project_file)
    assert where in info.value.one_line()


ENV_ERRORS = [
    ("PYPM_ENVIRONMENTS", "sys_platform = 'linux'", "PYPM_ENVIRONMENTS: setting 'environments': invalid marker"),
    ("PYPM_ENVIRONMENTS", "os_name == 'nt', bogus", "invalid marker 'bogus'"),
    ("PYPM_REQUIRED_ENVIRONMENTS", "sys_platform == 'linux', os_name = 'nt'",
     "PYPM_REQUIRED_ENVIRONMENTS: setting 'required-environments': invalid marker \"os_name = 'nt'\""),
    ("PYPM_EXTRA_INDEX_URL", "http://ok/ /not/a/url", "PYPM_EXTRA_INDEX_URL: setting 'extra-index-url': '/not/a/url'"),
    ("PYPM_INDEX_URL", "not a url", "PYPM_INDEX_URL: setting 'index-url': 'not a url' is not an http"),
    ("PYPM_OFFLINE", "perhaps", "PYPM_OFFLINE: setting 'offline' must be true or false"),
    ("PYPM_INDEX_PAGE_TTL", "-5", "PYPM_INDEX_PAGE_TTL: setting 'index-page-ttl' must be a whole number"),
    ("PYPM_INDEX_PAGE_TTL", "10m", "setting 'index-page-ttl' must be a whole number of seconds"),
    ("PYPM_LINK_MODE", "teleport", "PYPM_LINK_MODE: setting 'link-mode' must be one of"),
    ("PYPM_PYTHON", "3.x", "PYPM_PYTHON: setting 'python': '3.x' is not a Python version"),
]


@pytest.mark.parametrize(("var", "value", "expected"), ENV_ERRORS, ids=[f"{v}={x!r}" for v, x, _ in ENV_ERRORS])
def test_bad_env_values_are_one_line_naming_the_variable(
    var: str, value: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings({}).check()
    line = info.value.one_line()
    assert line.startswith(f"{var}: setting ") and expected in line and "\n" not in line, line


@pytest.mark.parametrize(("key", "value"), [("index-url", "   "), ("python", " \t ")])
def test_wrong_values_from_env_are_config_errors(key: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var(key), value)
    with pytest.raises(ConfigError, match=re.escape(repr(key))):
        load_settings({})


def test_malformed_user_file_names_file_line_and_column(user_file: Path) -> None:
    user_file.parent.mkdir(parents=True)
    user_file.write_text('index-url = "http://a/"\npython = 3.12.1\n')
    with pytest.raises(ConfigError, match=re.escape(str(user_file)) + r":2:\d+:"):
        load_settings({})


def test_lock_inputs_has_only_lock_relevant_keys(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_user_config(user_file, {"cache-dir": "/c", "python": "3.12"})
    monkeypatch.setenv("PYPM_FIND_LINKS", "/w1,/w2")
    settings = load_settings({"index-url": "http://i/", "environments": ["os_name == 'posix'"]})
    inputs = settings.lock_inputs()
    assert set(inputs) == LOCK_INPUT_KEYS
    assert inputs == {key: settings[key] for key in LOCK_INPUT_KEYS}
    assert inputs["find-links"] == ["/w1", "/w2"]
    # changing a non-lock setting leaves lock_inputs alone
    other = load_settings(
        {"index-url": "http://i/", "environments": ["os_name == 'posix'"], "python": "3.13", "cache-dir": "/d"}
    )
    assert other.lock_inputs() == inputs


def test_required_environments_is_a_lock_input_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset it leaves the input hash of older locks alone; set, a change re-checks the lock."""
    assert set(load_settings({}).lock_inputs()) == LOCK_INPUT_KEYS
    linux = load_settings({"required-environments": ["sys_platform == 'linux'"]}).lock_inputs()
    assert set(linux) == LOCK_INPUT_KEYS | LOCK_INPUT_KEYS_WHEN_SET
    assert linux["required-environments"] == ["sys_platform == 'linux'"]
    monkeypatch.setenv("PYPM_REQUIRED_ENVIRONMENTS", "os_name == 'nt'")
    assert load_settings({"required-environments": ["sys_platform == 'linux'"]}).lock_inputs() != linux


WORKSPACE_CONFIGS = [
    # (id, [tool.pypm] part of the pyproject, expected error type, fragment it must name)
    ("unknown-key", '[tool.pypm]\nlink-moda = "copy"\n', ConfigError, "'link-moda'"),
    ("wrong-type", "[tool.pypm]\nextra-index-url = 7\n", ConfigError, "'extra-index-url'"),
    ("underscore-spelling", '[tool.pypm]\nindex_url = "http://a/"\n', ConfigError, "'index_url'"),
    ("not-a-table", '[tool]\npypm = "not a table"\n', WorkspaceError, "[tool.pypm]"),
]
PROJECT = '[project]\nname = "p"\nversion = "1"\n'


def test_tool_pypm_settings_through_load_workspace(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PROJECT + '[tool.pypm]\npython = "3.12"\nfind-links = "a b"\n')
    settings = load_workspace(tmp_path).settings
    assert (settings["python"], settings["find-links"]) == ("3.12", ["a b"])
    assert settings.sources["python"] == str(pyproject.resolve())


@pytest.mark.parametrize(
    ("tool", "error", "fragment"), [c[1:] for c in WORKSPACE_CONFIGS], ids=[c[0] for c in WORKSPACE_CONFIGS]
)
def test_bad_tool_pypm_through_load_workspace(tmp_path: Path, tool: str, error: type, fragment: str) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT + tool)
    with pytest.raises(error) as info:
        load_workspace(tmp_path)
    assert fragment in info.value.one_line()


# --- .python-version: the python request when nothing above it sets one ---------------


def write_version_file(root: Path, text: str) -> Path:
    path = root / ".python-version"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ("3.12\n", "3.12"),
    ("# pinned for CI\n\n  3.11.4  \n3.12\n", "3.11.4"),
    ("/opt/python/bin/python3", "/opt/python/bin/python3"),
])
def test_python_version_file_is_the_fallback_request(tmp_path: Path, text: str, expected: str) -> None:
    path = write_version_file(tmp_path, text)
    settings = load_settings({}, tmp_path / "pyproject.toml")
    assert settings["python"] == expected
    assert settings.sources["python"] == str(path)
    assert str(path) in settings.describe("python")


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing pinned yet\n"])
def test_python_version_file_without_a_request_is_ignored(tmp_path: Path, text: str) -> None:
    write_version_file(tmp_path, text)
    settings = load_settings({}, tmp_path / "pyproject.toml")
    assert settings["python"] is None and settings.sources["python"] == "default"


def test_python_version_file_ranks_below_the_project_and_env_above_the_user_file(
    tmp_path: Path, user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_file = tmp_path / "pyproject.toml"
    version_file = write_version_file(tmp_path, "3.11\n")
    write_user_config(user_file, {"python": "3.9"})
    assert load_settings({}, project_file).sources["python"] == str(version_file)
    assert load_settings({"python": "3.13"}, project_file)["python"] == "3.13"
    monkeypatch.setenv("PYPM_PYTHON", "3.10")
    assert load_settings({"python": "3.13"}, project_file)["python"] == "3.10"
    settings = load_settings({}, project_file)
    settings.override("python", "3.8", source="--python")
    assert settings["python"] == "3.8"


def test_bad_python_version_file_names_the_file(tmp_path: Path) -> None:
    path = write_version_file(tmp_path, "3.twelve\n")
    with pytest.raises(ConfigError) as info:
        load_settings({}, tmp_path / "pyproject.toml")
    assert info.value.one_line().startswith(f"{path}: setting 'python': '3.twelve' is not a Python version")


def test_python_version_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".python-version").mkdir()
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / ".python-version"))):
        load_settings({}, tmp_path / "pyproject.toml")


def test_python_version_file_through_load_workspace(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "sub").mkdir()
    write_version_file(tmp_path, "3.12\n")
    settings = load_workspace(tmp_path / "sub").settings
    assert settings["python"] == "3.12"
    assert settings.sources["python"] == str((tmp_path / ".python-version").resolve())


def test_a_bad_committed_value_is_reported_even_when_overridden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every value is checked when loaded, not only the one that wins (as uv reads whole files)."""
    monkeypatch.setenv("PYPM_CACHE_DIR", "/ci-cache")
    project_file = tmp_path / "pyproject.toml"
    with pytest.raises(ConfigError) as info:
        load_settings({"cache-dir": 5}, project_file)
    assert info.value.one_line().startswith(f"{project_file}: setting 'cache-dir'")


def test_markers_are_checked_on_first_read_without_slowing_the_load(tmp_path: Path) -> None:
    """Parsing markers imports packaging.markers (tens of ms): the no-op path, which only
    hashes the settings, must not pay it; the first read of 'environments' checks them."""
    code = (
        "import sys\n"
        "from pypm.config import load_settings\n"
        "ok = load_settings({'environments': [\"sys_platform == 'linux'\"]})\n"
        "bad = load_settings({'environments': ['sys_platform = 1']})\n"
        "print('packaging.markers' in sys.modules)\n"
        "print(ok['environments'])\n"
        "try:\n"
        "    bad['environments']\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         env={**os.environ, "PYPM_CONFIG_FILE": str(tmp_path / "none.toml")}).stdout.splitlines()
    assert out[0] == "False"
    assert out[1] == "[\"sys_platform == 'linux'\"]"
    assert out[2].startswith("ConfigError [tool.pypm]: setting 'environments': invalid marker 'sys_platform = 1'")


def test_bad_marker_fails_load_workspace(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT + "[tool.pypm]\nenvironments = [\"os_name = 'nt'\"]\n")
    with pytest.raises(ConfigError, match="setting 'environments': invalid marker"):
        load_workspace(tmp_path)


@pytest.mark.parametrize("xdg", [None, "/tmp/pypm-xdg-config"])
def test_user_config_path_is_platformdirs_rule_without_importing_it(monkeypatch, xdg) -> None:
    import platformdirs

    from pypm.config import user_config_path

    monkeypatch.delenv("PYPM_CONFIG_FILE", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert user_config_path() == platformdirs.user_config_path("pypm", appauthor=False) / "config.toml"


def test_a_relative_cache_dir_is_anchored_and_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set in a file, a relative ``cache-dir`` is read against that file's directory (as
    find-links); from a variable, against the current directory: absolute either way, so
    symbolic links into the store never lead somewhere relative to themselves."""
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\n\n'
                                            '[tool.pypm]\ncache-dir = ".pypm-cache"\n')
    monkeypatch.chdir(project / "sub")
    assert load_workspace(project).settings.cache_dir == project / ".pypm-cache"
    monkeypatch.setenv("PYPM_CACHE_DIR", "rel-cache")
    assert load_settings({}).cache_dir == project / "sub" / "rel-cache"


@pytest.mark.parametrize("layer", ["env", "tool"])
def test_a_home_directory_that_cannot_be_found_is_a_settings_error(layer: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``~nobody-here/x`` (a teammate's path in a shared file): one settings error, not
    exit 70 from ``RuntimeError: Could not determine home directory``."""
    if layer == "env":
        monkeypatch.setenv("PYPM_CACHE_DIR", "~nobody-here-pypm/cache")
        settings = load_settings({})
    else:
        settings = load_settings({"cache-dir": "~nobody-here-pypm/cache"})
    with pytest.raises(ConfigError, match="the home directory in '~nobody-here-pypm/cache' cannot be found"):
        _ = settings.cache_dir
