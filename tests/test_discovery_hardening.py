"""Which workspace a directory belongs to, as uv's ``find_workspace`` decides it, and
workspace tables that are malformed or odd: each case runs the real discovery on real
files (and the CLI where the result is what a user sees)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomllib

from pypm.config import load_settings
from pypm.errors import WorkspaceError
from pypm.testing import DistSpec
from pypm.workspace.discovery import find_workspace
from tests.test_settings_override import one_error_line
from tests.test_workspace import write_tree as write


def project(name: str, deps: tuple[str, ...] = (), extra: str = "") -> str:
    """A valid ``[project]`` table, then ``extra``."""
    quoted = ", ".join(f'"{dep}"' for dep in deps)
    return (f'[project]\nname = "{name}"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
            f"dependencies = [{quoted}]\n{extra}")


@pytest.fixture(autouse=True)
def no_root_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """No outer PYPM_WORKSPACE_ROOT (or its old name) steers the in-process discovery."""
    for key in list(os.environ):
        if key.startswith("PYPM_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("PYP_WORKSPACE_ROOT", raising=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return tmp_path.resolve() / "ws"


def found(start: Path) -> tuple[Path, list[str]]:
    """The root discovery finds from ``start`` and its member directories (relative)."""
    raw = find_workspace(start)
    return raw.root, sorted(member.path.relative_to(raw.root).as_posix() for member in raw.members)


# --------------------------------------------------------------------------- 1: the climb


WORKSPACE = '[tool.pypm.workspace]\nmembers = ["packages/*"]\nexclude = ["packages/legacy"]\n'


@pytest.mark.parametrize(("start", "expected_root", "expected_members"), [
    # not matched by members: the nearest project stands alone (uv: "project is not included")
    ("examples/demo", "examples/demo", ["."]),
    ("examples/demo/src/deep", "examples/demo", ["."]),
    # matched by exclude (uv: "project is excluded")
    ("packages/legacy", "packages/legacy", ["."]),
    # a member, and plain directories of a member and of the root: the workspace, as before
    ("packages/core", ".", [".", "packages/core", "tools/outer/inner"]),
    ("packages/core/src/deep", ".", [".", "packages/core", "tools/outer/inner"]),
    ("docs", ".", [".", "packages/core", "tools/outer/inner"]),
    # a project inside a project that declares no workspace (uv: "contained in non-workspace
    # project"), although the workspace above names it as a member
    ("tools/outer/inner", "tools/outer/inner", ["."]),
])
def test_a_project_joins_a_workspace_above_only_as_a_member(
        tree: Path, start: str, expected_root: str, expected_members: list[str]) -> None:
    write(tree, {
        "pyproject.toml": project("app", extra=WORKSPACE.replace('"packages/*"', '"packages/*", "tools/outer/inner"')),
        "packages/core/pyproject.toml": project("core"),
        "packages/core/src/deep": None,
        "packages/legacy/pyproject.toml": project("legacy"),
        "examples/demo/pyproject.toml": project("demo"),
        "examples/demo/src/deep": None,
        "tools/outer/pyproject.toml": project("outer"),
        "tools/outer/inner/pyproject.toml": project("inner"),
        "docs/pyproject.toml": "[tool.black]\nline-length = 100\n",  # no [project]: a plain directory
    })
    root, members = found(tree / start)
    assert root == (tree / expected_root).resolve()
    assert members == expected_members


def test_a_workspace_file_above_takes_only_its_members(tree: Path) -> None:
    write(tree, {
        "pypm-workspace.toml": '[workspace]\nmembers = ["libs/*"]\n',
        "libs/one/pyproject.toml": project("one"),
        "examples/demo/pyproject.toml": project("demo"),
    })
    assert found(tree / "libs/one") == (tree, ["libs/one"])
    assert found(tree / "examples/demo") == (tree / "examples/demo", ["."])


def test_lock_and_add_in_a_project_the_workspace_does_not_include(tree: Path, make_index, run_pypm) -> None:
    """The reviewer's case: a root with ``members = []`` and an example project below it;
    ``lock`` and ``add`` there work on the example, never on the root's files."""
    write(tree, {
        "pyproject.toml": project("app", extra="[tool.pypm.workspace]\nmembers = []\n"),
        "examples/demo/pyproject.toml": project("demo", ("alpha",)),
    })
    root_before = (tree / "pyproject.toml").read_bytes()
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0"), DistSpec("gamma", "1.0")]).url}
    demo = tree / "examples/demo"
    run_pypm("lock", cwd=demo, env_extra=env)
    assert (demo / "pylock.toml").is_file() and not (tree / "pylock.toml").exists()
    run_pypm("add", "gamma", "--no-sync", cwd=demo, env_extra=env)
    assert "gamma" in (demo / "pyproject.toml").read_text()
    assert (tree / "pyproject.toml").read_bytes() == root_before


