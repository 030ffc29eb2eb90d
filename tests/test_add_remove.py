"""``pypm add`` / ``pypm remove``: real local index, real pyproject files with comments,
real locks and venvs."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from pypm.testing import DistSpec
from tests.test_lock_sync import installed
from tests.workspaces import make_workspace

COMMENTED = '''# The project file, as a person wrote it.
[project]
name = "proj"   # keep this comment
version = "1.0"
requires-python = ">=3.11"
dependencies = [
    # web stack
    "beta>=1.0",  # pinned loosely
]

[tool.other]
setting = "kept"   # untouched table
'''


@pytest.fixture
def index(make_index):
    return make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0"), DistSpec("beta", "1.0"),
                       DistSpec("gamma", "3.1"), DistSpec("tool", "0.5")])


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(COMMENTED)
    return root


def locked(root: Path) -> dict[str, str]:
    data = tomllib.loads((root / "pylock.toml").read_text())
    return {p["name"]: p.get("version", "") for p in data["packages"]}


def test_add_keeps_the_file_as_written_outside_the_edited_array(tmp_path, index, run_pypm) -> None:
    root = project(tmp_path)
    result = run_pypm("add", "alpha", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    text = (root / "pyproject.toml").read_text()
    assert text == COMMENTED.replace('    "beta>=1.0",  # pinned loosely\n',
                                     '    "beta>=1.0",  # pinned loosely\n    "alpha>=2.0",\n')
    assert "Added alpha>=2.0 to dependencies of pyproject.toml" in result.stderr
    assert locked(root)["alpha"] == "2.0"
    assert installed(root / ".venv")["alpha"] == "2.0"


def test_add_to_groups_and_extras_and_replace_in_place(tmp_path, index, run_pypm) -> None:
    root = project(tmp_path)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("add", "--dev", "tool", "--no-sync", cwd=root, env_extra=env)
    run_pypm("add", "--optional", "CLI", "gamma==3.1", "--no-sync", cwd=root, env_extra=env)
    run_pypm("add", "beta<2", "--no-sync", cwd=root, env_extra=env)
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["dependency-groups"] == {"dev": ["tool>=0.5"]}
    assert data["project"]["optional-dependencies"] == {"cli": ["gamma==3.1"]}
    assert data["project"]["dependencies"] == ["beta<2"], "a same-name entry is replaced where it stands"
    assert "# pinned loosely" in (root / "pyproject.toml").read_text()
    assert {"tool", "gamma", "beta"} <= set(locked(root))
    assert not (root / ".venv").exists(), "--no-sync installs nothing"


def test_an_extra_or_group_spelled_otherwise_is_the_same_list(tmp_path, index, run_pypm) -> None:
    """Extras and groups compare by their normalized names (PEP 685, 735): ``My_Extra`` and
    ``--optional my-extra`` are one list, kept as the file spells it."""
    root = project(tmp_path)
    text = (root / "pyproject.toml").read_text().replace(
        "[tool.other]", '[project.optional-dependencies]\nMy_Extra = ["beta"]\n\n'
        '[dependency-groups]\nTest_Deps = ["beta"]\n\n[tool.other]')
    (root / "pyproject.toml").write_text(text)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("add", "--optional", "My_Extra", "gamma", "--no-sync", cwd=root, env_extra=env)
    run_pypm("add", "--group", "test.deps", "tool", "--no-sync", cwd=root, env_extra=env)
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["project"]["optional-dependencies"] == {"My_Extra": ["beta", "gamma>=3.1"]}
    assert data["dependency-groups"] == {"Test_Deps": ["beta", "tool>=0.5"]}
    run_pypm("remove", "--optional", "my-extra", "beta", "--no-sync", cwd=root, env_extra=env)
    run_pypm("remove", "--group", "TEST_DEPS", "beta", "--no-sync", cwd=root, env_extra=env)
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["project"]["optional-dependencies"] == {"My_Extra": ["gamma>=3.1"]}
    assert data["dependency-groups"] == {"Test_Deps": ["tool>=0.5"]}
    assert {"beta", "gamma", "tool"} <= set(locked(root))


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["alpha>=9"], 1, "alpha"),
    (["not a requirement!"], 2, "is not a valid requirement"),
    (["alpha", "--package", "nope"], 2, "no such workspace member"),
    (["alpha", "--group", "Bad Name"], 2, "--group 'Bad Name' is not a valid dependency group name"),
    (["alpha", "--optional", "A_"], 2, "--optional 'A_' is not a valid extra name"),
    (["alpha", "--no-sync", "--link-mode", "copy"], 2, "--link-mode applies to the sync, which --no-sync skips"),
    (["alpha", "--no-sync", "--python", "3.12"], 2, "--python applies to the sync, which --no-sync skips"),
])
def test_a_failed_add_leaves_both_files_as_they_were(tmp_path, index, run_pypm, args, code, fragment) -> None:
    root = project(tmp_path)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    before = {name: (root / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")}
    result = run_pypm("add", *args, cwd=root, env_extra=env, check=False)
    assert result.returncode == code and fragment in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert {name: (root / name).read_bytes() for name in before} == before


@pytest.mark.parametrize("command", [["add", "winonly"], ["remove", "beta"]])
def test_a_sync_that_fails_after_the_lock_puts_both_files_back(tmp_path, make_index, run_pypm, command) -> None:
    """The lock succeeds (a package with only a Windows wheel is locked with a warning) but
    the sync after it fails here: ``pyproject.toml`` and ``pylock.toml`` are put back, as
    uv's ``add`` reverts them when its sync fails."""
    index = make_index([DistSpec("beta", "1.0"), DistSpec("winonly", "1.0", tag="py3-none-win_amd64"),
                        DistSpec("keeper", "1.0", requires=["winonly"])])
    root = project(tmp_path)
    env = {"PYPM_INDEX_URL": index.url}
    if command[0] == "remove":  # the lock holds winonly through keeper; removing beta re-syncs and fails
        text = (root / "pyproject.toml").read_text().replace('"beta>=1.0",', '"beta>=1.0", "keeper",')
        (root / "pyproject.toml").write_text(text)
    run_pypm("lock", cwd=root, env_extra=env)
    before = {name: (root / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")}
    result = run_pypm(*command, cwd=root, env_extra=env, check=False)
    assert result.returncode == 1 and "winonly" in result.stderr.splitlines()[-1], result.stderr
    assert "Traceback" not in result.stderr
    assert {name: (root / name).read_bytes() for name in before} == before


def test_remove_drops_the_requirement_and_its_package(tmp_path, index, run_pypm) -> None:
    root = project(tmp_path)
    env = {"PYPM_INDEX_URL": index.url}
    added = run_pypm("add", "alpha", cwd=root, env_extra=env)
    assert added.stderr.count("Locked ") == 1, added.stderr  # the re-lock with the lower bound says nothing new
    result = run_pypm("remove", "Alpha", cwd=root, env_extra=env)
    assert "Removed alpha>=2.0 from dependencies" in result.stderr
    assert (root / "pyproject.toml").read_text() == COMMENTED
    assert "alpha" not in locked(root) and "alpha" not in installed(root / ".venv")
    before = (root / "pyproject.toml").read_bytes()
    missing = run_pypm("remove", "gamma", cwd=root, env_extra=env, check=False)
    assert missing.returncode == 2 and "gamma is not in dependencies" in missing.stderr
    no_group = run_pypm("remove", "--group", "nope", "alpha", cwd=root, env_extra=env, check=False)
    assert no_group.returncode == 2 and "pyproject.toml has no dependency-groups.nope" in no_group.stderr
    assert (root / "pyproject.toml").read_bytes() == before


def test_add_in_a_workspace_edits_the_member_you_are_in(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "2.0"), DistSpec("gamma", "1.0"), DistSpec("tomli", "2.0"),
                        DistSpec("extrapkg", "1.0"), DistSpec("devtool", "1.0"), DistSpec("delta", "4.0")])
    root = make_workspace(tmp_path / "ws")
    env = {"PYPM_INDEX_URL": index.url}
    app = root / "packages" / "app"
    run_pypm("add", "delta", "--no-sync", cwd=app, env_extra=env)
    assert "delta>=4.0" in tomllib.loads((app / "pyproject.toml").read_text())["project"]["dependencies"]
    run_pypm("add", "--package", "lib", "delta", "--no-sync", cwd=root, env_extra=env)
    lib = root / "packages" / "lib" / "pyproject.toml"
    assert "delta>=4.0" in tomllib.loads(lib.read_text())["project"]["dependencies"]
    refused = run_pypm("add", "delta", "--no-sync", cwd=root, env_extra=env, check=False)
    assert refused.returncode == 2 and "--package" in refused.stderr
    run_pypm("add", "--group", "dev", "delta", "--no-sync", cwd=root, env_extra=env)
    assert "delta>=4.0" in tomllib.loads((root / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    # a project never requires itself (uv: "Requirement name 'app' matches project name 'app'")
    before = (app / "pyproject.toml").read_bytes()
    for itself in ("app", "."):
        line = run_pypm("add", itself, "--no-sync", cwd=app, env_extra=env, check=False)
        assert line.returncode == 2 and "cannot depend on itself" in line.stderr, line.stderr
    assert (app / "pyproject.toml").read_bytes() == before
    # the path of another member adds that member by name: no path source (uv: workspace = true)
    added = run_pypm("add", "../lib", "--no-sync", cwd=app, env_extra=env).stderr
    assert "is the workspace member lib: required by name" in added, added
    data = tomllib.loads((app / "pyproject.toml").read_text())
    assert "sources" not in data.get("tool", {}).get("pypm", {}) and any(
        d.startswith("lib") for d in data["project"]["dependencies"])


def test_a_path_dependency_is_added_editable_and_removed_with_its_source(tmp_path, index, run_pypm) -> None:
    lib = tmp_path / "lib"
    (lib / "lib").mkdir(parents=True)
    (lib / "pyproject.toml").write_text('[project]\nname = "lib"\nversion = "0.3"\ndependencies = ["alpha"]\n')
    (lib / "lib" / "__init__.py").write_text("VALUE = 1\n")
    root = project(tmp_path)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("add", "-e", "../lib", cwd=root, env_extra=env)
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["tool"]["pypm"]["sources"] == {"lib": {"path": "../lib", "editable": True}}
    assert "lib" in data["project"]["dependencies"]
    entry = [p for p in tomllib.loads((root / "pylock.toml").read_text())["packages"] if p["name"] == "lib"][0]
    assert entry["directory"] == {"path": "../lib", "editable": True}
    (lib / "lib" / "__init__.py").write_text("VALUE = 2\n")  # editable: the change shows at once
    shown = run_pypm("run", "python", "-c", "import lib, alpha; print(lib.VALUE)", cwd=root, env_extra=env)
    assert shown.stdout.strip() == "2"
    run_pypm("remove", "lib", cwd=root, env_extra=env)
    assert (root / "pyproject.toml").read_text() == COMMENTED


def test_a_path_dependency_keeps_its_groups_and_follows_its_requirement(tmp_path, index, run_pypm) -> None:
    """A path dependency is a dependency, not a member: its own dev group is not the
    workspace's, and a requirement on it under an extra installs it only with that extra."""
    lib = tmp_path / "lib"
    (lib / "lib").mkdir(parents=True)
    (lib / "pyproject.toml").write_text('[project]\nname = "lib"\nversion = "0.3"\ndependencies = ["alpha"]\n\n'
                                        '[dependency-groups]\ndev = ["tool"]\n')
    (lib / "lib" / "__init__.py").write_text("VALUE = 1\n")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.11"\ndependencies = ["beta"]\n\n'
        '[project.optional-dependencies]\nlocal = ["lib"]\n\n'
        '[tool.pypm.sources]\nlib = { path = "../lib", editable = true }\n')
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    assert {"lib", "alpha", "tool"}.isdisjoint(installed(root / ".venv")), "only with the extra"
    run_pypm("sync", "--extra", "local", cwd=root, env_extra=env)
    got = installed(root / ".venv")
    assert {"lib", "alpha"} <= set(got) and "tool" not in got, "lib's own dev group stays lib's"


def test_a_crlf_pyproject_keeps_its_line_ends(tmp_path, index, run_pypm) -> None:
    root = tmp_path / "crlf"
    root.mkdir()
    (root / "pyproject.toml").write_bytes(COMMENTED.replace("\n", "\r\n").encode())
    run_pypm("add", "alpha", "--no-sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    data = (root / "pyproject.toml").read_bytes()
    assert b'    "alpha>=2.0",\r\n' in data and b"\n" not in data.replace(b"\r\n", b"")
    run_pypm("add", "--optional", "cli", "gamma", "--no-sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    run_pypm("add", "--dev", "tool", "--no-sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    data = (root / "pyproject.toml").read_bytes()
    assert b"[dependency-groups]\r\n" in data and b"[project.optional-dependencies]\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b""), "the tables added end their lines as the file does"


def test_a_new_table_is_set_apart_from_the_next_one(tmp_path, index, run_pypm) -> None:
    """An extra added where ``[project.optional-dependencies]`` did not exist gets its table
    with a blank line before the table that follows, as a person would write it."""
    root = tmp_path / "p"
    root.mkdir()
    head = '[project]\nname = "p"\nversion = "1"\nrequires-python = ">=3.10"\ndependencies = []\n\n'
    tail = '[tool.other]\nkeep = true\n'
    (root / "pyproject.toml").write_text(head + tail)
    run_pypm("add", "--optional", "fancy", "alpha", "--no-sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert (root / "pyproject.toml").read_text() == (
        head + '[project.optional-dependencies]\nfancy = ["alpha>=2.0"]\n\n' + tail)


def test_a_linked_pyproject_is_edited_through_its_link(tmp_path, index, run_pypm) -> None:
    """``pyproject.toml -> ../shared/pyproject.toml``: add changes the file the link leads
    to and keeps the link (as uv); a failing add changes neither."""
    root = project(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    (root / "pyproject.toml").rename(shared / "pyproject.toml")
    (root / "pyproject.toml").symlink_to(Path("..") / "shared" / "pyproject.toml")
    before = (shared / "pyproject.toml").read_text()
    env = {"PYPM_INDEX_URL": index.url}
    failed = run_pypm("add", "gamma>=99", "--no-sync", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 1 and (root / "pyproject.toml").is_symlink()
    assert (shared / "pyproject.toml").read_text() == before
    run_pypm("add", "gamma", "--no-sync", cwd=root, env_extra=env)
    assert (root / "pyproject.toml").is_symlink() and '"gamma>=' in (shared / "pyproject.toml").read_text()


def test_requirements_of_one_name_for_other_markers_are_kept_side_by_side(tmp_path, index, run_pypm) -> None:
    """As uv: an added requirement replaces the entry of the same name and marker; one for
    another marker goes beside it, and a later one in the same command wins."""
    root = project(tmp_path)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("add", "alpha; sys_platform == 'linux'", "alpha==1.0; sys_platform == 'win32'", "--no-sync",
             cwd=root, env_extra=env)
    run_pypm("add", "gamma", "gamma==3.1", "--no-sync", cwd=root, env_extra=env)
    dependencies = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies == ["beta>=1.0", 'alpha>=1.0; sys_platform == "linux"', 'alpha==1.0; sys_platform == "win32"',
                            "gamma==3.1"]
    run_pypm("remove", "alpha", "--no-sync", cwd=root, env_extra=env)
    dependencies = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert dependencies == ["beta>=1.0", "gamma==3.1"]
