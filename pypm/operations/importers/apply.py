"""Write an :class:`Imported` into the workspace: edit the target ``pyproject.toml`` in
memory (tomlkit, keeping its comments and order), lock the workspace as that edited text
describes it, with the imported versions as preferences, check the lock against the hashes
the imported files recorded, and only then write ``pyproject.toml``.

``pylock.toml`` is written by the lock itself: when anything after it fails (a hash
mismatch, writing the pyproject), its previous bytes are put back (or the new file removed),
so a failed import leaves both files as they were.
"""

from __future__ import annotations

import io
import re
import sys
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pypm.errors import UsageError, WorkspaceError
from pypm.operations.importers.common import Imported, ImportRefused, Preference
from pypm.workspace.discovery import PYPROJECT, WORKSPACE_FILE, RawWorkspace, find_workspace
from pypm.workspace.edit import Place, PyprojectEdit, edited_workspace, requirement_name

#: A ``[tool.pypm]`` table directly followed by another table's header (no blank line).
_NO_BLANK_AFTER_PYPM = re.compile(r"^\[tool\.pypm\]\n(?:[^\[\n].*\n)*\[", re.MULTILINE)

if sys.version_info >= (3, 11):
    pass
else:  # pragma: no cover - exercised only on Python 3.10
    pass


@dataclass
class ImportTarget:
    """The pyproject an import edits: ``raw`` is the workspace as found on disk (None: a new
    project, or a pyproject with no ``[project]`` yet, e.g. a Poetry 1 project)."""

    pyproject: Path
    raw: RawWorkspace | None

    @property
    def root(self) -> Path:
        """The workspace root (where ``pylock.toml`` is)."""
        return self.raw.root if self.raw is not None else self.pyproject.parent

    @property
    def project_dirs(self) -> tuple[Path, ...]:
        """The directories of the workspace's projects (an ``-e`` line naming one is skipped)."""
        members = tuple(m.path for m in self.raw.members) if self.raw is not None else ()
        return (self.pyproject.parent, *members)


@dataclass
class ImportOutcome:
    """What an import wrote: the counts for the summary, the lock's own output (printed
    after the summary), versions the lock could not keep, and the import's notes."""

    pyproject: Path
    created: bool
    requirements: int
    groups: list[str]
    extras: list[str]
    indexes: list[str]
    pins: int
    lock_output: str
    not_kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def find_target(start: Path, package: str | None, group: str | None = None) -> ImportTarget:
    """The pyproject to import into, chosen as ``pypm add`` chooses it: ``--package``'s
    member, else the member ``start`` is in, else the workspace root's; in a directory
    with no project, a new ``pyproject.toml`` there; a pyproject without ``[project]`` (and
    no workspace: a Poetry 1 project) is itself the target."""
    from pypm.operations.edit_requirements import target_pyproject

    try:
        raw = find_workspace(start)
    except WorkspaceError:
        nearest = _nearest_config(start.resolve())
        if nearest is not None and not _projectless_pyproject(nearest):
            raise
        if package is not None:
            raise UsageError(f"--package {package}: there is no workspace here",
                             hint="import into the project here without --package") from None
        return ImportTarget(nearest or start.resolve() / PYPROJECT, None)
    place = Place("group", group) if group else Place("project")
    pyproject = target_pyproject(raw, package, place, start)
    if pyproject.name == WORKSPACE_FILE:
        raise UsageError(f"the workspace root {raw.root} has no pyproject.toml to import into",
                         hint="name the member with --package MEMBER")
    return ImportTarget(pyproject, raw)


def _nearest_config(start: Path) -> Path | None:
    """The first ``pypm-workspace.toml`` or ``pyproject.toml`` from ``start`` upwards."""
    from pypm.workspace.discovery import root_override

    override = root_override()
    for directory in [Path(override[1]).resolve()] if override else [start, *start.parents]:
        for name in (WORKSPACE_FILE, PYPROJECT):
            if (directory / name).is_file():
                return directory / name
    return None


def _projectless_pyproject(path: Path) -> bool:
    """A ``pyproject.toml`` with no ``[project]`` and no workspace (a Poetry 1 project)."""
    from pypm.tomlfile import read_toml

    if path.name != PYPROJECT:
        return False
    data = read_toml(path, WorkspaceError)
    tool = data.get("tool", {}) if isinstance(data.get("tool"), dict) else {}
    pypm = tool.get("pypm", {}) if isinstance(tool.get("pypm"), dict) else {}
    return "project" not in data and "workspace" not in pypm


# --------------------------------------------------------------------------- editing


