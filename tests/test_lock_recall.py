"""The repeated warm lock (pypm/graph/lock_recall.py): a plain ``pypm lock`` whose
pylock.toml is missing is written from the remembered resolution without parsing the
workspace, when nothing it was made from changed and its index pages are fresh; anything
else locks as usual. Real index on 127.0.0.1, real ``pypm`` processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pypm.graph import lock_recall
from pypm.graph.lock_recall import RECALL_FILE, write_recalled_lock
from pypm.graph.noop_verdict import STATE_DIR
from pypm.testing import DistSpec, build_wheel
from tests.test_lock_behaviour import lock, packages, project_with

#: What ``main(['lock'])`` prints on stdout in a child: its exit code and whether the
#: workspace was parsed (packaging's requirement parser loaded) or doit/httpx loaded.
WATCHED = ("packaging.requirements", "httpx", "doit", "resolvelib")
PROBE = ("import sys; from pypm.cli.main import main; code = main({args!r}); "
         f"print(code, sorted(m for m in {WATCHED!r} if m in sys.modules))")


def probe_lock(root: Path, env: dict[str, str], *args: str) -> tuple[str, str]:
    """Run a plain ``pypm lock`` in a child process: (its probe line, its stderr)."""
    code = PROBE.format(args=["lock", *args])
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    return out.stdout.strip(), out.stderr


def recorded(root: Path) -> Path:
    return root / STATE_DIR / RECALL_FILE


@pytest.fixture
def locked_once(tmp_path, make_index, run_pypm, pypm_env):
    """alpha 1.0 (needs beta) and beta 1.0 on the index; a project that needs alpha,
    locked once by a plain ``pypm lock``: (root, index, environment, the lock's bytes)."""
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    assert recorded(root).is_file()
    return root, index, {**pypm_env, "PYPM_INDEX_URL": index.url}, (root / "pylock.toml").read_bytes()


def test_a_missing_lock_is_written_again_without_parsing_the_workspace(locked_once) -> None:
    root, index, env, first = locked_once
    (root / "pylock.toml").unlink()
    index.clear_requests()
    line, said = probe_lock(root, env)
    assert line == "0 []", said
    assert said.strip() == "Locked 3 packages in pylock.toml"
    assert index.requests == []
    assert (root / "pylock.toml").read_bytes() == first
    assert "lock" in (root / STATE_DIR / "direct-runs").read_text().split()  # for doit to catch up
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, env, "-q")
    assert (line, said) == ("0 []", "")
    assert (root / "pylock.toml").read_bytes() == first


def test_an_edited_input_locks_afresh(locked_once, make_index) -> None:
    root, _index, env, _first = locked_once
    gamma = make_index([DistSpec("gamma", "1.0")])
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"alpha"', '"alpha", "gamma"'))
    (root / "pylock.toml").unlink()
    env = {**env, "PYPM_EXTRA_INDEX_URL": gamma.url}
    line, said = probe_lock(root, env)
    assert line.startswith("0 ") and "packaging.requirements" in line, said
    assert set(packages(root)) >= {"alpha", "beta", "gamma"}


def test_a_changed_settings_variable_locks_afresh(locked_once) -> None:
    root, _index, env, _first = locked_once
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, {**env, "PYPM_PRERELEASE": "allow"})
    assert "packaging.requirements" in line, said


def test_a_moved_cache_locks_afresh(locked_once, tmp_path) -> None:
    """``XDG_CACHE_HOME`` places the default cache, where the remembered resolution is."""
    root, _index, env, _first = locked_once
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, {**env, "XDG_CACHE_HOME": str(tmp_path / "elsewhere")})
    assert "packaging.requirements" in line, said


def test_a_page_past_its_freshness_is_left_to_the_full_lock(tmp_path, make_index, run_pypm, pypm_env) -> None:
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_PAGE_TTL": "0"}
    lock(run_pypm, root, index, env=env)
    assert recorded(root).is_file()
    build_wheel(DistSpec("beta", "2.0"), index.files_dir)  # beta's page now lists 2.0
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, {**pypm_env, "PYPM_INDEX_URL": index.url, **env})
    assert line.startswith("0 ") and "packaging.requirements" in line, said
    assert packages(root)["beta"]["version"] == "2.0"


def test_a_lock_made_with_options_is_not_recorded(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """``--prerelease allow`` chose alpha 2.0b1; the plain lock after it must not write
    that lock again (the options are no input the record observes)."""
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0b1")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index, "--prerelease", "allow")
    assert packages(root)["alpha"]["version"] == "2.0b1"
    assert not recorded(root).exists()
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, {**pypm_env, "PYPM_INDEX_URL": index.url})
    assert "packaging.requirements" in line, said
    assert packages(root)["alpha"]["version"] == "1.0"


