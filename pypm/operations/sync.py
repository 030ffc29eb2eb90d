"""``pypm sync``: make ``.venv`` match the lock exactly, writing the stamp last.

Beyond versions, a sync compares how each package was installed: a wheel linked with
another link mode is linked again, a workspace member whose inputs changed (its pyproject,
its dynamic metadata) is rebuilt, and, when ``.venv`` changed since the last sync (the
stamp's signals), a package whose files are gone is reinstalled. Editable wheels are built
before anything is removed, so a failing build leaves the previous install in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm import ui
from pypm.errors import InstallError, UsageError
from pypm.fsutil import atomic_write_text, file_size
from pypm.operations.selection import Reinstall, Selection, only_groups_closure
from pypm.operations.stamp import (
    STAMP_FILE,
    read_stamp,
    stamp_content,
    stamp_matches,
    stamp_path,
    sync_inputs,
)
from pypm.operations.venv_state import environment_unchanged

#: How many wheel tags the error for a package without a file for this platform names.
SHOWN_TAGS = 4
#: packaging's PylockSelectError for a package with no wheel for the tags and no sdist.
_NO_FILE = re.compile(r"^No wheel found matching the provided tags for package .* at packages\[(\d+)\]")

if TYPE_CHECKING:
    from collections.abc import Callable

    from pypm.workspace.member_sources import PreparedMetadata
    from pypm.workspace.model import Workspace


@dataclass
class SyncOutcome:
    """What ``sync`` changed."""

    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: bool = False
    #: the Merkle leaves of the RECORDs this sync wrote, by dist-info path (the stamp's root
    #: takes them from here instead of reading the RECORDs back;
    #: :func:`pypm.install.record_check.record_leaves`)
    leaves_of: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the line the sync printed about what it did ("" when it printed none)
    line: str = ""


def sync(workspace: Workspace, selection: Selection = Selection(), reinstall: Reinstall = Reinstall()) -> SyncOutcome:
    """Install what the lock selects for ``.venv``'s interpreter; remove the rest; install
    again what ``reinstall`` names even when it looks up to date.

    The lock and the interpreter are checked before ``.venv`` is touched; a ``.venv`` that
    must be recreated is replaced only once the new one is complete (see
    :func:`pypm.install.venv.project_venv`)."""
    from pypm.install.venv import project_venv, requested_base
    from pypm.operations.member_metadata import prepare_dynamic_metadata
    from pypm.store.lock import shared_store_lock

    venv, settings = workspace.venv_path, workspace.settings
    requested_base(settings)  # a python setting that names no interpreter fails here, naming its source
    if not reinstall.forces and stamp_matches(venv, workspace.lock_path, selection, settings, workspace.raw):
        ui.detail("sync: .venv matches pylock.toml")
        return SyncOutcome(skipped=True)
    # Held from reading the old stamp to writing the new one: a `cache clean` or `prune`
    # in between would delete entries this sync counts as installed (symlink mode) and
    # forget a stamp it then writes afresh.
    with shared_store_lock(settings.cache_dir):
        previous = read_stamp(venv)
        lock_bytes = workspace.lock_path.read_bytes() if workspace.lock_path.is_file() else b""
        lock = _LockSource.read(workspace.lock_path, settings.cache_dir, lock_bytes)  # a broken lock fails here
        prepared = prepare_dynamic_metadata(workspace)
        inputs = sync_inputs(lock_bytes, selection, settings, workspace.raw)
        with project_venv(venv, settings["python"], _requires_python(workspace, lock.requires_python()),
                          STAMP_FILE) as interpreter:
            # The files of kept packages are checked only when .venv changed since the last sync.
            verify = previous is None or not environment_unchanged(previous.get("environment"))
            plan = _Plan(prepared, verify, inputs["members"], reinstall)
            outcome = _apply(workspace, lock, selection, interpreter, plan)
            content = stamp_content(venv, inputs, outcome.leaves_of)
            atomic_write_text(stamp_path(venv), json.dumps(content))
    outcome.line = _summary(outcome, workspace.raw.label or ".venv")
    ui.info(outcome.line)
    return outcome


class _LockSource:
    """The lock as a sync needs it: validated by packaging, and selected from, only when
    the cache has no record of what it selects here (:mod:`pypm.lock.selections`)."""

    def __init__(self, path: Path, cache_dir: Path | None, sha256: str | None, record: Any = None,
                 lock: Any = None) -> None:
        self.path, self.cache_dir, self.sha256 = path, cache_dir, sha256
        self.record = record
        self._lock = lock

    @classmethod
    def read(cls, path: Path, cache_dir: Path, data: bytes) -> _LockSource:
        """The lock whose bytes are ``data``: known valid from its record, else validated
        now (so a broken lock fails before ``.venv`` is touched)."""
        import hashlib

        from pypm.lock.selections import read_record

        sha256 = hashlib.sha256(data).hexdigest() if data else None
        source = cls(path, cache_dir, sha256, read_record(cache_dir, sha256) if sha256 else None)
        if source.record is None:
            source.validated()
        return source

    def validated(self) -> Any:
        """The :class:`packaging.pylock.Pylock` (read and validated on first use)."""
        if self._lock is None:
            from pypm.lock.reader import read_lock

            self._lock = read_lock(self.path, self.cache_dir)
        return self._lock

    def requires_python(self) -> Any:
        """The lock's ``requires-python`` (a SpecifierSet, None when it has none)."""
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        if self.record is not None:
            if self.record.requires_python is None:
                return None
            with contextlib.suppress(InvalidSpecifier):  # a damaged record: the lock says
                return SpecifierSet(self.record.requires_python)
        return self.validated().requires_python

    def chosen(self, workspace: Workspace, selection: Selection, interpreter: Any) -> list[tuple[str, str, Any]]:
        """(name, version, source) of each package the lock selects for ``interpreter``,
        ``selection``'s groups and extras: as recorded, else by packaging (then recorded)."""
        from pypm.lock.selections import selection_key

        # --only-group reads the lock's dependency edges, a member's extra its workspace: not recorded
        recordable = (self.sha256 is not None and self.cache_dir is not None and not selection.only_groups
                      and not any(":" in extra for extra in selection.extras))
        key = selection_key(interpreter.environment, interpreter.tags, selection.key()) if recordable else None
        if key is not None and self.record is not None:
            found = self.record.chosen(key)
            if found is not None:
                return found
        chosen = _select_from(workspace, self.validated(), selection, interpreter)
        if key is not None:
            self._remember(key, chosen)
        return chosen

    def _remember(self, key: str, chosen: list[tuple[str, str, Any]]) -> None:
        """Record a selection, if the lock file still has the bytes this sync read (the
        validated parse is of those bytes, not of an edit made meanwhile)."""
        import hashlib

        from pypm.lock.selections import SelectionRecord, write_record

        if self.cache_dir is None:
            return
        try:
            if hashlib.sha256(self.path.read_bytes()).hexdigest() != self.sha256:
                return
        except OSError:
            return
        if self.record is None:
            requires = self.validated().requires_python
            self.record = SelectionRecord(str(self.sha256), str(requires) if requires is not None else None)
        if self.record.add(key, chosen):
            write_record(self.cache_dir, self.record)


