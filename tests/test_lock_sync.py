"""End to end: lock -> sync -> run on a real local index, in both index flavours."""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import pytest
import tomllib
from packaging.pylock import Pylock

from pypm.install.installed import installed_distributions
from tests.workspaces import INDEX_SPECS, make_workspace, replace_in

PY310 = sorted(Path.home().glob(".pyenv/versions/3.10*/bin/python3.10"))


def site_packages(venv: Path) -> list[Path]:
    """The venv's site-packages directories (POSIX and Windows layouts)."""
    return [*venv.glob("lib/python3*/site-packages"), *venv.glob("Lib/site-packages")]


def installed(venv: Path) -> dict[str, str]:
    """name -> version of everything installed in ``venv``."""
    return {name: dist.version for name, dist in installed_distributions(site_packages(venv)).items()}


def lock_packages(root: Path) -> dict[str, dict]:
    """The lock's package entries by name."""
    data = tomllib.loads((root / "pylock.toml").read_text())
    return {p["name"]: p for p in data["packages"]}


@pytest.fixture(params=["json", "html"])
def index(request, make_index):
    """The test index, once in each flavour (HTML without PEP 658 metadata files)."""
    if request.param == "json":
        return make_index(INDEX_SPECS, flavour="json")
    return make_index(INDEX_SPECS, flavour="html", metadata_files=False)


@pytest.fixture
def project(tmp_path: Path, index) -> Path:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def env(index) -> dict[str, str]:
    return {"PYPM_INDEX_URL": index.url}


def test_lock_sync_run(project: Path, index, env, run_pypm) -> None:
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    lock = tomllib.loads((project / "pylock.toml").read_text())
    Pylock.from_dict(lock).validate()
    assert lock["created-by"] == "pypm"
    assert len(lock["tool"]["pypm"]["input-hash"]) == 64
    packages = {p["name"]: p for p in lock["packages"]}
    assert packages["alpha"]["version"] == "2.0"
    assert packages["lib"]["directory"] == {"path": "packages/lib", "editable": True}
    for entry in packages.values():
        for wheel in entry.get("wheels", []):
            assert len(wheel["hashes"]["sha256"]) == 64 and wheel["size"] > 0
    assert packages["tomli"]["marker"] == "python_version < '3.11'"
    assert packages["devtool"]["marker"] == "'dev' in dependency_groups"
    assert packages["extrapkg"]["marker"] == "'cli' in extras"
    assert "marker" not in packages["beta"]

    have = installed(project / ".venv")
    expected = {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "devtool": "1.0", "lib": "0.1.0", "app": "0.2.0"}
    if sys.version_info < (3, 11):
        expected["tomli"] = "2.0.1"
    assert have == expected

    code = "import app, lib, sys; print(lib.ALPHA, sys.prefix)"
    out = run_pypm("run", "python", "-c", code, cwd=project, env_extra=env)
    alpha_version, prefix = out.stdout.split()
    assert alpha_version == "2.0" and Path(prefix) == project / ".venv"
    assert run_pypm("run", "gamma-cli", cwd=project, env_extra=env).stdout.strip() == "gamma says hi"
    assert "alpha 2.0" in run_pypm("run", "app-hello", cwd=project, env_extra=env).stdout


def test_lock_reads_metadata_without_downloading_wheels(project: Path, index, env, run_pypm) -> None:
    run_pypm("lock", cwd=project, env_extra=env)
    file_requests = [r for r in index.requests if "/files/" in r.path]
    assert file_requests, "metadata must come from the index"
    for record in file_requests:
        if record.method == "GET" and not record.path.endswith(".metadata"):
            assert record.headers.get("range"), f"full wheel download during lock: {record.path}"


