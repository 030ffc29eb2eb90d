"""``pypm init``, the version commands, and how the CLI reports bad input.

The bad workspaces are the ``BAD_INPUTS`` table of ``test_workspace.py``: here each one goes
through ``pypm lock`` in a subprocess, which must fail with exactly one ``error:`` line,
without a traceback, without touching the network and without leaving files behind.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pypm
from pypm.testing.plugin import RunPypm
from pypm.workspace.model import load_workspace
from tests.test_workspace import BAD_INPUTS, BadInput, project_toml, write_tree

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# Nothing listens on port 9 (discard): any attempt to use the index fails loudly and differently.
DEAD_INDEX = "http://127.0.0.1:9/simple/"
OFFLINE = {"PYPM_INDEX_URL": DEAD_INDEX, "PYP_WORKSPACE_ROOT": ""}
STATE_DIR = ".pypm"  # doit's state: not part of the user's project files


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (content) and directory (None) under ``root``, except pypm's state dir."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == STATE_DIR:
            continue
        out[rel.as_posix()] = path.read_bytes() if path.is_file() else None
    return out


def assert_one_error_line(proc: subprocess.CompletedProcess[str], exit_code: int | None = None) -> str:
    """The process failed with exactly one ``error:`` line on stderr and no traceback."""
    assert proc.returncode != 0, proc
    if exit_code is not None:
        assert proc.returncode == exit_code, proc
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{proc.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# --------------------------------------------------------------------------- bad input via the CLI


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_fails_lock_with_one_line_and_leaves_no_files(
    case: BadInput, run_pypm: RunPypm, tmp_path: Path
) -> None:
    root = tmp_path.resolve() / "ws"
    env = {**OFFLINE, **case.setup(root)}
    before = snapshot(root)

    proc = run_pypm("lock", cwd=root / case.start, env_extra=env, check=False)

    line = assert_one_error_line(proc, exit_code=1)
    case.check(line.removeprefix("error: "), root)
    assert "cannot reach" not in line and DEAD_INDEX not in line  # failed before any network access
    assert snapshot(root) == before  # no pylock.toml, no temp file, nothing rewritten
    assert not list(root.rglob("pylock.toml")) and not list(root.rglob("*.tmp"))


CONFIG_ERRORS = [
    # (id, [tool.pypm] body, fragment the error line must contain)
    ("unknown-setting", 'index_url = "http://a/"\n', "'index_url'"),
    ("wrong-type", "extra-index-url = 7\n", "'extra-index-url'"),
    ("empty-string", 'python = ""\n', "'python'"),
]


@pytest.mark.parametrize(("body", "fragment"), [c[1:] for c in CONFIG_ERRORS], ids=[c[0] for c in CONFIG_ERRORS])
def test_bad_settings_fail_lock_with_one_line(body: str, fragment: str, run_pypm: RunPypm, tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": project_toml("p") + "[tool.pypm]\n" + body})
    before = snapshot(tmp_path)
    proc = run_pypm("lock", cwd=tmp_path, env_extra=OFFLINE, check=False)
    assert fragment in assert_one_error_line(proc, exit_code=1)
    assert snapshot(tmp_path) == before


def test_bad_user_config_file_fails_with_one_line(run_pypm: RunPypm, tmp_path: Path) -> None:
    write_tree(tmp_path, {"proj/pyproject.toml": project_toml("p"), "user.toml": "index-url = \n"})
    env = {**OFFLINE, "PYPM_CONFIG_FILE": str(tmp_path / "user.toml")}
    proc = run_pypm("lock", cwd=tmp_path / "proj", env_extra=env, check=False)
    assert f"{tmp_path / 'user.toml'}:1:" in assert_one_error_line(proc, exit_code=1)


def test_members_depending_on_each_other_lock_without_the_index(run_pypm: RunPypm, tmp_path: Path) -> None:
    """Member-to-member dependencies resolve to the members: no index needed at all."""
    root = tmp_path / "ws"
    members = {"core": (), "utils": ("core",), "app": ("utils", "Core>=0.1")}
    files = {"pyproject.toml": '[tool.pypm.workspace]\nmembers = ["packages/*"]\n'}
    for name, deps in members.items():
        files[f"packages/{name}/pyproject.toml"] = project_toml(name, deps=deps)
    write_tree(root, files)

    run_pypm("lock", cwd=root / "packages/app", env_extra=OFFLINE)

    lock = tomllib.loads((root / "pylock.toml").read_text())
    names = {package["name"] for package in lock.get("packages", [])}
    assert names == set(members)
    assert not (root / "packages/app/pylock.toml").exists()


# --------------------------------------------------------------------------- pypm init


def _python_xy() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


INIT_CASES = [
    # (id, folder to create the project in, extra CLI args, expected name, expected import package);
    # names are normalised (PEP 503), as uv init writes them
    ("name-from-folder", "demo-app", [], "demo-app", "demo_app"),
    ("folder-with-spaces", "My Cool Project", [], "my-cool-project", "my_cool_project"),
    ("dotted-folder", "acme.tools", [], "acme-tools", "acme_tools"),
    ("explicit-name", "some-dir", ["--name", "Acme_Widget"], "acme-widget", "acme_widget"),
    ("nested-new-dir", "a/b/c/leaf-proj", [], "leaf-proj", "leaf_proj"),
]


@pytest.mark.parametrize(
    ("folder", "args", "name", "package"), [c[1:] for c in INIT_CASES], ids=[c[0] for c in INIT_CASES]
)
def test_init_writes_a_valid_project(
    folder: str, args: list[str], name: str, package: str, run_pypm: RunPypm, tmp_path: Path
) -> None:
    run_pypm("init", folder, *args, cwd=tmp_path)
    project_dir = tmp_path / folder

    document = tomllib.loads((project_dir / "pyproject.toml").read_text(encoding="utf-8"))
    project = document["project"]
    assert project["name"] == name
    assert isinstance(project["version"], str) and project["version"]
    assert project["requires-python"] == f">={_python_xy()}"
    assert project.get("dependencies", []) == []
    assert isinstance(document["tool"]["pypm"], dict)
    assert document["dependency-groups"]["dev"] == []
    assert ".venv/" in (project_dir / ".gitignore").read_text().splitlines()
    assert (project_dir / "src" / package / "__init__.py").is_file()


@pytest.mark.parametrize(
    ("folder", "args", "name", "package"), [c[1:] for c in INIT_CASES], ids=[c[0] for c in INIT_CASES]
)
def test_init_project_is_a_valid_workspace_of_one(
    folder: str, args: list[str], name: str, package: str, run_pypm: RunPypm, tmp_path: Path
) -> None:
    run_pypm("init", folder, *args, cwd=tmp_path)
    project_dir = tmp_path / folder
    workspace = load_workspace(project_dir / "src" / package)
    assert workspace.root == project_dir.resolve()
    assert [m.display_name for m in workspace.members.values()] == [name]
    assert str(workspace.requires_python) == f">={_python_xy()}"


def test_init_then_lock_works(run_pypm: RunPypm, tmp_path: Path) -> None:
    """A freshly created project (no dependencies) locks straight away, with no index needed."""
    run_pypm("init", "fresh", cwd=tmp_path)
    run_pypm("lock", cwd=tmp_path / "fresh", env_extra=OFFLINE)
    lock = tomllib.loads((tmp_path / "fresh" / "pylock.toml").read_text())
    assert [package["name"] for package in lock["packages"]] == ["fresh"]


def test_init_in_current_directory_with_python_option(run_pypm: RunPypm, tmp_path: Path) -> None:
    project_dir = tmp_path / "here-proj"
    project_dir.mkdir()
    run_pypm("init", "--python", "3.10", cwd=project_dir)
    project = tomllib.loads((project_dir / "pyproject.toml").read_text())["project"]
    assert (project["name"], project["requires-python"]) == ("here-proj", ">=3.10")


def test_init_keeps_existing_gitignore_lines(run_pypm: RunPypm, tmp_path: Path) -> None:
    existing = ["*.pyc", "build/", ".venv/"]
    (tmp_path / ".gitignore").write_text("\n".join(existing) + "\n")
    run_pypm("init", cwd=tmp_path)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[: len(existing)] == existing
    assert lines.count(".venv/") == 1


def test_init_keeps_a_gitignores_bytes_and_line_ends(run_pypm: RunPypm, tmp_path: Path) -> None:
    """Not UTF-8, CRLF, no final line end: kept byte for byte, pypm's lines added in kind."""
    (tmp_path / ".gitignore").write_bytes(b"build/\r\n\xff-latin1\r\n.venv/")
    run_pypm("init", cwd=tmp_path)
    assert (tmp_path / ".gitignore").read_bytes() == b"build/\r\n\xff-latin1\r\n.venv/\r\n.pypm/\r\n"