@dataclass(frozen=True)
class _Plan:
    """How this sync judges what is installed: members' backend metadata, and whether the
    files of packages that look up to date must be checked."""

    prepared: dict[str, PreparedMetadata]
    verify: bool
    #: the stamp's install signatures (member path -> signature), so a tree is walked once
    signatures: dict[str, str] = field(default_factory=dict)
    reinstall: Reinstall = Reinstall()


def _requires_python(workspace: Workspace, locked: Any) -> Any:
    """What both the workspace and the lock (its ``requires-python``, or None) allow (a
    SpecifierSet)."""
    from packaging.specifiers import SpecifierSet

    allowed = SpecifierSet(str(workspace.requires_python))
    if locked is not None:
        allowed &= locked
    return allowed


def _summary(outcome: SyncOutcome, label: str) -> str:
    return (
        f"Synced {label}: {len(outcome.installed)} installed, {len(outcome.removed)} removed, "
        f"{outcome.unchanged} unchanged"
    )


def _apply(workspace: Workspace, lock: _LockSource, selection: Selection, interpreter: Any,
           plan: _Plan) -> SyncOutcome:
    from pypm.install.installed import finish_pending, installed_distributions, uninstall
    from pypm.trash import empty_trash

    wanted = _select(workspace, lock, selection, interpreter, plan)
    unknown = sorted(plan.reinstall.packages - set(wanted))
    if unknown:
        raise UsageError(f"--reinstall-package {unknown[0]}: this sync does not install it",
                         hint="name a package the lock selects here (`pypm tree` lists them)")
    site = [Path(interpreter.scheme["purelib"]), Path(interpreter.scheme["platlib"])]
    env_root = interpreter.prefix
    empty_trash(env_root)
    repaired = finish_pending(site, env_root)
    if repaired:
        ui.info(f"Finished what an interrupted sync left undone: {', '.join(sorted(set(repaired)))}")
    present = installed_distributions(site)
    outcome = SyncOutcome()
    to_install: list[Planned] = []
    link_mode = workspace.settings["link-mode"]
    for name, planned in sorted(wanted.items()):
        current = present.get(name)
        if current is not None and not plan.reinstall.wants(name) and _up_to_date(current, planned, link_mode,
                                                                                   plan.verify):
            outcome.unchanged += 1
            continue
        to_install.append(planned)
    removals = [d for n, d in present.items() if n not in wanted and not selection.inexact]
    removals += [present[p.name] for p in to_install if p.name in present]
    from pypm.index.credentials import remember_settings_credentials
    from pypm.store.lock import shared_store_lock

    remember_settings_credentials(workspace.settings)  # locked URLs carry none: the settings' URLs do
    builders = _Builders(workspace, interpreter)
    early = _EarlyUnpack(workspace.settings.cache_dir)
    # From the first download to the last link, the store's shared lock keeps `cache prune`
    # and `cache clean` from deleting a file or entry this sync is about to use.
    try:
        with shared_store_lock(workspace.settings.cache_dir):
            _recheck_reinstalled(workspace.settings.cache_dir, to_install, plan.reinstall)
            # With packages installed, every wheel a repair may need is fetched before the
            # first change, as the others are: a fetch that fails then leaves .venv as it was.
            paths = _wheel_files(workspace, [p for p in to_install if p.member_key is None], builders, early,
                                 check_stored=bool(present))
            # Members' wheels are built before the first removal: a failing build leaves
            # the member's previous install (and everything else) as it was.
            members = [p for p in to_install if p.member_key is not None]
            paths.update(_member_wheels(workspace, members, builders, plan.prepared))
            stamp_path(workspace.venv_path).unlink(missing_ok=True)  # removed before the first change
            for dist in removals:
                uninstall(dist, env_root)
                if dist.name not in wanted:
                    outcome.removed.append(dist.name)
            try:
                _install(workspace, to_install, paths, interpreter, outcome, early.entries)
            except BaseException:
                with contextlib.suppress(OSError):  # the first error is the one to report
                    finish_pending(site, env_root)  # undo a half-placed package now (e.g. the disk filled up)
                raise
    finally:
        early.close()
        builders.close()
    _check_nothing_pending(site)
    outcome.installed = [p.name for p in to_install]
    return outcome