@pytest.mark.skipif(not PY310, reason="needs a Python 3.10 interpreter (pyenv)")
def test_marker_gated_dependency_installed_only_where_it_applies(project: Path, env, run_pypm) -> None:
    run_pypm("sync", cwd=project, env_extra={**env, "PYPM_PYTHON": str(PY310[-1])})
    assert installed(project / ".venv").get("tomli") == "2.0.1"
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    if sys.version_info >= (3, 11):
        run_pypm("sync", cwd=project, env_extra={**env, "PYPM_PYTHON": current})
        assert "tomli" not in installed(project / ".venv")


def test_no_dev_group_extras_and_all_groups(project: Path, env, run_pypm) -> None:
    run_pypm("sync", "--no-dev", cwd=project, env_extra=env)
    assert "devtool" not in installed(project / ".venv")
    run_pypm("sync", "--extra", "cli", cwd=project, env_extra=env)
    have = installed(project / ".venv")
    assert have["devtool"] == "1.0" and have["extrapkg"] == "1.0"
    run_pypm("sync", cwd=project, env_extra=env)
    assert "extrapkg" not in installed(project / ".venv")
    bad = run_pypm("sync", "--group", "nope", cwd=project, env_extra=env, check=False)
    assert bad.returncode != 0 and "unknown dependency group 'nope'" in bad.stderr


def test_sync_removes_extraneous_packages(project: Path, env, run_pypm) -> None:
    run_pypm("sync", cwd=project, env_extra=env)
    venv = project / ".venv"
    assert "gamma" in installed(venv)
    script = venv / "bin" / "gamma-cli"
    assert script.exists()
    replace_in(project / "packages/app/pyproject.toml", '["lib", "gamma"]', '["lib"]')
    run_pypm("sync", cwd=project, env_extra=env)
    assert "gamma" not in installed(venv)
    assert not script.exists()
    assert not any(p.name == "gamma" for site in site_packages(venv) for p in site.iterdir())


def test_sync_removes_packages_installed_by_hand(project: Path, env, run_pypm, tmp_path: Path) -> None:
    import json

    from pypm.install.venv import Interpreter
    from pypm.install.wheel import install_wheel
    from pypm.testing import DistSpec, build_wheel

    run_pypm("sync", cwd=project, env_extra=env)
    venv = project / ".venv"
    info = Interpreter.from_json(json.loads((venv / ".pypm-interpreter.json").read_text()))
    install_wheel(build_wheel(DistSpec("stray", "1.0"), tmp_path), info, tmp_path / "cache")
    (venv / ".pypm-sync.json").unlink()  # as after a sync that was interrupted
    assert "stray" in installed(venv)
    run_pypm("sync", cwd=project, env_extra=env)
    assert "stray" not in installed(venv)


def test_second_run_is_a_no_op_without_network(project: Path, index, env, run_pypm) -> None:
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    lock_mtime = (project / "pylock.toml").stat().st_mtime_ns
    stamp_mtime = (project / ".venv/.pypm-sync.json").stat().st_mtime_ns
    index.clear_requests()
    result = run_pypm("lock", "sync", cwd=project, env_extra=env)
    assert "All up to date" in result.stderr
    assert index.requests == []
    assert (project / "pylock.toml").stat().st_mtime_ns == lock_mtime
    assert (project / ".venv/.pypm-sync.json").stat().st_mtime_ns == stamp_mtime


def test_touching_a_pyproject_does_not_relock(project: Path, index, env, run_pypm) -> None:
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    lock_mtime = (project / "pylock.toml").stat().st_mtime_ns
    os.utime(project / "packages/lib/pyproject.toml")
    index.clear_requests()
    result = run_pypm("lock", "sync", cwd=project, env_extra=env)
    assert "All up to date" in result.stderr
    assert index.requests == []
    # doit agrees: the touched file's md5 is unchanged
    status = run_pypm("status", cwd=project, env_extra=env).stdout
    assert "lock: up to date (by hash: fresh; doit: up-to-date" in status
    assert (project / "pylock.toml").stat().st_mtime_ns == lock_mtime


