"""Put a store entry into an environment: files linked (hardlink by default, copy when
the cache is on another filesystem, or as asked), per-environment parts written fresh,
and the ``.dist-info`` directory renamed into place last (crash safety)."""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import io
import json
import os
import shutil
from base64 import urlsafe_b64encode
from dataclasses import replace
from hashlib import sha256
from pathlib import Path

from pypm.errors import InstallError
from pypm.interpreter import Interpreter
from pypm.store.entry import FILES, StoredFile, StoreEntry
from pypm.store.layout import LINK_MODES
from pypm.store.registry import STORE_POINTER, register_link
from pypm.store.shared_files import place_shared
from pypm.trash import remove_file, trash_dir

INSTALLER = b"pypm\n"
STAGING_SUFFIX = ".pypm-tmp"
_CROSS_DEVICE = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES}
#: dist-info files alike in every environment and read by nothing that decides what to
#: delete (RECORD and the store pointer are: each environment has its own)
_SHARED_NAMES = frozenset({"INSTALLER", "REQUESTED"})


def scheme_dirs(interpreter: Interpreter, project: str) -> dict[str, Path]:
    """The installer scheme of an environment for one distribution: C headers go to
    ``include/site/pythonX.Y/<project>`` under the environment, as pip and uv put them."""
    scheme = interpreter.scheme
    major_minor = ".".join(interpreter.version.split(".")[:2])
    return {
        "purelib": Path(scheme["purelib"]), "platlib": Path(scheme["platlib"]),
        "scripts": Path(scheme["scripts"]), "data": Path(scheme["data"]),
        "headers": interpreter.prefix / "include" / "site" / f"python{major_minor}" / project,
    }


def effective_link_mode(requested: str, cache_dir: Path, target: Path) -> str:
    """``hardlink`` unless hardlinks from the cache to ``target`` failed before (then copy)."""
    if requested != "hardlink":
        return requested
    marker = cache_dir / LINK_MODES / f"{_device(cache_dir)}-{_device(target)}"
    return marker.read_text().strip() if marker.is_file() else "hardlink"


def _device(path: Path) -> int:
    while not path.exists():
        path = path.parent
    return path.stat().st_dev


def _remember_copy(cache_dir: Path, target: Path) -> None:
    marker = cache_dir / LINK_MODES / f"{_device(cache_dir)}-{_device(target)}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("copy\n")


