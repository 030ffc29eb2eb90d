"""``pypm bundle --with-python``: copy the interpreter ``.venv`` was made from into the
bundle so that the target needs no Python.

The whole prefix is copied except what a venv never reads: the base interpreter's own
``site-packages`` (a pypm venv does not see it), the test suite, static libraries and
byte-code caches. A relocatable build (python-build-standalone, Windows installs) works
as it is. A Linux build that finds ``libpython`` through an absolute ``RUNPATH`` inside its
prefix (pyenv's ``--enable-shared`` builds) is made relocatable by rewriting that entry to
``$ORIGIN/...`` in place, as ``patchelf --set-rpath`` would for a path no longer than the
old one. A system interpreter (prefix ``/usr``) is refused: its prefix is the whole system.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from pypm.errors import PypmError

#: Prefixes that are a whole system, not an interpreter's own tree.
SYSTEM_PREFIXES = ("/", "/usr", "/usr/local", "/opt/homebrew", "/opt/local")
_SKIPPED_NAMES = {"__pycache__", "test", "tests", "idle_test"}
_SKIPPED_SUFFIXES = (".pyc", ".a")
_DT_STRTAB, _DT_RPATH, _DT_RUNPATH = 5, 15, 29
_PT_LOAD, _PT_DYNAMIC = 1, 2

_DESCRIBE = """
import json, platform, sys, sysconfig, os
base = getattr(sys, "_base_executable", sys.executable)
print(json.dumps({"prefix": sys.base_prefix, "executable": os.path.realpath(base),
                  "stdlib": sysconfig.get_paths()["stdlib"], "libc": list(platform.libc_ver()),
                  "version": "%d.%d" % sys.version_info[:2]}))