def test_init_with_a_gitignore_that_is_not_a_file_writes_nothing(run_pypm: RunPypm, tmp_path: Path) -> None:
    (tmp_path / "p" / ".gitignore").mkdir(parents=True)
    assert "is a directory where a file is expected" in assert_one_error_line(
        run_pypm("init", cwd=tmp_path / "p", check=False), 1)
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [".gitignore"]


@pytest.mark.parametrize("target", [".", "sub"])
def test_init_refuses_to_overwrite_pyproject(target: str, run_pypm: RunPypm, tmp_path: Path) -> None:
    project_dir = tmp_path / target
    original = b'[project]\nname = "mine"\nversion = "9"  # hand written\n'
    project_dir.mkdir(exist_ok=True)
    (project_dir / "pyproject.toml").write_bytes(original)
    before = snapshot(tmp_path)

    proc = run_pypm("init", target, "--name", "other", cwd=tmp_path, check=False)

    line = assert_one_error_line(proc)
    assert "pyproject.toml" in line
    assert (project_dir / "pyproject.toml").read_bytes() == original
    assert snapshot(tmp_path) == before  # no .gitignore, no src/ either


# --------------------------------------------------------------------------- version and usage errors


VERSION_ARGV = [["--version"], ["-V"], ["version"]]


@pytest.mark.parametrize("argv", VERSION_ARGV, ids=" ".join)
def test_version_via_python_m_pypm(argv: list[str], run_pypm: RunPypm, tmp_path: Path) -> None:
    proc = run_pypm(*argv, cwd=tmp_path)
    assert proc.stdout == f"pypm {pypm.__version__}\n"


