"""``pypm bundle``: one reproducible ``.tar.gz`` with the lock, every wheel the selection
needs for the target (sha256-verified from the cache, downloaded when missing), wheels
of the workspace members built by their PEP 517 backends, a manifest with a Merkle root,
the stdlib-only ``install.py`` and, with ``--with-python``, the interpreter.

The bundle is fresh when its record in ``.pypm/bundles/`` holds the hash of everything it
is made from (the lock's bytes, the selection, the options, ``.venv``'s sync stamp, each
member's files, the epoch, pypm's version) and the archive is the one pypm wrote. A
member's wheel is rebuilt only when that member's files changed. An existing file at the
output path is replaced only when it is the archive pypm wrote there; the new archive is
packed beside it and renamed over it at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm import ui
from pypm.errors import ConfigError, PypmError, UsageError
from pypm.fsutil import atomic_write_text, file_sha256
from pypm.operations.bundle_request import BundleRequest
from pypm.operations.selection import Selection

if TYPE_CHECKING:
    from pypm.bundle.target import BundleTarget
    from pypm.interpreter import Interpreter
    from pypm.workspace.model import Workspace

BUNDLE_RECORDS = "bundles"
MEMBER_WHEELS = "bundle-wheels"
#: The latest SOURCE_DATE_EPOCH taken (2106): wheels' zip times end in 2107, and every OS sets it.
MAX_EPOCH = 2**32 - 1


class BundleError(PypmError):
    """A bundle cannot be made as asked."""


@dataclass(frozen=True)
class BundleOutcome:
    """The archive, its Merkle root, and whether this run wrote it."""

    path: Path
    merkle_root: str
    written: bool


def default_output(workspace_root: Path, project: dict[str, Any]) -> Path:
    """``dist/<name>-<version>-bundle.tar.gz``: the root project's name and version; a
    virtual workspace (no ``[project]``) is named after its directory, without a version."""
    name = str(project.get("name") or workspace_root.name)
    version = project.get("version")
    stem = f"{name}-{version}" if isinstance(version, str) and version else name
    return workspace_root / "dist" / f"{stem}-bundle.tar.gz"


def root_project(raw: Any) -> dict[str, Any]:
    """The root's ``[project]`` table (empty for a virtual workspace)."""
    project = raw.root_data.get("project") if raw.config_file.name == "pyproject.toml" else None
    return project if isinstance(project, dict) else {}


def output_path(root: Path, project: dict[str, Any], request: BundleRequest) -> Path:
    """Where the archive goes (``-o`` relative to the current directory)."""
    return Path(os.path.abspath(request.output)) if request.output else default_output(root, project)


