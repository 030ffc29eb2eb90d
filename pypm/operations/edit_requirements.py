"""``pypm add`` and ``pypm remove``: change one member's requirements, lock, and only then
write ``pyproject.toml``.

The edit is made in memory (tomlkit keeps comments, order and formatting) and the lock is
resolved against the edited workspace before anything is written; a bad requirement, an
unknown member or a failed resolution leaves ``pyproject.toml`` and ``pylock.toml`` as
they were. A requirement added without a version gets a lower bound from the version the
lock chose (``requests>=2.32.3``), as uv's default ``--bounds lower`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm import ui
from pypm.errors import UsageError
from pypm.workspace.discovery import relative_posix
from pypm.workspace.edit import Place, PyprojectEdit, edited_workspace, requirement_identity, requirement_name

if TYPE_CHECKING:
    from pypm.config import Settings
    from pypm.workspace.discovery import RawWorkspace


@dataclass(frozen=True)
class LockHooks:
    """What runs around an edit's lock: the plugins' ``pre-lock`` and ``post-lock`` hooks
    (given by the caller, which knows the plugins)."""

    pre_lock: Callable[[], None]
    post_lock: Callable[[], None]


@dataclass
class EditOutcome:
    """What changed: (requirement, list) rows added or removed, and the file edited."""

    path: Path
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def target_pyproject(raw: RawWorkspace, package: str | None, place: Place, cwd: Path) -> Path:
    """The pyproject to edit: ``--package``'s member; else the member the current
    directory is in; else the root's (a virtual root only holds dependency groups)."""
    from pypm.workspace.discovery import canonical_name

    members = {canonical_name(str(m.project.get("name", ""))): m for m in raw.members if m.source_of is None}
    if package is not None:
        member = members.get(canonical_name(package))
        if member is None:
            raise UsageError(f"--package {package}: no such workspace member",
                             hint=f"members: {', '.join(sorted(members))}")
        return member.pyproject
    here = Path(cwd).resolve()
    inside = [m for m in raw.members
              if m.path != raw.root and m.source_of is None and here.is_relative_to(m.path.resolve())]
    if inside:
        return max(inside, key=lambda m: len(str(m.path))).pyproject
    if any(m.path == raw.root for m in raw.members) or place.kind == "group":
        return raw.config_file
    raise UsageError("the workspace root has no [project]: say which member to change",
                     hint=f"add --package MEMBER (members: {', '.join(sorted(members))})")


def add_requirements(raw: RawWorkspace, settings: Settings, requirements: list[str], place: Place,
                     package: str | None, cwd: Path, editable: list[str] | None = None,
                     hooks: LockHooks | None = None) -> EditOutcome:
    """Add ``requirements`` (a path among them, :func:`looks_like_path`, adds the project
    there as a path source built into a wheel; each of ``editable`` as one installed
    editable) to one list of one pyproject, lock, then write it."""
    sources = [(text, False) for text in requirements if looks_like_path(text)]
    sources += [(text, True) for text in editable or []]
    parsed = [_parse(text) for text in requirements if not looks_like_path(text)]
    path = target_pyproject(raw, package, place, cwd)
    _check_place_file(raw, path, place)
    edit = PyprojectEdit(path)
    outcome = EditOutcome(path)
    member_dirs = {m.path.resolve() for m in raw.members if m.source_of is None}
    path_sources, named_members = [], []
    for directory, is_editable in sources:
        where = (Path(cwd) / Path(directory).expanduser()).resolve()
        name = _path_project_name(where, directory)
        if where in member_dirs:  # another member: required by name, as uv writes workspace = true
            named_members.append((directory, name))
        else:
            edit.set_path_source(name, relative_posix(where, path.parent.resolve()), is_editable)
            path_sources.append((directory, is_editable))
        parsed.append(_parse(name))
    _refuse_self(parsed, path, raw)
    for requirement in parsed:
        replaced = edit.add(str(requirement), place)
        outcome.added.append(str(requirement) + (f" (was {replaced})" if replaced else ""))
    last = list({requirement_identity(str(r)): r for r in parsed}.values())  # a later one of a name and marker wins

    def bound() -> bool:
        bounded = _with_lower_bounds(raw, edit, place, [r for r in last if not r.specifier and not r.url])
        outcome.added = bounded + [row for row in outcome.added if not _same_name(row, bounded)]
        return bool(bounded)

    _lock_then_save(raw, settings, edit, bound, hooks)
    for row in outcome.added:
        ui.info(f"Added {row} to {_where(place, path, raw)}")
    for directory, is_editable in path_sources:
        how = "installed editable" if is_editable else "built into a wheel and installed from it"
        ui.info(f"{directory} is a path dependency ([tool.pypm.sources]), {how}")
    for directory, name in named_members:
        ui.info(f"{directory} is the workspace member {name}: required by name, installed editable as members are")
    return outcome


