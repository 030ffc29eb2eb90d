"""``pypm sync``: make ``.venv`` match the lock exactly, writing the stamp last."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm import ui
from pypm.errors import InstallError
from pypm.fsutil import atomic_write_text
from pypm.operations.selection import Selection
from pypm.operations.stamp import stamp_content, stamp_matches, stamp_path

if TYPE_CHECKING:
    from pypm.workspace.model import Workspace


@dataclass
class SyncOutcome:
    """What ``sync`` changed."""

    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: bool = False


def sync(workspace: Workspace, selection: Selection = Selection()) -> SyncOutcome:
    """Install what the lock selects for ``.venv``'s interpreter; remove the rest."""
    from pypm.install.venv import ensure_venv
    from pypm.lock.reader import read_lock

    venv = workspace.venv_path
    python = workspace.settings["python"]
    if stamp_matches(venv, workspace.lock_path, selection, python):
        ui.detail("sync: .venv matches pylock.toml")
        return SyncOutcome(skipped=True)
    lock_bytes = workspace.lock_path.read_bytes() if workspace.lock_path.is_file() else b""
    lock = read_lock(workspace.lock_path)
    stamp_path(venv).unlink(missing_ok=True)
    interpreter = ensure_venv(venv, python)
    outcome = _apply(workspace, lock, selection, interpreter)
    atomic_write_text(stamp_path(venv), json.dumps(stamp_content(lock_bytes, selection, python)))
    ui.info(_summary(outcome))
    return outcome


def _summary(outcome: SyncOutcome) -> str:
    return (
        f"Synced .venv: {len(outcome.installed)} installed, {len(outcome.removed)} removed, "
        f"{outcome.unchanged} unchanged"
    )


def _apply(workspace: Workspace, lock: Any, selection: Selection, interpreter: Any) -> SyncOutcome:
    from pypm.install.installed import installed_distributions, uninstall

    wanted = _select(workspace, lock, selection, interpreter)
    site = [Path(interpreter.scheme["purelib"]), Path(interpreter.scheme["platlib"])]
    present = installed_distributions(site)
    outcome = SyncOutcome()
    to_install = []
    for name, (version, source) in sorted(wanted.items()):
        current = present.get(name)
        editable = not hasattr(source, "hashes")
        if current is not None and current.version == version and current.editable == editable:
            outcome.unchanged += 1
            continue
        to_install.append((name, version, source))
    removals = [d for n, d in present.items() if n not in wanted and not selection.inexact]
    removals += [present[n] for n, _, _ in to_install if n in present]
    paths = _download(workspace, [s for _, _, s in to_install if hasattr(s, "hashes")])
    for dist in removals:
        uninstall(dist)
        if dist.name not in wanted:
            outcome.removed.append(dist.name)
    _install(workspace, to_install, paths, interpreter)
    outcome.installed = [name for name, _, _ in to_install]
    return outcome


def _select(workspace: Workspace, lock: Any, selection: Selection, interpreter: Any) -> dict[str, tuple[str, Any]]:
    """name -> (version, PackageWheel or PackageDirectory) for this interpreter."""
    from packaging.pylock import PackageDirectory, PackageWheel, PylockSelectError
    from packaging.tags import parse_tag

    groups = selection.resolve_groups(list(lock.dependency_groups or []), list(lock.default_groups or []))
    extras = selection.resolve_extras(list(lock.extras or []))
    tags = [tag for text in interpreter.tags for tag in parse_tag(text)]
    wanted: dict[str, tuple[str, Any]] = {}
    try:
        for package, source in lock.select(
            environment=interpreter.environment, tags=tags, extras=extras, dependency_groups=groups
        ):
            if isinstance(source, PackageDirectory):
                if not selection.install_project:
                    continue
                member = workspace.members.get(package.name)
                version = str(member.version or "0") if member else str(package.version or "0")
                wanted[package.name] = (version, source)
            elif isinstance(source, PackageWheel):
                wanted[package.name] = (str(package.version), source)
            else:
                raise InstallError(f"{package.name}: pypm cannot install this kind of locked source yet")
    except PylockSelectError as exc:
        raise InstallError(f"pylock.toml cannot be installed here: {exc}", hint="re-lock with `pypm lock`") from None
    return wanted


def _download(workspace: Workspace, wheels: list[Any]) -> dict[str, Path]:
    from pypm.install.download import FileToFetch, fetch_all

    items = [FileToFetch(w.filename, w.url, w.hashes["sha256"], w.size) for w in wheels]
    if items:
        ui.detail(f"sync: fetching {len(items)} files")
    return fetch_all(items, workspace.settings.cache_dir)


def _install(
    workspace: Workspace, to_install: list[tuple[str, str, Any]], paths: dict[str, Path], interpreter: Any
) -> None:
    from pypm.install.editable import install_editable
    from pypm.install.wheel import install_wheel

    def one(item: tuple[str, str, Any]) -> None:
        name, _version, source = item
        if hasattr(source, "hashes"):
            install_wheel(paths[source.filename], interpreter)
        else:
            install_editable(workspace.members[name], interpreter)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, to_install))
