"""What is installed in an environment, and removing a distribution by its RECORD."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from pypm.store.registry import STORE_POINTER
from pypm.trash import remove_file, trash_dir
from pypm.workspace.discovery import canonical_name

#: pypm's record of how it installed a dist-info: the link mode asked for (``link-mode``)
#: and, for a workspace member, the key of what it was built from (``member-key``). A sync
#: reinstalls what was installed differently. These fields are now kept in the store
#: pointer (``pypm-store.json``); this file is what older pypm versions wrote.
INSTALL_INFO = "pypm-install.json"


@dataclass(frozen=True)
class InstalledDist:
    """A ``.dist-info`` directory found in site-packages (``install_info``: its
    :data:`INSTALL_INFO`, empty when pypm did not write one; ``shadowed``: the other
    dist-info directories of the same name, which another installer put beside it and
    which are removed with it)."""

    name: str
    version: str
    dist_info: Path
    editable: bool
    store: str | None = None
    install_info: dict[str, str] = field(default_factory=dict, compare=False)
    shadowed: tuple[Path, ...] = field(default=(), compare=False)


def installed_distributions(site_packages: list[Path]) -> dict[str, InstalledDist]:
    """Every distribution in the given site-packages directories, by canonical name."""
    from pypm.index.metadata import metadata_headers  # the description is not parsed

    found: dict[str, InstalledDist] = {}
    for directory in dict.fromkeys(site_packages):
        if not directory.is_dir():
            continue
        for dist_info in sorted(directory.glob("*.dist-info")):
            metadata = dist_info / "METADATA"
            if not metadata.is_file() or not (dist_info / "RECORD").is_file():
                continue
            headers = metadata_headers(metadata.read_bytes())
            name = canonical_name(headers["Name"] or dist_info.name.split("-")[0])
            pointer = _json_object(dist_info / STORE_POINTER)
            store = pointer.pop("store", None)
            if name in found:  # one name, two dist-infos (pip installed a second version beside)
                first = found[name]
                found[name] = replace(first, shadowed=(*first.shadowed, dist_info))
                continue
            found[name] = InstalledDist(
                name, headers["Version"] or "", dist_info, _is_editable(dist_info), store,
                pointer or _json_object(dist_info / INSTALL_INFO),
            )
    return found


def _json_object(path: Path) -> dict[str, str]:
    """The string fields of a JSON object file (empty when missing or unreadable)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def missing_files(dist: InstalledDist) -> list[str]:
    """Files the distribution's RECORD lists that are gone (or, installed as symbolic
    links, whose target is gone); compiled ``.pyc`` files do not count (Python remakes them)."""
    paths = _record_paths(dist.dist_info / "RECORD", dist.dist_info.parent)
    return [path for path in paths if not path.endswith(".pyc") and not os.path.exists(path)]


def _is_editable(dist_info: Path) -> bool:
    direct_url = dist_info / "direct_url.json"
    if not direct_url.is_file():
        return False
    try:
        return bool(json.loads(direct_url.read_text("utf-8")).get("dir_info", {}).get("editable"))
    except ValueError:
        return False


REMOVING = ".pypm-removing"
STAGING = ".pypm-tmp"
#: The journal of an install by an older pypm (it now writes the staging RECORD first and
#: uses that): still read from staging directories such a crash left.
PLACING = "pypm-placing.txt"


def uninstall(dist: InstalledDist, env_root: Path) -> None:
    """Remove a distribution: its dist-info is first renamed out of sight (the rename is
    the journal: a crash leaves at worst a ``.pypm-removing`` directory that the next sync
    finishes with :func:`finish_pending`, never a dist that looks installed), then every
    file its RECORD lists inside ``env_root``, then the emptied directories."""
    for dist_info in (dist.dist_info, *dist.shadowed):
        trash = dist_info.parent / f".{dist_info.name}{REMOVING}"
        if trash.exists():
            _finish_one(trash, env_root, owned=set())
        os.rename(dist_info, trash)
        _finish_one(trash, env_root, owned=set())


