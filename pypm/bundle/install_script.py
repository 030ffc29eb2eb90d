"""Install a pypm bundle with nothing but the Python standard library.

pypm copies this file verbatim into every bundle as ``install.py``; pypm itself imports it, so
this is the one place where the manifest format, the Merkle root, verification and safe
extraction live. It runs on Python 3.8+ on Linux, macOS and Windows and imports only the
standard library.

Usage::

    python3 install.py DEST                        # the bundle is the directory holding this file
    python3 install.py --archive BUNDLE.tar.gz DEST
    python3 install.py [--archive BUNDLE.tar.gz] --verify-only

Every file is checked against ``manifest.json`` (size, sha256, Merkle root) before anything
is written to DEST; DEST gets a virtual environment holding every wheel of the bundle.
"""

from __future__ import annotations

import argparse
import base64
import configparser
import csv
import glob
import hashlib
import io
import json
import os
import platform
import posixpath
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FORMAT = "pypm-bundle/1"
MANIFEST_NAME = "manifest.json"
INSTALLER_NAME = "pypm-bundle"
REQUIRED_KEYS = ("format", "name", "version", "created-by", "source-date-epoch", "target", "python",
                 "install", "files", "links", "merkle-root")
TARGET_KEYS = ("implementation", "python-version", "sys-platform", "machine", "libc")
DATA_KINDS = ("purelib", "platlib", "scripts", "headers", "data")
MAX_MANIFEST_BYTES = 64 << 20
_CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "x86-64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_SCRIPT_NAME = re.compile(r"^\w[\w.+-]*$")
_SPECIAL_KINDS = {tarfile.CHRTYPE: "a character device", tarfile.BLKTYPE: "a block device",
                  tarfile.FIFOTYPE: "a fifo"}


class BundleError(Exception):
    """A bundle cannot be verified or installed; the message is one line for the user."""


# ---------------------------------------------------------------------------- paths and hashes


def _one_line(text: object) -> str:
    """``text`` as one line (messages from other libraries may hold newlines)."""
    return " ".join(str(text).split())


def unsafe_path_reason(path: str) -> str | None:
    """Why ``path`` (POSIX, relative to a tree's root) cannot be placed inside the tree, or None.

    Absolute paths, drive letters, backslashes (a separator on Windows), ``..``, empty and
    ``.`` components are refused on every platform, so a bundle means the same everywhere."""
    if not path:
        return "has an empty path"
    if path.startswith("/") or _DRIVE.match(path):
        return "has an absolute path"
    if "\\" in path or "\x00" in path:
        return "has a backslash or NUL in its path"
    parts = path.split("/")
    if ".." in parts:
        return "has '..' in its path"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' component in its path"
    return None


def _link_target_reason(target: str) -> str | None:
    """Why a symbolic link's ``target`` is not acceptable in a bundle (before resolving it), or None."""
    if not target:
        return "is a symbolic link with an empty target"
    if target.startswith("/") or _DRIVE.match(target):
        return f"is a symbolic link to the absolute path {target}"
    if "\\" in target or "\x00" in target:
        return f"is a symbolic link to {target!r}, which holds a backslash or NUL"
    return None


def _resolve_inside(path: str, links: dict[str, str]) -> str | None:
    """Resolve ``path`` (relative to a tree's root) following the tree's own ``links`` (path ->
    relative target), as the OS would; return the resolved path, or None when it leaves the tree."""
    pending = path.split("/")
    stack: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return None
            stack.pop()
            continue
        stack.append(part)
        current = "/".join(stack)
        if current in links:
            hops += 1
            if hops > 40:
                raise BundleError(f"{current}: too many levels of symbolic links; refusing the bundle")
            target = links[current]
            if _link_target_reason(target):
                return None
            stack.pop()
            pending = target.split("/") + pending
    return "/".join(stack)


def escaping_link(links: dict[str, str]) -> tuple[str, str] | None:
    """The first link of ``links`` (path -> target, relative to a tree's root), in order of path, whose
    target is unacceptable or resolves, through the others, out of the tree; None when all stay inside."""
    for path in sorted(links):
        target = links[path]
        parent = posixpath.dirname(path)
        if _link_target_reason(target) or _resolve_inside(f"{parent}/{target}" if parent else target, links) is None:
            return path, target
    return None


def _check_links_stay_inside(links: dict[str, str]) -> None:
    """Refuse any link of ``links`` (path -> target) that resolves, through the others, out of the tree."""
    found = escaping_link(links)
    if found is None:
        return
    path, target = found
    reason = _link_target_reason(target)
    if reason:
        raise BundleError(f"{path}: {reason}; refusing the bundle")
    raise BundleError(f"{path}: symbolic link to {target} points outside the bundle; refusing the bundle")