"""


class PythonPackError(PypmError):
    """The interpreter cannot be packed into a bundle."""


def describe_base(venv_python: Path) -> dict[str, Any]:
    """The base interpreter of a venv: its prefix, real executable, stdlib dir and libc."""
    try:
        done = subprocess.run([str(venv_python), "-I", "-c", _DESCRIBE], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        raise PythonPackError(f"cannot ask {venv_python} about its interpreter: {exc}",
                              hint="run `pypm sync` to repair .venv") from None


def pack_interpreter(base: dict[str, Any], destination: Path) -> str:
    """Copy the base interpreter's prefix to ``destination``; return the executable's path
    relative to it (POSIX). Raises :class:`PythonPackError` when it cannot be relocated."""
    prefix = Path(base["prefix"]).resolve()
    if str(prefix) in SYSTEM_PREFIXES or sys.platform == "darwin" and "/Frameworks/" in str(prefix):
        raise PythonPackError(
            f"--with-python: .venv uses a system interpreter (prefix {prefix}), which cannot be packed alone",
            hint="make .venv from a standalone Python (e.g. `uv python install`, python-build-standalone) "
                 "with `pypm sync --python PATH`")
    executable = Path(base["executable"]).resolve()
    if not executable.is_relative_to(prefix):
        raise PythonPackError(f"--with-python: the interpreter {executable} lies outside its prefix {prefix}")
    site_packages = Path(base["stdlib"]).resolve() / "site-packages"
    try:
        shutil.copytree(prefix, destination, symlinks=True, ignore=_ignored(prefix, site_packages))
        (destination / site_packages.relative_to(prefix)).mkdir(parents=True, exist_ok=True)
        _relink_absolute_links(prefix, destination)
        _check_relative_links(prefix, destination)
        if sys.platform.startswith("linux"):
            _relocate_elf_files(prefix, destination)
    except (OSError, shutil.Error, struct.error, ValueError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise PythonPackError(f"--with-python: cannot copy the interpreter at {prefix}: {reason}",
                              hint="make .venv from a standalone Python (e.g. `uv python install`)") from None
    return executable.relative_to(prefix).as_posix()


def _ignored(prefix: Path, site_packages: Path) -> Any:
    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory).resolve()
        if here == site_packages:
            return set(names)
        return {name for name in names if name in _SKIPPED_NAMES or name.endswith(_SKIPPED_SUFFIXES)
                or here == prefix and name == "share"}

    return ignore


def _relink_absolute_links(prefix: Path, destination: Path) -> None:
    """Absolute symlinks into the prefix become relative ones; links out of it are copied."""
    for directory, dirs, files in os.walk(destination):
        for name in [*dirs, *files]:
            path = Path(directory) / name
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if not os.path.isabs(target):
                continue
            real = Path(target).resolve()
            path.unlink()
            if real.is_relative_to(prefix):
                inside = destination / real.relative_to(prefix)
                os.symlink(os.path.relpath(inside, path.parent), path)
            else:
                shutil.copy2(real, path)


def _check_relative_links(prefix: Path, destination: Path) -> None:
    """Refuse a relative symlink of the copy that leads out of the prefix (a bundle cannot hold it)."""
    from pypm.bundle.install_script import escaping_link

    links = {}
    for directory, dirs, files in os.walk(destination):
        for name in [*dirs, *files]:
            path = Path(directory) / name
            if path.is_symlink():
                links[path.relative_to(destination).as_posix()] = os.readlink(path).replace(os.sep, "/")
    found = escaping_link(links)
    if found is not None:
        raise PythonPackError(
            f"--with-python: {prefix / found[0]} is a symbolic link to {found[1]}, outside the interpreter's "
            f"prefix {prefix}",
            hint="remove that link or make it point inside the prefix, or make .venv from a standalone Python "
                 "(e.g. `uv python install`)")


def prefix_digest(base: dict[str, Any]) -> str:
    """A digest of what :func:`pack_interpreter` copies from the prefix of ``base`` (see
    :func:`describe_base`): each path's relative name, mode, link target and (files) size and
    mtime, from a walk of ``lstat`` calls (no file is read), so changed files make a new one."""
    prefix = Path(base["prefix"]).resolve()
    ignore = _ignored(prefix, Path(base["stdlib"]).resolve() / "site-packages")
    digest = hashlib.sha256()
    for directory, dirs, files in os.walk(prefix):
        skipped = ignore(directory, [*dirs, *files])
        dirs[:] = sorted(name for name in dirs if name not in skipped)
        for name in sorted({*dirs, *files} - skipped):
            path = os.path.join(directory, name)
            info = os.lstat(path)
            link = os.readlink(path) if stat.S_ISLNK(info.st_mode) else ""
            # a directory's own size and mtime change when byte-code caches appear in it: not content
            changing = [0, 0] if stat.S_ISDIR(info.st_mode) else [info.st_size, info.st_mtime_ns]
            entry = [os.path.relpath(path, prefix), info.st_mode, *changing, link]
            digest.update(json.dumps(entry).encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def _relocate_elf_files(prefix: Path, destination: Path) -> None:
    """Rewrite every absolute RUNPATH/RPATH entry inside ``prefix`` to ``$ORIGIN``."""
    for directory, _dirs, files in os.walk(destination):
        for name in files:
            path = Path(directory) / name
            if path.is_symlink() or not _is_elf(path):
                continue
            original_dir = prefix / path.parent.relative_to(destination)
            if not rewrite_runpath(path, prefix, original_dir):
                raise PythonPackError(
                    f"--with-python: {path.relative_to(destination)} finds its libraries through an absolute "
                    "path that cannot be rewritten in place",
                    hint="make .venv from a relocatable Python (python-build-standalone, e.g. `uv python install`)")


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def rewrite_runpath(path: Path, prefix: Path, original_dir: Path) -> bool:
    """Rewrite RUNPATH/RPATH entries of the ELF file ``path`` that point into ``prefix``
    to ``$ORIGIN``-relative ones (``original_dir``: where the file was in the prefix).
    False when a new value would not fit in the old one's space."""
    data = bytearray(path.read_bytes())
    changed = False
    for offset in _runpath_offsets(data):
        end = data.index(b"\0", offset)
        old = data[offset:end].decode("utf-8", "surrogateescape")
        new = ":".join(_relative_entry(entry, prefix, original_dir) for entry in old.split(":"))
        if new == old:
            continue
        encoded = new.encode("utf-8", "surrogateescape")
        if len(encoded) > end - offset:
            return False
        data[offset:end] = encoded + b"\0" * (end - offset - len(encoded))
        changed = True
    if changed:
        mode = path.stat().st_mode
        path.write_bytes(bytes(data))
        path.chmod(mode)
    return True


def _relative_entry(entry: str, prefix: Path, original_dir: Path) -> str:
    if not entry.startswith("/") or not Path(entry).is_relative_to(prefix):
        return entry
    return "$ORIGIN/" + os.path.relpath(entry, original_dir) if Path(entry) != original_dir else "$ORIGIN"


def _runpath_offsets(data: bytearray) -> list[int]:
    """File offsets of the RUNPATH/RPATH strings of an ELF file (none when it has none)."""
    is64, order = data[4] == 2, "<" if data[5] == 1 else ">"
    header = "HHIQQQIHHHHHH" if is64 else "HHIIIIIHHHHHH"
    fields = struct.unpack_from(order + header, data, 16)
    phoff, phentsize, phnum = fields[4], fields[8], fields[9]
    loads, dynamic = [], None
    for index in range(phnum):
        entry = phoff + index * phentsize
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(order + "IIQQQQ", data, entry)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(order + "IIIII", data, entry)
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []
    size, pair = (16, "qQ") if is64 else (8, "iI")
    strtab, wanted = None, []
    for position in range(dynamic[0], dynamic[0] + dynamic[1], size):
        tag, value = struct.unpack_from(order + pair, data, position)
        if tag == 0:
            break
        if tag == _DT_STRTAB:
            strtab = value
        elif tag in (_DT_RPATH, _DT_RUNPATH):
            wanted.append(value)
    if strtab is None or not wanted:
        return []
    base = next((strtab - vaddr + offset for vaddr, offset, filesz in loads if vaddr <= strtab < vaddr + filesz), None)
    return [] if base is None else [base + value for value in wanted]
