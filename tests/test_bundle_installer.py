"""The stdlib-only bundle installer (pypm/bundle/install_script.py, shipped in bundles as install.py):
manifest and Merkle root, verification of directories and archives, safe extraction, the target
check, and real installs into new virtual environments run with ``python -I -S install.py``."""

from __future__ import annotations

import ast
import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pypm.bundle import install_script
from pypm.bundle.install_script import (
    BundleError,
    build_manifest,
    check_target,
    current_target,
    describe_tree,
    install,
    merkle_root,
    normalize_machine,
    read_manifest,
    render_manifest,
    safe_extract,
    verify_archive,
    verify_tree,
)
from pypm.testing import DistSpec, build_wheel

SCRIPT = Path(install_script.__file__)
BIN = "Scripts" if os.name == "nt" else "bin"
LIB = DistSpec("greet-lib", "1.0", files={
    "greet_lib/__init__.py": 'def greeting():\n    return "hello from greet-lib"\n',
    "greet_lib-1.0.data/scripts/greet-data": "#!python\nimport greet_lib\n"
                                             "print('data script:', greet_lib.greeting())\n",
    "greet_lib-1.0.data/data/share/greet/README": "shared data\n",
})
APP = DistSpec("hello-app", "2.0", requires=["greet-lib"], entry_points={"hello": "hello_app:main"}, files={
    "hello_app/__init__.py": "import sys\nimport greet_lib\n\n\ndef main():\n"
                             "    print('hello-app says', greet_lib.greeting(), sys.argv[1:])\n",
})
LIB_WHEEL = "wheels/greet_lib-1.0-py3-none-any.whl"
FILTER_MODES = [False, pytest.param(True, marks=pytest.mark.skipif(not hasattr(tarfile, "data_filter"),
                                                                    reason="this Python's tarfile has no data filter"))]


# ---------------------------------------------------------------------------- helpers


def write_manifest(root: Path, target: dict | None = None, python: dict | None = None) -> dict:
    """(Re)write root/manifest.json describing the tree; install every wheel in name order."""
    wheels = sorted(f"wheels/{path.name}" for path in (root / "wheels").glob("*.whl"))
    manifest = build_manifest(root, name="demo", version="1.0", created_by="pypm test", source_date_epoch=1700000000,
                              target=target or current_target(), python=python, install=wheels)
    (root / "manifest.json").write_text(render_manifest(manifest), encoding="utf-8")
    return manifest