def edit_target(target: ImportTarget, imported: Imported, group: str | None) -> tuple[PyprojectEdit, dict[str, Any]]:
    """The target's pyproject with the import applied (in memory), and counts of what went in."""
    edit = PyprojectEdit(target.pyproject) if target.pyproject.is_file() else PyprojectEdit.new(target.pyproject)
    document = edit.document
    virtual_root = target.raw is not None and "project" not in document
    main = Place("group", group) if group else Place("project")
    if virtual_root and (imported.optional or (imported.requirements and main.kind == "project")):
        raise UsageError(f"the workspace root {target.pyproject} has no [project] to import dependencies into",
                         hint="name a member with --package MEMBER, or import into a group with --group G")
    if not virtual_root and "project" not in document:
        _create_project(document, imported, target.pyproject.parent)
    elif not virtual_root and imported.requires_python and "requires-python" not in document["project"]:
        document["project"]["requires-python"] = imported.requires_python
    _add_entries(edit, main, imported.requirements)
    for extra, entries in imported.optional.items():
        _add_entries(edit, Place("optional", extra), entries)
    for name, entries in imported.groups.items():
        _add_entries(edit, Place("group", name), entries)
    _write_indexes(document, imported)
    _drop_refusing_backend(document, imported)
    counts = {
        "groups": sorted({g for g, e in imported.groups.items() if e} | ({group} if group else set())),
        "extras": sorted(e for e, entries in imported.optional.items() if entries),
    }
    return edit, counts


def _drop_refusing_backend(document: Any, imported: Imported) -> None:
    """Poetry's ``package-mode = false``: the project is no package, and poetry-core refuses
    to build it, so its ``[build-system]`` goes (pypm then installs the dependencies and
    puts the project's directory on the path, as it does for a project without a backend)."""
    build = document.get("build-system")
    backend = build.get("build-backend", "") if isinstance(build, dict) else ""
    if imported.not_a_package and isinstance(backend, str) and backend.startswith("poetry.core"):
        del document["build-system"]
        imported.notes.append("package-mode = false: the project is no package, so its [build-system] (poetry-core, "
                              "which refuses to build it) is removed")


def _create_project(document: Any, imported: Imported, directory: Path) -> None:
    """A ``[project]`` table: the imported name, version and description, else the
    directory's name and ``0.1.0``; ``requires-python`` from the import, else this Python's
    ``>=X.Y`` (as ``pypm init`` writes)."""
    import tomlkit

    from pypm.operations.init import project_name

    project = tomlkit.table()
    project["name"] = imported.project.get("name") or project_name(directory)
    project["version"] = imported.project.get("version") or "0.1.0"
    if imported.project.get("description"):
        project["description"] = imported.project["description"]
    python = f">={sys.version_info.major}.{sys.version_info.minor}"
    project["requires-python"] = imported.requires_python or python
    project["dependencies"] = tomlkit.array()
    document["project"] = project


def _add_entries(edit: PyprojectEdit, place: Place, entries: list[Any]) -> None:
    """Add ``entries`` to the list at ``place``: an identical entry is left alone; a bare
    name (a pin, now a preference) never replaces a requirement on the same package; any
    other entry replaces the one of the same name where it stands (as ``pypm add`` and uv do),
    and a second entry of one name in this import (another marker) is appended."""
    if not entries:
        return
    before = edit.array(place, create=False)
    was_empty = before is None or len(before) == 0
    existing = [entry.unwrap() if hasattr(entry, "unwrap") else entry for entry in before or []]
    existing_names = {requirement_name(e) for e in existing if isinstance(e, str)}
    added: set[str] = set()
    for entry in entries:
        if entry in existing:
            continue
        if not isinstance(entry, str):  # a PEP 735 include-group table
            edit.array(place, create=True).append(entry)
            continue
        name = _name(entry)
        if name in added:
            edit.array(place, create=True).append(_toml_string(entry))
        elif name in existing_names and _is_bare(entry):
            continue
        else:
            edit.add(_toml_string(entry), place)
        added.add(name)
        existing.append(entry)
    array = edit.array(place, create=False)
    if was_empty and array is not None and len(array) > 1:
        array.multiline(True)


def _toml_string(text: str) -> str:
    """``text`` as a TOML literal string when it holds double quotes (a marker written
    ``python_version >= "3.8"``), so the file shows it without backslashes."""
    import tomlkit

    if '"' in text and "'" not in text and "\n" not in text:
        return tomlkit.string(text, literal=True)
    return text


def _name(requirement: str) -> str:
    """The canonical name of an imported requirement (an invalid one is refused)."""
    name = requirement_name(requirement)
    if name is None:
        raise ImportRefused(f"{requirement!r} is not a valid requirement (PEP 508)",
                            hint="fix it in the file being imported")
    return name


def _is_bare(requirement: str) -> bool:
    """A requirement that says only which package (no version, extras, marker or URL)."""
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    return not (parsed.specifier or parsed.extras or parsed.marker or parsed.url)


