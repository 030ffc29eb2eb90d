"""``pypm export``: requirements.txt that pip installs with ``--require-hashes`` and a
pylock.toml for one selection that pip and uv install, both the same set ``pypm sync``
installs; universal output (every platform's hashes, forked packages with their markers),
the selection options as sync reads them, and one-line refusals.

Everything runs the real CLI against a local index; installs use real pip and uv.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from packaging.pylock import Pylock

from pypm.operations.export import environment_marker
from pypm.testing import DistSpec
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import assert_one_error_line, snapshot
from tests.test_lock_sync import installed
from tests.workspaces import INDEX_SPECS, make_workspace, replace_in

PLATFORM_TAGS = ("py3-none-manylinux_2_17_x86_64", "py3-none-manylinux_2_17_aarch64", "py3-none-win_amd64",
                 "py3-none-macosx_11_0_arm64")
SPECS = [*INDEX_SPECS, *(DistSpec("plat", "1.0", tag=tag) for tag in PLATFORM_TAGS)]
MEMBERS = {"app", "lib"}
FORKED = {"alpha==2.0 ; sys_platform == 'linux'", "alpha==1.0 ; sys_platform != 'linux'"}


@pytest.fixture
def workspace(tmp_path: Path, make_index) -> tuple[Path, dict[str, str]]:
    """make_workspace with a forked ``alpha`` (2.x on Linux, 1.x elsewhere) and ``plat``,
    which has only platform wheels and an sdist; not locked yet: (root, env)."""
    index = make_index(SPECS, sdists=[DistSpec("plat", "1.0")])
    root = make_workspace(tmp_path / "ws")
    replace_in(root / "packages/lib/pyproject.toml", '"alpha>=2"',
               "\"alpha>=2; sys_platform == 'linux'\", \"alpha<2; sys_platform != 'linux'\", \"plat\"")
    return root, {"PYPM_INDEX_URL": index.url}


@pytest.fixture
def locked(workspace, run_pypm: RunPypm) -> tuple[Path, dict[str, str]]:
    """The workspace, locked."""
    root, env = workspace
    run_pypm("lock", cwd=root, env_extra=env)
    return root, env


def requirement_lines(text: str) -> list[str]:
    """The requirement lines (continuations joined, hashes dropped, comments left out)."""
    joined = text.replace(" \\\n", " ")
    lines = [re.sub(r"\s+--hash=\S+", "", line).strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def hashes_of(text: str, name: str) -> set[str]:
    """The ``--hash`` values of ``name``'s line(s)."""
    joined = text.replace(" \\\n", " ")
    return {digest for line in joined.splitlines() if line.startswith(f"{name}==")
            for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line)}


def fresh_venv(path: Path) -> Path:
    """A new virtual environment without pip (pip installs into it with ``--python``)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def pip_install(venv: Path, *args: str) -> None:
    """The test environment's pip (>= 26.1: it reads pylock.toml) installs into ``venv``."""
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-cache-dir",
                           "--no-input", *args], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_exports_install_what_sync_installs(workspace, run_pypm: RunPypm, tmp_path: Path) -> None:
    """requirements.txt with ``pip install --require-hashes -r``, and the selection's
    pylock with pip and with uv, each install exactly what ``pypm sync`` installs for the
    same selection (less the members, which an export leaves out)."""
    uv = pytest.importorskip("uv")
    root, env = workspace
    selection = ["--extra", "cli", "--no-dev"]
    out = run_pypm("export", *selection, "-o", "requirements.txt", cwd=root, env_extra=env)
    assert "Locked" in out.stderr  # no lock yet: export locked first, as sync does
    run_pypm("export", *selection, "-o", "pylock.cli.toml", cwd=root, env_extra=env)  # the format from the name
    run_pypm("sync", *selection, cwd=root, env_extra=env)
    synced = installed(root / ".venv")
    assert MEMBERS <= set(synced) and "devtool" not in synced and synced["alpha"] == "2.0"
    expected = {name: version for name, version in synced.items() if name not in MEMBERS}

    pip_venv = fresh_venv(tmp_path / "pip-req")
    pip_install(pip_venv, "--require-hashes", "--index-url", env["PYPM_INDEX_URL"], "-r",
                str(root / "requirements.txt"))
    assert installed(pip_venv) == expected

    pip_lock_venv = fresh_venv(tmp_path / "pip-lock")
    pip_install(pip_lock_venv, "-r", str(root / "pylock.cli.toml"))
    assert installed(pip_lock_venv) == expected

    uv_venv = fresh_venv(tmp_path / "uv-lock")
    uv_env = {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1", "PATH": os.environ.get("PATH", "")}
    subprocess.run([uv.find_uv_bin(), "pip", "install", "-q", "--python", str(uv_venv / "bin" / "python"),
                    "-r", str(root / "pylock.cli.toml")], check=True, env=uv_env)
    assert installed(uv_venv) == expected


def test_requirements_are_universal(locked, run_pypm: RunPypm) -> None:
    """Every platform's lines and hashes: a package with platform wheels lists the hash
    of every wheel and of the sdist; a forked package gives one line per version with
    disjoint markers; members are comments; the header names the selection."""
    root, env = locked
    text = run_pypm("export", cwd=root, env_extra=env).stdout
    lock = {(p["name"], p.get("version")): p for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]}
    plat = lock["plat", "1.0"]
    every_file = {w["hashes"]["sha256"] for w in plat["wheels"]} | {plat["sdist"]["hashes"]["sha256"]}
    assert len(every_file) == len(PLATFORM_TAGS) + 1 and hashes_of(text, "plat") == every_file
    lines = requirement_lines(text)
    assert FORKED <= set(lines)
    assert "beta==1.1 ; sys_platform == 'linux'" in lines and "tomli==2.0.1 ; python_version < '3.11'" in lines
    assert lines == sorted(lines, key=lambda line: line.split("==")[0])
    assert not any("in extras" in line or "dependency_groups" in line for line in lines)
    assert text.startswith("# This file was generated by pypm from pylock.toml")
    assert "# groups: dev; extras: none" in text.splitlines()
    for member in MEMBERS:
        assert f"# member {member}: not exported (install it from its source or a built wheel)" in text
    assert {line.split("==")[0].split(" ")[0] for line in lines} == {
        "alpha", "beta", "devtool", "gamma", "plat", "tomli"}  # dev by default; the extra not asked for


