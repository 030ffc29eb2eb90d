"""``pypm export``: the lock for one selection of groups and extras, as a ``requirements.txt``
that ``pip install --require-hashes -r`` installs, or as a PEP 751 ``pylock.toml`` for that
selection alone.

The export is universal, as the lock is: it never evaluates markers for this machine. A
package's marker in ``pylock.toml`` mixes the selection (``'dev' in dependency_groups``,
``'cli' in extras``) with the environment (``sys_platform == 'linux'``); the selection terms
are decided for the chosen groups and extras (as :meth:`packaging.pylock.Pylock.select` sets
``extras`` and ``dependency_groups`` for marker evaluation) and the environment part is kept
as the package's marker. A package the lock forked into two versions gives two entries with
disjoint markers.

Workspace members are directory entries: source trees, which have no hash. pip refuses a line
without a hash under ``--require-hashes``, so with hashes (the default) members are left out
with a comment; with ``--no-hashes`` they are written as ``-e ./path`` lines, as ``uv export``
writes workspace members. A PEP 751 lock for one selection leaves them out always.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.errors import LockError, UsageError
from pypm.operations.selection import Selection

if TYPE_CHECKING:
    from pypm.workspace.model import Workspace

#: The formats ``--format`` takes.
FORMATS = ("requirements.txt", "pylock")
#: PEP 751 file names: ``pylock.toml`` and ``pylock.NAME.toml``.
PYLOCK_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")
#: Hash algorithms pip accepts in ``--hash``, strongest last (pypm locks sha256).
_HASHES = ("sha256", "sha384", "sha512")
#: Marker variables that stand for the selection, not the environment (PEP 751).
_SELECTION_VARIABLES = ("extras", "dependency_groups")
_MEMBER_ADVICE = "install it from its source or a built wheel"


@dataclass(frozen=True)
class ExportRequest:
    """What to write: the ``format``, whether with ``hashes``, and the ``output`` file (None:
    stdout), whose directory the ``-e`` paths of members are relative to."""

    format: str = "requirements.txt"
    hashes: bool = True
    output: Path | None = None


@dataclass(frozen=True)
class Chosen:
    """One lock entry the selection takes: its TOML table and the environment part of its
    marker (None: every environment)."""

    entry: dict[str, Any]
    marker: str | None

    @property
    def name(self) -> str:
        """The entry's package name."""
        return str(self.entry["name"])

    @property
    def is_directory(self) -> bool:
        """True for a source tree (a workspace member)."""
        return "directory" in self.entry


@dataclass
class Exported:
    """The text to write, how many packages it lists and the members it leaves out."""

    text: str
    packages: int
    omitted_members: list[str] = field(default_factory=list)


def export_format(given: str | None, output: Path | None) -> str:
    """``--format``, or when it is not given, the format ``-o``'s name implies (a PEP 751
    ``pylock.*.toml`` name means pylock, as ``uv export`` infers it), else requirements.txt."""
    if given is not None:
        return given
    return "pylock" if output is not None and PYLOCK_NAME.match(output.name) else "requirements.txt"


def check_request(request: ExportRequest) -> None:
    """Refuse a request that contradicts itself (exit 2), before any work."""
    if request.format not in FORMATS:
        raise UsageError(f"unknown export format {request.format!r}", hint=f"formats: {', '.join(FORMATS)}")
    if request.format == "pylock" and not request.hashes:
        raise UsageError("--no-hashes cannot go with --format pylock: a PEP 751 lock records every file's hash",
                         hint="drop --no-hashes")


def check_output(path: Path | None, lock_path: Path, output_format: str) -> None:
    """Before any work, refuse an output that is no regular file, that would replace the
    workspace's own lock, or a pylock export whose name PEP 751 does not allow (pip reads
    a lock only under such a name)."""
    if path is None:
        return
    _refuse_non_file(path)
    if path.resolve() == lock_path.resolve():
        raise UsageError(f"-o {path} is the workspace's own lock", hint="name the export pylock.NAME.toml")
    if path.exists() and not _written_by_export(path):
        raise UsageError(f"-o {path}: the file exists and pypm export did not write it; pypm replaces only "
                         "its own exports", hint="choose another path, or move the file away yourself")
    if output_format == "pylock" and not PYLOCK_NAME.match(path.name):
        raise UsageError(f"-o {path}: PEP 751 names a lock pylock.toml or pylock.NAME.toml",
                         hint="name the export pylock.NAME.toml, e.g. pylock.prod.toml")


def export(workspace: Workspace, selection: Selection, request: ExportRequest) -> Exported:
    """The workspace's ``pylock.toml`` for ``selection``, in ``request.format``.

    Unknown groups and extras raise :class:`UsageError`, as ``pypm sync`` reports them."""
    from pypm.lock.reader import load_lock_data, read_lock

    check_request(request)
    lock = read_lock(workspace.lock_path)  # validated: a broken lock is one error line here
    document = load_lock_data(workspace.lock_path)
    groups, extras = chosen_features(workspace, lock, selection)
    chosen = select_entries(document, extras, groups)
    if selection.only_groups:
        from packaging.utils import canonicalize_name

        from pypm.operations.selection import only_groups_closure

        entries = ((str(e.get("name", "")), e.get("dependencies")) for e in document.get("packages", []))
        keep = only_groups_closure(workspace.groups(), groups, entries)
        chosen = [item for item in chosen if canonicalize_name(str(item.entry.get("name", ""))) in keep]
    heading = _heading(groups, extras)
    if request.format == "pylock":
        return pylock_export(document, chosen, heading)
    return requirements_export(workspace, chosen, request, heading, members=selection.install_project)