def _requested_names(workspace: Workspace) -> set[str]:
    """What the user asked for: the members' direct dependencies (in any extra or group),
    which get ``REQUESTED`` in their dist-info; what they pulled in does not."""
    from packaging.utils import canonicalize_name

    requirements = [r for _, r in (item for reqs in workspace.groups().values() for item in reqs)]
    for member in workspace.members.values():
        requirements += member.dependencies
        requirements += [r for reqs in member.optional_dependencies.values() for r in reqs]
    return {canonicalize_name(r.name) for r in requirements}


def _check_nothing_pending(site: list[Path]) -> None:
    """The stamp may be written only when no removal or install is left half-done."""
    from pypm.install.installed import pending_operations

    pending = pending_operations(site)
    if pending:
        raise InstallError(f"sync left unfinished work in {pending[0]}", hint="run `pypm sync` again")


def _up_to_date(current: Any, planned: Planned, link_mode: str, verify: bool) -> bool:
    """Same version and kind, installed with this link mode, from the store entry of the
    same wheel (locked wheels) or the same member inputs (members, path dependencies), with
    no second dist-info of its name beside it; with ``verify``, every file its RECORD
    lists still there."""
    from packaging.pylock import PackageWheel

    from pypm.install.installed import missing_files

    if current.version != planned.version or current.editable != planned.editable or current.shadowed:
        return False
    if current.install_info.get("link-mode", "hardlink") != link_mode:
        return False
    if planned.member_key is not None and current.install_info.get("member-key") != planned.member_key:
        return False
    # A locked wheel counts as installed only from its own store entry: another installer's
    # copy of the same version (pip's, with no store pointer) may hold other files.
    if isinstance(planned.source, PackageWheel) and current.store != planned.source.hashes["sha256"]:
        return False
    return not (verify and missing_files(current))


