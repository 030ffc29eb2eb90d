"""``pypm bundle`` end to end on a copy of workspace-example: a real local index, real
PEP 517 builds of the members, real archives installed with the network shut off."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from pypm.testing.builders import wheel_from_installed
from tests.test_interop_uv import PUBLIC_STANDINS, copy_example

EPOCH = "1700000000"
# attrs and idna stand-ins that do what acme-app calls, so that the installed app runs.
WORKING_STANDINS = {
    "attrs": {"attrs/__init__.py": "import dataclasses\n\ndef define(cls):\n    return dataclasses.dataclass(cls)\n"},
    "idna": {"idna/__init__.py": (
        "def encode(text):\n"
        "    labels = [label if label.isascii() else 'xn--' + label.encode('punycode').decode() "
        "for label in text.split('.')]\n"
        "    return '.'.join(labels).encode('ascii')\n")},
}
STANDINS = [replace(spec, files=WORKING_STANDINS[spec.name]) if spec.name in WORKING_STANDINS else spec
            for spec in PUBLIC_STANDINS]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def no_network() -> list[str]:
    """A prefix that runs a command without any network (``unshare -rn``) where the kernel
    allows it; else nothing (the index is stopped and the cache is empty then)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    return []


@pytest.fixture
def example(tmp_path: Path, make_index, run_pypm):
    """workspace-example locked, synced and bundled; returns (project, env, archive)."""
    index = make_index(STANDINS)
    index.add(wheel_from_installed("flit_core", tmp_path))
    project = copy_example(tmp_path / "example")
    env = {"PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": EPOCH}
    result = run_pypm("lock", "sync", "bundle", cwd=project, env_extra=env)
    archive = project / "dist" / "example-bundle.tar.gz"
    assert archive.is_file(), result.stderr
    assert "Bundled" in result.stderr and "Merkle root" in result.stderr
    return project, env, archive, index