def test_a_workspace_without_requires_python_is_not_recorded(tmp_path, make_index, run_pypm) -> None:
    """Its lock is made for the Python of ``.venv``, which the record does not observe."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1.0"\ndependencies = ["alpha"]\n')
    result = lock(run_pypm, root, index)
    assert "no requires-python" in result.stderr
    assert (root / "pylock.toml").is_file()
    assert not recorded(root).exists()


def test_changed_deciding_code_is_not_recalled(locked_once, monkeypatch) -> None:
    """The record names the digest of pypm's deciding modules: a pypm whose resolver
    changed since resolves again (here, in this process, with that digest replaced)."""
    from pypm.lock import memo

    root, _index, env, first = locked_once
    (root / "pylock.toml").unlink()
    for name in [name for name in os.environ if name.startswith(("PYPM_", "PYP_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("PYPM_"):
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    real = memo.code_fingerprint
    monkeypatch.setattr(memo, "code_fingerprint", lambda: "0" * 64)
    assert not write_recalled_lock(quiet=True)
    assert not (root / "pylock.toml").exists()
    monkeypatch.setattr(memo, "code_fingerprint", real)
    assert write_recalled_lock(quiet=True)
    assert (root / "pylock.toml").read_bytes() == first


def test_a_resolution_gone_from_the_cache_locks_afresh(locked_once) -> None:
    root, index, env, first = locked_once
    records = list((Path(env["PYPM_CACHE_DIR"]) / "resolutions-v1").glob("*.json"))
    assert len(records) == 1
    records[0].unlink()
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, env)
    assert "packaging.requirements" in line, said
    assert (root / "pylock.toml").read_bytes() == first
    assert lock_recall.RECALL_FILE in os.listdir(root / STATE_DIR)


def test_a_workspace_whose_members_are_globbed_is_recalled(tmp_path, workspace_env, pypm_env, run_pypm) -> None:
    """The lock is written into the directory the members' glob looks into: its listing
    is compared before and after without the lock, which is absent when recalled."""
    from tests.workspaces import make_workspace

    root = make_workspace(tmp_path / "ws")
    run_pypm("lock", cwd=root, env_extra=workspace_env)
    assert recorded(root).is_file()
    first = (root / "pylock.toml").read_bytes()
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, {**pypm_env, **workspace_env})
    assert line == "0 []", said
    assert (root / "pylock.toml").read_bytes() == first


def test_a_plugin_installed_since_the_record_sees_the_lock(locked_once, tmp_path) -> None:
    """An entry-point plugin that appears in pypm's environment (here: on PYTHONPATH)
    changes no file of the workspace; its post-lock hook must still run."""
    root, _index, env, first = locked_once
    site = tmp_path / "site"
    dist_info = site / "recallplug-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: recallplug\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[pypm.plugins]\nrecallplug = recallplug:plugin\n")
    log = tmp_path / "hooks.log"
    (site / "recallplug.py").write_text(
        f"import pathlib\nLOG = pathlib.Path({str(log)!r})\n"
        "def plugin(pypm):\n"
        "    pypm.hook('post-lock', lambda context: LOG.open('a').write(context.stage + '\\n') and None)\n")
    (root / "pylock.toml").unlink()
    line, said = probe_lock(root, {**env, "PYTHONPATH": os.pathsep.join([str(site), env["PYTHONPATH"]])})
    assert line.startswith("0 "), said
    assert log.read_text().splitlines() == ["post-lock"]
    assert (root / "pylock.toml").read_bytes() == first


def test_the_count_said_is_that_of_the_lock_written(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """Another copy of the project, locked once its pages were stale, replaced the
    remembered resolution both share (alpha 2.0, which needs beta): the lock written again
    is that one, and so is the count the line gives."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_PAGE_TTL": "4"}
    first, second = (project_with(tmp_path / name, ["alpha"]) for name in ("first", "second"))
    lock(run_pypm, first, index, env=env)
    assert recorded(first).is_file()
    build_wheel(DistSpec("alpha", "2.0", requires=["beta"]), index.files_dir)
    build_wheel(DistSpec("beta", "1.0"), index.files_dir)
    time.sleep(4.1)  # the pages the first lock stored are stale now
    assert "Locked 3 packages" in lock(run_pypm, second, index, env=env).stderr
    (first / "pylock.toml").unlink()
    line, said = probe_lock(first, {**pypm_env, "PYPM_INDEX_URL": index.url, **env})
    assert line == "0 []", said  # written again from the record, within the pages' 4 seconds
    assert said.strip() == "Locked 3 packages in pylock.toml"
    assert (first / "pylock.toml").read_bytes() == (second / "pylock.toml").read_bytes()
