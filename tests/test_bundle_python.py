"""``pypm bundle --with-python``: the bundle carries the interpreter, and installs and
runs after the interpreter it was made from is gone from PATH and from its place."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from pypm.bundle import install_script
from pypm.bundle.archive import write_archive
from pypm.bundle.install_script import current_target, describe_tree, merkle_root, render_manifest
from pypm.bundle.python_prefix import PythonPackError, describe_base, pack_interpreter
from pypm.testing import DistSpec
from tests.test_bundle import EPOCH, example, no_network  # noqa: F401 - the fixture
from tests.test_bundle_installer import make_bad_wheel
from tests.workspaces import lone_flit_project

pytestmark = pytest.mark.skipif(os.name == "nt", reason="install.sh and ELF relocation are POSIX paths")


def test_with_python_installs_after_the_interpreter_is_moved_away(example, tmp_path: Path,  # noqa: F811
                                                                   run_pypm) -> None:
    project, env, _archive, _index = example
    interpreter = tmp_path / "python-copy"
    executable = interpreter / pack_interpreter(describe_base(Path(sys.executable)), interpreter)
    if sys.platform.startswith("linux") and shutil.which("ldd"):
        linked = subprocess.run(["ldd", str(executable)], capture_output=True, text=True).stdout
        library = [line for line in linked.splitlines() if "libpython" in line]
        assert all(str(interpreter) in line for line in library), f"libpython is not found in the copy: {library}"
    out = tmp_path / "with-python.tar.gz"
    result = run_pypm("bundle", "--with-python", "--python", str(executable), "-o", str(out), cwd=project,
                      env_extra=env)
    assert "Packing the interpreter" in result.stderr

    interpreter.rename(tmp_path / "moved-away")
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with tarfile.open(out) as tar:
        tar.extractall(unpacked, filter="data")
    dest = tmp_path / "deploy"
    bare_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    launcher = (unpacked / "install.sh").read_text()
    machine = os.uname().machine
    foreign = tmp_path / "foreign.sh"
    foreign.write_text(launcher.replace(f'"{machine}"', '"sparc64"'))
    refused = subprocess.run(["sh", str(foreign), str(dest)], capture_output=True, text=True, env=bare_env)
    assert refused.returncode == 1 and f"this machine is {os.uname().sysname} {machine}" in refused.stderr
    assert not dest.exists()
    done = subprocess.run([*no_network(), "sh", str(unpacked / "install.sh"), str(dest)], capture_output=True,
                          text=True, env=bare_env)
    assert done.returncode == 0, done.stderr
    app = subprocess.run([str(dest / "bin" / "acme-app")], capture_output=True, text=True, env=bare_env)
    assert app.returncode == 0, app.stderr
    assert app.stdout.strip() == "xn--bcher-kva.example: 300 cents"
    base = subprocess.run([str(dest / "bin" / "python"), "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True, env=bare_env).stdout.strip()
    assert Path(base).resolve().is_relative_to(dest.resolve()), base


def test_a_system_interpreter_is_refused(tmp_path: Path) -> None:
    base = {"prefix": "/usr", "executable": "/usr/bin/python3", "stdlib": "/usr/lib/python3", "libc": ["", ""]}
    with pytest.raises(PythonPackError, match="system interpreter"):
        pack_interpreter(base, tmp_path / "packed")
    assert not (tmp_path / "packed").exists()


# ---------------------------------------------------------------------------- a crafted or unusual prefix


def packed_copy(directory: Path) -> Path:
    """A relocatable copy of this interpreter, as --with-python packs it; returns its executable."""
    return directory / pack_interpreter(describe_base(Path(sys.executable)), directory)


def lone_project(tmp_path: Path, make_index) -> tuple[Path, dict[str, str]]:
    """The lone flit project (requires alpha) and the environment that bundles it."""
    index = make_index([DistSpec("alpha", "1.0")])
    return lone_flit_project(tmp_path / "lone", index), {"PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": EPOCH}


def test_a_prefix_that_is_a_link_cannot_write_outside_dest(tmp_path: Path, run_pypm) -> None:
    """The reviewer's bundle: prefix ``p`` links to ``d1/d2/d3``, which holds ``l -> ../../..`` (the
    bundle's root, seen from where it lies). Copied to DEST/p, ``l`` would point two levels above
    DEST, and the data-scheme member ``p/l/ESCAPED.txt`` would be written through it."""
    stage = tmp_path / "stage"
    (stage / "d1" / "d2").mkdir(parents=True)
    executable = pack_interpreter(describe_base(Path(sys.executable)), stage / "d1" / "d2" / "d3")
    (stage / "p").symlink_to("d1/d2/d3")
    (stage / "d1" / "d2" / "d3" / "l").symlink_to("../../..")
    shutil.copy(install_script.__file__, stage / "install.py")
    (stage / "wheels").mkdir()
    payload = {"bad-1.0.data/data/p/l/ESCAPED.txt": b"written outside DEST\n"}
    make_bad_wheel(stage / "wheels", "bad-1.0-py3-none-any.whl", payload, payload)
    files, links = describe_tree(stage)  # by hand: build_manifest itself refuses such a prefix now
    manifest = {"format": install_script.FORMAT, "name": "evil", "version": "1", "created-by": "test",
                "source-date-epoch": 0, "target": current_target(),
                "python": {"prefix": "p", "executable": f"p/{executable}"},
                "install": ["wheels/bad-1.0-py3-none-any.whl"], "files": files, "links": links,
                "merkle-root": merkle_root(files, links)}
    (stage / "manifest.json").write_text(render_manifest(manifest))
    archive = tmp_path / "evil.tar.gz"
    write_archive(stage, archive, 0)
    dest = tmp_path / "a" / "b" / "dest"
    dest.parent.mkdir(parents=True)
    result = run_pypm("unbundle", str(archive), str(dest), cwd=tmp_path, check=False)
    assert not (tmp_path / "a" / "ESCAPED.txt").exists(), "written two levels above DEST"
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "python prefix p must be a directory" in result.stderr
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_with_python_is_made_again_when_the_interpreter_changes(tmp_path: Path, make_index, run_pypm) -> None:
    root, env = lone_project(tmp_path, make_index)
    copy = tmp_path / "python-copy"
    args = ("bundle", "--with-python", "--python", str(packed_copy(copy)), "-o", "wp.tar.gz")
    assert "Packing the interpreter" in run_pypm(*args, cwd=root, env_extra=env).stderr
    assert "All up to date (bundle)" in run_pypm(*args, cwd=root, env_extra=env).stderr
    [stdlib] = (copy / "lib").glob("python3.*")
    changed = stdlib / "string.py"
    changed.write_text(changed.read_text() + "\nPYPM_CHANGED = True\n")
    again = run_pypm(*args, cwd=root, env_extra=env)
    assert "Packing the interpreter" in again.stderr and "All up to date" not in again.stderr
    with tarfile.open(root / "wp.tar.gz") as tar:
        packed = tar.extractfile(f"python/lib/{stdlib.name}/string.py").read()
    assert packed.endswith(b"PYPM_CHANGED = True\n")
    assert "All up to date (bundle)" in run_pypm(*args, cwd=root, env_extra=env).stderr


def test_a_link_out_of_the_interpreter_prefix_is_one_error_line(tmp_path: Path, make_index, run_pypm) -> None:
    root, env = lone_project(tmp_path, make_index)
    copy = tmp_path / "python-copy"
    executable = packed_copy(copy)
    (tmp_path / "shared").mkdir()
    (copy / "lib" / "escape").symlink_to("../../shared")
    result = run_pypm("bundle", "--with-python", "--python", str(executable), "-o", "wp.tar.gz", cwd=root,
                      env_extra=env, check=False)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    line = errors[0]
    assert f"{copy / 'lib' / 'escape'} is a symbolic link to ../../shared, outside the interpreter's prefix" in line
    assert "remove that link" in line and "internal error" not in line
    assert not (root / "wp.tar.gz").exists() and not list(root.glob(".pypm-bundle-*"))