def _recheck_reinstalled(cache_dir: Path, to_install: list[Planned], reinstall: Reinstall) -> None:
    """``--reinstall(-package)``: re-hash the named packages' store entries, so an in-place
    edit that kept sizes and mtimes is repaired before linking, not linked again."""
    from packaging.pylock import PackageWheel

    from pypm.store.repair import recheck

    for planned in to_install:
        if reinstall.wants(planned.name) and isinstance(planned.source, PackageWheel):
            recheck(cache_dir, planned.source.hashes["sha256"])


@dataclass(frozen=True)
class Planned:
    """One package the lock selects: its version and locked source (wheel, sdist or
    directory); for a directory, the key of what its install is made from and whether it
    is installed editable or from a wheel built from it."""

    name: str
    version: str
    source: Any
    member_key: str | None = None
    editable: bool = False


def _select(
    workspace: Workspace, lock: _LockSource, selection: Selection, interpreter: Any, plan: _Plan
) -> dict[str, Planned]:
    """What the lock selects for this interpreter, groups and extras."""
    from packaging.pylock import PackageDirectory, PackageSdist, PackageWheel
    from packaging.utils import canonicalize_name

    wanted: dict[str, Planned] = {}
    for name, version, source in lock.chosen(workspace, selection, interpreter):
        if isinstance(source, PackageDirectory):
            member = workspace.members.get(name)
            if member is None:
                raise InstallError(f"{name}: locked as a workspace member but not one any more",
                                   hint="re-lock with `pypm lock`")
            if selection.install_project or member.path_dependency:
                wanted[name] = _planned_member(workspace, member, source, plan)
        elif isinstance(source, (PackageWheel, PackageSdist)):
            wanted[name] = Planned(name, version, source)
        else:
            raise InstallError(f"{name}: pypm cannot install this kind of locked source yet")
    if selection.only_groups:
        groups = selection.resolve_groups(list(lock.validated().dependency_groups or []), [])
        keep = only_groups_closure(workspace.groups(), groups,
                                   ((p.name, p.dependencies) for p in lock.validated().packages),
                                   interpreter.environment)
        wanted = {name: planned for name, planned in wanted.items() if canonicalize_name(name) in keep}
    return wanted


def _select_from(workspace: Workspace, lock: Any, selection: Selection, interpreter: Any) -> list[tuple[str, str, Any]]:
    """packaging's selection from the validated ``lock``: (name, version, source) of each
    package, in its order."""
    from packaging.pylock import PylockSelectError
    from packaging.tags import Tag

    groups = selection.resolve_groups(list(lock.dependency_groups or []), list(lock.default_groups or []))
    extras = selection.resolve_extras(list(lock.extras or []), partial(member_extra_names, workspace))
    tags = [Tag(*text.split("-")) for text in interpreter.tags]  # sys_tags() as strings: one tag each
    try:
        return [(package.name, str(package.version), source) for package, source in lock.select(
            environment=interpreter.environment, tags=tags, extras=extras, dependency_groups=groups)]
    except PylockSelectError as exc:
        raise _select_error(lock, exc, interpreter) from None