def chosen_features(workspace: Workspace, lock: Any, selection: Selection) -> tuple[list[str], list[str]]:
    """The lock's dependency groups and extras the selection chooses (``pypm sync``'s
    meaning of ``--group``, ``--no-dev``, ``--extra MEMBER:E``...)."""
    from pypm.operations.sync import member_extra_names

    groups = selection.resolve_groups(list(lock.dependency_groups or []), list(lock.default_groups or []))
    extras = selection.resolve_extras(list(lock.extras or []), partial(member_extra_names, workspace))
    return groups, extras


def select_entries(document: dict[str, Any], extras: list[str], groups: list[str]) -> list[Chosen]:
    """The lock's entries that ``extras`` and ``groups`` select, each with the environment
    part of its marker, sorted by name (and version, for a forked package)."""
    chosen = []
    for entry in document.get("packages", []):
        selected, marker = environment_marker(entry.get("marker"), extras, groups)
        if selected:
            chosen.append(Chosen(entry, marker))
    return sorted(chosen, key=lambda item: (item.name, _version_key(item.entry.get("version"))))


def _version_key(text: str | None) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return (0, Version(text or "0"), "")
    except InvalidVersion:
        return (1, None, text)


def environment_marker(marker: str | None, extras: list[str], groups: list[str]) -> tuple[bool, str | None]:
    """Decide a lock marker's selection terms for ``extras`` and ``groups``: (whether the
    entry is selected in some environment, the environment part of the marker, None when
    it always holds). A marker without selection terms is kept exactly as locked."""
    if not marker:
        return True, None
    if not any(re.search(rf"\b{name}\b", marker) for name in _SELECTION_VARIABLES):
        return True, marker
    from dep_logic.markers import AnyMarker, EmptyMarker

    from pypm.resolver.marker_algebra import ALGEBRA_ERRORS, algebraic, mapped, text

    parsed = algebraic(marker)
    if parsed is None:
        raise LockError(f"pylock.toml: cannot separate the extras and groups of the marker {marker!r}",
                        hint="re-lock with `pypm lock`")
    chosen = {"extras": set(extras), "dependency_groups": set(groups)}

    def decide(single: Any) -> Any:
        if single.name not in _SELECTION_VARIABLES:
            return single
        return AnyMarker() if single.evaluate(chosen, context="lock_file") else EmptyMarker()

    try:
        decided = mapped(parsed, decide)
    except ALGEBRA_ERRORS as exc:
        raise LockError(f"pylock.toml: cannot decide the marker {marker!r}: {exc}",
                        hint="re-lock with `pypm lock`") from None
    if decided.is_empty():
        return False, None
    return True, None if decided.is_any() else text(decided)


#: The first line of every export: how pypm knows a file it may replace is one of its exports.
EXPORT_FIRST_LINE = "# This file was generated by pypm from pylock.toml (`pypm export`). Do not edit it by hand."


def _written_by_export(path: Path) -> bool:
    """True when the file at ``path`` starts as every export starts."""
    try:
        with path.open("rb") as handle:
            first = handle.read(len(EXPORT_FIRST_LINE) + 2)
    except OSError:
        return False
    return first.decode("utf-8", "replace").splitlines()[:1] == [EXPORT_FIRST_LINE]


def _heading(groups: list[str], extras: list[str]) -> list[str]:
    """The comment lines every export starts with."""
    return [
        EXPORT_FIRST_LINE,
        f"# groups: {', '.join(groups) or 'none'}; extras: {', '.join(extras) or 'none'}",
    ]


# --------------------------------------------------------------------------- requirements.txt


def requirements_export(workspace: Workspace, chosen: list[Chosen], request: ExportRequest,
                        heading: list[str], members: bool = True) -> Exported:
    """``requirements.txt`` text: one ``name==version ; marker`` line per entry, with a
    ``--hash`` line for every file of the entry (all wheels and the sdist, as ``uv export``
    writes them), so that pip checks whichever file it picks for its platform.

    Members: pip refuses a path line without a hash under ``--require-hashes``, so with
    hashes, or with ``members`` False (``--no-members``), they are left out with a comment;
    with ``--no-hashes`` they are ``-e ./path`` lines relative to the output file's
    directory, as ``uv export`` writes workspace members."""
    lines = list(heading)
    omitted = []
    base = request.output.resolve().parent if request.output is not None else Path.cwd()
    for item in (c for c in chosen if c.is_directory):
        if request.hashes or not members:
            omitted.append(item.name)
            lines.append(f"# member {item.name}: not exported ({_MEMBER_ADVICE})")
        else:
            lines.append(_directory_line(workspace, item, base))
    packages = [c for c in chosen if not c.is_directory]
    for item in packages:
        lines.extend(_package_lines(item, request.hashes))
    return Exported("\n".join(lines) + "\n", len(packages), omitted)