def bundle(workspace: Workspace, selection: Selection, request: BundleRequest) -> BundleOutcome:
    """Write the bundle unless its record says the archive is already what these inputs
    make; the synced ``.venv`` gives the interpreter (``pypm sync`` first)."""
    from pypm.bundle.install_script import render_manifest

    interpreter = synced_interpreter(workspace, selection)
    target = bundle_target(interpreter, request)
    output = output_path(workspace.root, root_project(workspace.raw), request)
    key = bundle_key(workspace, selection, request, output)
    record = fresh_record(workspace.state_dir, output, key)
    if record is not None:
        ui.info(f"bundle: {_shown(output)} is up to date")
        return BundleOutcome(output, record["merkle-root"], False)
    _check_replaceable(workspace.state_dir, output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pypm-bundle-", dir=output.parent))
    try:
        manifest = _described(staging, _stage(workspace, selection, request, target, interpreter, staging, key))
        (staging / "manifest.json").write_bytes(render_manifest(manifest).encode("utf-8"))  # "\n" on every OS
        _pack(staging, output, key["epoch"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _write_record(workspace.state_dir, output, key, manifest["merkle-root"])
    count = len(manifest["install"])
    ui.info(f"Bundled {count} package{'' if count == 1 else 's'} for {target.describe()} into {_shown(output)}"
            f" (Merkle root {manifest['merkle-root']})")
    return BundleOutcome(output, manifest["merkle-root"], True)


def _described(staging: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """The manifest of ``staging``; what a bundle cannot hold (only a packed interpreter's
    prefix can bring it: a link out of it, a fifo) is a one-line :class:`BundleError`."""
    from pypm.bundle.install_script import BundleError as Unholdable
    from pypm.bundle.install_script import build_manifest

    try:
        return build_manifest(staging, **fields)
    except Unholdable as exc:
        raise BundleError(f"cannot bundle {exc}", hint="remove or fix that file of the interpreter's prefix, or "
                          "make .venv from a standalone Python (e.g. `uv python install`)") from None


def synced_interpreter(workspace: Workspace, selection: Selection) -> Interpreter:
    """``.venv``'s interpreter, when ``.venv`` matches the lock and the selection."""
    from pypm.install.venv import complete_venv
    from pypm.operations.stamp import stamp_matches

    interpreter = complete_venv(workspace.venv_path)
    if interpreter is None or not stamp_matches(workspace.venv_path, workspace.lock_path, selection,
                                                workspace.settings, workspace.raw):
        raise BundleError(".venv does not match pylock.toml and the selection", hint="run `pypm sync bundle`")
    return interpreter


def bundle_target(interpreter: Interpreter, request: BundleRequest) -> BundleTarget:
    """``.venv``'s interpreter, or its Python on ``--platform``'s platform."""
    from pypm.bundle.target import check_platform, native_target, platform_target

    if request.platform is None:
        return native_target(interpreter)
    check_platform(request.platform, request.with_python)
    return platform_target(interpreter, request.platform)


# -- freshness -------------------------------------------------------------------------


def bundle_key(workspace: Workspace, selection: Selection, request: BundleRequest, output: Path) -> dict[str, Any]:
    """Everything the archive's bytes depend on."""
    from pypm import __version__
    from pypm.bundle import install_script
    from pypm.operations.stamp import stamp_path

    stamp = stamp_path(workspace.venv_path)
    key = {
        "pypm": __version__,
        "installer": file_sha256(Path(install_script.__file__)),
        "lock": file_sha256(workspace.lock_path),
        "selection": selection.key(),
        "request": {"output": str(output), "with-python": request.with_python, "platform": request.platform},
        "venv": file_sha256(stamp) if stamp.is_file() else None,
        "members": {name: member_digest(workspace, name, output) for name in sorted(workspace.members)},
        "epoch": source_date_epoch(workspace.root, workspace.lock_path),
    }
    if request.with_python:  # the packed interpreter is made from the base prefix's files
        key["python"] = _python_digest(workspace)
    return key


def _python_digest(workspace: Workspace) -> str | None:
    """:func:`~pypm.bundle.python_prefix.prefix_digest` of ``.venv``'s base interpreter."""
    from pypm.bundle.python_prefix import describe_base, prefix_digest
    from pypm.install.venv import complete_venv

    interpreter = complete_venv(workspace.venv_path)
    return None if interpreter is None else prefix_digest(describe_base(interpreter.executable))


def _key_hash(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def record_path(state_dir: Path, output: Path) -> Path:
    """Where the record of the archive at ``output`` is kept."""
    return state_dir / BUNDLE_RECORDS / (hashlib.sha256(str(output).encode()).hexdigest()[:24] + ".json")


def _read_record(state_dir: Path, output: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(record_path(state_dir, output).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("output") == str(output) else None


def _is_recorded_archive(record: dict[str, Any], output: Path) -> bool:
    """Is the file at ``output`` the archive the record describes (same stat, else same sha256)?"""
    try:
        info = output.stat()
    except OSError:
        return False
    if not output.is_file() or info.st_size != record.get("size"):
        return False
    return info.st_mtime_ns == record.get("mtime_ns") or file_sha256(output) == record.get("sha256")


def fresh_record(state_dir: Path, output: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The record, when the archive at ``output`` is what ``key`` makes; else None."""
    record = _read_record(state_dir, output)
    if record is None or record.get("key") != _key_hash(key):
        return None
    return record if _is_recorded_archive(record, output) else None


def _check_replaceable(state_dir: Path, output: Path) -> None:
    """Never replace a file pypm did not write (or that changed since)."""
    if not os.path.lexists(output):
        return
    record = _read_record(state_dir, output)
    if output.is_symlink() or not output.is_file() or record is None or not _is_recorded_archive(record, output):
        raise BundleError(f"{output} exists and is not a bundle pypm wrote there (or it changed since)",
                          hint="move it away, or write the bundle elsewhere with -o FILE")


def _write_record(state_dir: Path, output: Path, key: dict[str, Any], root: str) -> None:
    info = output.stat()
    record = {"output": str(output), "key": _key_hash(key), "sha256": file_sha256(output), "size": info.st_size,
              "mtime_ns": info.st_mtime_ns, "merkle-root": root}
    atomic_write_text(record_path(state_dir, output), json.dumps(record, indent=1))


def source_date_epoch(root: Path, lock_path: Path) -> int:
    """``SOURCE_DATE_EPOCH`` when set; else the time of the last commit of the lock (git);
    else the lock's mtime."""
    given = environment_epoch()
    if given is not None:
        return given
    committed = _git_commit_time(root, lock_path)
    return committed if committed is not None else int(lock_path.stat().st_mtime)


def environment_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` (None when unset): a whole number of seconds from 0 to
    :data:`MAX_EPOCH`, else :class:`ConfigError` (a setting's mistake, as for PYPM_*)."""
    given = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not given:
        return None
    if not (given.isascii() and given.isdigit()) or int(given) > MAX_EPOCH:
        what = "is not a whole number of seconds" if not given.isdigit() else f"is after {MAX_EPOCH} (2106)"
        raise ConfigError(f"SOURCE_DATE_EPOCH={given!r} {what}",
                          hint="unset it, or set it to e.g. $(git log -1 --format=%ct)")
    return int(given)


def _git_commit_time(root: Path, lock_path: Path) -> int | None:
    """The commit time of the last commit that touched the lock, when the lock is
    committed as it is (None outside git, or when the lock has changes)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        changed = subprocess.run([git, "status", "--porcelain", "--", lock_path.name], cwd=root,
                                 capture_output=True, text=True, timeout=10)
        if changed.returncode != 0 or changed.stdout.strip():
            return None
        done = subprocess.run([git, "log", "-1", "--format=%ct", "--", lock_path.name], cwd=root,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return int(text) if done.returncode == 0 and text.isdigit() else None


def member_digest(workspace: Workspace, name: str, output: Path | None = None) -> str:
    """:func:`~pypm.workspace.member_sources.source_tree_digest` of a member: without
    the other members, ``.venv`` and the bundle ``output`` itself."""
    from pypm.workspace.member_sources import other_trees, source_tree_digest

    excluded = other_trees(workspace.members[name].path, workspace.raw)
    if output is not None:
        excluded.add(os.path.abspath(output))
    return source_tree_digest(workspace.members[name].path, excluded)


# -- staging ---------------------------------------------------------------------------


def _stage(workspace: Workspace, selection: Selection, request: BundleRequest, target: BundleTarget,
           interpreter: Interpreter, staging: Path, key: dict[str, Any]) -> dict[str, Any]:
    """Put every file of the bundle under ``staging``; return the manifest's fields but
    its file list (``key``: :func:`bundle_key`'s)."""
    from pypm import __version__
    from pypm.bundle import install_script
    from pypm.bundle.target import libc_requirement

    wheels = staging / "wheels"
    wheels.mkdir()
    packages, members = _selected(workspace, selection, target)
    paths = _package_wheels(workspace, packages, target, interpreter)
    epoch = key["epoch"]
    paths.update(_member_wheels(workspace, {name: key["members"][name] for name in members}, target, interpreter,
                                epoch))
    install = []
    for name in [*(p[0] for p in packages), *members]:
        shutil.copyfile(paths[name], wheels / paths[name].name)
        install.append(f"wheels/{paths[name].name}")
    shutil.copyfile(workspace.lock_path, staging / "pylock.toml")
    shutil.copyfile(install_script.__file__, staging / "install.py")
    python = _pack_python(interpreter, staging) if request.with_python else None
    libc = python["libc"] if python else libc_requirement([Path(item).name for item in install])
    project = root_project(workspace.raw)
    return {
        "name": str(project.get("name") or workspace.root.name),
        "version": str(project.get("version") or ""),
        "created_by": f"pypm {__version__}",
        "source_date_epoch": epoch,
        "target": target.manifest_entry(libc),
        "python": {"prefix": "python", "executable": python["executable"]} if python else None,
        "install": install,
    }


def _selected(workspace: Workspace, selection: Selection,
              target: BundleTarget) -> tuple[list[tuple[str, str, Any]], list[str]]:
    """(name, version, locked wheel or sdist) of every package the lock selects for the
    target, in lock order, and the members to build."""
    from packaging.pylock import PackageDirectory, PylockSelectError
    from packaging.tags import parse_tag

    from pypm.lock.reader import read_lock
    from pypm.operations.sync import member_extra_names

    lock = read_lock(workspace.lock_path)
    groups = selection.resolve_groups(list(lock.dependency_groups or []), list(lock.default_groups or []))
    extras = selection.resolve_extras(list(lock.extras or []), partial(member_extra_names, workspace))
    tags = [tag for text in target.tags for tag in parse_tag(text)]
    packages, members = [], []
    try:
        for package, source in lock.select(environment=target.environment, tags=tags, extras=extras,
                                           dependency_groups=groups):
            if isinstance(source, PackageDirectory):
                if package.name in workspace.members and selection.install_project:
                    members.append(package.name)
            else:
                packages.append((package.name, str(package.version), source))
    except PylockSelectError as exc:
        raise BundleError(f"pylock.toml has no file for {target.describe()}: {exc}",
                          hint="bundle for a platform the lock has wheels for") from None
    if selection.only_groups:
        from packaging.utils import canonicalize_name

        from pypm.operations.selection import only_groups_closure

        keep = only_groups_closure(workspace.groups(), groups, ((p.name, p.dependencies) for p in lock.packages),
                                   target.environment)
        packages = [item for item in packages if canonicalize_name(item[0]) in keep]
        members = [name for name in members if canonicalize_name(name) in keep]
    return packages, members


def _package_wheels(workspace: Workspace, packages: list[tuple[str, str, Any]], target: BundleTarget,
                    interpreter: Interpreter) -> dict[str, Path]:
    """name -> wheel in the cache: locked wheels downloaded or reused (sha256-verified),
    sdists built for ``.venv``'s interpreter (native targets only)."""
    from packaging.pylock import PackageWheel

    from pypm.index.credentials import remember_settings_credentials
    from pypm.install.download import FileToFetch, fetch_all

    settings = workspace.settings
    remember_settings_credentials(settings)  # the locked URLs carry none (sync's too may not have run)
    wheels = [(name, source) for name, _, source in packages if isinstance(source, PackageWheel)]
    items = [FileToFetch(source.filename, source.url, source.hashes["sha256"], source.size) for _, source in wheels]
    fetched = fetch_all(items, settings.cache_dir, offline=bool(settings["offline"]))
    paths = {name: fetched[source.filename] for name, source in wheels}
    sdists = [(name, version, source) for name, version, source in packages if not isinstance(source, PackageWheel)]
    if sdists:
        paths.update(_built_sdists(workspace, sdists, target, interpreter))
    return paths


def _built_sdists(workspace: Workspace, sdists: list[tuple[str, str, Any]], target: BundleTarget,
                  interpreter: Interpreter) -> dict[str, Path]:
    from pypm.build.frontend import SdistBuilder
    from pypm.index.client import IndexClient
    from pypm.index.links import FileLink

    if not target.native:
        raise BundleError(f"{sdists[0][0]} {sdists[0][1]} has only an sdist, which pypm can build only for this "
                          f"machine, not for {target.platform}", hint="bundle without --platform")
    settings = workspace.settings
    client = IndexClient(settings, settings.cache_dir)
    try:
        builder = SdistBuilder(client, settings.cache_dir, target=interpreter, offline=bool(settings["offline"]))
        paths = {}
        for name, version, source in sdists:
            ui.info(f"Building {name} {version} from its sdist")
            link = FileLink(source.filename, source.url, "", source.hashes["sha256"], size=source.size)
            paths[name] = builder.build_wheel(link)
        return paths
    finally:
        client.close()


def _member_wheels(workspace: Workspace, members: dict[str, str], target: BundleTarget, interpreter: Interpreter,
                   epoch: int) -> dict[str, Path]:
    """name -> wheel of each member (``members``: name -> :func:`member_digest`), rebuilt
    only when the member's files (or the epoch) changed since its last build; kept under
    ``.pypm/bundle-wheels/<member>/<digest>/``."""
    paths, to_build = {}, []
    for name, files_digest in members.items():
        digest = hashlib.sha256(f"{files_digest}\0{epoch}\0{interpreter.executable}".encode())
        out_dir = workspace.state_dir / MEMBER_WHEELS / name / digest.hexdigest()[:32]
        built = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
        if built:
            paths[name] = built[0]
        else:
            to_build.append((name, out_dir))
    if to_build:
        paths.update(_build_members(workspace, to_build, interpreter, epoch))
    _check_member_tags(paths, target)
    return paths


def _build_members(workspace: Workspace, to_build: list[tuple[str, Path]], interpreter: Interpreter,
                   epoch: int) -> dict[str, Path]:
    from pypm.build.frontend import SdistBuilder
    from pypm.index.client import IndexClient

    settings = workspace.settings
    client = IndexClient(settings, settings.cache_dir)
    paths = {}
    try:
        builder = SdistBuilder(client, settings.cache_dir, target=interpreter, offline=bool(settings["offline"]))
        builder.extra_environ = {"SOURCE_DATE_EPOCH": str(epoch)}
        for name, out_dir in to_build:
            ui.info(f"Building the wheel of {name}")
            shutil.rmtree(out_dir.parent, ignore_errors=True)  # earlier builds of this member (pypm's own dir)
            paths[name] = builder.build_project_wheel(workspace.members[name].path, out_dir)
    finally:
        client.close()
    return paths


def _check_member_tags(paths: dict[str, Path], target: BundleTarget) -> None:
    from packaging.utils import parse_wheel_filename

    accepted = set(target.tags)
    for name, path in paths.items():
        tags = {str(tag) for tag in parse_wheel_filename(path.name)[3]}
        if not tags & accepted:
            raise BundleError(f"the wheel built for {name} ({path.name}) does not install on {target.describe()}",
                              hint="bundle for this machine (no --platform)")


def _pack_python(interpreter: Interpreter, staging: Path) -> dict[str, Any]:
    """Pack the base interpreter of ``.venv`` under ``python/``, with ``install.sh``."""
    from pypm.bundle.python_prefix import describe_base, pack_interpreter

    base = describe_base(interpreter.executable)
    ui.info(f"Packing the interpreter {base['executable']}")
    executable = pack_interpreter(base, staging / "python")
    libc = {"family": base["libc"][0], "min-version": base["libc"][1]} if base["libc"][0] else None
    if os.name != "nt":
        launcher = staging / "install.sh"
        launcher.write_text(install_sh(executable, interpreter.environment), "utf-8")
        launcher.chmod(0o755)
    return {"executable": f"python/{executable}", "libc": libc}


_INSTALL_SH = """#!/bin/sh
# Install this bundle with the interpreter packed in it: sh install.sh DEST
# The packed interpreter runs only on the OS and machine it was built for: say so plainly
# instead of failing with "Exec format error".
os=$(uname -s); machine=$(uname -m)
if [ "$os" != "@OS@" ] || { [ "$machine" != "@MACHINE@" ] && [ "$machine" != "@MACHINE_ALT@" ]; }; then
    echo "error: this bundle's Python is for @OS@ @MACHINE@, and this machine is $os $machine;" \
         "make the bundle on a machine like this one" >&2
    exit 1
fi
here=$(cd "$(dirname "$0")" && pwd)
# -B: the packed interpreter writes no byte-code into the bundle it is verifying
exec "$here/python/@EXECUTABLE@" -I -B "$here/install.py" "$@"
"""
_UNAME = {"linux": "Linux", "darwin": "Darwin"}
_MACHINE_ALIASES = {"x86_64": "amd64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "aarch64"}


def install_sh(executable: str, environment: dict[str, str]) -> str:
    """The POSIX launcher of a bundle with a packed interpreter."""
    system, machine = environment["sys_platform"], environment["platform_machine"]
    return (_INSTALL_SH.replace("@EXECUTABLE@", executable).replace("@OS@", _UNAME.get(system, system))
            .replace("@MACHINE_ALT@", _MACHINE_ALIASES.get(machine, machine)).replace("@MACHINE@", machine))


def _pack(staging: Path, output: Path, epoch: int) -> None:
    """Write the archive to a new file beside ``output`` (a random name, created
    exclusively) and rename it over ``output`` at the end; on failure only that file,
    which this run created, is removed."""
    from pypm.bundle.archive import write_archive_to

    temp = None
    try:
        candidate = output.with_name(f".{output.name}.{secrets.token_hex(8)}.part")
        with open(candidate, "xb") as raw:  # never an existing file, whoever made it
            temp = candidate
            write_archive_to(staging, raw, epoch)
        os.replace(temp, output)
        temp = None
    except OSError as exc:
        raise BundleError(f"cannot write {exc.filename or output}: {exc.strerror or exc}",
                          hint="check the directory's permissions and free space") from None
    finally:
        if temp is not None:
            temp.unlink(missing_ok=True)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


# -- verify and unbundle ---------------------------------------------------------------


def verify_bundle(archive: Path) -> dict[str, Any]:
    """Check an archive against its own manifest (every file, link and the Merkle root)."""
    from pypm.bundle.install_script import BundleError as Broken
    from pypm.bundle.install_script import verify_archive

    if not archive.is_file():
        raise UsageError(f"{archive} is not a file", hint="give the path of a bundle .tar.gz")
    try:
        return verify_archive(archive)
    except Broken as exc:
        raise BundleError(f"{archive}: {exc}", hint="the archive is damaged or was changed; make it again") from None


def unbundle(archive: Path, destination: Path) -> int:
    """Install a bundle into a new environment at ``destination`` (what its ``install.py
    --archive`` does): verify the archive, check this machine and ``destination``, extract
    it safely beside ``destination``, install every wheel; nothing is written to
    ``destination`` before all checks passed."""
    from pypm.bundle.install_script import BundleError as Broken
    from pypm.bundle.install_script import install_archive

    if not archive.is_file():
        raise UsageError(f"{archive} is not a file", hint="give the path of a bundle .tar.gz")
    try:
        return install_archive(archive, destination)
    except Broken as exc:
        raise BundleError(f"{archive}: {exc}", hint="nothing was installed") from None