def locked_selection(workspace: Workspace, lock: Any, selection: Selection, interpreter: Any) -> dict[str, Planned]:
    """What a sync with ``selection`` installs from ``lock`` for ``interpreter``, by name
    (``pypm verify``'s reference; members' install keys without their backend's metadata)."""
    source = _LockSource(workspace.lock_path, None, None, lock=lock)
    return _select(workspace, source, selection, interpreter, _Plan({}, verify=False))


def member_extra_names(workspace: Workspace, member: str, extra: str) -> list[str]:
    """The lock's names for one member's extra (``--extra MEMBER:EXTRA``)."""
    from packaging.utils import canonicalize_name

    name, wanted = canonicalize_name(member), canonicalize_name(extra)
    found = workspace.members.get(name)
    if found is None or wanted not in found.optional_dependencies:
        raise UsageError(
            f"--extra {member}:{extra}: no workspace member {member!r} with an extra {extra!r}",
            hint=f"extras by member: {_extras_by_member(workspace) or 'none'}",
        )
    return workspace.extra_names(name, wanted)


def _extras_by_member(workspace: Workspace) -> str:
    return ", ".join(f"{name}:{extra}" for name, member in sorted(workspace.members.items())
                     for extra in member.optional_dependencies)


def _select_error(lock: Any, exc: Exception, interpreter: Any) -> InstallError:
    """The error for a lock that cannot be installed on this interpreter: naming the package
    and this platform when a locked package has no file for it (packaging's message names
    the entry only by its index)."""
    found = _NO_FILE.search(str(exc))
    if found is None or int(found.group(1)) >= len(lock.packages):
        return InstallError(f"pylock.toml cannot be installed here: {exc}", hint="re-lock with `pypm lock`")
    package = lock.packages[int(found.group(1))]
    env = interpreter.environment
    here = f"{env['sys_platform']} {env['platform_machine']} (Python {env['python_version']})"
    tags = sorted({"-".join(wheel.filename[: -len(".whl")].split("-")[-3:]) for wheel in package.wheels or []})
    shown = ", ".join(tags[:SHOWN_TAGS]) + (f" and {len(tags) - SHOWN_TAGS} more" if len(tags) > SHOWN_TAGS else "")
    return InstallError(
        f"{package.name} {package.version} has no file for {here}: its locked wheels are for {shown}, "
        "and it has no sdist",
        hint=f"use a platform or Python it has a wheel for, or require a version of {package.name} that has one",
    )


def _planned_member(workspace: Workspace, member: Any, source: Any, plan: _Plan) -> Planned:
    """A member or path dependency to install: its version (a dynamic one as its backend
    gave it), the key of the inputs its install is made from (for one installed from a
    wheel of its tree, every file of the tree) and whether the lock says editable."""
    from pypm.install.editable import member_install_key
    from pypm.workspace.discovery import relative_posix
    from pypm.workspace.member_sources import install_signature

    prepared = plan.prepared.get(member.name)
    key = member_install_key(member, prepared)
    editable = bool(source.editable)
    if not editable:  # its install signature covers every file of its tree
        where = relative_posix(member.path, workspace.root)
        signature = plan.signatures.get(where) or install_signature(
            next(m for m in workspace.raw.members if m.path == member.path), workspace.raw)
        key = f"{key}:{signature}"
    return Planned(member.name, str(member.version or "0"), source, key, editable)