def _hash_stream(stream: io.BufferedIOBase) -> tuple[int, str]:
    """Size and sha256 hex digest of everything ``stream`` yields."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return size, digest.hexdigest()
        digest.update(chunk)
        size += len(chunk)


def file_sha256(path: Path) -> tuple[int, str]:
    """Size and sha256 hex digest of the file at ``path``."""
    with open(path, "rb") as stream:
        return _hash_stream(stream)


def _record_hash(digest: bytes) -> str:
    """A RECORD hash field: ``sha256=`` and the urlsafe base64 digest without padding (wheel spec)."""
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------------- the tree and its Merkle root


def describe_tree(root: Path, exclude: Collection[str] = frozenset({MANIFEST_NAME})) -> tuple[list[dict], list[dict]]:
    """Walk the bundle directory ``root`` and return its ``(files, links)`` manifest entries.

    Regular files become ``{"path", "size", "sha256"}``, symbolic links ``{"path", "target"}``
    (not followed); both lists are sorted by path, with POSIX separators. Paths in ``exclude``
    (relative, POSIX) are skipped. A symlink whose target is absolute or resolves out of the
    tree, any other kind of file (fifo, device, Windows junction) or an unsafe name raises
    :class:`BundleError`. Directories are not recorded: they carry no content."""
    files: list[dict] = []
    links: list[dict] = []
    _walk(Path(root), "", frozenset(exclude), files, links)
    _check_links_stay_inside({entry["path"]: entry["target"] for entry in links})
    files.sort(key=lambda entry: entry["path"])
    links.sort(key=lambda entry: entry["path"])
    return files, links


def _walk(directory: Path, prefix: str, exclude: frozenset, files: list[dict], links: list[dict]) -> None:
    """Add the entries under ``directory`` (whose relative path is ``prefix``) to ``files``/``links``."""
    with os.scandir(directory) as found:
        entries = sorted(found, key=lambda entry: entry.name)
    for entry in entries:
        path = prefix + entry.name
        if path in exclude:
            continue
        reason = unsafe_path_reason(path)
        if reason:
            raise BundleError(f"{path}: {reason}; rename it")
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            links.append({"path": path, "target": _read_link(entry.path)})
        elif getattr(info, "st_file_attributes", 0) & 0x400:  # FILE_ATTRIBUTE_REPARSE_POINT: a junction
            raise BundleError(f"{path}: is a junction or other reparse point; a bundle holds only files, "
                              "directories and symbolic links")
        elif stat.S_ISDIR(info.st_mode):
            _walk(Path(entry.path), path + "/", exclude, files, links)
        elif stat.S_ISREG(info.st_mode):
            size, sha256 = file_sha256(Path(entry.path))
            files.append({"path": path, "size": size, "sha256": sha256})
        else:
            raise BundleError(f"{path}: is {_kind_of_mode(info.st_mode)}; a bundle holds only files, "
                              "directories and symbolic links")


def _read_link(path: str) -> str:
    """The target of the symbolic link at ``path``, with POSIX separators."""
    target = os.readlink(path)
    if os.sep != "/":
        target = target.replace(os.sep, "/")
    return target


def _kind_of_mode(mode: int) -> str:
    """What kind of special file ``mode`` describes, for messages."""
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _file_leaf(entry: dict) -> bytes:
    return hashlib.sha256(b"\x00file\x00" + entry["path"].encode("utf-8") + b"\x00"
                          + entry["sha256"].encode("ascii")).digest()


def _link_leaf(entry: dict) -> bytes:
    return hashlib.sha256(b"\x00link\x00" + entry["path"].encode("utf-8") + b"\x00"
                          + entry["target"].encode("utf-8")).digest()


def merkle_root(files: list[dict], links: list[dict]) -> str:
    """The Merkle root (hex) over manifest entries: one leaf per file and link, in order of path.

    File leaf ``sha256(b"\\0file\\0" + path + b"\\0" + sha256hex)``, link leaf
    ``sha256(b"\\0link\\0" + path + b"\\0" + target)``; a parent is ``sha256(b"\\1" + left + right)``
    over raw digests, an odd last node is carried up unchanged; no leaves give ``sha256(b"")``."""
    leaves = [(entry["path"], _file_leaf(entry)) for entry in files]
    leaves += [(entry["path"], _link_leaf(entry)) for entry in links]
    leaves.sort(key=lambda leaf: leaf[0])
    for index in range(1, len(leaves)):
        if leaves[index][0] == leaves[index - 1][0]:
            raise BundleError(f"{leaves[index][0]}: listed twice in the manifest")
    level = [digest for _, digest in leaves]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        parents = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0].hex()


# ---------------------------------------------------------------------------- the manifest


def build_manifest(root: Path, *, name: str, version: str, created_by: str, source_date_epoch: int,
                   target: dict, python: dict | None, install: list[str]) -> dict:
    """Describe the bundle directory ``root`` (everything but ``manifest.json``) as a manifest."""
    files, links = describe_tree(root)
    manifest = {"format": FORMAT, "name": name, "version": version, "created-by": created_by,
                "source-date-epoch": source_date_epoch, "target": target, "python": python,
                "install": list(install), "files": files, "links": links,
                "merkle-root": merkle_root(files, links)}
    _check_manifest(manifest)
    return manifest


def render_manifest(manifest: dict) -> str:
    """The text of ``manifest.json``: sorted keys, two-space indent, final newline (reproducible)."""
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def parse_manifest(data: bytes) -> dict:
    """Parse and check the bytes of a ``manifest.json``; :class:`BundleError` when it is not one."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{MANIFEST_NAME}: not valid JSON ({_one_line(exc)}); the bundle is damaged") from None
    _check_manifest(manifest)
    return manifest


def read_manifest(root: Path) -> dict:
    """Read and check ``manifest.json`` of the bundle directory ``root`` (format, required keys, entries)."""
    path = Path(root) / MANIFEST_NAME
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise BundleError(f"{path}: missing; this is not a pypm bundle") from None
    if not stat.S_ISREG(info.st_mode):
        raise BundleError(f"{path}: not a regular file; the bundle is damaged")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes; the bundle is damaged")
    return parse_manifest(path.read_bytes())


def _check_manifest(manifest: object) -> None:
    """Raise :class:`BundleError` unless ``manifest`` has the shape of a ``pypm-bundle/1`` manifest."""
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST_NAME}: not a JSON object; the bundle is damaged")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST_NAME}: format is {manifest.get('format')!r}, this installer reads {FORMAT}; "
                          "use the install.py of the same pypm version")
    for key in REQUIRED_KEYS:
        if key not in manifest:
            raise BundleError(f"{MANIFEST_NAME}: missing key {key!r}; the bundle is damaged")
    _check_target_shape(manifest["target"])
    _check_python_shape(manifest["python"])
    paths = _check_entries(manifest["files"], manifest["links"])
    _check_python_prefix(manifest["python"], paths, {entry["path"]: entry["target"] for entry in manifest["links"]})
    install = manifest["install"]
    if not isinstance(install, list):
        _bad_manifest("install is not a list")
    for wheel in install:
        if not isinstance(wheel, str) or paths.get(wheel) != "file" or not wheel.endswith(".whl"):
            _bad_manifest(f"install lists {wheel!r}, which is not a wheel file of the bundle")
    if not isinstance(manifest["merkle-root"], str) or not _HEX64.match(manifest["merkle-root"]):
        _bad_manifest("merkle-root is not a sha256 hex digest")


def _bad_manifest(problem: str) -> None:
    raise BundleError(f"{MANIFEST_NAME}: {problem}; the bundle is damaged")


