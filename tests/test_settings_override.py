"""Settings as a CI uses them, through the real CLI: ``PYPM_*`` variables override the
committed ``[tool.pypm]``; list variables hold markers and paths with spaces; a bad value
is one line naming its variable; ``PYPM_WORKSPACE_ROOT`` (and its old name) finds the
workspace; ``.python-version`` is the python request when nothing else names one."""

from __future__ import annotations

import sys
from pathlib import Path

import tomllib

from pypm.testing import DistSpec, build_wheel
from tests.workspaces import write_project

DEAD_INDEX = "http://127.0.0.1:9/simple/"
LINUX_X86 = "sys_platform == 'linux' and platform_machine == 'x86_64'"


def project(root: Path, dependencies: list[str], tool: str = "") -> Path:
    return write_project(root, dependencies, tool=tool)


def lock_data(root: Path) -> dict:
    return tomllib.loads((root / "pylock.toml").read_text())


def one_error_line(result) -> str:
    """The one ``error:`` line, which ends stderr (progress lines may come before it)."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr, result.stderr
    return lines[-1]


def test_env_index_url_overrides_a_committed_index_url(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"], f'index-url = "{DEAD_INDEX}"')
    line = one_error_line(run_pypm("lock", cwd=root, check=False))
    assert "127.0.0.1:9" in line, "without the variable the committed index is used"
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    alpha = next(p for p in lock_data(root)["packages"] if p["name"] == "alpha")
    assert alpha["index"] == index.url
    assert any(r.path.startswith("/simple/alpha") for r in index.requests)


def test_env_environments_with_spaces(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("native", "1.0", tag="py3-none-manylinux_2_17_x86_64")])
    root = project(tmp_path / "p", ["native"])
    env = {"PYPM_INDEX_URL": index.url}
    assert "warning: native 1.0 has no file for darwin arm64," in run_pypm("lock", cwd=root, env_extra=env).stderr
    assert "warning" not in run_pypm("lock", cwd=root, env_extra={**env, "PYPM_ENVIRONMENTS": LINUX_X86}).stderr
    assert lock_data(root)["environments"] == [LINUX_X86]
    two = f"{LINUX_X86}, sys_platform == 'linux' and platform_machine == 'x86_64' and python_version >= '3.12'"
    run_pypm("lock", cwd=root, env_extra={**env, "PYPM_ENVIRONMENTS": two})
    assert len(lock_data(root)["environments"]) == 2


def test_env_find_links_path_with_spaces(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("other", "1.0")])
    wheels = tmp_path / "my wheels"
    build_wheel(DistSpec("local-only", "1.0"), wheels)
    root = project(tmp_path / "p", ["local-only"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, "PYPM_FIND_LINKS": f"{wheels},{tmp_path}"})
    assert any(p["name"] == "local-only" for p in lock_data(root)["packages"])


def test_bad_env_list_value_is_one_line_naming_the_variable(tmp_path, run_pypm) -> None:
    root = project(tmp_path / "p", [])
    line = one_error_line(run_pypm("lock", cwd=root, env_extra={"PYPM_ENVIRONMENTS": "sys_platform = 'linux'"},
                                   check=False))
    expected = "error: PYPM_ENVIRONMENTS: setting 'environments': invalid marker \"sys_platform = 'linux'\""
    assert line.startswith(expected), line


def test_workspace_root_variable_and_its_old_name(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for variable in ("PYPM_WORKSPACE_ROOT", "PYP_WORKSPACE_ROOT"):
        (root / "pylock.toml").unlink(missing_ok=True)
        run_pypm("lock", cwd=elsewhere, env_extra={"PYPM_INDEX_URL": index.url, variable: str(root)})
        assert (root / "pylock.toml").is_file(), variable
    line = one_error_line(run_pypm("lock", cwd=root, env_extra={"PYPM_WORKSPACE_ROOT": str(elsewhere)},
                                   check=False))
    assert line.startswith(f"error: PYPM_WORKSPACE_ROOT={elsewhere}: no pyproject.toml")


def test_python_version_file_is_the_request_unless_overridden(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"])
    (root / ".python-version").write_text("# pinned\n3.99\n")
    env = {"PYPM_INDEX_URL": index.url}
    line = one_error_line(run_pypm("lock", "sync", cwd=root, env_extra=env, check=False))
    assert "3.99" in line, "the .python-version request is used"
    assert not (root / ".venv").exists()
    run_pypm("lock", "sync", cwd=root, env_extra={**env, "PYPM_PYTHON": sys.executable})
    assert (root / ".venv").is_dir()
    (root / ".python-version").write_text("3.twelve\n")
    line = one_error_line(run_pypm("sync", cwd=root, env_extra=env, check=False))
    assert line.startswith(f"error: {(root / '.python-version').resolve()}: setting 'python'")


def test_command_line_flags_override_variables_and_the_project(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"], tool=f'index-url = "{DEAD_INDEX}"')
    cache = tmp_path / "flag-cache"
    env = {"PYPM_INDEX_URL": "http://127.0.0.1:9/other/simple/"}
    run_pypm("lock", "sync", "--index-url", index.url, "--cache-dir", cache, cwd=root, env_extra=env)
    assert [p["version"] for p in lock_data(root)["packages"] if p["name"] == "alpha"] == ["1.0"]
    assert any(cache.rglob("alpha-1.0-*.whl")), "the wheel was not downloaded into --cache-dir"
    bad = run_pypm("lock", "--index-url", "not-a-url", cwd=root, env_extra=env, check=False)
    assert bad.returncode == 2 and "--index-url" in one_error_line(bad)
    assert run_pypm("cache", "dir", "--cache-dir", cache, cwd=root).stdout.strip() == str(cache)


def test_offline_and_find_links_mistakes_name_where_the_setting_came_from(tmp_path, make_index, run_pypm) -> None:
    """An offline run missing a page, and a find-links directory that is not one, say which
    file or variable set them (not a flag nobody gave)."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = write_project(tmp_path / "p", ["alpha"], tool="offline = true")
    failed = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert f"offline = True (from {root / 'pyproject.toml'})" in failed.stderr, failed.stderr
    assert "PYPM_OFFLINE" not in failed.stderr
    other = write_project(tmp_path / "q", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_FIND_LINKS": str(tmp_path / "no-dir")}
    failed = run_pypm("lock", cwd=other, env_extra=env, check=False)
    assert "is not a directory or URL" in failed.stderr and "(from PYPM_FIND_LINKS)" in failed.stderr, failed.stderr