def test_selection_and_no_hashes(locked, run_pypm: RunPypm) -> None:
    """The selection options mean what they mean for sync; --no-hashes writes members as
    ``-e`` lines relative to the output file (as uv export does), unless --no-members."""
    root, env = locked

    def names(*args: str) -> set[str]:
        text = run_pypm("export", "--frozen", *args, cwd=root, env_extra=env).stdout
        return {line.split("==")[0].split(" ")[0] for line in requirement_lines(text)}

    common = {"alpha", "beta", "gamma", "plat", "tomli"}
    assert names("--no-dev") == common
    assert names("--no-dev", "--extra", "cli") == names("--no-dev", "--extra", "app:cli") == common | {"extrapkg"}
    assert names("--all-extras", "--all-groups") == common | {"extrapkg", "devtool"}
    # as for sync (and uv): only the group and what it needs, not the members nor their dependencies
    assert names("--only-group", "dev") == {"devtool"}
    (root / "out").mkdir()
    run_pypm("export", "--no-hashes", "--no-dev", "-o", "out/req.txt", cwd=root, env_extra=env)
    text = (root / "out/req.txt").read_text()
    assert "--hash" not in text
    lines = requirement_lines(text)
    assert lines[:2] == ["-e ../packages/app", "-e ../packages/lib"] and FORKED <= set(lines)
    elsewhere = root.parent / "elsewhere"
    elsewhere.mkdir()
    run_pypm("--project", str(root), "export", "--no-hashes", "--no-dev", "-o", "out/req2.txt", cwd=elsewhere,
             env_extra=env)  # -o is relative to --project, as if started there
    assert (root / "out/req2.txt").read_text() == text and not (elsewhere / "out").exists()
    no_members = run_pypm("export", "--no-hashes", "--no-members", cwd=root, env_extra=env).stdout
    assert "-e " not in no_members and "# member app: not exported" in no_members


def test_pylock_for_one_selection(locked, run_pypm: RunPypm) -> None:
    """A valid PEP 751 lock: selection terms decided (environment markers kept), no
    groups or extras left, no directory entries, members named on stderr and in a comment."""
    root, env = locked
    proc = run_pypm("export", "--format", "pylock", "--extra", "cli", "--no-dev", cwd=root, env_extra=env)
    assert "Left out the workspace members app, lib" in proc.stderr
    assert "# member lib: not exported" in proc.stdout
    data = tomllib.loads(proc.stdout)
    Pylock.from_dict(data).validate()
    assert data["created-by"] == "pypm" and data["requires-python"] == ">=3.10"
    assert not {"extras", "dependency-groups", "default-groups", "tool"} & set(data)
    packages = {(p["name"], p["version"]): p for p in data["packages"]}
    assert not any("directory" in p for p in data["packages"])
    assert set(packages) == {("alpha", "1.0"), ("alpha", "2.0"), ("beta", "1.1"), ("extrapkg", "1.0"),
                             ("gamma", "1.0"), ("plat", "1.0"), ("tomli", "2.0.1")}
    assert "marker" not in packages["extrapkg", "1.0"]  # 'cli' in extras, decided
    assert packages["alpha", "1.0"]["marker"] == "sys_platform != 'linux'"
    assert len(packages["plat", "1.0"]["wheels"]) == len(PLATFORM_TAGS) and "sdist" in packages["plat", "1.0"]