def _check_target_shape(target: object) -> None:
    if not isinstance(target, dict) or any(key not in target for key in TARGET_KEYS):
        _bad_manifest(f"target must be an object with the keys {', '.join(TARGET_KEYS)}")
    for key in TARGET_KEYS[:4]:
        if not isinstance(target[key], str):
            _bad_manifest(f"target {key} is not a string")
    libc = target["libc"]
    if libc is not None and not (isinstance(libc, dict) and isinstance(libc.get("family"), str)
                                 and isinstance(libc.get("min-version"), (str, type(None)))):
        _bad_manifest("target libc must be null or an object with family and min-version")


def _check_python_shape(python: object) -> None:
    if python is None:
        return
    if not isinstance(python, dict) or not isinstance(python.get("prefix"), str) \
            or not isinstance(python.get("executable"), str):
        _bad_manifest("python must be null or an object with prefix and executable")
    prefix, executable = python["prefix"], python["executable"]
    if unsafe_path_reason(prefix) or unsafe_path_reason(executable) or not executable.startswith(prefix + "/"):
        _bad_manifest(f"python executable {executable!r} is not a safe path inside the prefix {prefix!r}")


def _check_python_prefix(python: dict | None, kinds: dict[str, str], links: dict[str, str]) -> None:
    """Refuse a packed interpreter whose prefix is not a real directory of the bundle (a link, or under
    one) or holds a symbolic link that resolves out of the prefix: :func:`install` copies the prefix
    alone into DEST, where such a link would point outside DEST."""
    if python is None:
        return
    prefix, executable = python["prefix"], python["executable"]
    parts = prefix.split("/")
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        if path in kinds:
            _bad_manifest(f"python prefix {prefix} must be a directory of the bundle, but {path} is a {kinds[path]}")
    if executable not in kinds:
        _bad_manifest(f"python executable {executable} is not a file of the bundle")
    start = len(prefix) + 1
    found = escaping_link({path[start:]: target for path, target in links.items() if path.startswith(prefix + "/")})
    if found:
        _bad_manifest(f"{prefix}/{found[0]} is a symbolic link to {found[1]}, which leads out of the python "
                      f"prefix {prefix}")


def _check_entries(files: object, links: object) -> dict[str, str]:
    """Check the manifest's file and link entries; return path -> ``"file"``/``"link"``."""
    if not isinstance(files, list) or not isinstance(links, list):
        _bad_manifest("files and links must be lists")
    kinds: dict[str, str] = {}
    for entry in files:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("size"), int)
                and entry["size"] >= 0 and isinstance(entry.get("sha256"), str) and _HEX64.match(entry["sha256"])):
            _bad_manifest(f"file entry {entry!r} needs path, size and a sha256 hex digest")
        _add_entry_path(kinds, entry["path"], "file")
    for entry in links:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("target"), str)):
            _bad_manifest(f"link entry {entry!r} needs path and target")
        _add_entry_path(kinds, entry["path"], "link")
    if MANIFEST_NAME in kinds:
        _bad_manifest("it lists itself")
    _check_links_stay_inside({entry["path"]: entry["target"] for entry in links})
    return kinds


def _add_entry_path(kinds: dict[str, str], path: str, kind: str) -> None:
    reason = unsafe_path_reason(path)
    if reason:
        _bad_manifest(f"{path!r} {reason}")
    if path in kinds:
        _bad_manifest(f"{path} is listed twice")
    kinds[path] = kind


# ---------------------------------------------------------------------------- verification


def verify_tree(root: Path, manifest: dict) -> None:
    """Check that the bundle directory ``root`` holds exactly the manifest's files (size, sha256) and
    links (target), nothing more and nothing less, and that the manifest's Merkle root matches.

    Raises :class:`BundleError` naming the first bad path in order of path."""
    files, links = describe_tree(Path(root))
    _compare_with_manifest(files, links, manifest)


def _entries_by_path(files: list[dict], links: list[dict]) -> dict[str, tuple]:
    found: dict[str, tuple] = {entry["path"]: ("file", entry["size"], entry["sha256"]) for entry in files}
    found.update((entry["path"], ("link", entry["target"])) for entry in links)
    return found


def _difference(expected: tuple | None, found: tuple | None) -> str | None:
    """How the entry ``found`` in a bundle differs from the manifest's ``expected`` one, or None."""
    if expected is None:
        return "not listed in the manifest; the bundle was changed after it was made"
    if found is None:
        return "missing from the bundle, the manifest lists it"
    if expected[0] != found[0]:
        return f"is a {found[0]}, the manifest lists a {expected[0]}"
    if found[0] == "link":
        return None if found == expected else f"links to {found[1]}, the manifest says {expected[1]}"
    if found[1] != expected[1]:
        return f"size differs from the manifest ({found[1]} bytes, expected {expected[1]})"
    if found[2] != expected[2]:
        return "sha256 differs from the manifest"
    return None


def _compare_with_manifest(files: list[dict], links: list[dict], manifest: dict) -> None:
    """Raise :class:`BundleError` for the first path where ``files``/``links`` and ``manifest`` differ."""
    expected = _entries_by_path(manifest["files"], manifest["links"])
    found = _entries_by_path(files, links)
    for path in sorted(set(expected) | set(found)):
        problem = _difference(expected.get(path), found.get(path))
        if problem:
            raise BundleError(f"{path}: {problem}")
    if merkle_root(manifest["files"], manifest["links"]) != manifest["merkle-root"]:
        raise BundleError(f"{MANIFEST_NAME}: merkle-root does not match the files it lists; the bundle is damaged")