def refuse_paths(requirements: list[str], where: str) -> None:
    """``where`` (a script, an environment) has no project directory a path could be
    relative to, so it holds requirements only: refuse a path dependency among
    ``requirements`` in one line (exit 2)."""
    paths = [text for text in requirements if looks_like_path(text)]
    if paths:
        raise UsageError(f"{where} holds requirements only, not a path dependency such as {paths[0]}",
                         hint=f"drop {paths[0]}, or add it to a project")


def looks_like_path(text: str) -> bool:
    """Is ``text`` a directory rather than a PEP 508 requirement: ``.``, ``..``, or any
    text with a path separator and no ``@`` before its marker (``./lib``, ``/abs/lib``,
    ``~/lib``, ``C:\\lib``, ``libs/x``; ``name @ URL`` is a requirement)?"""
    if "@" in text.split(";")[0]:
        return False
    return text in (".", "..") or "/" in text or "\\" in text


def remove_requirements(raw: RawWorkspace, settings: Settings, names: list[str], place: Place,
                        package: str | None, cwd: Path, hooks: LockHooks | None = None) -> EditOutcome:
    """Remove ``names`` from one list of one pyproject, lock, then write it."""
    from packaging.utils import canonicalize_name

    path = target_pyproject(raw, package, place, cwd)
    edit = PyprojectEdit(path)
    outcome = EditOutcome(path)
    for name in names:
        removed = edit.remove(canonicalize_name(name), place)
        if not removed and edit.array(place, create=False) is None:
            raise UsageError(f"{raw.label or _shown(path, raw.root)} has no {place.describe()}",
                             hint="pick a list it has with --group, --optional or --dev")
        if not removed:
            listed = ", ".join(edit.names(place)) or "nothing"
            raise UsageError(f"{name} is not in {_where(place, path, raw)}",
                             hint=f"it lists {listed}; pick the list with --group, --optional or --dev")
        outcome.removed.extend(removed)
        if not _required_elsewhere(raw, path, name):
            edit.drop_unused_source(name)
    _lock_then_save(raw, settings, edit, hooks=hooks)
    for row in outcome.removed:
        ui.info(f"Removed {row} from {_where(place, path, raw)}")
    return outcome


def _path_project_name(directory: Path, given: str) -> str:
    """The project name in ``directory``'s pyproject.toml (a path dependency)."""
    from pypm.tomlfile import read_toml
    from pypm.workspace.discovery import canonical_name

    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file():
        raise UsageError(f"{given}: no pyproject.toml there", hint="give the directory of a Python project")
    project = read_toml(pyproject, UsageError).get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise UsageError(f"{given}: its pyproject.toml has no [project] name")
    return canonical_name(project["name"])


def _required_elsewhere(raw: RawWorkspace, edited: Path, name: str) -> bool:
    """Does another member's pyproject still require ``name`` (which may rely on this
    file's path source)?"""
    from packaging.utils import canonicalize_name

    wanted = canonicalize_name(name)
    for member in raw.members:
        if member.pyproject == edited or member.source_of is not None:
            continue
        project = member.project
        lists = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values(),
                 *member.data.get("dependency-groups", {}).values()]
        for entries in lists:
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, str) and requirement_name(entry) == wanted:
                    return True
    return False


