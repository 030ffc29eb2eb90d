"""Coverage without refusal: a package whose locked version has no file for some platforms
is still locked, with one warning line; ``required-environments`` (``[tool.pypm]`` or
``PYPM_REQUIRED_ENVIRONMENTS``) makes that an error naming the package and environment; a
sync on a platform the lock has no file for fails with one line and leaves ``.venv`` alone."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
import tomllib

from pypm.testing import DistSpec
from tests.workspaces import replace_in, write_project

ADVICE = "a sync there will fail (set required-environments to make this an error)"
ALL_BUT_LINUX_X86 = "darwin arm64, darwin x86_64, linux aarch64, win32 AMD64"
LINUX_X86 = "sys_platform == 'linux' and platform_machine == 'x86_64'"
DARWIN_X86 = "sys_platform == 'darwin' and platform_machine == 'x86_64'"


@pytest.fixture
def index(make_index):
    return make_index([
        DistSpec("alpha", "1.0"),
        DistSpec("linuxonly", "1.0", tag="py3-none-manylinux_2_17_x86_64"),
        DistSpec("winonly", "1.0", tag="py3-none-win_amd64"),
    ])


def lock(run_pypm, root: Path, index, env: dict | None = None, check: bool = True):
    return run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, **(env or {})}, check=check)


def warning_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def one_error_line(result) -> str:
    """The one ``error:`` line, which ends stderr (progress lines may come before it)."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


def locked_names(root: Path) -> list[str]:
    return [p["name"] for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]]


def test_one_warning_line_names_every_uncovered_package_and_the_lock_is_written(
    tmp_path, index, run_pypm
) -> None:
    root = write_project(tmp_path / "p", ["alpha", "linuxonly", "winonly"])
    result = lock(run_pypm, root, index)
    assert warning_lines(result) == [
        f"warning: 2 packages have no file for some platforms: linuxonly 1.0 ({ALL_BUT_LINUX_X86}), "
        f"winonly 1.0 (darwin arm64, darwin x86_64, linux aarch64, linux x86_64); {ADVICE}"
    ]
    assert locked_names(root) == ["alpha", "linuxonly", "proj", "winonly"]


def test_no_warning_when_markers_keep_a_package_to_its_platforms(tmp_path, index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha", "winonly; sys_platform == 'win32'", f"linuxonly; {LINUX_X86}"])
    result = lock(run_pypm, root, index)
    assert warning_lines(result) == [] and "warning" not in result.stderr
    assert locked_names(root) == ["alpha", "linuxonly", "proj", "winonly"]


def test_quiet_hides_the_warning(tmp_path, index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["linuxonly"])
    result = run_pypm("-q", "lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert result.stderr == "" and (root / "pylock.toml").is_file()


def test_required_environments_from_tool_pypm_fail_the_lock(tmp_path, index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha", "linuxonly"], tool=f'required-environments = ["{LINUX_X86}"]')
    result = lock(run_pypm, root, index)
    assert warning_lines(result) == [f"warning: linuxonly 1.0 has no file for {ALL_BUT_LINUX_X86}; {ADVICE}"]
    before = (root / "pylock.toml").read_bytes()
    # a new required environment re-checks the lock (it is a lock input), fails, writes nothing
    replace_in(root / "pyproject.toml", f'["{LINUX_X86}"]', f'["{LINUX_X86}", "sys_platform == \'win32\'"]')
    line = one_error_line(lock(run_pypm, root, index, check=False))
    assert line == (
        "error: linuxonly 1.0 has no wheel or sdist for win32 AMD64 (Python 3.11), which required-environments "
        "requires (sys_platform == 'win32') (require a version of linuxonly that has one, or change "
        "required-environments)"
    )
    assert (root / "pylock.toml").read_bytes() == before
    (root / "pylock.toml").unlink()
    one_error_line(lock(run_pypm, root, index, check=False))
    assert not (root / "pylock.toml").exists()


def test_required_environments_from_the_variable_with_spaces(tmp_path, index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["linuxonly"])
    env = {"PYPM_REQUIRED_ENVIRONMENTS": f"{LINUX_X86}, python_version >= '3.12' and {DARWIN_X86}"}
    line = one_error_line(lock(run_pypm, root, index, env=env, check=False))
    assert line.startswith(
        "error: linuxonly 1.0 has no wheel or sdist for darwin x86_64 (Python 3.12), which required-environments "
        f"requires (python_version >= '3.12' and {DARWIN_X86})"
    ), line
    assert not (root / "pylock.toml").exists()
    lock(run_pypm, root, index, env={"PYPM_REQUIRED_ENVIRONMENTS": LINUX_X86})
    assert locked_names(root) == ["linuxonly", "proj"]


def test_required_environments_outside_the_environments_setting_are_not_needed(tmp_path, index, run_pypm) -> None:
    """Only environments the lock serves need a file, as with uv's two settings."""
    tool = f'environments = ["{LINUX_X86}"]\nrequired-environments = ["{LINUX_X86}", "{DARWIN_X86}"]'
    root = write_project(tmp_path / "p", ["linuxonly"], tool=tool)
    result = lock(run_pypm, root, index)
    assert warning_lines(result) == [] and locked_names(root) == ["linuxonly", "proj"]


@pytest.mark.parametrize("where", ["tool", "env"])
def test_invalid_required_marker_is_one_line_naming_its_source(tmp_path, index, run_pypm, where) -> None:
    bad = "sys_platform = 'linux'"
    tool = f'required-environments = ["{bad}"]' if where == "tool" else ""
    root = write_project(tmp_path / "p", ["alpha"], tool=tool)
    env = {"PYPM_REQUIRED_ENVIRONMENTS": f"{LINUX_X86}, {bad}"} if where == "env" else {}
    line = one_error_line(lock(run_pypm, root, index, env=env, check=False))
    source = str(root / "pyproject.toml") if where == "tool" else "PYPM_REQUIRED_ENVIRONMENTS"
    assert line.startswith(f"error: {source}: setting 'required-environments': invalid marker \"{bad}\""), line
    assert not (root / "pylock.toml").exists()


def snapshot(venv: Path) -> dict[str, tuple[int, int]]:
    return {path.relative_to(venv).as_posix(): (path.lstat().st_mtime_ns, path.lstat().st_size)
            for path in sorted(venv.rglob("*"))}


@pytest.mark.skipif(sys.platform == "win32", reason="needs a platform winonly has no wheel for")
def test_sync_without_a_file_for_this_platform_fails_and_leaves_venv_alone(tmp_path, index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_PYTHON": sys.executable}
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    before = snapshot(root / ".venv")
    assert any(name.startswith("alpha-1.0.dist-info") for name in (p.split("/")[-1] for p in before))
    replace_in(root / "pyproject.toml", '["alpha"]', '["alpha", "winonly"]')
    assert "warning: winonly 1.0 has no file for" in run_pypm("lock", cwd=root, env_extra=env).stderr
    line = one_error_line(run_pypm("sync", cwd=root, env_extra=env, check=False))
    here = f"{sys.platform} {platform.machine()} (Python {sys.version_info[0]}.{sys.version_info[1]})"
    assert line == (
        f"error: winonly 1.0 has no file for {here}: its locked wheels are for py3-none-win_amd64, and it has "
        "no sdist (use a platform or Python it has a wheel for, or require a version of winonly that has one)"
    )
    assert snapshot(root / ".venv") == before