# --------------------------------------------------------------------------- 7: malformed globs


@pytest.mark.parametrize(("table", "message"), [
    ('members = ["packages/*"]\nexclude = "packages/legacy"', "workspace 'exclude' must be a list of glob strings"),
    ('members = ["packages/*"]\nexclude = [3]', "workspace 'exclude' must be a list of glob strings"),
    ('members = ["packages/*"]\nexclude = ["/packages/legacy"]', "is not a path relative to the workspace root"),
    ('members = ["/srv/packages/*"]', "is not a path relative to the workspace root"),
    ('members = ["C:/packages/*"]', "is not a path relative to the workspace root"),
    ('members = [""]', "is not a path relative to the workspace root"),
    ('members = ["packages/**core"]', "workspace glob 'packages/**core' is not valid"),
])
def test_malformed_members_and_exclude_are_one_workspace_error(
        tree: Path, table: str, message: str, run_pypm) -> None:
    write(tree, {
        "pyproject.toml": f"[tool.pypm.workspace]\n{table}\n",
        "packages/core/pyproject.toml": project("core"),
    })
    for start in (tree, tree / "packages/core"):  # read as the root, and while climbing from a member
        with pytest.raises(WorkspaceError, match=message.replace("*", r"\*")):
            find_workspace(start)
    line = one_error_line(run_pypm("lock", cwd=tree, check=False))
    assert message in line and "internal error" not in line


# --------------------------------------------------------------------------- 4: --project


def test_project_option_beats_the_workspace_root_variable(tmp_path: Path, make_index, run_pypm) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    write(a, {"pyproject.toml": project("a", ("alpha",))})
    write(b, {"pyproject.toml": project("b", ("alpha",))})
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url, "PYPM_WORKSPACE_ROOT": str(b)}
    run_pypm("--project", str(a), "lock", cwd=tmp_path, env_extra=env)
    assert (a / "pylock.toml").is_file() and not (b / "pylock.toml").exists()
    run_pypm("lock", cwd=a, env_extra=env)  # without --project the variable still decides
    assert (b / "pylock.toml").is_file()


# --------------------------------------------------------------------------- 5, 6: the lock's inputs


def locked_versions(root: Path) -> dict[str, str]:
    data = tomllib.loads((root / "pylock.toml").read_text())
    return {package["name"]: package.get("version") for package in data["packages"]}


def test_a_lock_made_under_another_prerelease_policy_is_stale(tmp_path: Path, make_index, run_pypm) -> None:
    """uv records the pre-release mode in its lock and re-resolves when it differs: a lock
    made with ``--prerelease allow`` is out of date under the configured default."""
    root = tmp_path / "p"
    write(root, {"pyproject.toml": project("p", ("beta",))})
    env = {"PYPM_INDEX_URL": make_index([DistSpec("beta", "1.0"), DistSpec("beta", "2.0b1")]).url}
    run_pypm("lock", "--prerelease", "allow", cwd=root, env_extra=env)
    assert locked_versions(root)["beta"] == "2.0b1"
    line = one_error_line(run_pypm("sync", "--locked", cwd=root, env_extra=env, check=False))
    assert "pylock.toml is out of date" in line
    relock = run_pypm("lock", cwd=root, env_extra=env)
    assert "~ beta 2.0b1 -> 1.0" in relock.stderr and locked_versions(root)["beta"] == "1.0"
    run_pypm("lock", "--prerelease", "allow", cwd=root, env_extra=env)
    # the same policy from a setting: the lock is up to date
    assert "All up to date" in run_pypm("lock", cwd=root, env_extra={**env, "PYPM_PRERELEASE": "allow"}).stderr


def test_a_rotated_token_in_the_index_url_leaves_the_lock_fresh(tmp_path: Path, make_index, run_pypm) -> None:
    """uv keeps credentials out of its lock: the user information of ``index-url``,
    ``extra-index-url`` and ``find-links`` is no input of the lock's hash."""
    root = tmp_path / "p"
    write(root, {"pyproject.toml": project("p", ("alpha",))})
    url = make_index([DistSpec("alpha", "1.0")]).url

    def with_token(token: str, extra: str = url) -> dict[str, str]:
        return {"PYPM_INDEX_URL": url.replace("://", f"://user:{token}@", 1),
                "PYPM_EXTRA_INDEX_URL": extra.replace("://", f"://other:{token}@", 1)}

    run_pypm("lock", cwd=root, env_extra=with_token("token1"))
    assert "token1" not in (root / "pylock.toml").read_text()
    run_pypm("sync", "--locked", cwd=root, env_extra=with_token("token2"))
    assert "All up to date" in run_pypm("lock", cwd=root, env_extra=with_token("token3")).stderr
    # the URL itself still counts
    moved = with_token("token3", "http://127.0.0.1:9/simple/")
    assert "out of date" in one_error_line(run_pypm("sync", "--locked", cwd=root, env_extra=moved, check=False))