class _MemberCheck:
    """Checks the members of a tar archive one by one, then as a whole (see :meth:`finish`)."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}
        self.links: dict[str, str] = {}

    def add(self, member: tarfile.TarInfo) -> str | None:
        """Check ``member`` alone; return its normalised name, or None for the archive's root directory."""
        name = _member_name(member.name)
        if name is None:
            return None
        reason = unsafe_path_reason(name)
        if reason:
            raise BundleError(f"{member.name}: {reason}; refusing the archive")
        if name in self.kinds:
            raise BundleError(f"{name}: appears twice in the archive; refusing the archive")
        self.kinds[name] = self._kind(member, name)
        return name

    def _kind(self, member: tarfile.TarInfo, name: str) -> str:
        if member.isdir():
            return "directory"
        if member.isreg():
            return "file"
        if member.issym():
            reason = _link_target_reason(member.linkname)
            if reason:
                raise BundleError(f"{name}: {reason}; refusing the archive")
            self.links[name] = member.linkname
            return "link"
        if member.islnk():
            target = _member_name(member.linkname)
            if target is None or unsafe_path_reason(target) or self.kinds.get(target) != "file":
                raise BundleError(f"{name}: hard link to {member.linkname}, which is not an earlier regular file "
                                  "of the archive; refusing the archive")
            return "file"
        kind = _SPECIAL_KINDS.get(member.type, f"a special member (tar type {member.type!r})")
        raise BundleError(f"{name}: is {kind}; a bundle holds only files, directories and symbolic links")

    def finish(self) -> None:
        """Refuse members under a non-directory and symbolic links that resolve out of the tree."""
        for name in sorted(self.kinds):
            parts = name.split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                if self.kinds.get(parent, "directory") != "directory":
                    raise BundleError(f"{name}: lies under {parent}, which is a {self.kinds[parent]}; "
                                      "refusing the archive")
        _check_links_stay_inside(self.links)


def _member_name(name: str) -> str | None:
    """A tar member's name without a leading ``./`` and trailing ``/``; None for the root itself."""
    while name.startswith("./"):
        name = name[2:]
    if name.startswith("/"):
        return name  # refused as absolute by the caller
    name = name.rstrip("/")
    return None if name in ("", ".") else name


@contextmanager
def _open_tar(archive: Path) -> Iterator[tarfile.TarFile]:
    """Open ``archive`` for reading; turn a damaged or unreadable archive into :class:`BundleError`."""
    try:
        with tarfile.open(str(archive), mode="r:*") as tar:
            yield tar
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise BundleError(f"{archive}: not a readable .tar.gz archive ({_one_line(exc)})") from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise BundleError(f"{archive}: no such file") from None
        raise BundleError(f"{archive}: cannot be read ({_one_line(exc)})") from None


def verify_archive(archive: Path) -> dict:
    """Verify the bundle archive ``archive`` without extracting it and return its manifest.

    Members are streamed: unsafe ones are refused as by :func:`safe_extract`, regular files are
    hashed and everything is compared with the archive's own ``manifest.json`` as by
    :func:`verify_tree`."""
    check = _MemberCheck()
    files: dict[str, dict] = {}
    links: list[dict] = []
    manifest_data = None
    with _open_tar(archive) as tar:
        for member in tar:
            name = check.add(member)
            if name is None or member.isdir():
                continue
            if name == MANIFEST_NAME:
                manifest_data = _read_manifest_member(tar, member)
            elif member.issym():
                links.append({"path": name, "target": member.linkname})
            elif member.islnk():
                target = files.get(_member_name(member.linkname) or "")
                if target is None:
                    raise BundleError(f"{name}: hard link to {member.linkname}; refusing the archive")
                files[name] = dict(target, path=name)
            else:
                size, sha256 = _hash_stream(tar.extractfile(member))
                files[name] = {"path": name, "size": size, "sha256": sha256}
        check.finish()
    if manifest_data is None:
        raise BundleError(f"{archive}: has no {MANIFEST_NAME} at its root; this is not a pypm bundle")
    manifest = parse_manifest(manifest_data)
    _compare_with_manifest(list(files.values()), links, manifest)
    return manifest


def _read_manifest_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    if not member.isreg():
        raise BundleError(f"{MANIFEST_NAME}: not a regular file in the archive; refusing the archive")
    if member.size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{MANIFEST_NAME}: larger than {MAX_MANIFEST_BYTES} bytes; refusing the archive")
    return tar.extractfile(member).read()


# ---------------------------------------------------------------------------- extraction


def safe_extract(archive: Path, dest: Path, use_data_filter: bool | None = None) -> None:
    """Extract the bundle archive ``archive`` into ``dest`` (created when missing), refusing absolute
    paths, ``..``, symbolic or hard links that are absolute or lead out of the tree, members under a
    link, duplicate members, devices and fifos, before writing anything.

    With ``use_data_filter`` (default: when this Python's :mod:`tarfile` has the ``data`` filter)
    each member also passes ``tarfile.data_filter`` and extraction uses it; otherwise (or with
    ``False``, for tests) this module writes the members itself. Refusals raise :class:`BundleError`
    naming the member."""
    has_filter = hasattr(tarfile, "data_filter")
    if use_data_filter is None:
        use_data_filter = has_filter
    elif use_data_filter and not has_filter:
        raise BundleError("this Python's tarfile has no data filter (3.12+, 3.8.17+, 3.9.17+, 3.10.12+, 3.11.4+ do)")
    dest = Path(dest)
    with _open_tar(archive) as tar:
        members = tar.getmembers()
        if use_data_filter:
            _pass_data_filter(members, dest)
        check = _MemberCheck()
        names = [check.add(member) for member in members]
        check.finish()
        dest.mkdir(parents=True, exist_ok=True)
        try:
            _extract_all(tar, members, names, dest, use_data_filter)
        except (OverflowError, ValueError) as exc:  # e.g. a member time beyond what this OS can set
            raise BundleError(f"{archive}: cannot be extracted ({_one_line(exc)}); the archive is damaged, "
                              "make it again") from None


def _extract_all(tar: tarfile.TarFile, members: list[tarfile.TarInfo], names: list[str | None], dest: Path,
                 use_data_filter: bool) -> None:
    """Write the checked ``members`` (normalised ``names``) into ``dest``."""
    if use_data_filter:
        tar.extractall(str(dest), members=members, filter="data")
        return
    for member, name in zip(members, names):  # noqa: B905 - Python 3.8 has no zip(strict=)
        if name is not None:
            _extract_member(tar, member, name, dest)