def _parse(text: str) -> Any:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        reason = " ".join(str(exc).split())
        raise UsageError(f"{text!r} is not a valid requirement: {reason}",
                         hint="e.g. requests, 'requests>=2.31', 'rich[jupyter]; python_version >= \"3.11\"'") from None


def _check_place_file(raw: RawWorkspace, path: Path, place: Place) -> None:
    """Dependencies and extras belong to a project: a virtual root takes only groups."""
    if place.kind != "group" and path == raw.config_file and not any(m.path == raw.root for m in raw.members):
        raise UsageError("the workspace root has no [project] to add dependencies to",
                         hint="add --package MEMBER, or --group G for a root dependency group")


def _lock_then_save(raw: RawWorkspace, settings: Settings, edit: PyprojectEdit,
                    after_lock: Callable[[], bool] | None = None, hooks: LockHooks | None = None) -> None:
    """Lock the edited workspace (again when ``after_lock`` changed the edit), then write
    the pyproject; on any failure (a ``hooks`` post-lock hook stopping the run too) the
    lock is put back as it was and the pyproject is not written."""
    from pypm.fsutil import restored_on_failure

    with restored_on_failure(raw.root / "pylock.toml"):
        if hooks is not None:
            hooks.pre_lock()
        _lock_edited(raw, settings, edit)
        if after_lock is not None and after_lock():
            _lock_edited(raw, settings, edit, report=False)  # the lower bounds keep the versions just reported
        if hooks is not None:
            hooks.post_lock()
        edit.save()


def _lock_edited(raw: RawWorkspace, settings: Settings, edit: PyprojectEdit, report: bool = True) -> None:
    """Validate the edited workspace and lock it (pylock.toml is written only on success)."""
    from pypm.operations.lock import lock
    from pypm.workspace.model import validate_workspace

    lock(validate_workspace(edited_workspace(raw, edit), settings), report=report)


def _with_lower_bounds(raw: RawWorkspace, edit: PyprojectEdit, place: Place, bare: list[Any]) -> list[str]:
    """Give each requirement added without a version ``>=`` the version the lock chose
    (when the lock holds one version of it); return the rewritten requirements."""
    from packaging.utils import canonicalize_name

    from pypm.lock.reader import load_lock_data
    from pypm.operations.lock import package_versions

    versions = {canonicalize_name(name): texts for name, texts in package_versions(
        load_lock_data(raw.root / "pylock.toml")).items()}
    rows = []
    for requirement in bare:
        chosen = versions.get(canonicalize_name(requirement.name), [])
        if len(set(chosen)) != 1:
            continue
        requirement.specifier &= f">={next(iter(chosen))}"
        edit.add(str(requirement), place)
        rows.append(str(requirement))
    return rows


def _same_name(row: str, bounded: list[str]) -> bool:
    """Does the message ``row`` name a requirement one of ``bounded`` replaced (same name
    and marker)?"""
    identity = requirement_identity(row.split(" (was ")[0])
    return any(requirement_identity(b) == identity for b in bounded)


def _refuse_self(parsed: list[Any], path: Path, raw: RawWorkspace) -> None:
    """A project cannot require itself (uv: "Requirement name ... matches project name")."""
    from pypm.workspace.discovery import canonical_name

    own = next((canonical_name(str(m.project.get("name", ""))) for m in raw.members if m.pyproject == path), None)
    for requirement in parsed if own is not None else []:
        if canonical_name(requirement.name) == own:
            raise UsageError(f"{requirement.name} is the project {_shown(path, raw.root)} describes: a project cannot "
                             "depend on itself", hint="name another project, or use --package to add it elsewhere")


def _where(place: Place, path: Path, raw: RawWorkspace) -> str:
    """``dependencies of pyproject.toml``, or of what the workspace stands for (an environment)."""
    return f"{place.describe()} of {raw.label or _shown(path, raw.root)}"


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