def _directory_line(workspace: Workspace, item: Chosen, base: Path) -> str:
    """``-e ./packages/app`` (``./path`` for a directory locked as not editable)."""
    directory = item.entry["directory"]
    target = (workspace.root / directory["path"]).resolve()
    try:
        relative = Path(os.path.relpath(target, base)).as_posix()
    except ValueError:  # another drive (Windows): no relative path
        relative = target.as_posix()
    if not relative.startswith(("../", "/")) and relative not in (".", ".."):
        relative = f"./{relative}"
    line = f"-e {relative}" if directory.get("editable", False) else relative
    return f"{line} ; {item.marker}" if item.marker else line


def _package_lines(item: Chosen, hashes: bool) -> list[str]:
    """``name==version ; marker``, then one ``--hash`` continuation line per file."""
    entry = item.entry
    if "version" not in entry or not ("wheels" in entry or "sdist" in entry):
        raise LockError(f"pylock.toml: {item.name} is locked from a source pypm cannot export yet "
                        "(only index files and workspace members)", hint="re-lock with `pypm lock`")
    line = f"{item.name}=={entry['version']}" + (f" ; {item.marker}" if item.marker else "")
    if not hashes:
        return [line]
    digests = [_file_hash(item.name, file) for file in _files(entry)]
    digests = list(dict.fromkeys(digests))
    return [f"{line} \\", *(f"    --hash={digest}" + (" \\" if i < len(digests) - 1 else "")
                            for i, digest in enumerate(digests))]


def _files(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return ([entry["sdist"]] if "sdist" in entry else []) + list(entry.get("wheels", []))


def _file_hash(name: str, file: dict[str, Any]) -> str:
    """``sha256:...`` for one locked file (pip's ``--hash`` value)."""
    hashes = file.get("hashes", {})
    for algorithm in _HASHES:
        if algorithm in hashes:
            return f"{algorithm}:{hashes[algorithm]}"
    raise LockError(f"pylock.toml: {file.get('name', name)} has no sha256, sha384 or sha512 hash for pip",
                    hint="re-lock with `pypm lock`, or export with --no-hashes")


# --------------------------------------------------------------------------- pylock.toml for one selection


def pylock_export(document: dict[str, Any], chosen: list[Chosen], heading: list[str]) -> Exported:
    """A PEP 751 lock for one selection: the selected entries with their selection terms
    decided (environment markers kept), no ``extras``/``dependency-groups`` left to choose,
    and no directory entries (a source tree has no hash: members are left out).
    Validated with :mod:`packaging.pylock` before it is returned."""
    import tomli_w
    from packaging.pylock import Pylock, PylockValidationError

    omitted = [item.name for item in chosen if item.is_directory]
    kept = [item for item in chosen if not item.is_directory]
    out: dict[str, Any] = {"lock-version": document.get("lock-version", "1.0")}
    for key in ("environments", "requires-python"):
        if key in document:
            out[key] = document[key]
    out["created-by"] = "pypm"
    present: dict[str, set[str]] = {}
    for item in kept:
        present.setdefault(item.name, set()).add(str(item.entry.get("version")))
    out["packages"] = [_pylock_entry(item, present) for item in kept]
    try:
        Pylock.from_dict(out).validate()
    except PylockValidationError as exc:
        raise LockError(f"internal error: the exported lock is not a valid PEP 751 lock: {exc}") from None
    comments = [*heading, *(f"# member {name}: not exported ({_MEMBER_ADVICE})" for name in omitted)]
    text = "\n".join(comments) + "\n" + tomli_w.dumps(out, multiline_strings=False, indent=4)
    return Exported(text, len(kept), omitted)


def _pylock_entry(item: Chosen, present: dict[str, set[str]]) -> dict[str, Any]:
    """The entry with its decided marker, and only ``dependencies`` that are in the export."""
    entry: dict[str, Any] = {}
    for key, value in item.entry.items():
        if key == "marker":
            if item.marker:
                entry["marker"] = item.marker
        elif key == "dependencies":
            kept = [d for d in value if d.get("name") in present
                    and ("version" not in d or d["version"] in present[d["name"]])]
            if kept:
                entry["dependencies"] = kept
        else:
            entry[key] = value
    return entry


# --------------------------------------------------------------------------- output


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (never over something that is no regular file)."""
    from pypm.fsutil import atomic_write_text

    _refuse_non_file(path)
    atomic_write_text(path, text)


def _refuse_non_file(path: Path) -> None:
    """A path that exists and is no regular file (a directory, a symbolic link, a device)
    is refused, never replaced."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        what = "a directory" if stat.S_ISDIR(mode) else "a symbolic link" if stat.S_ISLNK(mode) else "no regular file"
        raise UsageError(f"-o {path}: it is {what}; pypm writes only new or regular files",
                         hint="give the path of a file to write")