def _pass_data_filter(members: list[tarfile.TarInfo], dest: Path) -> None:
    """Run :func:`tarfile.data_filter` over every member before anything is extracted."""
    for member in members:
        try:
            tarfile.data_filter(member, str(dest))
        except tarfile.FilterError as exc:
            raise BundleError(f"{member.name}: refused by tarfile's data filter ({_one_line(exc)})") from None


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, name: str, dest: Path) -> None:
    """Write one checked member (the fallback for Pythons without the ``data`` filter)."""
    path = dest.joinpath(*name.split("/"))
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(path):
        path.unlink()
    if member.issym():
        try:
            os.symlink(member.linkname.replace("/", os.sep), str(path))
        except OSError as exc:
            raise BundleError(f"{name}: cannot create a symbolic link here ({_one_line(exc)}); on Windows enable "
                              "Developer Mode") from None
        return
    if member.islnk():  # a copy, not a link: the tree then holds only what the manifest describes
        source = dest.joinpath(*_member_name(member.linkname).split("/"))
        shutil.copyfile(str(source), str(path))
    else:
        with tar.extractfile(member) as stream, open(path, "xb") as out:
            shutil.copyfileobj(stream, out, _CHUNK)
    os.chmod(path, 0o755 if member.mode & 0o100 else 0o644)
    os.utime(path, (member.mtime, member.mtime))


# ---------------------------------------------------------------------------- the target machine


def normalize_machine(machine: str) -> str:
    """A machine name as bundles record it: ``AMD64``/``amd64`` -> ``x86_64``, ``aarch64``/``ARM64`` -> ``arm64``."""
    lowered = machine.lower()
    return _MACHINES.get(lowered, lowered)


def _glibc_version() -> str | None:
    """The glibc version of this machine (what the C library is, not what Python was built against)."""
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        found = ""
    family, _, version = found.partition(" ")
    if family == "glibc" and version:
        return version
    library, version = platform.libc_ver()
    return version if library == "glibc" and version else None