def _usable_cores() -> int:
    """The CPUs this process may run on (the affinity mask where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


#: Threads unpacking wheels into the store (each member is decompressed and hashed in C,
#: outside the GIL, and written to a new file): one per core, at least 2, at most 4. More
#: threads than cores cost more than they overlap: r2's 40 wheels unpacked in 1.7-2.2 s with
#: 2 threads, 2.8-3.4 s with 4 and 3.4 s with 8 on a 2-core machine (1 thread: 2.6 s); its
#: cold sync took 3.0 s with 2 and 3.6 s with 4.
UNPACK_THREADS = max(2, min(4, _usable_cores()))
#: Threads that link store entries into the environment (see :func:`_install`).
LINK_THREADS = UNPACK_THREADS
#: Held by a link thread fetching the wheel of an entry it repairs (:func:`_wheel_of`).
_FETCHING_ALONE = threading.Lock()


class _EarlyUnpack:
    """Unpacks each downloaded wheel into the store as soon as it is in the cache, while
    the others still download (store entries only: nothing in ``.venv`` changes)."""

    def __init__(self, cache_dir: Path) -> None:
        from pypm.install.largest_first import LargestFirstPool

        self.cache_dir = cache_dir
        self.pool = LargestFirstPool(UNPACK_THREADS, thread_name_prefix="pypm-unpack")
        self.entries: dict[str, Any] = {}  # sha256 -> future of the store entry

    def ready(self, item: Any, path: Path, downloaded: bool) -> None:
        """A downloaded (or already cached) wheel: unpack it unless it is in the store (a
        wheel just downloaded was hashed as it streamed: not hashed again). Of the wheels
        waiting, the largest is unpacked first (:mod:`pypm.install.largest_first`)."""
        from pypm.store.entry import is_unpacked
        from pypm.store.unpack import ensure_unpacked

        if not is_unpacked(self.cache_dir, item.sha256):
            size = item.size if item.size is not None else file_size(path)  # gone: unpacking says so
            self.entries[item.sha256] = self.pool.submit(size, ensure_unpacked, path, item.sha256, self.cache_dir,
                                                         downloaded)

    def close(self) -> None:
        """Wait for the unpacks under way (no thread writes into the store after sync)."""
        self.pool.shutdown()


def _wheel_files(workspace: Workspace, planned: list[Planned], builders: _Builders,
                 early: _EarlyUnpack | None = None, check_stored: bool = False) -> dict[str, Path]:
    """name -> wheel file in the cache: downloaded (sha256-verified) or built from the sdist
    (``early``: unpacks each wheel as it arrives). A locked wheel whose entry is in the store
    is not fetched: its path is where the cache keeps it, there or not (read only to repair
    the entry or unpack it again: :func:`_wheel_of`), as uv links from its cache without
    the wheel. With ``check_stored``, an entry whose files changed (a stat per file, as
    linking checks it again) does not count as stored: its wheel is fetched now, for the
    repair, before the sync changes anything."""
    from packaging.pylock import PackageWheel

    from pypm.install.download import cache_path, fetch_all
    from pypm.store.entry import is_unpacked

    settings = workspace.settings
    wheels = [p for p in planned if isinstance(p.source, PackageWheel)]
    stored = {p.name for p in wheels if is_unpacked(settings.cache_dir, p.source.hashes["sha256"])
              and (not check_stored or _entry_intact(settings.cache_dir, p.source.hashes["sha256"]))}
    items = [_file_to_fetch(p) for p in wheels if p.name not in stored]
    fetched = fetch_all(items, settings.cache_dir, offline=settings["offline"],
                        on_ready=early.ready if early is not None else None)
    paths = {p.name: cache_path(settings.cache_dir, _file_to_fetch(p)) if p.name in stored
             else fetched[p.source.filename] for p in wheels}
    sdists = [p for p in planned if not isinstance(p.source, PackageWheel)]
    if sdists:
        paths.update(_build_sdists(workspace, sdists, builders))
    return paths


def _entry_intact(cache_dir: Path, sha256: str) -> bool:
    """Are the files of the store entry of wheel ``sha256`` as unpacked (stat only)? False
    also for a manifest that cannot be read (the entry is then unpacked again)."""
    from pypm.store.entry import StoreEntry
    from pypm.store.integrity import changed_files
    from pypm.store.layout import store_entry

    try:
        return not changed_files(StoreEntry.load(store_entry(cache_dir, sha256)))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _file_to_fetch(planned: Planned) -> Any:
    """The download of a locked wheel."""
    from pypm.install.download import FileToFetch

    source = planned.source
    return FileToFetch(source.filename, source.url, source.hashes["sha256"], source.size)


def _wheel_of(workspace: Workspace, planned: Planned, paths: dict[str, Path]) -> Path:
    """The wheel of ``planned``, fetched now when it is a locked wheel the cache lacks (one
    whose entry was in the store, so it was not fetched before: see :func:`_wheel_files`)."""
    from packaging.pylock import PackageWheel

    from pypm.install.download import fetch_all

    path = paths[planned.name]
    if not isinstance(planned.source, PackageWheel) or path.is_file():
        return path
    settings = workspace.settings
    with _FETCHING_ALONE:  # link threads fetch one at a time: one progress display at once
        fetched = fetch_all([_file_to_fetch(planned)], settings.cache_dir, offline=settings["offline"])
    return fetched[planned.source.filename]


def _member_wheels(
    workspace: Workspace, planned: list[Planned], builders: _Builders, prepared: dict[str, PreparedMetadata]
) -> dict[str, Path]:
    """name -> wheel of each member or path dependency to install (built now, installed
    later): an editable wheel, or a wheel of its tree cached by the tree's key."""
    from pypm.install.editable import editable_wheel

    cache_dir = workspace.settings.cache_dir
    wheels = {}
    for p in planned:
        member = workspace.members[p.name]
        if p.editable:
            wheels[p.name] = editable_wheel(member, cache_dir, builders, prepared.get(p.name))
        else:
            ui.info(f"Building {p.name} from {member.path}")
            wheels[p.name] = builders().build_tree_wheel(member.path, _tree_key(p))
    return wheels


