"""``pypm verify`` and the Merkle root in the sync stamp (issue 15, item 2): real index,
real sync, real ``.venv``; the damage is done to the installed files themselves.

Files in ``.venv`` are hardlinks into the store, so editing one in place edits the store
copy too: every test here has its own cache (the ``pypm_env`` fixture), so no other test
sees it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import sys
from base64 import urlsafe_b64decode
from pathlib import Path

import pytest

from pypm.install.merkle import merkle_root
from pypm.testing import DistSpec
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import assert_one_error_line
from tests.workspaces import replace_in, write_project

MODULES = {f"alpha/mod{i}.py": f"VALUE = {i}\n" * (i + 1) for i in range(5)}
SPECS = [
    DistSpec("alpha", "1.0", files={"alpha/__init__.py": "def main():\n    print('hi')\n", **MODULES,
                                    "alpha-1.0.data/scripts/alpha-tool": "#!python\nprint('tool')\n"},
             entry_points={"alpha-cli": "alpha:main"}),
    DistSpec("alpha", "2.0"),
    DistSpec("beta", "1.1"),
]


@pytest.fixture
def synced(tmp_path: Path, make_index, run_pypm: RunPypm) -> tuple[Path, dict[str, str]]:
    """A project (installed editable) needing alpha 1.0 (modules, an entry point, a
    ``#!python`` data script) and beta, locked and synced: (root, env)."""
    env = {"PYPM_INDEX_URL": make_index(SPECS).url}
    root = write_project(tmp_path / "proj", ["alpha==1.0", "beta"], requires_python=">=3.10")
    run_pypm("sync", cwd=root, env_extra=env)
    return root, env


def site(root: Path) -> Path:
    (found,) = (root / ".venv").glob("lib/python3*/site-packages")
    return found


def site_label(root: Path) -> str:
    return site(root).relative_to(root).as_posix()


def verify(run_pypm: RunPypm, root: Path, env: dict[str, str], *args: str):
    return run_pypm("verify", *args, cwd=root, env_extra=env, check=False)


def stamp(root: Path) -> dict:
    return json.loads((root / ".venv" / ".pypm-sync.json").read_text())


def reference_root(venv: Path) -> str:
    """The Merkle root of the module docstring of pypm.install.merkle, computed here
    from the RECORD files with a plain recursive reading of the convention."""
    leaves = {}
    for record in venv.glob("lib/python3*/site-packages/*.dist-info/RECORD"):
        with record.open(newline="") as handle:
            for path, digest, _size in csv.reader(handle):
                if digest and not path.endswith(".pyc"):
                    encoded = digest.split("=", 1)[1]
                    full = (record.parent.parent / path).resolve()
                    leaves[full.relative_to(venv.resolve()).as_posix()] = urlsafe_b64decode(encoded + "==").hex()
    nodes = [hashlib.sha256(f"{p}\0{d}".encode()).digest() for p, d in sorted(leaves.items())]

    def up(level: list[bytes]) -> bytes:
        if len(level) == 1:
            return level[0]
        pairs = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        return up(pairs + ([level[-1]] if len(level) % 2 else []))

    return up(nodes).hex()


def test_fresh_sync_verifies_and_its_stamp_records_the_root(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    recorded = stamp(root)["merkle-root"]
    assert recorded == reference_root(root / ".venv")
    proc = verify(run_pypm, root, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [f"Merkle root holds: {recorded}"]
    assert "Verified" in proc.stderr and "of 3 distributions" in proc.stderr and "no differences" in proc.stderr
    script = (root / ".venv" / "bin" / "alpha-tool").read_bytes()
    assert script.startswith(f"#!{(root / '.venv').resolve()}".encode())  # the shebang was rewritten
    record = next((root / ".venv").glob("lib/python3*/site-packages/alpha-1.0.dist-info/RECORD")).read_text()
    row = next(line for line in record.splitlines() if line.split(",")[0].endswith("bin/alpha-tool"))
    digest = base64.urlsafe_b64encode(hashlib.sha256(script).digest()).decode().rstrip("=")
    assert row.split(",")[1:] == [f"sha256={digest}", str(len(script))], "RECORD hashes the file as written"
    # the Merkle root is outside the stamp's inputs: the next sync is still a no-op
    assert "All up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr


def test_changed_byte_deleted_file_and_dropped_file_are_each_reported(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    recorded = stamp(root)["merkle-root"]
    packages = site(root)
    changed = packages / "alpha" / "mod3.py"
    data = bytearray(changed.read_bytes())
    data[5] ^= 1
    with changed.open("r+b") as handle:  # in place: the same size, one bit of one byte
        handle.write(data)
    (packages / "beta" / "__init__.py").unlink()
    (packages / "dropped.py").write_text("import os\n")
    (packages / "__pycache__").mkdir(exist_ok=True)
    (packages / "__pycache__" / "dropped.cpython-311.pyc").write_bytes(b"python writes these")
    (packages / "__pycache__" / "dropped.cpython-311.pyc.140031").write_bytes(b"and its temporary files")
    (packages / "alpha" / "mod0.cpython-311.pyc").write_bytes(b"or a .pyc beside its module")
    proc = verify(run_pypm, root, env)
    assert proc.returncode == 1
    label = site_label(root)
    assert proc.stdout.splitlines()[:-1] == [
        f"modified {label}/alpha/mod3.py (alpha 1.0)",
        f"removed {label}/beta/__init__.py (beta 1.1)",
        f"added {label}/dropped.py",
    ]
    assert proc.stdout.splitlines()[-1].startswith(f"Merkle root changed: recorded {recorded}, now ")
    assert "1 modified, 1 removed, 1 added" in proc.stderr


def test_json_report(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    module = site(root) / "alpha" / "mod1.py"
    module.write_bytes(module.read_bytes() + b"# appended\n")
    proc = verify(run_pypm, root, env, "--json")
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["ok"] is False and report["venv"] == ".venv"
    assert report["counts"] == {"modified": 1, "removed": 0, "added": 0, "origin": 0}
    (difference,) = report["differences"]
    relative = module.relative_to(root / ".venv").as_posix()
    assert difference["kind"] == "modified" and difference["path"] == relative
    assert (difference["distribution"], difference["version"]) == ("alpha", "1.0")
    assert difference["found"] == {"sha256": hashlib.sha256(module.read_bytes()).hexdigest(),
                                   "size": module.stat().st_size}
    assert difference["expected"]["size"] == module.stat().st_size - len(b"# appended\n")
    merkle = report["merkle-root"]
    assert merkle["recorded"] == stamp(root)["merkle-root"] and merkle["holds"] is False
    assert merkle["computed"] != merkle["recorded"]
    names = {d["name"]: d for d in report["distributions"]}
    assert set(names) == {"alpha", "beta", "proj"}
    assert names["alpha"]["files"] == report["files"] - names["beta"]["files"] - names["proj"]["files"]
    assert names["proj"]["origin"]["editable"] is True
    assert names["proj"]["origin"]["url"] in (root.resolve().as_uri(), root.as_uri())
    locked = {p["name"]: p for p in _lock(root)["packages"]}
    assert names["beta"]["origin"]["wheel-sha256"] == locked["beta"]["wheels"][0]["hashes"]["sha256"]


def _lock(root: Path) -> dict:
    import tomllib

    return tomllib.loads((root / "pylock.toml").read_text())


def test_a_lock_that_moved_on_without_a_sync_is_an_origin_difference(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    replace_in(root / "pyproject.toml", '"alpha==1.0"', '"alpha==2.0"')
    run_pypm("lock", cwd=root, env_extra=env)
    proc = verify(run_pypm, root, env)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "origin alpha 1.0: installed, but pylock.toml locks 2.0"
    assert proc.stdout.splitlines()[-1].startswith("Merkle root holds")  # the files are as the sync left them
    run_pypm("sync", cwd=root, env_extra=env)
    assert verify(run_pypm, root, env).returncode == 0


def test_another_wheel_an_unlocked_and_a_missing_distribution(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    packages = site(root)
    pointer = packages / "alpha-1.0.dist-info" / "pypm-store.json"
    pointer.write_text(json.dumps({"store": "0" * 64}))  # as if installed from another wheel
    for path in sorted((packages / "beta-1.1.dist-info").iterdir()):
        path.unlink()
    (packages / "beta-1.1.dist-info").rmdir()
    zeta = packages / "zeta-0.1.dist-info"
    zeta.mkdir()
    (zeta / "METADATA").write_text("Metadata-Version: 2.1\nName: zeta\nVersion: 0.1\n")
    (zeta / "RECORD").write_text("zeta-0.1.dist-info/METADATA,,\nzeta-0.1.dist-info/RECORD,,\n")
    lines = verify(run_pypm, root, env).stdout.splitlines()
    label = site_label(root)
    assert f"modified {label}/alpha-1.0.dist-info/pypm-store.json (alpha 1.0)" in lines
    assert "origin alpha 1.0: installed from wheel sha256 0000000000000000..., pylock.toml locks " in "\n".join(lines)
    assert "origin beta 1.1: locked but not installed" in lines
    assert f"added {label}/beta/__init__.py" in lines  # no RECORD lists it any more
    assert "origin zeta 0.1: installed but not locked for this environment" in lines
    assert lines[-1].startswith("Merkle root changed")


def test_an_editable_member_installed_from_elsewhere(synced, run_pypm: RunPypm, tmp_path: Path) -> None:
    root, env = synced
    direct_url = site(root) / "proj-1.0.dist-info" / "direct_url.json"
    elsewhere = (tmp_path / "elsewhere").as_uri()
    direct_url.write_text(json.dumps({"url": elsewhere, "dir_info": {"editable": True}}))
    lines = verify(run_pypm, root, env).stdout.splitlines()
    assert f"modified {site_label(root)}/proj-1.0.dist-info/direct_url.json (proj 1.0)" in lines
    (origin,) = [line for line in lines if line.startswith("origin")]
    assert origin.startswith("origin proj 1.0: locked editable from file://") and origin.endswith(elsewhere)


def test_a_rewritten_script_matches_only_with_this_environments_interpreter(synced, run_pypm: RunPypm) -> None:
    """A ``#!python`` script is rewritten for ``.venv``'s interpreter when linked; any other
    first line is a modification."""
    root, env = synced
    script = root / ".venv" / "bin" / "alpha-tool"
    assert verify(run_pypm, root, env).returncode == 0
    _first, rest = script.read_text().split("\n", 1)
    script.write_text(f"#!{sys.executable}\n{rest}")
    lines = verify(run_pypm, root, env).stdout.splitlines()
    assert lines[0] == "modified .venv/bin/alpha-tool (alpha 1.0)"


def test_no_environment_and_no_stamp_are_one_line_errors(synced, run_pypm: RunPypm, tmp_path: Path) -> None:
    root, env = synced
    (root / ".venv" / ".pypm-sync.json").unlink()
    line = assert_one_error_line(verify(run_pypm, root, env), exit_code=1)
    assert "no sync stamp" in line and "pypm sync" in line
    other = write_project(tmp_path / "other", ["beta"], requires_python=">=3.10")
    line = assert_one_error_line(verify(run_pypm, other, env), exit_code=2)
    assert "no environment at" in line and "pypm sync" in line


def test_a_named_environment(tmp_path: Path, make_index, run_pypm: RunPypm) -> None:
    env = {"PYPM_INDEX_URL": make_index(SPECS).url, "PYPM_ENVS_DIR": str(tmp_path / "envs")}
    run_pypm("env", "create", "tools", "alpha==1.0", "beta", cwd=tmp_path, env_extra=env)
    proc = verify(run_pypm, tmp_path, env, "--env", "tools")
    assert proc.returncode == 0 and proc.stdout.startswith("Merkle root holds"), proc.stdout + proc.stderr
    (module,) = (tmp_path / "envs" / "tools" / ".venv").glob("lib/python3*/site-packages/alpha/mod0.py")
    module.unlink()
    proc = verify(run_pypm, tmp_path, env, "--env", "tools")
    assert proc.returncode == 1 and proc.stdout.startswith("removed ") and "alpha/mod0.py (alpha 1.0)" in proc.stdout


def test_merkle_root_convention() -> None:
    """Sorted by path whatever the order given; an odd node goes up unchanged; no leaves
    is sha256 of nothing; a path or digest change changes the root."""
    def h(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    files = [("b", "2" * 64), ("a", "1" * 64), ("c", "3" * 64)]
    leaves = [h(f"{p}\0{d}".encode()) for p, d in sorted(files)]
    assert merkle_root(files) == h(h(leaves[0] + leaves[1]) + leaves[2]).hex()
    assert merkle_root(reversed(files)) == merkle_root(files)
    assert merkle_root([files[0]]) == leaves[1].hex()
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    assert merkle_root([*files[:2], ("c", "4" * 64)]) != merkle_root(files)
    assert merkle_root([*files[:2], ("d", "3" * 64)]) != merkle_root(files)


_PARTS = ["pkg", "a.py", ".hidden", "..", ".", "", "x:y", "b\\c", "bin", "__init__.py"]


@pytest.mark.parametrize("parts", [(a, b) for a in _PARTS for b in _PARTS] + [("..", "..", "..", "bin", "tool")])
def test_record_paths_read_quickly_are_the_normalised_paths(tmp_path: Path, parts: tuple[str, ...]) -> None:
    """Plain RECORD paths take a quick way to their absolute and environment-relative
    forms; every path, plain or not, gets what normalising the joined path gives."""
    import os

    from pypm.install.record_check import recorded_files

    env_root = tmp_path / "env"
    site = env_root / "lib" / "site-packages"
    for name in ("/".join(parts), "/" + "/".join(parts), "/".join(parts) + "/"):
        if not name.strip("/"):
            continue
        [found] = recorded_files(str(site / "d-1.dist-info"), [(name, "sha256=AAAA", "3")], str(env_root))
        expected = os.path.normpath(name if os.path.isabs(name) else os.path.join(site, name))
        assert found.path == expected, name
        assert found.relative == Path(os.path.relpath(expected, env_root)).as_posix(), name


def test_reinstall_puts_back_what_verify_found_changed(synced, run_pypm: RunPypm) -> None:
    """A file edited in place (through the hardlink: the store's copy changed too) is not
    seen by a plain sync, as with uv; verify names the command that repairs it, and
    ``--reinstall-package`` installs it again from a store entry repaired from the wheel."""
    root, env = synced
    changed = site(root) / "alpha" / "mod3.py"
    original = changed.read_bytes()
    with changed.open("ab") as handle:
        handle.write(b"BROKEN = 1\n")
    proc = verify(run_pypm, root, env)
    assert proc.returncode == 1
    assert "hint: run `pypm sync --reinstall-package alpha` to install again" in proc.stderr, proc.stderr
    assert "up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr.lower()
    dry = run_pypm("sync", "--reinstall-package", "alpha", "--dry-run", cwd=root, env_extra=env).stdout
    assert "reinstall requested" in dry, dry
    synced_again = run_pypm("sync", "--reinstall-package", "ALPHA", cwd=root, env_extra=env)
    assert "1 installed, 0 removed" in synced_again.stderr, synced_again.stderr
    assert changed.read_bytes() == original and verify(run_pypm, root, env).returncode == 0
    everything = run_pypm("lock", "sync", "--reinstall", cwd=root, env_extra=env).stderr
    assert "3 installed, 0 removed, 0 unchanged" in everything, everything
    line = assert_one_error_line(
        run_pypm("sync", "--reinstall-package", "nosuch", cwd=root, env_extra=env, check=False), 2)
    assert "nosuch" in line