def _musl_version() -> str | None:
    """The musl version, from its dynamic loader's banner (``Version 1.2.4``), or None."""
    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        try:
            result = subprocess.run([loader], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        found = re.search(r"Version (\d+(?:\.\d+)+)", result.stderr)
        if found:
            return found.group(1)
    return None


def _running_libc() -> dict | None:
    """``{"family", "min-version"}`` of this machine's C library on Linux; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    glibc = _glibc_version()
    if glibc:
        return {"family": "glibc", "min-version": glibc}
    if glob.glob("/lib/ld-musl-*.so.1"):
        return {"family": "musl", "min-version": _musl_version()}
    return {"family": "unknown", "min-version": None}


def current_target() -> dict:
    """The running interpreter and machine, in the shape of a manifest's ``target``."""
    return {"implementation": sys.implementation.name,
            "python-version": f"{sys.version_info[0]}.{sys.version_info[1]}",
            "sys-platform": sys.platform,
            "machine": normalize_machine(platform.machine()),
            "libc": _running_libc()}


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise BundleError(f"{MANIFEST_NAME}: libc version {version!r} is not a version; the bundle is damaged") \
            from None


def _libc_matches(needed: dict | None, here: dict | None) -> bool:
    if needed is None:
        return True
    if here is None or here["family"] != needed["family"]:
        return False
    if needed.get("min-version") and here.get("min-version"):  # an unknown local version is not a mismatch
        return _version_tuple(here["min-version"]) >= _version_tuple(needed["min-version"])
    return True


def _describe_target(target: dict, packed: bool, wanted: bool) -> str:
    """``cpython 3.11 on linux x86_64 with glibc >= 2.17`` (``wanted``) or ``... with glibc 2.35``."""
    words = [] if packed else [f"{target['implementation']} {target['python-version']} on"]
    words.append(f"{target['sys-platform']} {target['machine']}")
    libc = target.get("libc")
    if libc:
        version = libc.get("min-version")
        words.append(f"with {libc['family']}" + (f" {'>= ' if wanted else ''}{version}" if version else ""))
    return " ".join(words)


def check_target(manifest: dict) -> None:
    """Refuse to install on a machine the bundle was not made for.

    Compares implementation, Python major.minor, ``sys.platform``, machine (normalised) and, on
    Linux, the libc family and version (at least the manifest's ``min-version``). When the bundle
    packs its interpreter (``manifest["python"]`` set) only the machine counts: OS, machine, libc."""
    target = manifest["target"]
    packed = manifest.get("python") is not None
    here = current_target()
    same = (target["sys-platform"] == here["sys-platform"]
            and normalize_machine(target["machine"]) == here["machine"]
            and _libc_matches(target["libc"], here["libc"] if target["sys-platform"] == here["sys-platform"] else None))
    if not packed:
        same = same and target["implementation"] == here["implementation"] \
            and target["python-version"] == here["python-version"]
    if same:
        return
    hint = ("install it on a matching machine" if packed
            else "run install.py with a matching Python, or make the bundle with --with-python")
    raise BundleError(f"this bundle needs {_describe_target(target, packed, True)}, this machine is "
                      f"{_describe_target(here, packed, False)}; {hint}")


# ---------------------------------------------------------------------------- the virtual environment


_PATHS_QUERY = """
import json, sys, sysconfig
scheme = "venv" if "venv" in sysconfig.get_scheme_names() else None
paths = sysconfig.get_paths(scheme) if scheme else sysconfig.get_paths()
print(json.dumps({"paths": paths, "prefix": sys.prefix, "version": "%d.%d" % sys.version_info[:2]}))
"""


def _child_env() -> dict[str, str]:
    """The environment for the Pythons this installer runs: no PYTHONHOME/PYTHONPATH from the caller."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONHOME", "PYTHONPATH")}


def _run_python(command: list[str], what: str) -> str:
    """Run ``command`` and return its stdout; :class:`BundleError` with its last stderr line on failure."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=_child_env(), timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BundleError(f"cannot {what}: {command[0]} does not run ({_one_line(exc)})") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        raise BundleError(f"cannot {what}: {_one_line(lines[-1])}")
    return result.stdout


def _base_python(root: Path, dest: Path, manifest: dict) -> str:
    """The interpreter the venv is made from: the packed one copied to DEST, else the running one."""
    python = manifest["python"]
    if python is not None:
        shutil.copytree(str(root / python["prefix"]), str(dest / python["prefix"]), symlinks=True)
        return str(dest.joinpath(*python["executable"].split("/")))
    base = sys.executable
    if sys.prefix != sys.base_prefix:  # inside a venv: make the new one from the venv's base interpreter
        base = getattr(sys, "_base_executable", None) or base
    if not base:
        raise BundleError("cannot tell which Python runs install.py (sys.executable is empty); run it with python3")
    return base


def venv_python(dest: Path) -> Path:
    """The python of the virtual environment at ``dest`` (not resolved: a venv's python is a link)."""
    if os.name == "nt":
        return dest / "Scripts" / "python.exe"
    return dest / "bin" / "python"


class _Venv:
    """Where a virtual environment keeps things, as its own interpreter reports it."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.python = venv_python(dest)
        info = json.loads(_run_python([str(self.python), "-I", "-c", _PATHS_QUERY], "ask the new venv for its paths"))
        paths = info["paths"]
        self.dirs = {kind: Path(paths[key]) for kind, key in
                     (("purelib", "purelib"), ("platlib", "platlib"), ("scripts", "scripts"), ("data", "data"))}
        # sysconfig's "include" is the base interpreter's (outside the venv); like pip, a venv keeps
        # wheel headers in <prefix>/include/site/pythonX.Y/<dist>.
        self.headers = Path(info["prefix"]) / "include" / "site" / f"python{info['version']}"
        for directory in [*self.dirs.values(), self.headers]:
            if not _is_inside(directory, dest):
                raise BundleError(f"the new venv reports {directory} as an install directory, outside {dest}")

    def gui_python(self) -> Path:
        """The windowless interpreter for gui_scripts (Windows only; elsewhere the same python)."""
        pythonw = self.python.with_name("pythonw.exe")
        return pythonw if os.name == "nt" and pythonw.exists() else self.python


def _is_inside(path: Path, directory: Path) -> bool:
    real_path, real_dir = os.path.realpath(path), os.path.realpath(directory)
    return os.path.commonpath([real_path, real_dir]) == real_dir


# ---------------------------------------------------------------------------- wheels


def _normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _check_wheel_against_manifest(root: Path, rel: str, manifest: dict) -> Path:
    """The wheel ``rel`` of the bundle, checked once more against the manifest's sha256."""
    entry = next(entry for entry in manifest["files"] if entry["path"] == rel)
    path = root.joinpath(*rel.split("/"))
    size, sha256 = file_sha256(path)
    if (size, sha256) != (entry["size"], entry["sha256"]):
        raise BundleError(f"{rel}: sha256 differs from the manifest")
    return path


def _find_dist_info(names: list[str], project: str, wheel: str) -> str:
    """The wheel's ``.dist-info`` directory (the one named after the project when there are several)."""
    tops = sorted({name.split("/", 1)[0] for name in names if "/" in name})
    tops = [top for top in tops if top.endswith(".dist-info")]
    wanted = _normalize_name(project)
    named = [top for top in tops if _normalize_name(top[: -len(".dist-info")].rsplit("-", 1)[0]) == wanted]
    if len(named) == 1:
        return named[0]
    if len(tops) == 1:
        return tops[0]
    raise BundleError(f"{wheel}: has {len(tops)} .dist-info directories, expected one named after {project}")


def _parse_wheel_file(text: str, wheel: str) -> bool:
    """Check the ``WHEEL`` metadata (Wheel-Version 1.x) and return Root-Is-Purelib."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    version = fields.get("wheel-version", "")
    if version.split(".")[0] != "1":
        raise BundleError(f"{wheel}: Wheel-Version {version or '(missing)'} is not 1.x; this installer reads 1.x")
    return fields.get("root-is-purelib", "").lower() == "true"


def _parse_record(text: str, wheel: str) -> dict[str, tuple[str, str]]:
    """The wheel's RECORD as path -> (hash field, size field)."""
    record = {}
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        if len(row) != 3:
            raise BundleError(f"{wheel}: RECORD line {','.join(row)!r} does not have 3 fields")
        record[row[0]] = (row[1], row[2])
    return record


def _record_algorithm(field: str, member: str, wheel: str) -> str:
    """The hash algorithm of a RECORD hash field; refuse missing or weak ones (md5, sha1)."""
    algorithm = field.partition("=")[0]
    if algorithm not in _STRONG:
        raise BundleError(f"{wheel}: {member} has no sha256 (or stronger) hash in RECORD; refusing the wheel")
    return algorithm


def _check_record_hash(field: str, digest: bytes, size: int, expected_size: str, member: str, wheel: str) -> None:
    """Compare one file's ``digest`` and ``size`` with its RECORD line."""
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if encoded != field.partition("=")[2].rstrip("=") or (expected_size and expected_size != str(size)):
        raise BundleError(f"{wheel}: {member} differs from the wheel's RECORD; the wheel is damaged")


_STRONG = ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s")


def _shebang(python: Path, args: bytes = b"") -> bytes:
    """The first line(s) of a script that runs ``python``; ``/bin/sh`` trick for long or spaced paths."""
    text = str(python)
    if " " not in text and len(text) + len(args) < 125:
        return b"#!" + text.encode() + args + b"\n"
    if any(char in text for char in "\"$`\\"):
        raise BundleError(f"{python}: this path cannot appear in a script's #! line; choose a simpler DEST")
    # sh runs the exec line; Python sees a string literal spanning both lines (the pip/distlib trick).
    return b"#!/bin/sh\n'''exec' \"" + text.encode() + b"\"" + args + b' "$0" "$@"\n' + b"' '''\n"


class _WheelInstaller:
    """Installs one wheel into a venv (see :func:`install`)."""

    def __init__(self, wheel: Path, venv: _Venv, written: set[str]) -> None:
        self.wheel, self.venv, self.written = wheel, venv, written
        self.label = wheel.name
        parts = wheel.name[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise BundleError(f"{wheel.name}: not a wheel file name (name-version-python-abi-platform.whl)")
        self.project = parts[0]
        self.installed: dict[str, tuple[str, int]] = {}  # absolute path -> (RECORD hash, size)

    def run(self) -> None:
        try:
            with zipfile.ZipFile(str(self.wheel)) as archive:
                self._install_from(archive)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BundleError(f"{self.label}: not a readable wheel ({_one_line(exc)})") from None

    def _install_from(self, archive: zipfile.ZipFile) -> None:
        names = [info.filename for info in archive.infolist()]
        for name in names:
            reason = unsafe_path_reason(name.rstrip("/"))
            if reason:
                raise BundleError(f"{self.label}: member {name} {reason}; refusing the wheel")
        self.dist_info = _find_dist_info(names, self.project, self.label)
        self.data_dir = self.dist_info[: -len(".dist-info")] + ".data"
        purelib = _parse_wheel_file(self._read_text(archive, "WHEEL"), self.label)
        self.lib = self.venv.dirs["purelib" if purelib else "platlib"]
        record = _parse_record(self._read_text(archive, "RECORD"), self.label)
        skip = {f"{self.dist_info}/{name}" for name in ("RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER")}
        for info in archive.infolist():
            if info.is_dir() or info.filename in skip:
                continue
            if info.filename not in record:
                raise BundleError(f"{self.label}: {info.filename} is not listed in its RECORD; refusing the wheel")
            self._install_member(archive, info, record[info.filename])
        self._write_entry_points(archive)
        self._write_metadata()

    def _read_text(self, archive: zipfile.ZipFile, name: str) -> str:
        try:
            return archive.read(f"{self.dist_info}/{name}").decode("utf-8")
        except KeyError:
            raise BundleError(f"{self.label}: has no {self.dist_info}/{name}") from None
        except UnicodeDecodeError:
            raise BundleError(f"{self.label}: {self.dist_info}/{name} is not UTF-8") from None

    def _target(self, name: str) -> tuple[Path, bool]:
        """Where the member ``name`` goes, and whether it is a ``.data/scripts`` script."""
        if not name.startswith(self.data_dir + "/"):
            return self.lib.joinpath(*name.split("/")), False
        parts = name.split("/")
        if len(parts) < 3 or parts[1] not in DATA_KINDS:
            raise BundleError(f"{self.label}: {name} is not in one of {self.data_dir}/{{{','.join(DATA_KINDS)}}}")
        if parts[1] == "headers":
            return self.venv.headers.joinpath(self.project, *parts[2:]), False
        return self.venv.dirs[parts[1]].joinpath(*parts[2:]), parts[1] == "scripts"

    def _install_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, recorded: tuple[str, str]) -> None:
        target, is_script = self._target(info.filename)
        digest = hashlib.new(_record_algorithm(recorded[0], info.filename, self.label))
        with archive.open(info) as stream:
            if is_script:  # scripts are small: read whole to rewrite #!python
                data = stream.read()
                digest.update(data)
                size = len(data)
                self._write(target, [self._fix_shebang(data)], 0o755)
            else:
                mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
                size = self._write(target, self._chunks(stream, digest), mode)
        _check_record_hash(recorded[0], digest.digest(), size, recorded[1], info.filename, self.label)

    @staticmethod
    def _chunks(stream: io.BufferedIOBase, digest: Any) -> Iterator[bytes]:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return
            digest.update(chunk)
            yield chunk

    def _fix_shebang(self, data: bytes) -> bytes:
        """Point a ``#!python`` (or ``#!pythonw``) first line at the venv's interpreter (wheel spec)."""
        if not data.startswith(b"#!python"):
            return data
        first, newline, rest = data.partition(b"\n")
        args = first[len(b"#!python"):].rstrip(b"\r")
        gui = args.startswith(b"w")
        python = self.venv.gui_python() if gui else self.venv.python
        return _shebang(python, args[1:] if gui else args) + rest

    def _write(self, target: Path, chunks: Iterator[bytes] | list[bytes], mode: int) -> int:
        """Write ``chunks`` to ``target`` (inside the venv) and record it; return the size."""
        key = str(target)
        if not _is_inside(target.parent, self.venv.dest):
            raise BundleError(f"{self.label}: {target} would be written outside {self.venv.dest} through a "
                              "symbolic link; refusing the wheel")
        if os.path.lexists(target):
            if key not in self.written:  # a later wheel may replace an earlier one's file, as pip and uv do
                raise BundleError(f"{self.label}: would overwrite {target}, which belongs to the venv itself")
            os.unlink(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with open(target, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.chmod(target, mode)
        self.written.add(key)
        self.installed[key] = (_record_hash(digest.digest()), size)
        return size

    def _write_entry_points(self, archive: zipfile.ZipFile) -> None:
        """Write a launcher for each console_scripts and gui_scripts entry point."""
        try:
            text = archive.read(f"{self.dist_info}/entry_points.txt").decode("utf-8")
        except KeyError:
            return
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
        parser.optionxform = str  # script names keep their case
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            raise BundleError(f"{self.label}: entry_points.txt is not readable ({_one_line(exc)})") from None
        for section, gui in (("console_scripts", False), ("gui_scripts", True)):
            if parser.has_section(section):
                for name, value in sorted(parser.items(section)):
                    self._write_launcher(name, value, gui)

    def _write_launcher(self, name: str, value: str, gui: bool) -> None:
        module, _, attribute = value.split("[", 1)[0].strip().partition(":")
        module, attribute = module.strip(), attribute.strip()
        dotted = [*module.split("."), *attribute.split(".")]
        if not _SCRIPT_NAME.match(name) or not attribute or not all(part.isidentifier() for part in dotted):
            raise BundleError(f"{self.label}: entry point {name} = {value} is not 'name = module:function'")
        head = attribute.split(".")[0]
        body = (f"# -*- coding: utf-8 -*-\n# Entry point {name} = {module}:{attribute}, written by pypm-bundle\n"
                f"import re\nimport sys\nfrom {module} import {head}\n"
                f"if __name__ == \"__main__\":\n"
                f"    sys.argv[0] = re.sub(r\"(-script\\.pyw?|\\.exe|\\.cmd)?$\", \"\", sys.argv[0])\n"
                f"    sys.exit({attribute}())\n").encode()
        scripts = self.venv.dirs["scripts"]
        if os.name != "nt":
            python = self.venv.gui_python() if gui else self.venv.python
            self._write(scripts / name, [_shebang(python) + body], 0o755)
            return
        # The standard library has no .exe launcher (pip and uv ship prebuilt launcher executables,
        # which a stdlib-only installer cannot make), so Windows gets NAME-script.py started by NAME.cmd.
        suffix = "-script.pyw" if gui else "-script.py"
        python = "pythonw.exe" if gui else "python.exe"
        self._write(scripts / f"{name}{suffix}", [body], 0o644)
        cmd = f'@echo off\r\n"%~dp0{python}" "%~dp0{name}{suffix}" %*\r\nexit /b %ERRORLEVEL%\r\n'
        self._write(scripts / f"{name}.cmd", [cmd.encode()], 0o755)

    def _write_metadata(self) -> None:
        """Write ``INSTALLER`` and a RECORD of every installed file (paths relative to the lib dir)."""
        info_dir = self.lib / self.dist_info
        self._write(info_dir / "INSTALLER", [f"{INSTALLER_NAME}\n".encode()], 0o644)
        record_path = info_dir / "RECORD"
        rows = sorted([self._record_name(Path(path)), digest, str(size)]
                      for path, (digest, size) in self.installed.items())
        rows.append([self._record_name(record_path), "", ""])
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        self._write(record_path, [text.getvalue().encode("utf-8")], 0o644)

    def _record_name(self, path: Path) -> str:
        """A RECORD path: relative to the lib dir with ``/`` (``../../../bin/x`` for scripts), else absolute."""
        try:
            return os.path.relpath(str(path), str(self.lib)).replace(os.sep, "/")
        except ValueError:  # another drive on Windows
            return str(path)


# ---------------------------------------------------------------------------- installing


def _check_dest(dest: Path) -> bool:
    """Refuse a DEST that exists and is not an empty directory; return whether it exists."""
    if not os.path.lexists(dest):
        return False
    if not dest.is_dir() or dest.is_symlink():
        raise BundleError(f"{dest}: is not a directory; choose a new directory")
    if any(dest.iterdir()):
        raise BundleError(f"{dest}: is not empty; choose a new directory")
    return True


def _undo(dest: Path, existed: bool) -> None:
    """Remove what :func:`install` created: DEST itself, or only its contents when it existed."""
    if not existed:
        shutil.rmtree(str(dest), ignore_errors=True)
        return
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(str(child), ignore_errors=True)
        else:
            try:
                child.unlink()
            except OSError:  # the original error matters more than a leftover file
                pass


def install(root: Path, dest: Path) -> int:
    """Install the extracted, verified bundle at ``root`` into a new virtual environment at ``dest``.

    ``dest`` must not exist or be an empty directory. The venv is made from the packed interpreter
    (copied to ``dest``) or the running one; each wheel of ``manifest["install"]`` is checked
    against the manifest again and against its own RECORD, then installed in order with its
    scripts, entry-point launchers, ``INSTALLER`` and RECORD. On any failure everything this call
    created is removed and the error re-raised. Returns the number of wheels installed."""
    root = Path(root)
    dest = Path(os.path.abspath(dest))
    manifest = read_manifest(root)
    existed = _check_dest(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        base = _base_python(root, dest, manifest)
        # -I: a venv.py (or any module) in the current directory must not run instead of the stdlib's
        _run_python([base, "-I", "-m", "venv", "--without-pip", str(dest)], f"create a virtual environment at {dest}")
        venv = _Venv(dest)
        written: set[str] = set()
        for rel in manifest["install"]:
            _WheelInstaller(_check_wheel_against_manifest(root, rel, manifest), venv, written).run()
    except BaseException:
        _undo(dest, existed)
        raise
    return len(manifest["install"])


# ---------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="install.py",
        description="Verify a pypm bundle and install it into a new virtual environment at DEST.")
    parser.add_argument("--archive", metavar="FILE", help="the bundle .tar.gz (default: the directory of install.py)")
    parser.add_argument("--verify-only", action="store_true", help="verify the bundle and install nothing")
    parser.add_argument("dest", metavar="DEST", nargs="?", help="a new (or empty) directory for the environment")
    return parser


@contextmanager
def _scratch_dir(dest: Path | None) -> Iterator[Path]:
    """A temporary directory beside ``dest`` (same file system), else in the system's temp dir."""
    path = None
    parent = dest.absolute().parent if dest is not None else None
    if parent is not None and parent.is_dir():
        try:
            path = tempfile.mkdtemp(prefix=".pypm-bundle-", dir=str(parent))
        except OSError:
            path = None
    if path is None:
        path = tempfile.mkdtemp(prefix="pypm-bundle-")
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


def install_directory(root: Path, dest: Path) -> int:
    """Verify the bundle directory ``root`` (manifest, files, Merkle root), check this machine against
    its target, then :func:`install` it into ``dest``; return the number of wheels installed."""
    root = Path(root)
    manifest = read_manifest(root)
    verify_tree(root, manifest)
    check_target(manifest)
    return install(root, dest)


def install_archive(archive: Path, dest: Path) -> int:
    """Verify the bundle ``archive`` without extracting it, check this machine and ``dest``, extract it
    safely into a scratch directory beside ``dest`` and install it from there (see
    :func:`install_directory`); nothing is written to ``dest`` before all that passed."""
    dest = Path(dest)
    check_target(verify_archive(Path(archive)))
    _check_dest(dest)
    with _scratch_dir(dest) as scratch:
        safe_extract(Path(archive), scratch / "bundle")
        return install_directory(scratch / "bundle", dest)


def _run(args: argparse.Namespace) -> int:
    dest = Path(args.dest) if args.dest else None
    if args.verify_only:
        if args.archive:
            where, manifest = args.archive, verify_archive(Path(args.archive))
        else:
            where = Path(__file__).resolve().parent
            manifest = read_manifest(where)
            verify_tree(where, manifest)
        print(f"{where}: bundle {manifest['name']} {manifest['version']} verified ({len(manifest['files'])} files, "
              f"{len(manifest['links'])} links, merkle root {manifest['merkle-root']})")
        return 0
    if args.archive:
        count = install_archive(Path(args.archive), dest)
    else:
        count = install_directory(Path(__file__).resolve().parent, dest)
    scripts = venv_python(dest).parent
    print(f"Installed {count} packages into {dest}")
    print(f"Run its programs as {scripts / 'NAME'} (for example {scripts / 'python'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python3 install.py [--archive FILE] [--verify-only] DEST``: verify, then install.

    Returns the exit status: 0 on success, 1 on a refusal or failure (one ``error:`` line on
    stderr), 2 for usage errors (from argparse)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.dest is None and not args.verify_only:
        parser.error("DEST is required (or give --verify-only)")
    try:
        return _run(args)
    except BundleError as exc:
        message = _one_line(exc)
    except OSError as exc:
        message = _one_line(exc)
    except (OverflowError, ValueError) as exc:  # a damaged archive the checks above did not name
        message = f"{_one_line(exc)}; the bundle may be damaged, make it again"
    except KeyboardInterrupt:
        message = "interrupted"
    print(f"error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
