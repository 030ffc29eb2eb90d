"""The repeated no-op answers from the recorded verdict (pypm/graph/noop_verdict.py).

The freshness tests (tests/test_freshness.py) already run through it: their fixture's
no-op records a verdict, and each test then changes one input and expects work. These
tests add what is particular to the record: it is used (no TOML read), it is complete
(every file and variable the full check reads is in it), and what only it watches
(a member appearing under a glob, a settings variable, the working directory, pypm's
own code) is seen.
"""

from __future__ import annotations

import builtins
import io
import marshal
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import pytest

from pypm.graph.context import GraphContext
from pypm.graph.fastpath import try_fast_path
from pypm.graph.freshness import stale_operations
from pypm.graph.noop_verdict import STATE_DIR, VERDICT_FILE, verdict_holds
from tests.workspaces import write

UP_TO_DATE = "All up to date"
HEAVY = ("tomllib", "pathlib", "json", "re", "typing", "hashlib", "doit", "httpx", "packaging")


def read_record(root: Path) -> dict:
    return marshal.loads((root / STATE_DIR / VERDICT_FILE).read_bytes())


def write_record(root: Path, record: dict) -> None:
    (root / STATE_DIR / VERDICT_FILE).write_bytes(marshal.dumps(record))


def test_repeated_no_op_reads_no_toml(synced_workspace: Path, pypm_env: dict[str, str], workspace_env) -> None:
    assert (synced_workspace / STATE_DIR / VERDICT_FILE).is_file()
    code = (
        "import sys; from pypm.cli.main import main; code = main(['lock', 'sync']); "
        f"print(code, sorted(set(sys.modules) & set({HEAVY!r})))"
    )
    environ = {**pypm_env, **workspace_env}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=synced_workspace, env=environ, capture_output=True, text=True
    )
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr
    assert UP_TO_DATE in out.stderr


def test_member_added_under_a_glob_is_seen(synced_workspace: Path, workspace_env: dict[str, str], run_pypm) -> None:
    write(synced_workspace / "packages/extra/pyproject.toml", """
        [project]
        name = "extra"
        version = "1.0"
        dependencies = ["delta"]
    """)
    result = run_pypm("lock", "sync", cwd=synced_workspace, env_extra=workspace_env)
    assert UP_TO_DATE not in result.stderr
    assert "+ delta 1.0" in result.stdout + result.stderr
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced_workspace, env_extra=workspace_env).stderr


def test_settings_variable_is_seen(synced_workspace: Path, workspace_env: dict[str, str], run_pypm) -> None:
    copied = {**workspace_env, "PYPM_LINK_MODE": "copy"}
    assert UP_TO_DATE not in run_pypm("sync", cwd=synced_workspace, env_extra=copied).stderr
    assert UP_TO_DATE in run_pypm("sync", cwd=synced_workspace, env_extra=copied).stderr