def test_fresh_clone_without_doit_state_does_nothing(project: Path, index, env, run_pypm) -> None:
    import shutil

    run_pypm("lock", cwd=project, env_extra=env)
    shutil.rmtree(project / ".pypm")
    lock_bytes = (project / "pylock.toml").read_bytes()
    index.clear_requests()
    run_pypm("-v", "lock", cwd=project, env_extra=env)
    assert index.requests == []
    assert (project / "pylock.toml").read_bytes() == lock_bytes


def test_changing_one_member_relocks(project: Path, index, env, run_pypm) -> None:
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    assert lock_packages(project)["beta"]["version"] == "1.1"
    replace_in(project / "packages/lib/pyproject.toml", '"alpha>=2"', '"alpha>=2", "beta<1.1"')
    index.clear_requests()
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    assert index.requests, "a changed member must be re-resolved"
    assert lock_packages(project)["beta"]["version"] == "1.0"
    assert installed(project / ".venv")["beta"] == "1.0"


def test_status_explains_what_would_run(project: Path, env, run_pypm) -> None:
    out = run_pypm("status", cwd=project, env_extra=env).stdout
    assert "lock: would run" in out and "sync: would run" in out
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    out = run_pypm("status", cwd=project, env_extra=env).stdout
    assert "lock: up to date" in out and "sync: up to date" in out
    replace_in(project / "packages/app/pyproject.toml", '["lib", "gamma"]', '["lib"]')
    out = run_pypm("status", cwd=project, env_extra=env).stdout
    assert "lock: would run" in out and "packages/app/pyproject.toml" in out


def test_operations_are_plain_functions(project: Path, index, monkeypatch: pytest.MonkeyPatch, pypm_env) -> None:
    """lock and sync run in-process without doit."""
    from pypm.operations.lock import lock
    from pypm.operations.sync import sync
    from pypm.workspace.model import load_workspace

    for key in ("PYPM_CACHE_DIR", "PYPM_CONFIG_FILE"):
        monkeypatch.setenv(key, pypm_env[key])
    monkeypatch.setenv("PYPM_INDEX_URL", index.url)
    workspace = load_workspace(project)
    assert lock(workspace).written
    assert not lock(workspace).written
    outcome = sync(workspace)
    assert sorted(outcome.installed) == ["alpha", "app", "beta", "devtool", "gamma", "lib"] + (
        ["tomli"] if sys.version_info < (3, 11) else []
    )
    assert sync(workspace).skipped