def _write_indexes(document: Any, imported: Imported) -> None:
    """The imported indexes into ``[tool.pypm]``: ``index-url`` replaces the one set;
    extra indexes and find-links locations are added after those set."""
    import tomlkit

    indexes = imported.indexes
    if indexes.empty:
        return
    if "tool" not in document:
        document["tool"] = tomlkit.table(is_super_table=True)
    tool = document["tool"]
    created = "pypm" not in tool
    if created:
        tool["pypm"] = tomlkit.table()
    table = tool["pypm"]
    if indexes.index_url is not None and table.get("index-url") != indexes.index_url:
        if "index-url" in table:
            imported.notes.append(f"index-url was {table['index-url']}, now {indexes.index_url}")
        table["index-url"] = indexes.index_url
    for key, values in (("extra-index-url", indexes.extra_index_urls), ("find-links", indexes.find_links)):
        current = [str(v) for v in table.get(key, [])]
        missing = [v for v in values if v not in current]
        if not missing:
            continue
        if key in table:
            table[key].extend(missing)
        else:
            array = tomlkit.array()
            array.extend(missing)
            table[key] = array
    if created and _NO_BLANK_AFTER_PYPM.search(tomlkit.dumps(document)):
        table.add(tomlkit.nl())  # a table placed among others is set off by a blank line, as they are


# --------------------------------------------------------------------------- locking


def import_into(target: ImportTarget, imported: Imported, group: str | None,
                overrides: dict[str, tuple[Any, str]]) -> ImportOutcome:
    """Edit, lock (with the imported versions preferred), check hashes, then write; a
    failure at any step leaves ``pyproject.toml`` and ``pylock.toml`` as they were."""
    from pypm.config import load_settings
    from pypm.fsutil import restored_on_failure
    from pypm.operations.lock import lock
    from pypm.operations.lock_request import LockRequest
    from pypm.workspace.model import validate_workspace

    created = not target.pyproject.exists()
    edit, counts = edit_target(target, imported, group)
    raw = edited_workspace(target.raw, edit)
    settings = load_settings(raw.tool_table, raw.config_file)
    for name, (value, flag) in overrides.items():
        settings.override(name, value, source=flag)
    workspace = validate_workspace(raw, settings)
    lock_path = workspace.lock_path
    output = io.StringIO()
    prefer = tuple((p.name, p.version) for p in imported.preferences)
    with restored_on_failure(lock_path):
        with redirect_stderr(output):
            lock(workspace, LockRequest(prefer=prefer))
        locked = locked_files(lock_path)
        check_hashes(locked, imported.preferences)
        edit.save()
    return ImportOutcome(
        pyproject=target.pyproject, created=created,
        requirements=len(imported.requirements), groups=counts["groups"], extras=counts["extras"],
        indexes=imported.indexes.describe(), pins=len({canonicalize_name(p.name) for p in imported.preferences}),
        lock_output=output.getvalue(), not_kept=not_kept(locked, imported.preferences), notes=imported.notes,
    )


def locked_files(lock_path: Path) -> dict[str, dict[Version, set[str]]]:
    """canonical name -> locked version -> the sha256 of every file locked for it."""
    from pypm.lock.reader import load_lock_data

    found: dict[str, dict[Version, set[str]]] = {}
    for package in load_lock_data(lock_path).get("packages", []):
        if not isinstance(package, dict) or "version" not in package or "directory" in package:
            continue
        try:
            version = Version(str(package["version"]))
        except InvalidVersion:
            continue
        files = [package["sdist"]] if isinstance(package.get("sdist"), dict) else []
        files += [w for w in package.get("wheels", []) if isinstance(w, dict)]
        digests = {str(f.get("hashes", {}).get("sha256", "")).lower() for f in files}
        found.setdefault(canonicalize_name(package["name"]), {}).setdefault(version, set()).update(digests)
    return found


def check_hashes(locked: dict[str, dict[Version, set[str]]], preferences: list[Preference]) -> None:
    """Refuse (one line) a locked version that the imported file pinned with hashes none of
    which is a hash of a file pypm locked for it: the lock would not install what the user had."""
    for pin in preferences:
        if not pin.hashes:
            continue
        files = locked.get(canonicalize_name(pin.name), {}).get(_version(pin.version))
        if files is not None and not files & pin.hashes:
            raise ImportRefused(
                f"{pin.name} {pin.version}: none of the {len(pin.hashes)} hash(es) in {pin.origin} matches a file "
                f"pypm locked for it from the index", hint="the index serves other files than the ones the hashes "
                "were made for: check the index settings, or re-create the hashes")


def not_kept(locked: dict[str, dict[Version, set[str]]], preferences: list[Preference]) -> list[str]:
    """``alpha 1.0 (requirements.txt:3) -> 2.0``: imported versions the lock could not keep
    (the version is gone from the index, or the requirements exclude it)."""
    latest: dict[tuple[str, str], Preference] = {}
    for pin in preferences:
        latest[(canonicalize_name(pin.name), pin.version)] = pin
    lines = []
    for (name, _), pin in latest.items():
        versions = locked.get(name)
        wanted = _version(pin.version)
        if versions and wanted is not None and wanted not in versions:
            now = ", ".join(str(v) for v in sorted(versions))
            lines.append(f"{pin.name} {pin.version} ({pin.origin}) could not be kept: locked {now}")
    return lines


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