def pending_operations(site_packages: list[Path]) -> list[Path]:
    """Removals and installs that a crash left unfinished (their journal directories)."""
    found = []
    for directory in dict.fromkeys(site_packages):
        if directory.is_dir():
            found.extend(p for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(
                (f".dist-info{REMOVING}", f".dist-info{STAGING}")))
    return sorted(found)


def finish_pending(site_packages: list[Path], env_root: Path) -> list[str]:
    """Finish every removal (and undo every half-done install) a crash left behind: the
    files their journal lists are deleted unless an installed distribution owns them.
    Returns the names of the distributions whose leftovers were cleared."""
    pending = pending_operations(site_packages)
    if not pending:
        return []
    owned = _owned_paths(site_packages)
    for journal in pending:
        _finish_one(journal, env_root, owned)
    return [journal.name[1:].split("-", 1)[0] for journal in pending]


def _owned_paths(site_packages: list[Path]) -> set[str]:
    owned: set[str] = set()
    for dist in installed_distributions(site_packages).values():
        for dist_info in (dist.dist_info, *dist.shadowed):
            owned.update(_record_paths(dist_info / "RECORD", dist_info.parent))
    return owned


def _finish_one(journal: Path, env_root: Path, owned: set[str]) -> None:
    site = journal.parent
    listing = journal / "RECORD" if (journal / "RECORD").is_file() else journal / PLACING
    within = _Containment(env_root)
    parents: set[str] = set()
    for path in _record_paths(listing, site):
        if path in owned or not within(path):
            continue  # pip, too, never removes files outside the environment
        if os.path.isfile(path) or os.path.islink(path):
            remove_file(path, trash_dir(env_root))
            parents.add(os.path.dirname(path))
            _remove_pycache(Path(path))
    shutil.rmtree(journal, ignore_errors=True)
    for parent in sorted(parents, key=lambda p: p.count(os.sep), reverse=True):
        _prune_empty(Path(parent), site)


def _record_paths(record: Path, site: Path) -> list[str]:
    """Absolute, normalised paths of a RECORD's rows (rows with absolute paths and rows
    that cannot be parsed are left out: pypm never deletes by an absolute RECORD path)."""
    from installer.records import InvalidRecordEntry, parse_record_file

    try:
        lines = record.read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return []
    paths = []
    for line in lines:
        try:
            row_path = next(parse_record_file([line]), ("",))[0]
        except InvalidRecordEntry:
            continue
        if row_path and not os.path.isabs(row_path) and not Path(row_path).drive:
            paths.append(os.path.normpath(os.path.join(site, row_path)))
    return paths


class _Containment:
    """Tells whether a path's directory really is inside the environment: symlinked
    directories are resolved, so a link out of the environment does not count as inside
    (the file itself may be a link: removing it removes the link)."""

    def __init__(self, env_root: Path) -> None:
        self.root = os.path.realpath(env_root)
        self.verdicts: dict[str, bool] = {}

    def __call__(self, path: str) -> bool:
        directory = os.path.dirname(path)
        verdict = self.verdicts.get(directory)
        if verdict is None:
            real = os.path.realpath(directory)
            verdict = self.verdicts[directory] = real == self.root or real.startswith(self.root + os.sep)
        return verdict


def _remove_pycache(path: Path) -> None:
    if path.suffix == ".py":
        cache = path.parent / "__pycache__"
        for compiled in cache.glob(f"{path.stem}.*.pyc"):
            compiled.unlink(missing_ok=True)


def _prune_empty(directory: Path, site: Path) -> None:
    """Remove ``directory`` and its emptied parents, never leaving site-packages."""
    while site in directory.parents and directory.is_dir():
        pycache = directory / "__pycache__"
        if pycache.is_dir() and not any(pycache.iterdir()):
            pycache.rmdir()
        if any(directory.iterdir()):
            return
        directory.rmdir()
        directory = directory.parent


