"""pypm never destroys what it did not make, a failing sync leaves a working `.venv`
working, uninstall stays inside the environment, and a removal killed half-way is
finished by the next sync."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from pypm.install.venv import find_base_python
from pypm.testing import DistSpec
from tests.test_installer import assert_matches, popen_pypm, project
from tests.test_lock_sync import installed, site_packages
from tests.workspaces import replace_in

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
MANY_FILES = {f"many/mod{i}.py": f"VALUE = {i}\n" for i in range(1500)}


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_error(result, *fragments: str) -> None:
    lines = error_lines(result.stderr)
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def older_python() -> str:
    """An installed Python older than the one running the tests (the test machines have several)."""
    minor = sys.version_info.minor
    for candidate in range(minor - 1, 7, -1):
        try:
            find_base_python(f"3.{candidate}")
            return f"3.{candidate}"
        except Exception:  # noqa: BLE001 - not installed: try the next one
            continue
    raise AssertionError("this test needs a second, older CPython installed (pyenv or on PATH)")


@pytest.fixture
def small_index(make_index):
    return make_index([DistSpec("alpha", "1.0"), DistSpec("many", "1.0", files=MANY_FILES)])


@pytest.mark.parametrize("extra_args", [[], ["--python", RUNNING]])
def test_a_venv_dir_that_is_not_a_venv_is_refused(tmp_path, small_index, run_pypm, extra_args) -> None:
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": small_index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    (root / ".venv").mkdir()
    (root / ".venv" / "important.txt").write_text("x")
    result = run_pypm("sync", *extra_args, cwd=root, env_extra=env, check=False)
    assert_one_error(result, "not a virtual environment", "move .venv away")
    assert sorted(p.name for p in (root / ".venv").iterdir()) == ["important.txt"]
    assert (root / ".venv" / "important.txt").read_text() == "x"


@pytest.mark.parametrize("leftover", ["empty", "half-created"])
def test_a_venv_pypm_began_to_create_is_replaced(tmp_path, small_index, run_pypm, leftover) -> None:
    """A creation killed before `pyvenv.cfg` existed leaves an empty directory or one with
    pypm's owner mark (a file created before anything else): both are pypm's to replace."""
    from pypm.install.venv import OWNER_MARK

    root = project(tmp_path / "p", ["alpha"])
    (root / ".venv").mkdir()
    if leftover == "half-created":
        (root / ".venv" / OWNER_MARK).touch()
        (root / ".venv" / "lib").mkdir()
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": small_index.url})
    assert installed(root / ".venv") == {"alpha": "1.0", "p": "1.0"}


def test_a_venv_that_is_a_file_or_a_link_is_refused(tmp_path, small_index, run_pypm) -> None:
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": small_index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    (root / ".venv").write_text("mine")
    assert_one_error(run_pypm("sync", cwd=root, env_extra=env, check=False), ".venv is a")
    assert (root / ".venv").read_text() == "mine"
    (root / "pylock.toml").unlink()  # a lock alone does not touch .venv (as uv lock): remembered or resolved
    run_pypm("lock", cwd=root, env_extra=env)
    replace_in(root / "pyproject.toml", '"alpha"', '"alpha", "many"')
    assert "Locked 3 packages" in run_pypm("lock", cwd=root, env_extra=env).stderr
    assert (root / ".venv").read_text() == "mine"
    (root / ".venv").unlink()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("k")
    (root / ".venv").symlink_to(target, target_is_directory=True)
    assert_one_error(run_pypm("sync", cwd=root, env_extra=env, check=False), "symbolic link")
    assert (root / ".venv").is_symlink() and sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    (root / ".venv").unlink()
    (root / ".venv").symlink_to(tmp_path / "missing")
    assert_one_error(run_pypm("sync", cwd=root, env_extra=env, check=False), "symbolic link")
    assert (root / ".venv").is_symlink()


def test_a_failing_sync_leaves_the_working_venv_working(tmp_path, small_index, run_pypm) -> None:
    older = older_python()
    root = project(tmp_path / "p", ["alpha"])
    replace_in(root / "pyproject.toml", 'requires-python = ">=3.10"', f'requires-python = ">={RUNNING}"')
    env = {"PYPM_INDEX_URL": small_index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    before = sorted(str(p.relative_to(root)) for p in (root / ".venv").rglob("*"))
    result = run_pypm("sync", "--python", older, cwd=root, env_extra=env, check=False)
    assert_one_error(result, f"does not satisfy the project's requires-python >={RUNNING}", ".venv was left as it was")
    assert sorted(str(p.relative_to(root)) for p in (root / ".venv").rglob("*")) == before
    probe = run_pypm("run", "python", "-c", "import sys, alpha; print(sys.version_info[:2])",
                     cwd=root, env_extra=env)
    assert probe.stdout.strip() == str(sys.version_info[:2])


def test_a_replacement_that_fails_puts_the_old_venv_back(tmp_path, make_index, run_pypm) -> None:
    """The new interpreter is fine, but the install into the new `.venv` fails (a locked
    file vanished from the index): the old `.venv` is put back as it was."""
    index = make_index([DistSpec("alpha", "1.0")])
    older = older_python()
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    marker = root / ".venv" / "user-notes.txt"
    marker.write_text("notes")
    for wheel in index.files_dir.glob("alpha-*.whl"):
        wheel.unlink()
    result = run_pypm("sync", "--python", older, cwd=root, env_extra={**env, "PYPM_CACHE_DIR": str(tmp_path / "c2")},
                      check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert marker.read_text() == "notes"
    assert installed(root / ".venv") == {"alpha": "1.0", "p": "1.0"}
    assert not (root / ".venv.pypm-old").exists()


def test_a_killed_replacement_is_undone_by_the_next_sync(tmp_path, small_index, run_pypm, pypm_env) -> None:
    """SIGKILL at different moments of replacing `.venv` (another --python): the next sync
    always finds a `.venv` it can use or replace, and leaves no `.venv.pypm-old` behind."""
    older = older_python()
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    root = project(tmp_path / "p", ["alpha", "many"])
    env = {**pypm_env, "PYPM_INDEX_URL": small_index.url}
    for attempt in range(10):
        run_pypm("sync", "--python", running, cwd=root, env_extra=env)
        process = popen_pypm(["sync", "--python", older], root, env)
        deadline = time.monotonic() + 60
        while not (root / ".venv.pypm-old").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(0.01 * attempt)
        process.send_signal(signal.SIGKILL)
        process.wait()
        result = run_pypm("sync", cwd=root, env_extra=env)
        assert "Traceback" not in result.stderr, f"attempt {attempt}"
        assert not (root / ".venv.pypm-old").exists(), f"attempt {attempt}"
        assert_matches(root / ".venv", {"alpha": "1.0", "many": "1.0", "p": "1.0"})


def test_uninstall_never_deletes_outside_the_environment(tmp_path, small_index, run_pypm) -> None:
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": small_index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    site = site_packages(root / ".venv")[0]
    outside_relative = tmp_path / "outside.txt"
    outside_absolute = tmp_path / "absolute.txt"
    outside_linked = tmp_path / "linked" / "through-link.txt"
    for path in (outside_relative, outside_absolute, outside_linked):
        path.parent.mkdir(exist_ok=True)
        path.write_text("keep")
    (site / "escape").symlink_to(tmp_path / "linked", target_is_directory=True)
    record = next(site.glob("alpha-1.0.dist-info/RECORD"))
    up = os.path.relpath(outside_relative, site)
    record.write_text(record.read_text() + f"{up},,\n{outside_absolute},,\nescape/through-link.txt,,\n")
    replace_in(root / "pyproject.toml", 'dependencies = ["alpha"]', "dependencies = []")
    run_pypm("sync", cwd=root, env_extra=env)
    assert "alpha" not in installed(root / ".venv")
    for path in (outside_relative, outside_absolute, outside_linked):
        assert path.read_text() == "keep", path
    assert not list(site.glob("alpha*"))


def stray_files(venv: Path) -> list[str]:
    """Files in site-packages that no installed distribution's RECORD lists."""
    stray = []
    for site in site_packages(venv):
        listed = set()
        for record in site.glob("*.dist-info/RECORD"):
            for line in record.read_text().splitlines():
                listed.add(os.path.normpath(site / line.split(",")[0]))
        for path in site.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and os.path.normpath(path) not in listed:
                stray.append(str(path.relative_to(site)))
    return sorted(stray)