def test_record_of_another_directory_is_not_used(synced_workspace: Path, pypm_env, workspace_env, tmp_path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(synced_workspace, moved, symlinks=True)
    old = os.getcwd()
    try:
        os.chdir(moved)
        assert not verdict_holds(["lock"])
        os.chdir(synced_workspace)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in {**pypm_env, **workspace_env}.items():
                patch.setenv(name, value)
            assert verdict_holds(["lock", "sync"])
    finally:
        os.chdir(old)


@pytest.mark.parametrize("field", ["code", "files", "listings", "python", "pypm", "env"])
def test_any_changed_observation_falls_back(
    synced_workspace: Path, pypm_env, workspace_env, field: str, monkeypatch
) -> None:
    """Change one recorded observation: the verdict no longer holds (and the record of
    the unchanged state does, so the check is not vacuous)."""
    monkeypatch.chdir(synced_workspace)
    for name, value in {**pypm_env, **workspace_env}.items():
        monkeypatch.setenv(name, value)
    record = read_record(synced_workspace)
    assert verdict_holds(["lock", "sync"]) and verdict_holds(["lock"])
    if isinstance(record[field], dict):
        assert record[field], f"nothing recorded under {field}"
        key = sorted(record[field])[0]
        record[field][key] = "changed"
    else:
        record[field] = "changed"
    write_record(synced_workspace, record)
    assert not verdict_holds(["lock"])


def test_operations_not_covered_fall_back(synced_workspace: Path, pypm_env, workspace_env, monkeypatch) -> None:
    monkeypatch.chdir(synced_workspace)
    for name, value in {**pypm_env, **workspace_env}.items():
        monkeypatch.setenv(name, value)
    record = read_record(synced_workspace)
    record["operations"] = ["lock"]
    write_record(synced_workspace, record)
    assert verdict_holds(["lock"])
    assert not verdict_holds(["sync"])


class _RecordingEnviron(MutableMapping):
    """os.environ that remembers every name read."""

    def __init__(self, real: MutableMapping[str, str], names: set[str]) -> None:
        self.real, self.names = real, names

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self.real[name]

    def __contains__(self, name: object) -> bool:
        self.names.add(str(name))
        return name in self.real

    def __setitem__(self, name: str, value: str) -> None:
        self.real[name] = value

    def __delitem__(self, name: str) -> None:
        del self.real[name]

    def __iter__(self) -> Iterator[str]:
        self.names.add("<every variable>")
        return iter(self.real)

    def __len__(self) -> int:
        return len(self.real)


def _link_chain(path: str) -> list[str]:
    """The links ``os.path.realpath(path)`` passes through (each looked at with lstat)."""
    chain = []
    while os.path.islink(path) and len(chain) < 40:
        chain.append(path)
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    return chain


@pytest.mark.parametrize("settings_file", ["named-by-variable", "default-place"])
def test_record_holds_every_input_the_full_check_reads(
    synced_workspace: Path, pypm_env, workspace_env, monkeypatch, tmp_path: Path, settings_file: str
) -> None:
    """Trace the full check: each file it opens or looks at, each directory it lists and
    each variable it reads must be one the record compares (or re-checks through the
    stamp), so that a verdict cannot outlive a change the full check would see."""
    monkeypatch.chdir(synced_workspace)
    for name, value in {**pypm_env, **workspace_env}.items():
        monkeypatch.setenv(name, value)
    if settings_file == "default-place":
        monkeypatch.delenv("PYPM_CONFIG_FILE")
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
        monkeypatch.setenv("APPDATA", str(tmp_path / "appdata"))
        assert try_fast_path(["lock", "sync", "-q"])  # the full check, recording the verdict in this environment
    record = read_record(synced_workspace)
    opened: set[str] = set()
    looked_at: set[str] = set()
    listed: set[str] = set()
    names: set[str] = set()

    def tracing(function, seen):
        def traced(path, *args, **kwargs):
            if not isinstance(path, int):
                seen.add(os.path.abspath(os.fspath(path)))
            return function(path, *args, **kwargs)
        return traced

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "open", tracing(builtins.open, opened))
        patch.setattr(io, "open", tracing(io.open, opened))
        patch.setattr(os, "stat", tracing(os.stat, looked_at))
        patch.setattr(os, "lstat", tracing(os.lstat, looked_at))
        patch.setattr(os, "scandir", tracing(os.scandir, listed))
        patch.setattr(os, "listdir", tracing(os.listdir, listed))
        patch.setattr(os, "environ", _RecordingEnviron(os.environ, names))
        ctx = GraphContext.load(Path.cwd())
        assert stale_operations(ctx, ["lock", "sync"], prepare=False) == []

    stamp_dirs = set(record["venv-stamp"]["environment"])
    interpreter = record["venv-info"]
    base = os.path.realpath(interpreter.get("base") or interpreter["executable"])
    interpreter_files = {interpreter["executable"], base, *_link_chain(interpreter["executable"])}
    # the replay resolves the interpreter's links again (pypm.operations.venv_state.interpreter_state)
    venv_files = interpreter_files | {str(parent) for path in interpreter_files for parent in Path(path).parents}
    ancestors = {str(synced_workspace), *map(str, synced_workspace.parents)}
    for path in opened:
        assert path in record["files"], f"the full check reads {path}, the record does not compare it"
    for path in looked_at:
        covered = (
            path in record["files"] or path in record["listings"] or os.path.dirname(path) in record["listings"]
            or path in stamp_dirs or path in venv_files or path in ancestors or path in record["source-layouts"]
            or any(path.startswith(directory + os.sep) and path.count(os.sep) == directory.count(os.sep) + 1
                   for directory in record["listings"])
        )
        assert covered, f"the full check looks at {path}, the record does not"
    for path in listed:
        assert path in record["listings"] or path in stamp_dirs, f"the full check lists {path}, the record does not"
    assert verdict_holds(["lock", "sync"])
    for name in names:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(name, os.environ.get(name, "") + "-changed")
            assert not verdict_holds(["lock", "sync"]), f"the full check reads ${name}, the record does not"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
