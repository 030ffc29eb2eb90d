"""``pypm lock``: resolve the workspace and write ``pylock.toml`` when its inputs changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version

from pypm import ui
from pypm.lock.reader import load_lock_data, read_input_hash
from pypm.operations.lock_request import LockRequest
from pypm.workspace.inputs import input_hash
from pypm.workspace.model import Workspace

if TYPE_CHECKING:
    from pypm.resolver.options import ResolverOptions
    from pypm.resolver.resolve import Uncovered

#: How many packages the warning about uncovered environments names before "and N more".
WARNED_PACKAGES = 5


@dataclass
class LockOutcome:
    """What ``lock`` did: ``written`` is False when the lock was already up to date;
    ``memo_key``: the key of the remembered resolution the lock is (None: none is kept);
    ``where``: what the "Locked N packages" line says after the count."""

    written: bool
    packages: int
    path: Path
    memo_key: str | None = None
    where: str = ""


class PreviousLock(NamedTuple):
    """What a re-lock keeps from the existing lock, for least churn: each package's locked
    version (its versions, when the lock forked it) and the forks the lock was split into."""

    versions: dict[NormalizedName, Version | frozenset[Version]]
    fork_markers: list[str]


def previous_lock(document: dict[str, Any] | None) -> PreviousLock:
    """The existing lock's versions (with their entries' markers where forks chose
    several) and fork markers (empty when there is no readable lock)."""
    if document is None:
        return PreviousLock({}, [])
    from pypm.resolver.provider import PlacedVersions

    versions: dict[NormalizedName, Version | frozenset[Version]] = {}
    for name, placed in _placed_versions(document).items():
        if len(placed) == 1:
            versions[name] = next(iter(placed))
        elif placed:
            versions[name] = PlacedVersions(placed)
    tool = document.get("tool", {}).get("pypm", {}) if isinstance(document.get("tool"), dict) else {}
    markers = tool.get("fork-markers", []) if isinstance(tool, dict) else []
    return PreviousLock(versions, [m for m in markers if isinstance(m, str)] if isinstance(markers, list) else [])


def _placed_versions(document: dict[str, Any]) -> dict[NormalizedName, dict[Version, str | None]]:
    """name -> {locked version: the marker of its entry} (workspace members left out)."""
    from packaging.utils import canonicalize_name

    found: dict[NormalizedName, dict[Version, str | None]] = {}
    for package in _entries(document):
        if not isinstance(package, dict) or "directory" in package or not isinstance(package.get("name"), str):
            continue
        try:
            version = Version(str(package.get("version")))
        except InvalidVersion:
            continue
        marker = package.get("marker")
        placed = found.setdefault(canonicalize_name(package["name"]), {})
        placed[version] = marker if isinstance(marker, str) else None
    return found


def _entries(document: dict[str, Any]) -> list[Any]:
    """The old lock's ``packages`` (none when a hand edit made them something else than
    an array: such a lock gives no preferences and no change list, as one that does not
    parse)."""
    packages = document.get("packages", [])
    return packages if isinstance(packages, list) else []


def with_preferences(previous: PreviousLock, prefer: tuple[tuple[str, str], ...]) -> PreviousLock:
    """``previous`` with the versions of ``prefer`` (name, version) over its own."""
    from packaging.utils import canonicalize_name

    if not prefer:
        return previous
    versions = dict(previous.versions)
    for name, text in prefer:
        try:
            versions[canonicalize_name(name)] = Version(text)
        except InvalidVersion:
            continue
    return PreviousLock(versions, previous.fork_markers)


def _default_requires_python(workspace: Workspace, report: bool) -> str | None:
    """No member declares ``requires-python``: lock for ``>=`` the minor of the Python a
    sync would use (``--python``, ``.venv``'s, else the running one), as uv does, rather
    than for every Python ever (whose forks old releases would have to serve). Returns
    that Python's version (None when a member declares one)."""
    if str(workspace.requires_python):
        return None
    from packaging.specifiers import SpecifierSet

    from pypm.operations.default_python import sync_python_version

    version = sync_python_version(workspace.venv_path, workspace.settings)
    minor = ".".join(version.split(".")[:2])
    workspace.default_requires_python = SpecifierSet(f">={minor}")
    if report and workspace.raw.label is None:  # a script's block rarely says (uv does not warn there either)
        ui.warning(f"no requires-python in the workspace: locking for >={minor} (the Python pypm uses here), as uv"
                   " does; set [project] requires-python to choose")
    return version


def lock(workspace: Workspace, request: LockRequest | None = None, report: bool = True) -> LockOutcome:
    """Write ``pylock.toml`` unless its recorded input hash already matches the inputs;
    say what changed (as uv does after a re-lock) and how many packages are locked
    (unless ``report`` is False: a second lock of one command that said it already).

    A lock made before from the same inputs and the same index pages is written again
    without resolving (:mod:`pypm.lock.memo`)."""
    from pypm.operations.default_python import lock_admits
    from pypm.operations.member_metadata import prepare_dynamic_metadata

    request = request or LockRequest()
    if request.prerelease:
        # the policy the lock is made under is one of its inputs (uv records prerelease-mode in
        # its lock and re-resolves when it differs): hashed as the setting this run uses, so a
        # later run under the configured policy re-locks instead of finding it up to date
        workspace.settings.override("prerelease", request.prerelease, "--prerelease")
    prepare_dynamic_metadata(workspace)  # dynamic dependencies enter the input hash and the resolution
    defaulted = _default_requires_python(workspace, report)
    digest = input_hash(workspace.raw, workspace.settings)
    if not request.forces and read_input_hash(workspace.lock_path) == digest and \
            (defaulted is None or lock_admits(workspace.lock_path, defaulted)):
        ui.detail("lock: inputs unchanged, pylock.toml is up to date")
        return LockOutcome(False, 0, workspace.lock_path)
    old = read_previous_lock(workspace.lock_path)
    previous = with_preferences(previous_lock(None if request.upgrade else old), request.prefer)
    options = resolver_options(workspace, request)
    key = _memo_key(workspace, request, digest, previous, options)
    made = _recalled_lock(workspace, key) if key is not None else None
    if made is None:
        made = _resolve_and_write(workspace, request, digest, previous, options, key)
    where = f"for {workspace.raw.label}" if workspace.raw.label else f"in {workspace.lock_path.name}"
    if report:
        if old is not None:
            for line in changes(package_versions(old), package_versions(made.document())):
                ui.info(line)
        if made.warning:
            ui.warning(made.warning)
        from pypm.lock.memo import locked_line

        ui.info(locked_line(made.packages, where))
    return LockOutcome(made.written, made.packages, workspace.lock_path, made.memo_key, where)


@dataclass
class _MadeLock:
    """A lock just written (or found already there): whether the file changed, how many
    packages it holds, its warning line, the key of the remembered resolution it is
    (None: none is kept); ``document`` reads it back for the change list."""

    written: bool
    packages: int
    warning: str | None
    path: Path
    memo_key: str | None = None

    def document(self) -> dict[str, Any]:
        """The lock's data."""
        return load_lock_data(self.path)


def _memo_key(workspace: Workspace, request: LockRequest, digest: str, previous: PreviousLock,
              options: ResolverOptions) -> str | None:
    """The key under which this resolution is remembered; None when it is not (a refresh
    or upgrade asks the index again; packages built from local trees are not covered)."""
    from pypm.lock.memo import memo_key

    if request.refresh or request.upgrade or request.upgrade_packages or workspace.settings.cache_dir is None:
        return None
    if any(member.path_dependency for member in workspace.members.values()):
        return None
    rendered = "|".join([options.prereleases, *(",".join(sorted(names)) for names in
                                               (options.no_build, options.no_binary, options.upgrade)),
                         str(workspace.default_requires_python or "")])
    return memo_key(digest, previous.versions, previous.fork_markers, rendered)


def _recalled_lock(workspace: Workspace, key: str) -> _MadeLock | None:
    """The remembered lock for ``key`` written out, when every page it was resolved from
    is unchanged; None otherwise."""
    from pypm.fsutil import atomic_write_text
    from pypm.lock.memo import recall, still_holds

    cache_dir = workspace.settings.cache_dir
    assert cache_dir is not None
    recalled = recall(cache_dir, key)
    if recalled is None:
        return None
    from pypm.index.page_cache import PageCache

    pages = PageCache(cache_dir, workspace.settings["index-page-ttl"])
    fresh_digest = pages.fresh_digest
    index_urls = workspace.settings.index_base_urls
    if any("@" in index_url for index_url in index_urls):  # the record holds URLs without credentials
        from pypm.index.urls import with_credentials

        def fresh_digest(url: str) -> str | None:
            return pages.fresh_digest(with_credentials(url, index_urls))

    if not still_holds(recalled, fresh_digest, lambda urls: _current_digests(workspace, urls)):
        return None
    path = workspace.lock_path
    written = not (path.is_file() and path.read_text("utf-8") == recalled.lock_text)
    if written:
        atomic_write_text(path, recalled.lock_text)
    ui.detail("lock: the same inputs and index pages as a lock made before; written from its record")
    return _MadeLock(written, recalled.packages, recalled.warning, path, key)


def _current_digests(workspace: Workspace, urls: list[str]) -> dict[str, str]:
    """The pages' digests as the index has them now (see ``IndexClient.current_digests``)."""
    from pypm.index.client import IndexClient

    client = IndexClient(workspace.settings, workspace.settings.cache_dir)
    try:
        return client.current_digests(urls)
    finally:
        client.close()


def _resolve_and_write(workspace: Workspace, request: LockRequest, digest: str, previous: PreviousLock,
                       options: ResolverOptions, key: str | None) -> _MadeLock:
    """Resolve, write the lock, and remember it under ``key`` (when given and the pages
    it read can be compared later)."""
    from pypm.build import make_sdist_metadata_builder
    from pypm.index.client import IndexClient
    from pypm.lock.memo import remember
    from pypm.lock.writer import lock_document, write_lock
    from pypm.resolver.coverage import check_required
    from pypm.resolver.resolve import resolve

    cache_dir = workspace.settings.cache_dir
    # an upgrade looks for releases newer than the cached pages may list, as uv's
    # --upgrade(-package) implies --refresh(-package)
    client = IndexClient(workspace.settings, cache_dir, refresh=request.refresh or request.upgrade,
                         refresh_packages=frozenset(request.upgrade_packages))
    try:
        sdists = make_sdist_metadata_builder(client, cache_dir)
        resolution = resolve(workspace, client, previous.versions, options, sdist_metadata=sdists,
                             forks=previous.fork_markers)
        client.fill_sizes(resolution)
    finally:
        client.close()
        client.forget()  # before the lock document is built: the peak memory of a lock
    check_required(resolution.uncovered, workspace.settings["required-environments"])
    document = lock_document(workspace, resolution, digest)
    written = write_lock(workspace.lock_path, document)
    warning = uncovered_warning(resolution.uncovered) if resolution.uncovered else None
    count = len(resolution.entries)
    kept = (key is not None and cache_dir is not None and client.memoizable
            and remember(cache_dir, key, workspace.lock_path, count, warning, client.consulted))
    return _MadeLock(written, count, warning, workspace.lock_path, key if kept else None)


def uncovered_warning(uncovered: list[Uncovered]) -> str:
    """The one warning line about packages left without a file for some platforms:
    ``torch 2.5.1 has no file for darwin x86_64; a sync there will fail (...)``."""
    items = sorted(uncovered, key=lambda entry: (entry.name, entry.version))
    advice = "a sync there will fail (set required-environments to make this an error)"
    if len(items) == 1:
        item = items[0]
        return f"{item.name} {item.version} has no file for {', '.join(item.platforms)}; {advice}"
    named = ", ".join(f"{item.name} {item.version} ({', '.join(item.platforms)})" for item in items[:WARNED_PACKAGES])
    more = f" and {len(items) - WARNED_PACKAGES} more" if len(items) > WARNED_PACKAGES else ""
    return f"{len(items)} packages have no file for some platforms: {named}{more}; {advice}"


def read_previous_lock(lock_path: Path) -> dict[str, Any] | None:
    """The existing lock's data, read once for the preferences and the change list; None
    when there is none to keep or compare with (no file, or one that cannot be read)."""
    if not lock_path.is_file():
        return None
    try:
        return load_lock_data(lock_path)
    except Exception:  # noqa: BLE001 - an unreadable old lock gives no preferences and no changes
        return None


def package_versions(document: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """name -> its locked versions (several when forks chose different ones), leaving
    out workspace members (their entries have a ``directory``)."""
    versions: dict[str, set[str]] = {}
    for package in _entries(document):
        if not isinstance(package, dict) or "directory" in package or not isinstance(package.get("name"), str):
            continue
        versions.setdefault(package["name"], set()).add(str(package.get("version", "?")))
    return {name: tuple(sorted(found, key=_version_key)) for name, found in versions.items()}


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(text))
    except InvalidVersion:
        return (1, text)


def changes(before: dict[str, tuple[str, ...]], after: dict[str, tuple[str, ...]]) -> list[str]:
    """``+ name version``, ``- name version`` and ``~ name old -> new`` lines, by name."""
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = ", ".join(before.get(name, ())), ", ".join(after.get(name, ()))
        if not old:
            lines.append(f"+ {name} {new}")
        elif not new:
            lines.append(f"- {name} {old}")
        elif old != new:
            lines.append(f"~ {name} {old} -> {new}")
    return lines


def resolver_options(workspace: Workspace, request: LockRequest) -> ResolverOptions:
    """Resolver options from the settings and this run's request."""
    from packaging.utils import canonicalize_name

    from pypm.resolver.options import ResolverOptions

    return ResolverOptions(
        prereleases=request.prerelease or workspace.settings["prerelease"],
        upgrade=frozenset(canonicalize_name(name) for name in request.upgrade_packages),
    )


def check(workspace: Workspace) -> None:
    """Raise :class:`LockError` when ``pylock.toml`` is missing, invalid or stale (writes nothing)."""
    from pypm.errors import LockError
    from pypm.lock.reader import read_lock
    from pypm.operations.member_metadata import prepare_dynamic_metadata

    read_lock(workspace.lock_path)
    prepare_dynamic_metadata(workspace)
    if read_input_hash(workspace.lock_path) == input_hash(workspace.raw, workspace.settings):
        return
    label = workspace.raw.label
    if label is None:
        raise LockError("pylock.toml is out of date with the workspace", hint="run `pypm lock`")
    # a named environment's or a script's lock: `pypm lock` here would lock another project
    raise LockError(f"{workspace.lock_path} ({label}) is out of date with its requirements",
                    hint="run the command without --locked, which locks it again first")