def test_sigkill_during_removal_is_repaired_by_the_next_sync(tmp_path, small_index, run_pypm, pypm_env) -> None:
    root = project(tmp_path / "p", ["alpha", "many"])
    env = {**pypm_env, "PYPM_INDEX_URL": small_index.url}
    with_many = {"alpha": "1.0", "many": "1.0", "p": "1.0"}
    without = {"alpha": "1.0", "p": "1.0"}
    killed_while_removing = 0
    for attempt in range(20):
        if attempt:
            replace_in(root / "pyproject.toml", 'dependencies = ["alpha"]', 'dependencies = ["alpha", "many"]')
        run_pypm("sync", cwd=root, env_extra=env)
        assert_matches(root / ".venv", with_many)
        replace_in(root / "pyproject.toml", 'dependencies = ["alpha", "many"]', 'dependencies = ["alpha"]')
        run_pypm("lock", cwd=root, env_extra=env)
        site = site_packages(root / ".venv")[0]
        process = popen_pypm(["sync"], root, env)
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if any(p.name.endswith(".pypm-removing") for p in site.iterdir()):
                process.send_signal(signal.SIGKILL)
                killed_while_removing += 1
                break
            time.sleep(0.0005 * (attempt % 4))
        process.wait()
        result = run_pypm("sync", cwd=root, env_extra=env)
        assert "up to date" not in result.stderr.lower() or process.returncode == 0
        assert_matches(root / ".venv", without)
        assert stray_files(root / ".venv") == [], f"attempt {attempt}"
        assert not (site / "many").exists(), f"attempt {attempt}: files of `many` were left behind"
    print(f"SIGKILL during removal: {killed_while_removing} of 20 kills hit the removal phase; all repaired")
    assert killed_while_removing >= 15, f"only {killed_while_removing} of 20 kills hit the removal"