@pytest.mark.parametrize(("members", "link", "target"), [
    (["lib"], "lib", "vendor/current/a"),  # a member named by its path
    (["packages/*"], "packages/a", "../vendor/current/a"),  # a member a glob finds
])
def test_a_symlink_on_the_way_to_a_member_pointed_elsewhere_is_seen(
        tmp_path, make_index, run_pypm, members, link, target) -> None:
    """A member reached through symlinks resolves anew on every run: pointing a link on
    the way (not in a directory the globs list) elsewhere changes the member, for the
    no-op verdict and for the lock written again from a remembered resolution."""
    from pypm.testing import DistSpec

    index = make_index([DistSpec("alpha", "1.0"), DistSpec("gamma", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = tmp_path / "ws"
    quoted = ", ".join(f'"{m}"' for m in members)
    write(root / "pyproject.toml", f"[tool.pypm.workspace]\nmembers = [{quoted}]\n")
    for version, dependency in (("v1", "alpha"), ("v2", "gamma")):
        write(root / f"vendor/{version}/a/pyproject.toml", f"""
            [project]
            name = "a"
            version = "1.0"
            requires-python = ">=3.11"
            dependencies = ["{dependency}"]
        """)
    current = root / "vendor/current"
    current.symlink_to("v1")
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    (root / link).symlink_to(target)

    def point_current_at(version: str) -> None:
        current.unlink()
        current.symlink_to(version)

    def locked() -> str:
        return (root / "pylock.toml").read_text()

    run_pypm("lock", cwd=root, env_extra=env)  # no lock there: also remembered for writing it again
    assert UP_TO_DATE in run_pypm("lock", cwd=root, env_extra=env).stderr  # the verdict is recorded
    point_current_at("v2")
    assert UP_TO_DATE not in run_pypm("lock", cwd=root, env_extra=env).stderr
    assert 'name = "gamma"' in locked() and 'name = "alpha"' not in locked()

    run_pypm("lock", cwd=root, env_extra=env)
    (root / "pylock.toml").unlink()
    run_pypm("lock", cwd=root, env_extra=env)  # written from the remembered resolution (gamma)
    (root / "pylock.toml").unlink()
    point_current_at("v1")
    run_pypm("lock", cwd=root, env_extra=env)
    assert 'name = "alpha"' in locked() and 'name = "gamma"' not in locked()


@pytest.mark.parametrize("requested", ["3", "3.12", "3.12.1", "3.13t", "python3", "3..12", ".3", "3.", "²", "٣.١٢",
                                       "3.14rc1", "./py", "pypy3"])
def test_the_verdict_tells_a_version_request_as_the_settings_do(requested: str) -> None:
    """The verdict's import-free rule and the one the stamp and the interpreter search use
    agree: a request one takes for a version and the other for a command would leave PATH
    unobserved while the stamp follows it."""
    from pypm.config import is_version_request
    from pypm.graph.noop_verdict import _is_version_request

    assert _is_version_request(requested) == is_version_request(requested)