def members_of(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return tar.getmembers()


def test_the_archive_is_sorted_owned_by_root_and_dated_by_the_epoch(example) -> None:
    _project, _env, archive, _index = example
    entries = members_of(archive)
    names = [entry.name for entry in entries]
    assert names == sorted(names)
    assert {"install.py", "manifest.json", "pylock.toml"} <= set(names)
    wheels = {Path(name).name.split("-")[0] for name in names if name.startswith("wheels/")}
    assert {"acme_app", "acme_core", "acme_utils", "attrs", "idna"} <= wheels
    assert "pytest" in wheels  # the default groups, as sync installs them
    assert {(e.uid, e.gid, e.uname, e.gname, e.mtime) for e in entries} == {(0, 0, "", "", int(EPOCH))}
    raw = archive.read_bytes()
    assert raw[4:8] == b"\0\0\0\0" and not raw[3] & 0x08, "gzip header without time or file name"


def test_the_bundle_installs_with_no_network_and_runs_the_app(example, tmp_path: Path, run_pypm) -> None:
    project, _env, archive, index = example
    index.stop()
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    dest = tmp_path / "deploy"
    offline_env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    done = subprocess.run([*no_network(), sys.executable, "-I", str(unpacked / "install.py"), str(dest)],
                          capture_output=True, text=True, env=offline_env)
    assert done.returncode == 0, done.stderr
    app = subprocess.run([str(dest / "bin" / "acme-app")], capture_output=True, text=True, env=offline_env)
    assert app.returncode == 0, app.stderr
    assert app.stdout.strip() == "xn--bcher-kva.example: 300 cents"
    editable = list((dest / "lib").glob("python3*/site-packages/*acme_app*.pth"))
    assert not editable, "members are installed from their wheels, not editable"

    again = tmp_path / "deploy-2"
    result = run_pypm("unbundle", str(archive), str(again), cwd=tmp_path,
                      env_extra={"PYPM_INDEX_URL": "http://127.0.0.1:9/simple/"})
    assert "Installed" in result.stderr
    assert subprocess.run([str(again / "bin" / "acme-app")], capture_output=True).returncode == 0


def test_a_second_run_is_up_to_date_and_a_touched_member_alone_is_rebuilt(example, run_pypm) -> None:
    project, env, archive, _index = example
    first = sha256(archive)
    again = run_pypm("lock", "sync", "bundle", cwd=project, env_extra=env)
    assert "All up to date (lock, sync, bundle)" in again.stderr
    source = project / "packages" / "acme-core" / "src" / "acme_core" / "__init__.py"
    os.utime(source, (source.stat().st_atime, source.stat().st_mtime + 5))
    touched = run_pypm("lock", "sync", "bundle", cwd=project, env_extra=env)
    built = [line for line in touched.stderr.splitlines() if "Building the wheel of" in line]
    assert built == ["Building the wheel of acme-core"], touched.stderr
    assert sha256(archive) == first, "the same sources and epoch make the same bytes"
    source.write_text(source.read_text() + "\nCHANGED = True\n")
    changed = run_pypm("bundle", cwd=project, env_extra=env)
    assert "Building the wheel of acme-core" in changed.stderr
    assert sha256(archive) != first


def test_two_runs_on_different_days_make_the_same_bytes(example, tmp_path: Path, run_pypm) -> None:
    """The second run sees a clock five days later (a sitecustomize shifts time.time for
    pypm and the build backends), rebuilds the members and packs again."""
    project, env, archive, _index = example
    shifted = tmp_path / "later"
    shifted.mkdir()
    (shifted / "sitecustomize.py").write_text(
        "import time\n_real, _real_ns = time.time, time.time_ns\n"
        "time.time = lambda: _real() + 5 * 86400\ntime.time_ns = lambda: _real_ns() + 5 * 86400 * 10**9\n")
    shutil.rmtree(project / ".pypm" / "bundle-wheels")
    for path in (project / "apps").rglob("*.py"):
        os.utime(path)
    later = run_pypm("bundle", "-o", str(tmp_path / "later.tar.gz"), cwd=project,
                     env_extra={**env, "PYTHONPATH": str(shifted)})
    assert "Building the wheel of acme-app" in later.stderr
    assert sha256(tmp_path / "later.tar.gz") == sha256(archive)


def _tampered_copy(archive: Path, target: Path) -> None:
    """The archive with one byte of one wheel changed (the manifest left as it was)."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        changed = False
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if data is not None and member.name.startswith("wheels/") and not changed:
                data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
                changed = True
            out.addfile(member, io.BytesIO(data) if data is not None else None)


def test_a_tampered_archive_is_refused_and_nothing_is_installed(example, tmp_path: Path, run_pypm) -> None:
    _project, _env, archive, _index = example
    bad = tmp_path / "bad.tar.gz"
    _tampered_copy(archive, bad)
    verified = run_pypm("bundle", "--verify", str(bad), cwd=tmp_path, check=False)
    assert verified.returncode == 1 and "Traceback" not in verified.stderr
    assert len(verified.stderr.strip().splitlines()) == 1 and "sha256" in verified.stderr
    assert run_pypm("bundle", "--verify", str(archive), cwd=tmp_path).returncode == 0

    dest = tmp_path / "deploy"
    refused = run_pypm("unbundle", str(bad), str(dest), cwd=tmp_path, check=False)
    assert refused.returncode == 1 and not dest.exists()
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    with tarfile.open(bad) as tar:
        tar.extractall(unpacked, filter="data")
    empty = tmp_path / "empty"
    empty.mkdir()
    script = subprocess.run([sys.executable, "-I", str(unpacked / "install.py"), str(empty)],
                            capture_output=True, text=True)
    assert script.returncode == 1 and "sha256" in script.stderr
    assert list(empty.iterdir()) == []


def test_a_file_pypm_did_not_write_is_never_replaced(example, run_pypm) -> None:
    project, env, archive, _index = example
    archive.write_bytes(b"the user's own file")
    result = run_pypm("bundle", cwd=project, env_extra=env, check=False)
    assert result.returncode == 1 and "is not a bundle pypm wrote" in result.stderr
    assert archive.read_bytes() == b"the user's own file"


def test_bundle_refuses_what_it_cannot_honour(example, tmp_path: Path, run_pypm) -> None:
    project, env, _archive, _index = example
    both = run_pypm("bundle", "--with-python", "--platform", "win_amd64", cwd=project, env_extra=env, check=False)
    assert both.returncode == 2 and "--platform" in both.stderr
    unknown = run_pypm("bundle", "--platform", "amiga_68k", cwd=project, env_extra=env, check=False)
    assert unknown.returncode == 2 and "not a platform tag" in unknown.stderr
    verify_and_build = run_pypm("bundle", "--verify", "x.tar.gz", "-o", "y.tar.gz", cwd=project, check=False)
    assert verify_and_build.returncode == 2
    alias = run_pypm("pypylock", "--help", cwd=project)
    assert "--with-python" in alias.stdout


def test_a_bundle_for_another_platform_takes_its_wheels(tmp_path: Path, make_index, run_pypm) -> None:
    from pypm.testing import DistSpec
    from tests.workspaces import write_project

    index = make_index([DistSpec("native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64"),
                        DistSpec("native", "1.0", tag="cp311-cp311-win_amd64"), DistSpec("plain", "1.0")])
    root = write_project(tmp_path / "p", ["native", "plain"], requires_python=">=3.11,<3.12")
    env = {"PYPM_INDEX_URL": index.url, "PYPM_ENVIRONMENTS": "sys_platform == 'linux', sys_platform == 'win32'"}
    if sys.version_info[:2] != (3, 11):
        env["PYPM_PYTHON"] = "3.11"
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    run_pypm("bundle", "--platform", "win_amd64", "-o", "win.tar.gz", "--no-install-project", cwd=root,
             env_extra=env)
    wheels = sorted(e.name for e in members_of(root / "win.tar.gz") if e.name.startswith("wheels/"))
    assert wheels == ["wheels/native-1.0-cp311-cp311-win_amd64.whl", "wheels/plain-1.0-py3-none-any.whl"]
    with tarfile.open(root / "win.tar.gz") as tar:
        import json

        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["target"]["sys-platform"] == "win32" and manifest["target"]["machine"] == "AMD64"


def test_gzip_header_helper_sanity() -> None:
    """The header check above reads the right bytes: a gzip file with a name and a time
    fails it."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="named", mode="wb", fileobj=buffer, mtime=1234) as zipped:
        zipped.write(b"x")
    raw = buffer.getvalue()
    assert raw[4:8] != b"\0\0\0\0" and raw[3] & 0x08


def test_dry_run_says_whether_the_bundle_would_be_made_again(example, run_pypm) -> None:
    project, env, _archive, _index = example
    fresh = run_pypm("lock", "sync", "bundle", "--dry-run", cwd=project, env_extra=env)
    assert fresh.stdout.splitlines() == ["lock: up to date", "sync: up to date", "bundle: up to date"]
    source = project / "apps" / "acme-app" / "src" / "acme_app" / "__init__.py"
    source.write_text(source.read_text() + "\n")
    stale = run_pypm("bundle", "--dry-run", cwd=project, env_extra=env)
    assert "bundle: would run (the archive is missing, or what it is made from changed)" in stale.stdout
    other = run_pypm("bundle", "--dry-run", "-o", "elsewhere.tar.gz", cwd=project, env_extra=env)
    assert "bundle: would run" in other.stdout and not (project / "elsewhere.tar.gz").exists()


def test_a_bundle_written_inside_a_lone_project_stays_up_to_date(tmp_path: Path, make_index, run_pypm) -> None:
    """The archive (and pypm's scratch files) in the project's own directory are not
    sources of the project: writing them does not make the bundle stale."""
    from pypm.testing import DistSpec
    from tests.workspaces import lone_flit_project

    index = make_index([DistSpec("alpha", "1.0")])
    root = lone_flit_project(tmp_path / "lone", index)
    env = {"PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": EPOCH}
    first = run_pypm("bundle", "-o", "lone.tar.gz", cwd=root, env_extra=env)
    assert "Building the wheel of lone" in first.stderr
    names = {e.name for e in members_of(root / "lone.tar.gz")}
    assert {"wheels/lone-2.0-py3-none-any.whl", "wheels/alpha-1.0-py3-none-any.whl"} <= names
    again = run_pypm("bundle", "-o", "lone.tar.gz", cwd=root, env_extra=env)
    assert "All up to date (bundle)" in again.stderr
    default = run_pypm("bundle", cwd=root, env_extra=env)
    assert (root / "dist" / "lone-2.0-bundle.tar.gz").is_file(), default.stderr


def test_a_file_named_like_the_temporary_archive_is_left_alone(tmp_path: Path, make_index, pypm_env) -> None:
    """The archive is packed into a new file of its own: a user's file with the name an
    older pypm chose (``.NAME.PID.part``) is neither an obstacle nor removed."""
    from pypm.testing import DistSpec
    from tests.workspaces import lone_flit_project

    index = make_index([DistSpec("alpha", "1.0")])
    root = lone_flit_project(tmp_path / "lone", index)
    (root / "dist").mkdir()
    # the pid is known inside the process only: it makes the file, then becomes pypm (same pid)
    code = ("import os, sys\nopen(f'dist/.lone-2.0-bundle.tar.gz.{os.getpid()}.part', 'w').write('mine')\n"
            "os.execv(sys.executable, [sys.executable, '-m', 'pypm', 'bundle'])\n")
    env = {**pypm_env, "PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": EPOCH}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    [mine] = (root / "dist").glob(".*.part")
    assert mine.read_text() == "mine"
    assert sorted(path.name for path in (root / "dist").iterdir()) == [mine.name, "lone-2.0-bundle.tar.gz"]


def test_an_epoch_beyond_2106_is_refused_before_anything_is_made(tmp_path: Path, make_index, run_pypm) -> None:
    from pypm.testing import DistSpec
    from tests.workspaces import lone_flit_project

    index = make_index([DistSpec("alpha", "1.0")])
    root = lone_flit_project(tmp_path / "lone", index)
    for epoch, problem in (("99999999999999999999", "is after 4294967295 (2106)"),
                           ("4294967296", "is after 4294967295 (2106)"),
                           ("12x", "is not a whole number of seconds")):
        result = run_pypm("bundle", "-o", "b.tar.gz", cwd=root, check=False,
                          env_extra={"PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": epoch})
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert errors == [f"error: SOURCE_DATE_EPOCH={epoch!r} {problem} (unset it, or set it to e.g. "
                          "$(git log -1 --format=%ct))"], result.stderr
        assert not (root / "b.tar.gz").exists()
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    graph = run_pypm("sync", "bundle", cwd=root, check=False,  # the bundle operation checks it too
                     env_extra={"PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": "4294967296"})
    assert graph.returncode == 1 and "error: SOURCE_DATE_EPOCH='4294967296' is after" in graph.stderr, graph.stderr
    assert not (root / "dist").exists()


def test_the_epoch_range(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pypm.errors import ConfigError
    from pypm.operations.bundle import MAX_EPOCH, source_date_epoch

    for accepted in ("0", " 1700000000 ", str(MAX_EPOCH)):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", accepted)
        assert source_date_epoch(tmp_path, tmp_path / "pylock.toml") == int(accepted)
    for refused in (str(MAX_EPOCH + 1), "-1", "1.5", "\N{SUPERSCRIPT TWO}"):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", refused)
        with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH"):
            source_date_epoch(tmp_path, tmp_path / "pylock.toml")


def bundle_options() -> list[tuple[str, list[str]]]:
    """Every option of ``pypm bundle`` but --verify, with a value that differs from its default."""
    import argparse

    from pypm.cli.commands import bundle as command

    parser = argparse.ArgumentParser(add_help=False)
    command.add_arguments(parser)
    options = []
    for action in parser._actions:  # noqa: SLF001 - argparse lists its actions only here
        if action.dest == "verify" or not action.option_strings:
            continue
        value = [] if action.nargs == 0 else [action.choices[-1] if action.choices else "2"]
        flag = max(action.option_strings, key=len)
        options.append((flag, [flag, *value]))
    return options


def test_verify_refuses_every_option_it_does_not_use(tmp_path: Path, run_pypm) -> None:
    """The reviewer's command exits 2 on its first option; every other option of the command
    is refused as well (checked in process, from the command's own parser)."""
    from pypm.cli.commands.bundle import unused_by_verify
    from pypm.cli.parser import build_parser

    result = run_pypm("bundle", "--verify", "x.tar.gz", "--index-url", "http://bogus", "--cache-dir", "/nonexist",
                      "--jobs", "3", "--keep-going", cwd=tmp_path, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: --verify checks an archive and builds nothing, so it cannot go "
                                          "with --index-url (drop --index-url or --verify)"]
    parser = build_parser(["bundle"])
    options = bundle_options()
    assert {"--jobs", "--keep-going", "--index-url", "--cache-dir", "--offline", "--output"} <= {o for o, _ in options}
    for flag, argv in options:
        given = parser.parse_args(["bundle", "--verify", "x.tar.gz", *argv])
        assert len(unused_by_verify(given)) == 1, flag
    assert unused_by_verify(parser.parse_args(["bundle", "--verify", "x.tar.gz", "-v", "--project", "."])) == []