def test_frozen_locked_and_stale(locked, run_pypm: RunPypm) -> None:
    """A stale lock is re-locked first; --frozen exports it as it is; --locked fails (exit 1)."""
    root, env = locked
    replace_in(root / "packages/app/pyproject.toml", '"gamma"', '"gamma", "beta==1.0"')
    stale = (root / "pylock.toml").read_bytes()
    assert "beta==1.1" in run_pypm("export", "--frozen", cwd=root, env_extra=env).stdout
    assert (root / "pylock.toml").read_bytes() == stale
    line = assert_one_error_line(run_pypm("export", "--locked", cwd=root, env_extra=env, check=False), exit_code=1)
    assert "out of date" in line
    assert "beta==1.0" in run_pypm("export", cwd=root, env_extra=env).stdout
    assert (root / "pylock.toml").read_bytes() != stale


def test_output_file_is_written_atomically_and_never_over_a_non_file(locked, run_pypm: RunPypm) -> None:
    """An export replaces an earlier export, never a file it did not write (pyproject.toml,
    a hand-written requirements file) nor what is no regular file."""
    root, env = locked
    (root / "README.md").write_text("mine\n")
    for name in ("pyproject.toml", "README.md"):
        before = (root / name).read_bytes()
        line = assert_one_error_line(run_pypm("export", "-o", name, cwd=root, env_extra=env, check=False), 2)
        assert "pypm export did not write it" in line and (root / name).read_bytes() == before
    run_pypm("export", "-o", "req.txt", cwd=root, env_extra=env)
    assert (root / "req.txt").read_text().startswith("# This file was generated by pypm")
    run_pypm("export", "--no-dev", "-o", "req.txt", cwd=root, env_extra=env)  # its own export: replaced
    assert "devtool" not in (root / "req.txt").read_text()
    (root / "adir").mkdir()
    line = assert_one_error_line(run_pypm("export", "-o", "adir", cwd=root, env_extra=env, check=False), 2)
    assert "adir" in line and "directory" in line
    if os.name != "nt":
        (root / "link.txt").symlink_to(root / "req.txt")
        before = (root / "req.txt").read_bytes()
        assert "symbolic link" in assert_one_error_line(
            run_pypm("export", "-o", "link.txt", cwd=root, env_extra=env, check=False), 2)
        assert (root / "link.txt").is_symlink() and (root / "req.txt").read_bytes() == before


REFUSED = [
    (["--format", "pylock", "--no-hashes"], "--no-hashes"),
    (["--format", "yaml"], "yaml"),
    (["--group", "nosuch"], "nosuch"),
    (["--extra", "nosuch"], "nosuch"),
    (["--extra", "lib:cli"], "lib:cli"),
    (["--frozen", "--upgrade"], "--upgrade"),
    (["--frozen", "--locked"], "--locked"),
    (["--inexact"], "--inexact"),
    (["--python", "3.12"], "--python"),
    (["--format", "pylock"], "pylock.NAME.toml"),  # -o out.txt: no name PEP 751 allows
    (["-o", "pylock.toml"], "own lock"),
    (["-o", "packages"], "directory"),
]


def test_bad_options_one_line_exit_2(locked, run_pypm: RunPypm) -> None:
    """Command-line mistakes: one line, exit 2, nothing written (unknown groups and extras
    reported as sync reports them)."""
    root, env = locked
    before = snapshot(root)
    for argv, fragment in REFUSED:
        proc = run_pypm("export", "-o", "out.txt", *argv, cwd=root, env_extra=env, check=False)
        assert fragment in assert_one_error_line(proc, exit_code=2), argv
    assert snapshot(root) == before


@pytest.mark.parametrize(("marker", "extras", "groups", "expected"), [
    (None, [], [], (True, None)),
    ("sys_platform == 'linux'", [], [], (True, "sys_platform == 'linux'")),
    ("'dev' in dependency_groups", [], ["dev"], (True, None)),
    ("'dev' in dependency_groups", [], [], (False, None)),
    ("'cli' in extras or 'dev' in dependency_groups", ["cli"], [], (True, None)),
    ("('cli' in extras and sys_platform == 'linux') or ('dev' in dependency_groups and python_version < '3.11')",
     [], ["dev"], (True, "python_version < '3.11'")),
    ("('cli' in extras and sys_platform == 'linux') or ('dev' in dependency_groups and python_version < '3.11')",
     ["cli"], [], (True, "sys_platform == 'linux'")),
    ("'a' in extras and 'b' in extras", ["a"], [], (False, None)),
])
def test_environment_marker_decides_only_the_selection(marker, extras, groups, expected) -> None:
    assert environment_marker(marker, extras, groups) == expected