def _tree_key(planned: Planned) -> str:
    import hashlib

    return hashlib.sha256(f"{planned.member_key}\0tree".encode()).hexdigest()


class _Builders:
    """One lazily made SdistBuilder (and index client) per sync, for sdists and editables,
    building for ``.venv``'s interpreter."""

    def __init__(self, workspace: Workspace, interpreter: Any = None) -> None:
        self.workspace = workspace
        self.interpreter = interpreter
        self._builder: Any = None
        self._client: Any = None

    def __call__(self) -> Any:
        if self._builder is None:
            from pypm.build.frontend import SdistBuilder
            from pypm.index.client import IndexClient

            settings = self.workspace.settings
            self._client = IndexClient(settings, settings.cache_dir)
            self._builder = SdistBuilder(self._client, settings.cache_dir, target=self.interpreter,
                                         offline=settings["offline"])
        return self._builder

    def close(self) -> None:
        """Close the index client, if one was made."""
        if self._client is not None:
            self._client.close()


def _build_sdists(workspace: Workspace, sdists: list[Planned], builders: _Builders) -> dict[str, Path]:
    from pypm.index.links import FileLink

    if workspace.settings["offline"]:
        names = ", ".join(p.name for p in sdists)
        raise InstallError(f"offline, and these need building from sdists: {names}",
                           hint=f"run it once online first; {workspace.settings.describe('offline')}")
    paths = {}
    for planned in sdists:
        source = planned.source
        link = FileLink(source.filename, source.url, "", source.hashes["sha256"], size=source.size)
        ui.info(f"Building {planned.name} {planned.version} from its sdist")
        paths[planned.name] = builders().build_wheel(link, planned.name, planned.version or None)
    return paths