def test_find_links_urls_are_hashed_without_their_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPM_CONFIG_FILE", str(tmp_path / "no-such-config.toml"))

    def inputs(find_links: str) -> dict:
        monkeypatch.setenv("PYPM_FIND_LINKS", find_links)
        return load_settings({}).lock_inputs()

    assert inputs("https://u:one@example.org/links/,./wheels") == inputs("https://u:two@example.org/links/,./wheels")
    assert inputs("https://u:one@example.org/links/")["find-links"] == ["https://example.org/links/"]
    assert inputs("https://example.org/links/") != inputs("https://example.org/other/")


# --------------------------------------------------------------------------- 7: URLs that cannot be split


@pytest.mark.parametrize(("args", "env", "status", "source"), [
    (["--index-url", "http://[bad/simple/"], {}, 2, "--index-url: setting 'index-url'"),
    ([], {"PYPM_INDEX_URL": "http://[bad/simple/"}, 1, "PYPM_INDEX_URL: setting 'index-url'"),
    (["--extra-index-url", "http://host:99999/simple/"], {}, 2, "--extra-index-url: setting 'extra-index-url'"),
    (["--find-links", "http://[bad/links/"], {}, 2, "--find-links: setting 'find-links'"),
    ([], {"PYPM_FIND_LINKS": "https://host:port/links/"}, 1, "PYPM_FIND_LINKS: setting 'find-links'"),
])
def test_a_url_that_cannot_be_split_is_one_settings_error(tmp_path: Path, run_pypm, args, env, status, source) -> None:
    root = tmp_path / "p"
    write(root, {"pyproject.toml": project("p", ("alpha",))})
    result = run_pypm("lock", *args, cwd=root, env_extra=env, check=False)
    line = one_error_line(result)
    assert result.returncode == status and line.startswith(f"error: {source}: "), line
    assert "is not a valid URL" in line and not (root / "pylock.toml").exists()


# --------------------------------------------------------------------------- 8: "." in pypm-workspace.toml


def test_a_workspace_file_naming_the_root_takes_the_roots_project(tree: Path) -> None:
    write(tree, {
        "pypm-workspace.toml": '[workspace]\nmembers = [".", "libs/*"]\n',
        "pyproject.toml": project("app", ("one",)),
        "libs/one/pyproject.toml": project("one"),
    })
    for start in (tree, tree / "libs/one"):
        assert found(start) == (tree, [".", "libs/one"])
    names = [member.project["name"] for member in find_workspace(tree).members]
    assert names == ["app", "one"]


# --------------------------------------------------------------------------- 10: hidden directories


def test_a_hidden_directory_a_member_glob_matches_is_skipped_without_a_pyproject(tree: Path) -> None:
    """uv's ``collect_members`` skips a hidden directory that holds no ``pyproject.toml``;
    one that holds a project is a member like any other."""
    write(tree, {
        "pyproject.toml": '[tool.pypm.workspace]\nmembers = ["packages/*"]\n',
        "packages/core/pyproject.toml": project("core"),
        "packages/.idea/workspace.xml": "<project/>\n",
        "packages/docs": None,
    })
    with pytest.raises(WorkspaceError, match="workspace member packages/docs has no pyproject.toml"):
        find_workspace(tree)
    (tree / "packages/docs").rmdir()
    assert found(tree) == (tree, ["packages/core"])
    write(tree, {"packages/.hidden/pyproject.toml": project("hidden")})
    assert found(tree) == (tree, ["packages/.hidden", "packages/core"])


def test_an_unknown_key_in_the_workspace_table_is_refused(tree: Path) -> None:
    """uv refuses unknown fields of its workspace table: a misspelt ``exclude`` is an error,
    not a setting silently ignored."""
    write(tree, {
        "pyproject.toml": '[tool.pypm.workspace]\nmembers = ["packages/*"]\nexcludes = ["packages/legacy"]\n',
        "packages/core/pyproject.toml": project("core"),
    })
    with pytest.raises(WorkspaceError, match="unknown key 'excludes' in the workspace table"):
        find_workspace(tree)