def test_operations_do_not_load_doit(project: Path, index, pypm_env) -> None:
    """lock and sync called as plain functions never import doit (checked in a fresh process:
    other tests load doit into this one)."""
    import subprocess

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pypm.operations.lock import lock\n"
        "from pypm.operations.sync import sync\n"
        "from pypm.workspace.model import load_workspace\n"
        "workspace = load_workspace(Path.cwd())\n"
        "assert lock(workspace).written\n"
        "assert sync(workspace).installed\n"
        "loaded = sorted(m for m in sys.modules if m == 'doit' or m.startswith('doit.'))\n"
        "assert not loaded, loaded\n"
        "print('no doit')\n"
    )
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    result = subprocess.run([sys.executable, "-c", script], cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no doit"


def test_cli_in_process(project: Path, index, monkeypatch: pytest.MonkeyPatch, pypm_env, capsys) -> None:
    from pypm.cli.main import main

    for key in ("PYPM_CACHE_DIR", "PYPM_CONFIG_FILE"):
        monkeypatch.setenv(key, pypm_env[key])
    monkeypatch.setenv("PYPM_INDEX_URL", index.url)
    assert main(["--project", str(project), "lock"]) == 0
    assert (project / "pylock.toml").is_file()
    assert main(["--project", str(project), "lock", "--group", "x", "bogus"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error:")


def test_up_to_date_answer_loads_no_heavy_module(project: Path, env, run_pypm, pypm_env) -> None:
    import subprocess

    run_pypm("lock", "sync", cwd=project, env_extra=env)
    code = (
        "import sys; from pypm.cli.main import main; code = main(['lock', 'sync']); "
        "heavy = {m.split('.')[0] for m in sys.modules} & {'doit', 'httpx', 'resolvelib', 'rich', 'packaging'}; "
        "print(code, sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=project, env={**pypm_env, **env},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 []"
    assert "All up to date" in out.stderr


def test_warm_sync_without_plugins_loads_neither_plugin_machinery_nor_network_modules(
        project: Path, env, run_pypm, pypm_env) -> None:
    """A sync into a new .venv from a warm cache imports what linking needs, not doit,
    httpx, resolvelib or rich, and (no plugin configured or installed) not the plugin
    loader or its interface."""
    import shutil
    import subprocess

    run_pypm("lock", "sync", cwd=project, env_extra=env)
    shutil.rmtree(project / ".venv")
    code = (
        "import sys; from pypm.cli.main import main; code = main(['sync']); "
        "heavy = {m.split('.')[0] for m in sys.modules} & {'doit', 'httpx', 'resolvelib', 'rich'}; "
        "plugins = sorted(m for m in sys.modules if m.startswith('pypm.plugins.') and m != 'pypm.plugins.presence'); "
        "print(code, sorted(heavy), plugins)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=project, env={**pypm_env, **env},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 [] []", out.stderr
    assert (project / ".venv").is_dir()


def test_run_relocks_and_resyncs_when_stale(project: Path, env, run_pypm) -> None:
    run_pypm("sync", cwd=project, env_extra=env)
    replace_in(project / "packages/lib/pyproject.toml", '"alpha>=2"', '"alpha<2"')
    out = run_pypm("run", "python", "-c", "import alpha; print(alpha.__version__)", cwd=project, env_extra=env)
    assert out.stdout.strip() == "1.0"
    assert lock_packages(project)["alpha"]["version"] == "1.0"
    assert "beta" not in installed(project / ".venv")


def test_only_group_installs_the_group_and_what_it_needs_not_the_project(tmp_path, make_index, run_pypm) -> None:
    """``--only-group lint`` (as uv's): lint's requirements and their dependencies (beta,
    which the project needs too), not the project, its own dependencies nor other groups;
    with ``--group`` it is refused; export and bundle select the same."""
    from pypm.testing import DistSpec

    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0"),
                        DistSpec("lint-tool", "1.0", requires=["beta", "win-only; sys_platform == 'win32'"]),
                        DistSpec("win-only", "1.0"), DistSpec("other", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = ["alpha"]\n\n'
        '[dependency-groups]\nlint = ["lint-tool"]\ndev = ["other"]\n')
    run_pypm("sync", "--only-group", "lint", cwd=root, env_extra=env)
    assert installed(root / ".venv") == {"lint-tool": "1.0", "beta": "1.0"}
    export = run_pypm("export", "--only-group", "lint", "--no-hashes", cwd=root, env_extra=env).stdout
    assert sorted(line.split(" ")[0] for line in export.splitlines() if line and not line.startswith("#")) == [
        "beta==1.0", "lint-tool==1.0", "win-only==1.0"]  # every platform's, with its marker
    run_pypm("bundle", "--only-group", "lint", "-o", "b.tar.gz", cwd=root, env_extra=env)
    with tarfile.open(root / "b.tar.gz") as tar:
        wheels = sorted(Path(n).name.split("-")[0] for n in tar.getnames() if n.startswith(("wheels/", "members/")))
    assert wheels == ["beta", "lint_tool"], wheels
    run_pypm("sync", cwd=root, env_extra=env)
    assert set(installed(root / ".venv")) == {"p", "alpha", "beta", "other"}
    refused = run_pypm("sync", "--only-group", "lint", "--group", "dev", cwd=root, env_extra=env, check=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