@pytest.mark.parametrize("argv", VERSION_ARGV, ids=" ".join)
def test_version_via_console_script(argv: list[str], pypm_env: dict[str, str], tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("pypm")
    if not script.is_file():
        pytest.skip(f"no pypm console script next to {sys.executable}")
    proc = subprocess.run([str(script), *argv], cwd=tmp_path, env=pypm_env, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, f"pypm {pypm.__version__}\n")


def test_version_matches_package_metadata() -> None:
    from importlib.metadata import version

    assert version("pypm") == pypm.__version__


USAGE_ERRORS = [
    # (id, argv, fragment the error line must contain)
    ("unknown-command", ["frobnicate"], "frobnicate"),
    ("unknown-global-option", ["--frobnicate"], "--frobnicate"),
    ("unknown-command-option", ["lock", "--frobnicate"], "--frobnicate (see `pypm lock --help`)"),
    ("unknown-sync-option", ["sync", "--no-such-flag"], "--no-such-flag (see `pypm sync --help`)"),
    ("unknown-global-option-help", ["--frobnicate"], "(see `pypm --help`)"),
    ("option-missing-value", ["init", "--name"], "--name"),
    ("version-with-extra-arg", ["version", "extra"], "extra"),
    ("lock-bogus-operation", ["lock", "bogus-op"], "bogus-op"),
    ("sync-bogus-operation", ["sync", "lock", "bogus-op"], "bogus-op"),
    ("lock-combined-with-init", ["lock", "init"], "init"),
    ("run-without-command", ["run"], "no task or command"),
    ("status-bogus-operation", ["status", "bogus-op"], "bogus-op"),
    ("init-bad-name", ["init", "--name", "bad name!"], "bad name!"),
    ("init-bad-python", ["init", "--python", "abc"], "abc"),
    ("init-python-2", ["init", "--python", "2.7"], "--python 2.7: pypm makes projects for Python 3 only"),
    ("init-python-3-99", ["init", "--python", "3.99"], "--python 3.99: no such Python is released yet"),
]


def test_python_lists_the_interpreters_by_default(run_pypm: RunPypm, tmp_path: Path) -> None:
    """``pypm python`` is ``pypm python list`` (its help says it lists them)."""
    listed = run_pypm("python", cwd=tmp_path, env_extra=OFFLINE).stdout
    assert listed.strip() and listed == run_pypm("python", "list", cwd=tmp_path, env_extra=OFFLINE).stdout


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in USAGE_ERRORS], ids=[c[0] for c in USAGE_ERRORS])
def test_usage_errors_exit_2_with_one_line(argv: list[str], fragment: str, run_pypm: RunPypm, tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": project_toml("p")})
    before = snapshot(tmp_path)
    proc = run_pypm(*argv, cwd=tmp_path, env_extra=OFFLINE, check=False)
    assert fragment in assert_one_error_line(proc, exit_code=2)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / STATE_DIR).exists()