def test_files_in_use_are_moved_aside_where_the_os_refuses_to_delete_them(tmp_path, monkeypatch) -> None:
    """Windows' rule (an open file can be renamed but not deleted), emulated: `unlink`
    raises PermissionError. The file goes into the trash directory, which a later sync empties."""
    from pypm import trash

    env_root = tmp_path / "venv"
    target = env_root / "bin" / "tool.exe"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    real_unlink = os.unlink

    def refuse(path, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(13, "The process cannot access the file because it is being used", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(trash, "MOVE_FILES_IN_USE", True)
    monkeypatch.setattr(trash.os, "unlink", refuse)
    trash.remove_file(str(target), trash.trash_dir(env_root))
    assert not target.exists()
    moved = list(trash.trash_dir(env_root).iterdir())
    assert len(moved) == 1 and moved[0].read_bytes() == b"old" and moved[0].name.endswith("-tool.exe")
    monkeypatch.setattr(trash.os, "unlink", real_unlink)
    trash.empty_trash(env_root)
    assert not trash.trash_dir(env_root).exists()
    monkeypatch.setattr(trash, "MOVE_FILES_IN_USE", False)
    target.write_bytes(b"x")
    monkeypatch.setattr(trash.os, "unlink", refuse)
    with pytest.raises(PermissionError):
        trash.remove_file(str(target), trash.trash_dir(env_root))


def test_a_venv_of_the_requested_version_is_kept_when_path_finds_another(tmp_path, small_index, run_pypm) -> None:
    """``--python 3.X`` keeps a complete .venv of 3.X whichever installation made it (as
    uv), so a ``python3.X`` put first on PATH later neither replaces it nor disagrees with
    the no-op check."""
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": small_index.url}
    run_pypm("sync", "--python", RUNNING, cwd=root, env_extra=env)
    config = root / ".venv" / "pyvenv.cfg"
    made = (config.stat().st_ino, config.read_text())
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / f"python{RUNNING}").symlink_to(os.path.realpath(sys.executable))
    path = {**env, "PATH": f"{other}{os.pathsep}{os.environ['PATH']}"}
    run_pypm("sync", "--python", RUNNING, "--reinstall-package", "alpha", cwd=root, env_extra=path)
    assert (config.stat().st_ino, config.read_text()) == made
    assert installed(root / ".venv") == {"alpha": "1.0", "p": "1.0"}