def link_entry(
    entry: StoreEntry, interpreter: Interpreter, link_mode: str, cache_dir: Path,
    extra_dist_info: dict[str, bytes] | None = None, requested: bool = False,
    written: dict[str, list[tuple[str, str, str]]] | None = None, install_info: dict[str, str] | None = None,
    made_dirs: set[str] | None = None, root_files: dict[str, bytes] | None = None,
) -> str:
    """Install a store entry (plus per-environment ``extra_dist_info`` files such as
    ``direct_url.json``, and ``root_files`` beside the dist-info, such as an editable
    install's ``.pth``; ``REQUESTED`` when the user asked for the package, PEP 376);
    returns the link mode really used. ``install_info`` goes into the dist-info's store
    pointer beside the entry's key (one file, not two: each new file costs an inode).
    ``written`` receives the RECORD's rows under the dist-info's path (so a caller need
    not read the file back). ``made_dirs``: directories known to exist, shared by the
    entries one sync links (each is then made once, not tried again by every entry: a
    ``mkdir`` that finds the directory still takes its parent's lock, which the other
    link threads wait on).

    Before any file is placed, the staging dist-info gets its RECORD: it lists every path
    the install creates, so it is also the journal by which a sync that finds the staging
    directory after a crash removes exactly those files; the dist-info is renamed into
    place last."""
    dirs = scheme_dirs(interpreter, entry.dist_info.split("-")[0])
    root_dir = dirs[entry.root_scheme]
    final_dist_info = root_dir / entry.dist_info
    staging = root_dir / f".{entry.dist_info}{STAGING_SUFFIX}"
    shutil.rmtree(staging, ignore_errors=True)
    trash = trash_dir(interpreter.prefix)
    placer = _Placer(interpreter, effective_link_mode(link_mode, cache_dir, root_dir), cache_dir, trash, made_dirs)
    scripts = _entry_point_scripts(entry, str(interpreter.executable))
    pointer = {"store": entry.root.name, **(install_info or {})}
    per_environment = {"INSTALLER": INSTALLER, **({"REQUESTED": b""} if requested else {}),
                       **(extra_dist_info or {}), STORE_POINTER: json.dumps(pointer).encode()}
    # A wheel's own copy of a file pypm writes per environment (some ship INSTALLER or
    # direct_url.json) is left out: the installer writes those, as pip does.
    own = {f"{entry.dist_info}/{name}" for name in per_environment}
    files = [f for f in entry.files if not (f.scheme == entry.root_scheme and f.path in own)]
    targets = _targets(entry, files, dirs, root_dir, staging)
    rewritten = placer.rewritten_scripts(files, targets)
    rows = [(record, stored.hash, str(stored.size)) for (record, _, _), stored in zip(targets, files, strict=True)]
    for index, data in rewritten.items():
        rows[index] = _row(targets[index][0], data)
    rows += [_row(_relative(dirs["scripts"] / name, root_dir), data) for name, data in scripts]
    rows += [_row(name, data) for name, data in (root_files or {}).items()]
    # the dist-info is a plain directory name in root_dir (installer checked it against the
    # wheel's name), so its files' RECORD paths need no relpath
    rows += [_row(f"{entry.dist_info}/{name}", data) for name, data in per_environment.items()]
    staging.mkdir(parents=True)
    # the directories below the environment's root are made (and checked) one by one
    placer.made.update((str(root_dir), str(staging), str(dirs["data"])))
    record_rows = _write_record(staging, f"{entry.dist_info}/RECORD", rows)
    for index, (_, source, target) in enumerate(targets):
        placer.place(source, target, rewritten.get(index))
    for filename, data in scripts:
        _write_fresh(dirs["scripts"] / filename, data, trash, executable=True)
    for filename, data in (root_files or {}).items():
        _write_fresh(root_dir / filename, data, trash)
    # In hardlink mode the files every environment has alike are linked from one copy
    # (pypm.store.shared_files).
    for name, data in per_environment.items():  # the staging directory is new: nothing to replace
        if placer.mode == "hardlink" and name in _SHARED_NAMES:
            place_shared(os.path.join(staging, name), data, cache_dir)
        else:
            (staging / name).write_bytes(data)
    if written is not None:
        written[str(final_dist_info)] = record_rows
    if final_dist_info.exists():
        shutil.rmtree(final_dist_info)
    os.rename(staging, final_dist_info)
    register_link(entry.root, final_dist_info / STORE_POINTER)
    return placer.mode


def _entry_point_scripts(entry: StoreEntry, executable: str) -> list[tuple[str, bytes]]:
    """The entry's console and GUI scripts for ``executable``, as installer generates them.
    Where installer's script is its stored code behind a plain shebang line (see
    :func:`_plain_shebang`), it is put together from the manifest's ``script_code`` (which
    installer generated at unpack): importing installer (and the ``email`` package it pulls
    in) cost a sync that links stored entries ~40 ms. Elsewhere installer is imported here."""
    if not entry.scripts:
        return []
    shebang = _plain_shebang(executable)
    if shebang is not None and entry.script_code is not None:
        return [(script[0], shebang + code.encode("utf-8"))
                for script, code in zip(entry.scripts, entry.script_code, strict=True)]
    from installer.scripts import Script
    from installer.utils import get_launcher_kind

    if entry.script_code is None and os.name != "nt":  # unpacked by an earlier pypm: add the code
        with contextlib.suppress(OSError):  # a read-only store still links, as before
            replace(entry, script_code=[script_code(*script) for script in entry.scripts]).save()
    kind = get_launcher_kind()
    return [Script(name, module, attr, section).generate(executable, kind)
            for name, module, attr, section in entry.scripts]


def script_code(name: str, module: str, attr: str, section: str) -> str:
    """installer's POSIX script for an entry point, without its shebang line: what a
    manifest's ``script_code`` holds (made where installer is imported anyway)."""
    from installer.scripts import Script

    _, data = Script(name, module, attr, section).generate("python", "posix")
    return data.removeprefix(b"#!python\n").decode("utf-8")


