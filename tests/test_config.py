"""Settings: defaults, the layer priority, the user config file, env parsing and errors.

Documented priority, highest first: ``[tool.pypm]`` > user config file (``PYPM_CONFIG_FILE``)
> ``PYPM_*`` environment variables > defaults.
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
from pypm.errors import ConfigError, WorkspaceError
from pypm.workspace.model import load_workspace

# The documented defaults (the spec, not read back from pypm.config).
DEFAULTS: dict[str, Any] = {
    "index-url": "https://pypi.org/simple/",
    "extra-index-url": [],
    "find-links": [],
    "environments": [],
    "prerelease": "if-necessary",
    "cache-dir": None,
    "link-mode": "hardlink",
    "offline": False,
    "python": None,
}
LOCK_INPUT_KEYS = {"index-url", "extra-index-url", "find-links", "environments", "prerelease"}

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
        "user": (["/srv/user-wheels"], ["/srv/user-wheels"]),
        "env": ("/srv/a\t/srv/b", ["/srv/a", "/srv/b"]),
    },
    "environments": {
        "tool": (["sys_platform == 'linux'"], ["sys_platform == 'linux'"]),
        "user": (["sys_platform == 'win32'"], ["sys_platform == 'win32'"]),
        "env": ("sys_platform=='darwin'", ["sys_platform=='darwin'"]),
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
PRIORITY = ("tool", "user", "env")


def env_var(name: str) -> str:
    return "PYPM_" + name.upper().replace("-", "_")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No outer PYPM_* variables; PYPM_CONFIG_FILE names a file the test may create."""
    for key in list(os.environ):
        if key.startswith("PYPM_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("PYP_WORKSPACE_ROOT", raising=False)
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
    expected_source = {None: "default", "tool": str(project_file), "user": str(user_file), "env": "environment"}[winner]
    assert settings[setting] == expected
    assert settings.sources[setting] == expected_source
    # other settings are untouched
    for other, default in DEFAULTS.items():
        if other != setting:
            assert settings[other] == default


def test_layers_mix_per_setting(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each setting takes its own highest layer: the layers are merged, not chosen whole."""
    write_user_config(user_file, {"cache-dir": "/cache/user", "python": "3.11"})
    monkeypatch.setenv("PYPM_PYTHON", "3.9")
    monkeypatch.setenv("PYPM_FIND_LINKS", "/srv/wheels")
    settings = load_settings({"index-url": "http://tool/simple/", "cache-dir": "/cache/tool"}, None)
    assert settings["index-url"] == "http://tool/simple/"
    assert settings["cache-dir"] == "/cache/tool"
    assert settings["python"] == "3.11"
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


ENV_LISTS = [
    ("one", ["one"]),
    ("a b", ["a", "b"]),
    ("  a\t\tb \n c  ", ["a", "b", "c"]),
    ("http://x/simple/\nhttp://y/simple/", ["http://x/simple/", "http://y/simple/"]),
]


@pytest.mark.parametrize("setting", ["extra-index-url", "find-links", "environments"])
@pytest.mark.parametrize(("raw", "expected"), ENV_LISTS, ids=[repr(r) for r, _ in ENV_LISTS])
def test_list_settings_from_env_are_whitespace_split(
    setting: str, raw: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(env_var(setting), raw)
    assert load_settings({})[setting] == expected


@pytest.mark.parametrize("setting", list(DEFAULTS))
def test_empty_env_var_means_unset(setting: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env_var(setting), "")
    settings = load_settings({})
    assert settings[setting] == DEFAULTS[setting]
    assert settings.sources[setting] == "default"


def test_index_urls_orders_primary_then_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPM_EXTRA_INDEX_URL", "http://b/ http://c/")
    assert load_settings({"index-url": "http://a/"}).index_urls == ["http://a/", "http://b/", "http://c/"]


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
]


@pytest.mark.parametrize(("key", "value"), WRONG_TYPES, ids=[f"{k}={v!r}" for k, v in WRONG_TYPES])
@pytest.mark.parametrize("layer", ["tool", "user"])
def test_wrong_types_are_config_errors(key: str, value: Any, layer: str, user_file: Path) -> None:
    if layer == "user":
        write_user_config(user_file, {key: value})
        call = lambda: load_settings({})  # noqa: E731
    else:
        call = lambda: load_settings({key: value}, user_file.parent / "pyproject.toml")  # noqa: E731
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
    monkeypatch.setenv("PYPM_FIND_LINKS", "/w1 /w2")
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
    assert (settings["python"], settings["find-links"]) == ("3.12", ["a", "b"])
    assert settings.sources["python"] == str(pyproject.resolve())


@pytest.mark.parametrize(
    ("tool", "error", "fragment"), [c[1:] for c in WORKSPACE_CONFIGS], ids=[c[0] for c in WORKSPACE_CONFIGS]
)
def test_bad_tool_pypm_through_load_workspace(tmp_path: Path, tool: str, error: type, fragment: str) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT + tool)
    with pytest.raises(error) as info:
        load_workspace(tmp_path)
    assert fragment in info.value.one_line()