def make_bundle(root: Path, wheels: list[Path], target: dict | None = None) -> Path:
    """A bundle directory as pypm lays it out: wheels/, pylock.toml, install.py, manifest.json."""
    (root / "wheels").mkdir(parents=True)
    for wheel in wheels:
        shutil.copy(wheel, root / "wheels" / wheel.name)
    (root / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "pypm"\n', encoding="utf-8")
    shutil.copy(SCRIPT, root / "install.py")
    write_manifest(root, target)
    return root


def make_archive(root: Path, archive: Path) -> Path:
    """Pack the bundle directory ``root`` as a .tar.gz with paths relative to the archive root."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)
    return archive


def run_installer(script: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -I -S install.py ARGS``: isolated, without site-packages, so only the stdlib is importable."""
    return subprocess.run([sys.executable, "-I", "-S", str(script), *args], capture_output=True, text=True,
                          timeout=120)


def assert_refused(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 1 with exactly one ``error:`` line that holds every fragment."""
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def flip_byte(path: Path) -> None:
    """Change one byte in the middle of ``path`` (same size)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def tar_with(archive: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    """A .tar.gz holding exactly ``members`` (info, content for regular files)."""
    with tarfile.open(archive, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return archive


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("wheels")
    return [build_wheel(LIB, directory), build_wheel(APP, directory)]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, wheels: list[Path]) -> Path:
    return make_bundle(tmp_path_factory.mktemp("bundle") / "demo-bundle", wheels)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, bundle: Path) -> Path:
    return make_archive(bundle, tmp_path_factory.mktemp("archive") / "demo-bundle.tar.gz")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, bundle: Path) -> tuple[Path, subprocess.CompletedProcess]:
    dest = tmp_path_factory.mktemp("installed") / "env"
    return dest, run_installer(bundle / "install.py", str(dest))


@pytest.fixture
def tampered(tmp_path: Path, bundle: Path) -> Path:
    """A copy of the bundle with one byte of one wheel changed (the manifest left as it was)."""
    copy = tmp_path / "tampered"
    shutil.copytree(bundle, copy)
    flip_byte(copy / LIB_WHEEL)
    return copy


def run_app(dest: Path, *args: str) -> str:
    command = [str(dest / BIN / "hello.cmd")] if os.name == "nt" else [str(dest / BIN / "hello")]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


# ---------------------------------------------------------------------------- installing


def test_bundle_installs_with_the_standard_library_only(installed: tuple[Path, subprocess.CompletedProcess]) -> None:
    dest, result = installed
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Installed 2 packages into {dest}"
    assert str(dest / BIN / "python") in lines[1]
    assert run_app(dest, "x") == "hello-app says hello from greet-lib ['x']\n"
    version = subprocess.run([str(install_script.venv_python(dest)), "-c",
                              "import importlib.metadata as m; print(m.version('hello-app'), m.version('greet-lib'))"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout == "2.0 1.0\n"


def test_installed_files_are_recorded_and_data_scripts_point_at_the_venv(
        installed: tuple[Path, subprocess.CompletedProcess]) -> None:
    dest, _ = installed
    python = install_script.venv_python(dest)
    [dist_info] = dest.glob("lib/python*/site-packages/greet_lib-1.0.dist-info") if os.name != "nt" \
        else dest.glob("Lib/site-packages/greet_lib-1.0.dist-info")
    assert (dist_info / "INSTALLER").read_text() == "pypm-bundle\n"
    rows = list(csv.reader((dist_info / "RECORD").read_text().splitlines()))
    names = {row[0] for row in rows}
    assert {"greet_lib/__init__.py", "greet_lib-1.0.dist-info/INSTALLER", "greet_lib-1.0.dist-info/RECORD"} <= names
    assert any(name.endswith(f"{BIN}/greet-data") and name.startswith("../") for name in names)
    for name, digest, size in rows:
        if name.endswith("/RECORD"):
            assert (digest, size) == ("", "")
            continue
        data = (dist_info.parent / name).read_bytes()
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert (digest, size) == (f"sha256={expected}", str(len(data))), name
    script = dest / BIN / "greet-data"
    assert script.read_text().splitlines()[0] == f"#!{python}"
    assert (dest / "share" / "greet" / "README").read_text() == "shared data\n"
    if os.name != "nt":
        assert os.access(script, os.X_OK)
        result = subprocess.run([str(script)], capture_output=True, text=True, timeout=60)
        assert result.stdout == "data script: hello from greet-lib\n"


def test_archive_installs_and_leaves_no_scratch_directory(tmp_path: Path, archive: Path, bundle: Path) -> None:
    dest = tmp_path / "new env"  # a space: POSIX launchers then start through /bin/sh
    result = run_installer(bundle / "install.py", "--archive", str(archive), str(dest))
    assert result.returncode == 0, result.stderr
    assert run_app(dest) == "hello-app says hello from greet-lib []\n"
    assert [path.name for path in tmp_path.iterdir()] == ["new env"]


@pytest.mark.parametrize("use_archive", [False, True])
def test_verify_only_reports_the_merkle_root(bundle: Path, archive: Path, use_archive: bool) -> None:
    args = ["--archive", str(archive), "--verify-only"] if use_archive else ["--verify-only"]
    result = run_installer(bundle / "install.py", *args)
    assert result.returncode == 0, result.stderr
    assert read_manifest(bundle)["merkle-root"] in result.stdout
    assert verify_archive(archive) == read_manifest(bundle)


def test_dest_is_required_unless_verifying(bundle: Path) -> None:
    result = run_installer(bundle / "install.py")
    assert result.returncode == 2
    assert "DEST is required" in result.stderr


# ---------------------------------------------------------------------------- refusals before anything is written


@pytest.mark.parametrize("use_archive", [False, True])
@pytest.mark.parametrize("dest_state", ["verify-only", "missing", "empty"])
def test_one_changed_byte_is_refused_and_dest_is_untouched(tmp_path: Path, tampered: Path, use_archive: bool,
                                                          dest_state: str) -> None:
    dest = tmp_path / "env"
    args = ["--verify-only"] if dest_state == "verify-only" else [str(dest)]
    if dest_state == "empty":
        dest.mkdir()
    if use_archive:
        args = ["--archive", str(make_archive(tampered, tmp_path / "tampered.tar.gz")), *args]
    before = {path: path.stat().st_mtime_ns for path in (tmp_path, dest) if path.exists()}
    result = run_installer(tampered / "install.py", *args)
    assert_refused(result, f"{LIB_WHEEL}: sha256 differs from the manifest")
    # nothing was created and removed again, in DEST or beside it (a directory's mtime would show it)
    assert {path: path.stat().st_mtime_ns for path in before} == before
    if dest_state == "empty":
        assert list(dest.iterdir()) == []
    else:
        assert not dest.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["tampered", *(["tampered.tar.gz"] if use_archive else []), *(["env"] if dest_state == "empty" else [])])


def test_an_extra_or_missing_file_is_refused(tmp_path: Path, bundle: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    manifest = read_manifest(copy)
    (copy / "wheels" / "extra.whl").write_bytes(b"not in the manifest")
    with pytest.raises(BundleError, match=r"^wheels/extra\.whl: not listed in the manifest"):
        verify_tree(copy, manifest)
    assert_refused(run_installer(copy / "install.py", str(tmp_path / "env")), "wheels/extra.whl: not listed")
    (copy / "wheels" / "extra.whl").unlink()
    (copy / "pylock.toml").unlink()
    with pytest.raises(BundleError, match=r"^pylock\.toml: missing from the bundle"):
        verify_tree(copy, manifest)
    assert_refused(run_installer(copy / "install.py", "--verify-only"), "pylock.toml: missing from the bundle")
    assert not (tmp_path / "env").exists()


def test_a_manifest_with_a_wrong_merkle_root_or_size_is_refused(tmp_path: Path, bundle: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    manifest = read_manifest(copy)
    with pytest.raises(BundleError, match="merkle-root does not match"):
        verify_tree(copy, dict(manifest, **{"merkle-root": "0" * 64}))
    (copy / "pylock.toml").write_text("changed and longer\n" * 3)
    with pytest.raises(BundleError, match=r"^pylock\.toml: size differs from the manifest \(57 bytes, expected"):
        verify_tree(copy, manifest)


def test_a_non_empty_dest_is_refused_and_left_alone(tmp_path: Path, bundle: Path) -> None:
    dest = tmp_path / "env"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    assert_refused(run_installer(bundle / "install.py", str(dest)), f"{dest}: is not empty; choose a new directory")
    assert [path.name for path in dest.iterdir()] == ["keep.txt"]
    assert (dest / "keep.txt").read_text() == "mine"


def test_manifest_format_and_keys_are_checked(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "pypm-bundle/9"}))
    with pytest.raises(BundleError, match="format is 'pypm-bundle/9', this installer reads pypm-bundle/1"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "pypm-bundle/1", "name": "x"}))
    with pytest.raises(BundleError, match="missing key 'version'"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_manifest(tmp_path)


# ---------------------------------------------------------------------------- failures after DEST was created


def make_bad_wheel(directory: Path, name: str, payload: dict[str, bytes], record: dict[str, bytes]) -> Path:
    """A wheel holding ``payload`` whose RECORD describes ``record`` (so they can disagree)."""
    dist_info = "bad-1.0.dist-info"
    files = dict(payload)
    files[f"{dist_info}/METADATA"] = b"Metadata-Version: 2.1\nName: bad\nVersion: 1.0\n"
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    described = dict(record, **{key: value for key, value in files.items() if key.startswith(dist_info)})
    lines = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
             f"{len(data)}" for path, data in described.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*lines, f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = directory / name
    with zipfile.ZipFile(path, "w") as archive:
        for member_name, data in files.items():
            archive.writestr(member_name, data)
    return path


@pytest.mark.parametrize("dest_exists", [False, True])
def test_a_wheel_that_differs_from_its_record_is_undone(tmp_path: Path, dest_exists: bool) -> None:
    wheel = make_bad_wheel(tmp_path, "bad-1.0-py3-none-any.whl", {"bad/__init__.py": b"x = 1\n"},
                           {"bad/__init__.py": b"x = 2\n"})
    root = make_bundle(tmp_path / "b", [wheel])
    dest = tmp_path / "env"
    if dest_exists:
        dest.mkdir()
    with pytest.raises(BundleError, match=r"bad/__init__\.py differs from the wheel's RECORD"):
        install(root, dest)
    assert (list(dest.iterdir()) == []) if dest_exists else not dest.exists()


def test_a_wheel_member_outside_its_tree_is_refused(tmp_path: Path) -> None:
    wheel = make_bad_wheel(tmp_path, "bad-1.0-py3-none-any.whl", {"../evil.py": b"x = 1\n"}, {"../evil.py": b"x = 1\n"})
    root = make_bundle(tmp_path / "b", [wheel])
    assert_refused(run_installer(root / "install.py", str(tmp_path / "env")), "member ../evil.py has '..' in its path")
    assert not (tmp_path / "env").exists()
    assert not list(tmp_path.rglob("evil.py"))


def entry_point_wheel(directory: Path, entry_points: str) -> Path:
    payload = {"bad/__init__.py": b"def main():\n    print('bad main')\n",
               "bad-1.0.dist-info/entry_points.txt": entry_points.encode()}
    return make_bad_wheel(directory, "bad-1.0-py3-none-any.whl", payload, payload)


def test_gui_and_console_entry_points_get_launchers(tmp_path: Path) -> None:
    wheel = entry_point_wheel(tmp_path, "[console_scripts]\nBad-Cli = bad:main\n[gui_scripts]\nbad-gui = bad:main\n")
    root = make_bundle(tmp_path / "b", [wheel])
    assert install(root, tmp_path / "env") == 1
    for name in ("Bad-Cli", "bad-gui"):
        launcher = tmp_path / "env" / BIN / (f"{name}.cmd" if os.name == "nt" else name)
        result = subprocess.run([str(launcher)], capture_output=True, text=True, timeout=60)
        assert result.stdout == "bad main\n", result.stderr


def test_an_entry_point_that_is_not_module_colon_function_is_refused(tmp_path: Path) -> None:
    wheel = entry_point_wheel(tmp_path, "[console_scripts]\nevil = os;print(1):system\n")
    root = make_bundle(tmp_path / "b", [wheel])
    with pytest.raises(BundleError, match="entry point evil = os;print\\(1\\):system is not 'name = module:function'"):
        install(root, tmp_path / "env")
    assert not (tmp_path / "env").exists()


# ---------------------------------------------------------------------------- unsafe archives


UNSAFE_ARCHIVES = {
    "dotdot": ([(member("../evil"), b"x")], "../evil"),
    "absolute": ([(member("/abs"), b"x")], "/abs"),
    "symlink-absolute": ([(member("passwd", tarfile.SYMTYPE, "/etc/passwd"), None)], "passwd"),
    "symlink-up": ([(member("sub", tarfile.DIRTYPE), None), (member("sub/a", tarfile.SYMTYPE, "../../x"), None)],
                   "sub/a"),
    "hardlink-outside": ([(member("h", tarfile.LNKTYPE, "../outside"), None)], "h"),
    "character-device": ([(member("dev", tarfile.CHRTYPE), None)], "dev"),
    # each link alone stays inside; followed through "u" (-> "..") the second one leaves the tree
    "symlink-chain": ([(member("a/b/u", tarfile.SYMTYPE, ".."), None),
                       (member("a/b/q", tarfile.SYMTYPE, "u/../../.."), None)], "a/b/q"),
    "through-symlink": ([(member("l", tarfile.SYMTYPE, "."), None), (member("l/f"), b"x")], "l/f"),
}


@pytest.mark.parametrize("use_data_filter", FILTER_MODES)
@pytest.mark.parametrize("case", sorted(UNSAFE_ARCHIVES))
def test_safe_extract_refuses_unsafe_members(tmp_path: Path, case: str, use_data_filter: bool) -> None:
    members, name = UNSAFE_ARCHIVES[case]
    archive = tar_with(tmp_path / "evil.tar.gz", [(member("ok.txt"), b"fine"), *members])
    dest = tmp_path / "sandbox" / "dest"
    with pytest.raises(BundleError) as refused:
        safe_extract(archive, dest, use_data_filter=use_data_filter)
    assert str(refused.value).startswith(f"{name}: ") and "\n" not in str(refused.value)
    assert not dest.exists()
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["evil.tar.gz"]


@pytest.mark.parametrize("case", sorted(UNSAFE_ARCHIVES))
def test_verify_archive_refuses_unsafe_members(tmp_path: Path, case: str) -> None:
    members, name = UNSAFE_ARCHIVES[case]
    archive = tar_with(tmp_path / "evil.tar.gz", [(member("ok.txt"), b"fine"), *members])
    with pytest.raises(BundleError, match=f"^{name}: "):
        verify_archive(archive)


def test_duplicate_members_are_refused(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "dup.tar.gz", [(member("a"), b"1"), (member("a"), b"2")])
    with pytest.raises(BundleError, match="^a: appears twice"):
        verify_archive(archive)
    with pytest.raises(BundleError, match="^a: appears twice"):
        safe_extract(archive, tmp_path / "dest", use_data_filter=False)


@pytest.mark.parametrize("use_data_filter", FILTER_MODES)
def test_links_inside_the_tree_survive_archive_and_extraction(tmp_path: Path, use_data_filter: bool) -> None:
    root = tmp_path / "tree"
    (root / "python" / "bin").mkdir(parents=True)
    (root / "python" / "bin" / "python3.11").write_bytes(b"\x7fELF fake")
    (root / "python" / "bin" / "python3").symlink_to("python3.11")
    (root / "python" / "lib").symlink_to("bin")
    (root / "wheels").mkdir()
    manifest = write_manifest(root, python={"prefix": "python", "executable": "python/bin/python3.11"})
    assert manifest["links"] == [{"path": "python/bin/python3", "target": "python3.11"},
                                 {"path": "python/lib", "target": "bin"}]
    archive = make_archive(root, tmp_path / "tree.tar.gz")
    assert verify_archive(archive) == manifest
    safe_extract(archive, tmp_path / "out", use_data_filter=use_data_filter)
    verify_tree(tmp_path / "out", read_manifest(tmp_path / "out"))
    assert os.readlink(tmp_path / "out" / "python" / "bin" / "python3") == "python3.11"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_describe_tree_refuses_what_a_bundle_cannot_hold(tmp_path: Path) -> None:
    (tmp_path / "pipe").mkdir()
    os.mkfifo(tmp_path / "pipe" / "fifo")
    with pytest.raises(BundleError, match="^fifo: is a fifo"):
        describe_tree(tmp_path / "pipe")
    (tmp_path / "abs").mkdir()
    (tmp_path / "abs" / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(BundleError, match="^passwd: is a symbolic link to the absolute path /etc/passwd"):
        describe_tree(tmp_path / "abs")
    (tmp_path / "up" / "sub").mkdir(parents=True)
    (tmp_path / "up" / "sub" / "x").symlink_to("../../abs")
    with pytest.raises(BundleError, match="^sub/x: symbolic link to ../../abs points outside the bundle"):
        describe_tree(tmp_path / "up")


# ---------------------------------------------------------------------------- the target


@pytest.mark.parametrize(("key", "value"), [("sys-platform", "win32"), ("python-version", "2.7")])
def test_a_bundle_for_another_target_is_refused(tmp_path: Path, wheels: list[Path], key: str, value: str) -> None:
    here = current_target()
    target = dict(here, **{key: value})
    with pytest.raises(BundleError) as refused:
        check_target({"target": target, "python": None})
    message = str(refused.value)
    needs, _, machine = message.partition(", this machine is ")
    assert value in needs and here[key] in machine and "\n" not in message
    root = make_bundle(tmp_path / "b", wheels[:1], target=target)
    assert_refused(run_installer(root / "install.py", str(tmp_path / "env")), "this bundle needs", value, here[key])
    assert not (tmp_path / "env").exists()


def test_a_packed_interpreter_makes_only_the_machine_count() -> None:
    here = current_target()
    check_target({"target": dict(here, **{"python-version": "2.7", "implementation": "pypy"}),
                  "python": {"prefix": "python", "executable": "python/bin/python3"}})
    with pytest.raises(BundleError, match=f"this bundle needs {here['sys-platform']} s390x"):
        check_target({"target": dict(here, machine="s390x"),
                      "python": {"prefix": "python", "executable": "python/bin/python3"}})


@pytest.mark.skipif(current_target()["libc"] is None, reason="libc is checked on Linux only")
def test_libc_family_and_version_are_checked() -> None:
    here = current_target()
    check_target({"target": dict(here, libc=dict(here["libc"], **{"min-version": "1.0"})), "python": None})
    with pytest.raises(BundleError, match=r"with \w+ >= 99\.0, this machine is"):
        check_target({"target": dict(here, libc=dict(here["libc"], **{"min-version": "99.0"})), "python": None})
    other = "musl" if here["libc"]["family"] != "musl" else "glibc"
    with pytest.raises(BundleError, match=f"with {other} >= 1.2"):
        check_target({"target": dict(here, libc={"family": other, "min-version": "1.2"}), "python": None})


def test_machine_names_are_normalised() -> None:
    assert [normalize_machine(name) for name in ("AMD64", "amd64", "x86_64", "aarch64", "ARM64", "s390x")] == [
        "x86_64", "x86_64", "x86_64", "arm64", "arm64", "s390x"]


# ---------------------------------------------------------------------------- the Merkle root


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_merkle_root_of_known_inputs() -> None:
    assert merkle_root([], []) == hashlib.sha256(b"").hexdigest()
    one = {"path": "a", "size": 1, "sha256": "ab" * 32}
    leaf_a = sha(b"\x00file\x00a\x00" + ("ab" * 32).encode())
    assert merkle_root([one], []) == leaf_a.hex()
    link = {"path": "b", "target": "a"}
    leaf_b = sha(b"\x00link\x00b\x00a")
    three = {"path": "c", "size": 2, "sha256": "cd" * 32}
    leaf_c = sha(b"\x00file\x00c\x00" + ("cd" * 32).encode())
    expected = sha(b"\x01" + sha(b"\x01" + leaf_a + leaf_b) + leaf_c).hex()  # odd "c" is carried up unchanged
    assert merkle_root([three, one], [link]) == expected
    assert merkle_root([one, three], [link]) == expected  # leaves go in order of path, whatever the input order


def test_merkle_root_changes_with_any_hash_path_or_target() -> None:
    files = [{"path": f"f{i}", "size": i, "sha256": f"{i:064x}"} for i in range(5)]
    links = [{"path": "l", "target": "f0"}]
    root = merkle_root(files, links)
    assert merkle_root(files, links) == root
    variants = [
        ([*files[:3], dict(files[3], sha256="f" * 64), files[4]], links),
        ([*files[:4], dict(files[4], path="f9")], links),
        (files, [{"path": "l", "target": "f1"}]),
        (files[:4], links),
    ]
    assert len({root, *(merkle_root(f, lk) for f, lk in variants)}) == len(variants) + 1
    with pytest.raises(BundleError, match="listed twice"):
        merkle_root(files, [{"path": "f1", "target": "f0"}])


# ---------------------------------------------------------------------------- the script itself


def test_the_installer_imports_only_the_standard_library() -> None:
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"), feature_version=(3, 8))  # also: Python 3.8 syntax
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports would break install.py"
            imported.add(node.module.split(".")[0])
    assert imported and "tarfile" in imported
    assert imported - set(sys.stdlib_module_names) == set()


# ---------------------------------------------------------------------------- a packed interpreter's prefix


def fake_prefix_tree(root: Path) -> Path:
    """A bundle tree with a stand-in interpreter under ``d1/d2/d3`` and one wheel."""
    (root / "d1" / "d2" / "d3" / "bin").mkdir(parents=True)
    (root / "d1" / "d2" / "d3" / "bin" / "python3").write_bytes(b"\x7fELF stand-in")
    (root / "wheels").mkdir()
    return root


@pytest.mark.parametrize(("prefix", "problem"), [
    ("p", "python prefix p must be a directory of the bundle, but p is a link"),
    ("p/d2/d3", "python prefix p/d2/d3 must be a directory of the bundle, but p is a link"),
    ("d1/d2/d3", "d1/d2/d3/l is a symbolic link to ../../.., which leads out of the python prefix d1/d2/d3"),
])
def test_a_prefix_behind_a_link_or_with_a_link_out_of_it_is_refused(tmp_path: Path, prefix: str,
                                                                    problem: str) -> None:
    """Each link stays inside the bundle, but install() copies the prefix alone into DEST."""
    root = fake_prefix_tree(tmp_path / "b")
    (root / "p").symlink_to("d1/d2/d3" if prefix == "p" else "d1")
    (root / "d1" / "d2" / "d3" / "l").symlink_to("../../..")  # the bundle's root
    python = {"prefix": prefix, "executable": f"{prefix}/bin/python3"}
    with pytest.raises(BundleError, match=f"^manifest.json: {problem}"):
        write_manifest(root, python=python)
    files, links = describe_tree(root)
    manifest = {"format": install_script.FORMAT, "name": "x", "version": "1", "created-by": "test",
                "source-date-epoch": 0, "target": current_target(), "python": python, "install": [],
                "files": files, "links": links, "merkle-root": merkle_root(files, links)}
    (root / "manifest.json").write_text(render_manifest(manifest))
    with pytest.raises(BundleError, match=f"^manifest.json: {problem}"):
        read_manifest(root)
    with pytest.raises(BundleError, match=f"^manifest.json: {problem}"):
        verify_archive(make_archive(root, tmp_path / "b.tar.gz"))


def test_a_prefix_without_its_executable_is_refused(tmp_path: Path) -> None:
    root = fake_prefix_tree(tmp_path / "b")
    with pytest.raises(BundleError, match="python executable d1/bin/python3 is not a file of the bundle"):
        write_manifest(root, python={"prefix": "d1", "executable": "d1/bin/python3"})


@pytest.mark.parametrize("member", ["out/ESCAPED.txt", "out/sub/ESCAPED.txt"])
def test_a_wheel_file_is_never_written_through_a_link_out_of_dest(tmp_path: Path, member: str) -> None:
    """The last line of defence: whatever DEST holds, a member's real directory must lie inside DEST."""
    dest = tmp_path / "env"
    subprocess.run([sys.executable, "-I", "-m", "venv", "--without-pip", str(dest)], check=True, timeout=120)
    (tmp_path / "outside").mkdir()
    (dest / "out").symlink_to(Path("..") / "outside")
    payload = {f"bad-1.0.data/data/{member}": b"escaped\n"}
    wheel = make_bad_wheel(tmp_path, "bad-1.0-py3-none-any.whl", payload, payload)
    installer = install_script._WheelInstaller(wheel, install_script._Venv(dest), set())
    with pytest.raises(BundleError, match=r"^bad-1\.0-py3-none-any\.whl: .*ESCAPED\.txt would be written outside"):
        installer.run()
    assert list((tmp_path / "outside").iterdir()) == []


# ---------------------------------------------------------------------------- the processes the installer starts


def test_a_venv_module_in_the_current_directory_is_not_run(tmp_path: Path, bundle: Path) -> None:
    """Every interpreter the installer starts is isolated (-I): the current directory is not on its path."""
    here = tmp_path / "here"
    here.mkdir()
    (here / "venv.py").write_text("open('RAN', 'w').close()\nraise SystemExit(0)\n")
    dest = tmp_path / "env"
    result = subprocess.run([sys.executable, "-I", "-S", str(bundle / "install.py"), str(dest)], cwd=here,
                            capture_output=True, text=True, timeout=120)
    assert not (here / "RAN").exists(), "the venv.py of the current directory ran"
    assert result.returncode == 0, result.stderr
    assert run_app(dest) == "hello-app says hello from greet-lib []\n"


# ---------------------------------------------------------------------------- times out of range


def archive_dated(root: Path, archive: Path, mtime: int) -> Path:
    """Pack ``root`` as :func:`make_archive` does, every member dated ``mtime`` (PAX holds any number)."""
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.mtime = mtime
            with open(path, "rb") if info.isreg() else io.BytesIO() as data:
                tar.addfile(info, data if info.isreg() else None)
    return archive


@pytest.mark.parametrize("use_data_filter", FILTER_MODES)
def test_a_member_time_this_os_cannot_set_is_one_error(tmp_path: Path, bundle: Path, use_data_filter: bool) -> None:
    archive = archive_dated(bundle, tmp_path / "late.tar.gz", 99999999999999999999)
    assert verify_archive(archive) == read_manifest(bundle)  # times are not part of the manifest
    with pytest.raises(BundleError, match=r"late\.tar\.gz: cannot be extracted \(.*\); the archive is damaged"):
        safe_extract(archive, tmp_path / "out", use_data_filter=use_data_filter)
    dest = tmp_path / "env"
    assert_refused(run_installer(bundle / "install.py", "--archive", str(archive), str(dest)), "cannot be extracted")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["late.tar.gz", "out"]