def _plain_shebang(executable: str) -> bytes | None:
    """``#!<executable>`` and a line end, where installer's POSIX script starts with just
    that (``Script._build_shebang``: no space in the path and the line at most 127 bytes);
    None where installer writes something else (a ``/bin/sh`` trampoline, a Windows
    launcher): those scripts are generated by installer itself."""
    if os.name == "nt":
        return None
    raw = executable.encode("utf-8")
    if b" " in raw or len(raw) + 3 > 127:
        return None
    return b"#!" + raw + b"\n"


def independent_groups(entries: list[StoreEntry]) -> list[list[int]]:
    """The entries (by index) in groups that can be linked at the same time: entries that
    put anything under the same top-level name (a namespace package such as ``google/``,
    a script name, ``share/``) are in one group, in their given order, so the one given
    later still wins where two place the same file. Largest groups first (they take
    longest). purelib and platlib count as one directory (they are, in a venv)."""
    parent = list(range(len(entries)))

    def find(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owners: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        names = {("site" if f.scheme in ("purelib", "platlib") else f.scheme, f.path.split("/", 1)[0])
                 for f in entry.files}
        names.update(("scripts", script[0]) for script in entry.scripts)
        for name in names:
            first = owners.setdefault(name, index)
            parent[find(index)] = find(first)
    groups: dict[int, list[int]] = {}
    for index in range(len(entries)):
        groups.setdefault(find(index), []).append(index)
    return sorted(groups.values(), key=lambda group: -sum(len(entries[i].files) for i in group))


def _targets(entry: StoreEntry, files: list[StoredFile], dirs: dict[str, Path], root_dir: Path,
             staging: Path) -> list[tuple[str, str, str]]:
    """(RECORD path, store path, where the file goes) of each of the entry's ``files``, in
    their order (hot loop: plain string joins; store paths are relative and contained, as
    unpacking checked; a RECORD path has ``/`` only, as installer writes it on Windows)."""
    sep = os.sep
    base = f"{entry.root}{sep}{FILES}{sep}"
    prefixes = {scheme: _relative_text(str(path), str(root_dir)) + "/" for scheme, path in dirs.items()}
    places = {scheme: f"{path}{sep}" for scheme, path in dirs.items()}
    info_prefix, root_scheme = entry.dist_info + "/", entry.root_scheme
    cut, staged, root_place = len(info_prefix), f"{staging}{sep}", places[root_scheme]
    targets = []
    for stored in files:
        scheme, path = stored.scheme, stored.path
        source = f"{base}{scheme}/{path}"
        if sep == "\\":
            path = path.replace("\\", "/")
        if scheme != root_scheme:
            targets.append((prefixes[scheme] + path, source, places[scheme] + path))
        elif path.startswith(info_prefix):
            targets.append((path, source, staged + path[cut:]))
        else:
            targets.append((path, source, root_place + path))
    return targets


class _Placer:
    """Puts store files at their targets (hot loop: plain ``os`` calls on strings)."""

    def __init__(self, interpreter: Interpreter, mode: str, cache_dir: Path, trash: Path,
                 made: set[str] | None = None) -> None:
        self.interpreter = str(interpreter.executable)
        self.mode = mode
        self.cache_dir = cache_dir
        self.trash = trash
        self.made: set[str] = set() if made is None else made  # directories that exist

    def rewritten_scripts(self, files: list[StoredFile], targets: list[tuple[str, str, str]]) -> dict[int, bytes]:
        """The scripts with a ``#!python`` shebang (by index in ``files``), as they are
        written for this environment's interpreter (RECORD hashes that, as pip and
        installer do)."""
        found = {}
        for index, stored in enumerate(files):
            if stored.scheme == "scripts" and _has_python_shebang(source := targets[index][1]):
                found[index] = _with_shebang(source, self.interpreter)
        return found

    def place(self, source: str, target: str, rewritten: bytes | None = None) -> None:
        """Link (or copy) the store file ``source``, or write ``rewritten`` (a script for
        this interpreter)."""
        parent = target[:_last_separator(target)]
        if parent not in self.made:
            self._make_dirs(parent)
        if rewritten is not None:
            _write_fresh(Path(target), rewritten, self.trash, executable=True)
            return
        try:
            self._put(source, target)
        except FileExistsError:
            remove_file(target, self.trash)
            self._put(source, target)

    def _make_dirs(self, path: str) -> None:
        """Make ``path`` and its missing parents, from the nearest directory known to
        exist down: no ``mkdir`` that fails for a missing parent, no ``stat`` per level
        (``os.makedirs`` when no ancestor is known)."""
        chain = []
        current = path
        while current not in self.made:
            chain.append(current)
            cut = _last_separator(current)
            if cut <= 0:
                os.makedirs(path, exist_ok=True)
                self.made.update(chain)
                return
            current = current[:cut]
        for directory in reversed(chain):
            try:
                os.mkdir(directory)
            except FileExistsError:
                if os.path.islink(directory):  # its files would land where it points, outside the environment
                    raise InstallError(f"{directory} is a symbolic link: pypm does not install through one",
                                       hint="remove the link (what it points at stays), then run the command again"
                                       ) from None
                if not os.path.isdir(directory):
                    raise
            self.made.add(directory)

    def _put(self, source: str, target: str) -> None:
        if self.mode == "hardlink":
            try:
                os.link(source, target)
                return
            except OSError as exc:
                if exc.errno not in _CROSS_DEVICE:
                    raise
                _remember_copy(self.cache_dir, Path(target).parent)
                self.mode = "copy"
        if self.mode == "symlink":
            os.symlink(source, target)
        else:
            # A new file only, as os.link and os.symlink make: copy2 alone would write
            # through a link at ``target``, or into the inode another name shares.
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
            shutil.copy2(source, target)


def _last_separator(path: str) -> int:
    """Where ``os.path.dirname`` cuts ``path`` (a target: absolute, no doubled separators),
    found without its generic work (a hot loop: once per linked file)."""
    if os.altsep is None:
        return path.rfind(os.sep)
    return max(path.rfind(os.sep), path.rfind(os.altsep))


def _has_python_shebang(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8).startswith(b"#!python")


def _with_shebang(source: str, interpreter: str) -> bytes:
    """The script at ``source`` with its ``#!python`` line replaced by ``#!<interpreter>``
    (what installer's ``fix_shebang`` writes, without importing installer for it: see
    :func:`_entry_point_scripts`)."""
    with open(source, "rb") as stream:
        data = stream.read()
    end = data.find(b"\n")
    rest = data[end + 1:] if end >= 0 else b""
    return f"#!{interpreter}\n".encode() + rest


def _digest(data: bytes) -> str:
    """RECORD's form of a sha256: urlsafe base64 without padding."""
    return urlsafe_b64encode(sha256(data).digest()).decode("ascii").rstrip("=")


def _row(record: str, data: bytes) -> tuple[str, str, str]:
    """The RECORD row of a file written with ``data``."""
    return record, f"sha256={_digest(data)}", str(len(data))


def _write_fresh(path: Path, data: bytes, trash: Path, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_file(str(path), trash)
    path.write_bytes(data)
    if executable:
        path.chmod(0o755)


def _csv_text(rows: list[tuple[str, str, str]]) -> str:
    """The rows in RECORD's CSV form. Joined directly when no field holds a character
    ``csv.writer`` quotes (``,`` ``"`` CR LF: then the text has exactly two commas and one
    line end per row), which is then exactly the writer's text, about 3x faster.

    Not installer's ``construct_record_file`` (which ECOSYSTEM.md suggests): with the
    ``RecordEntry`` objects it needs, r150's 19,474 rows took 91 ms there against 9 ms
    here, on every sync that links them (a new copy of r150 takes ~1.3 s, target 2x uv)."""
    text = "".join(f"{path},{digest},{size}\n" for path, digest, size in rows)
    if text.count(",") == 2 * len(rows) and text.count("\n") == len(rows) and '"' not in text and "\r" not in text:
        return text
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _write_record(staging: Path, record_path: str, rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Write the staging RECORD (``\\n`` line ends on every system, as installer writes
    them); ``record_path``: the RECORD's own row, as the final dist-info has it."""
    lines = list(rows)
    lines.append((record_path, "", ""))
    (staging / "RECORD").write_bytes(_csv_text(lines).encode("utf-8"))
    return lines


def _relative(path: Path, root_dir: Path) -> str:
    return _relative_text(str(path), str(root_dir))


@functools.lru_cache(maxsize=256)
def _relative_text(path: str, root_dir: str) -> str:
    """``path`` relative to ``root_dir``, POSIX (remembered: every entry a sync links asks
    for the same few scheme directories)."""
    return Path(os.path.relpath(path, root_dir)).as_posix()