def _install(workspace: Workspace, to_install: list[Planned], paths: dict[str, Path], interpreter: Any,
             outcome: SyncOutcome, unpacking: dict[str, Any]) -> None:
    """Link the wheels (unpacked into the store first, with the wheels built from path
    dependencies' trees) and the members' editable wheels, recording the link mode asked
    for in each dist-info (into ``outcome``: the Merkle leaves of the wheels' RECORDs, by
    dist-info; ``unpacking``: store entries already being unpacked, by sha256)."""
    from concurrent.futures import ThreadPoolExecutor

    from packaging.pylock import PackageWheel

    from pypm.fsutil import file_sha256
    from pypm.install.editable import link_editable
    from pypm.install.record_check import record_leaves
    from pypm.store.entry import StoreEntry, is_unpacked
    from pypm.store.layout import store_entry
    from pypm.store.link import independent_groups, link_entry
    from pypm.store.repair import checked
    from pypm.store.unpack import ensure_unpacked

    settings = workspace.settings
    cache_dir, link_mode = settings.cache_dir, settings["link-mode"]
    wheels = [p for p in to_install if not p.editable]

    def unpack(planned: Planned) -> Any:
        locked = isinstance(planned.source, PackageWheel)
        sha256 = planned.source.hashes["sha256"] if locked else file_sha256(paths[planned.name])
        started = unpacking.get(sha256)
        if started is not None:
            return started.result()
        return ensure_unpacked(_wheel_of(workspace, planned, paths), sha256, cache_dir)

    def stored(planned: Planned) -> tuple[Any, bool]:
        """(the entry of a locked wheel already in the store, True: still to be checked);
        anything else is unpacked, or checked, now."""
        sha256 = planned.source.hashes["sha256"] if isinstance(planned.source, PackageWheel) else None
        if sha256 is not None and sha256 not in unpacking:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # unreadable: ensure_unpacked
                return StoreEntry.load(store_entry(cache_dir, sha256)), True
        return unpack(planned), False

    # Unpacking new wheels is mostly zlib and sha256, which run outside the GIL: threads
    # help. Linking comes after the unpacking (linking while the threads still unpacked
    # was slower: they contend for the GIL). An entry already in the store is checked (a
    # stat per file) by the thread that links it, just before.
    new = [p for p in wheels if not (isinstance(p.source, PackageWheel)
                                     and is_unpacked(cache_dir, p.source.hashes["sha256"]))]
    with ThreadPoolExecutor(UNPACK_THREADS) as pool:
        fresh = dict(zip([p.name for p in new], pool.map(unpack, new), strict=True))
    found = [(fresh[p.name], False) if p.name in fresh else stored(p) for p in wheels]
    entries = [entry for entry, _ in found]
    requested = _requested_names(workspace)
    made_dirs: set[str] = set()  # shared by the link threads (a set's add is atomic)
    env_root = interpreter.scheme["data"]

    def link_group(group: list[int]) -> None:
        for index in group:
            planned, (entry, to_check) = wheels[index], found[index]
            if to_check:
                sha256 = planned.source.hashes["sha256"]
                try:
                    entry = checked(entry, partial(_wheel_of, workspace, planned, paths), sha256)
                except (ValueError, KeyError, TypeError):  # its manifest was damaged meanwhile
                    entry = ensure_unpacked(_wheel_of(workspace, planned, paths), sha256, cache_dir)
            extra, info = (None, {"link-mode": link_mode}) if planned.member_key is None else (
                _tree_install_info(workspace, planned, link_mode))
            written: dict[str, list[tuple[str, str, str]]] = {}
            link_entry(entry, interpreter, link_mode, cache_dir, extra, requested=planned.name in requested,
                       written=written, install_info=info, made_dirs=made_dirs)
            # The stamp's Merkle leaves are made here, not after the last link: this thread's
            # Python work then runs while the other one waits on the filesystem.
            for dist_info, rows in written.items():
                outcome.leaves_of[dist_info] = record_leaves(dist_info, rows, env_root)

    # Creating a directory or a file costs a filesystem far more than a hard link, and
    # waits on it (0.05-0.8 ms each, measured here): entries that share no top-level
    # name are linked side by side, as uv links in parallel.
    _run_all(link_group, independent_groups(entries), LINK_THREADS)
    for planned in to_install:
        if planned.editable:
            member = workspace.members[planned.name]
            link_editable(member, paths[planned.name], interpreter, cache_dir, link_mode, planned.member_key)


def _run_all(work: Callable[[list[int]], None], groups: list[list[int]], threads: int) -> None:
    """``work(group)`` for every group, ``threads`` at a time; the first failure is raised
    once the groups under way have finished (those not started are not)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(groups) < 2:
        for group in groups:
            work(group)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="pypm-link") as pool:
        futures = [pool.submit(work, group) for group in groups]
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _tree_install_info(
    workspace: Workspace, planned: Planned, link_mode: str,
) -> tuple[dict[str, bytes], dict[str, str]]:
    """The dist-info files of a path dependency installed from a wheel of its tree (a
    PEP 610 ``direct_url.json`` naming the directory, not editable) and its install info
    (with the key of the tree it was built from)."""
    url = workspace.members[planned.name].path.as_uri()
    direct_url = {"direct_url.json": json.dumps({"url": url, "dir_info": {}}).encode()}
    return direct_url, {"link-mode": link_mode, "member-key": str(planned.member_key)}
