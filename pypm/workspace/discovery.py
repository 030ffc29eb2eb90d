"""Find the workspace root and its members' files, reading TOML only (no validation).

This module is on the fast "is everything up to date?" path, so it imports nothing
heavier than :mod:`tomllib`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, NamedTuple

from pypm.errors import NoWorkspaceError, WorkspaceError
from pypm.tomlfile import read_toml

WORKSPACE_FILE = "pypm-workspace.toml"
PYPROJECT = "pyproject.toml"
ROOT_ENV_VAR = "PYPM_WORKSPACE_ROOT"
#: The variable's first, misspelt name, still read when the new one is not set.
OLD_ROOT_ENV_VAR = "PYP_WORKSPACE_ROOT"


class DecliningWorkspace(NamedTuple):
    """A workspace above a lone project that the root search asked whether the project is
    its member, and that does not take it: its root, its ``workspace`` table and the paths
    its ``members`` and ``exclude`` globs matched (a symlink made there could make the
    project its member: :mod:`pypm.graph.noop_verdict` watches them)."""

    root: Path
    table: Any
    matched: list[Path]


class RawMember:
    """A member directory and the parsed contents of its ``pyproject.toml``."""

    def __init__(self, path: Path, pyproject: Path, data: dict[str, Any], source_of: Path | None = None,
                 editable: bool = True) -> None:
        self.path = path
        self.pyproject = pyproject
        self.data = data
        #: for a path dependency (``[tool.pypm.sources]``): the file that names it; None
        #: for a workspace member. Both are locked as directories.
        self.source_of = source_of
        #: installed editable (every workspace member; a path dependency when its source
        #: says ``editable = true``), else built into a wheel and installed from it
        self.editable = editable

    @property
    def project(self) -> dict[str, Any]:
        """The ``[project]`` table (empty when missing)."""
        table = self.data.get("project", {})
        return table if isinstance(table, dict) else {}

    @property
    def tool_table(self) -> dict[str, Any]:
        """The member's ``[tool.pypm]`` table (empty when missing or not a table)."""
        tool = self.data.get("tool", {})
        table = tool.get("pypm", {}) if isinstance(tool, dict) else {}
        return table if isinstance(table, dict) else {}


class RawWorkspace:
    """A workspace as found on disk: root, config file, settings table and members."""

    def __init__(
        self, root: Path, config_file: Path, root_data: dict[str, Any], tool_table: dict[str, Any]
    ) -> None:
        self.root = root
        self.config_file = config_file
        self.root_data = root_data
        self.tool_table = tool_table
        self.members: list[RawMember] = []
        #: the paths, as matched or written, that finding the members resolved (member and
        #: exclude glob matches, path sources): where each leads decides the members, so a
        #: symlink on the way retargeted is a change (:mod:`pypm.graph.noop_verdict`)
        self.resolved_paths: list[Path] = []
        #: what messages call this workspace when it is pypm's own project for something
        #: else (``the environment of tool.py``, ``environment demo``); None for a project
        self.label: str | None = None
        #: for a lone project: the workspace above that does not take it, if the root
        #: search met one (:class:`DecliningWorkspace`)
        self.declined_by: DecliningWorkspace | None = None

    @property
    def workspace_table(self) -> Any:
        """The ``workspace`` table (``members``, ``exclude``) of the root's config file:
        top level in ``pypm-workspace.toml``, under ``[tool.pypm]`` in ``pyproject.toml``;
        None for a lone project."""
        return _workspace_table(self.config_file, self.root_data)

    @property
    def input_files(self) -> list[Path]:
        """Every file whose content feeds the lock (config file + member pyprojects)."""
        files = {self.config_file, *(m.pyproject for m in self.members)}
        return sorted(files)


def relative_posix(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (``.`` for the root itself; ``../lib``
    for a path dependency beside the workspace)."""
    try:
        return Path(os.path.relpath(path, root)).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return Path(path).as_posix()


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, without importing packaging (fast path)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_workspace(start: Path, exact: bool = False) -> RawWorkspace:
    """Locate the workspace containing ``start`` and read every member's pyproject
    (``exact``: the project at ``start`` itself, a generated one such as a script's or a
    named environment's: no ``PYPM_WORKSPACE_ROOT``, no climbing to a parent workspace)."""
    root, config_file, declined_by = (start.resolve(), start.resolve() / PYPROJECT, None) if exact else (
        _find_root(start.resolve()))
    root_data = read_toml(config_file, WorkspaceError)
    # pypm-workspace.toml holds the settings at its top; its [tool.*] tables are other tools'
    tool_table = ({k: v for k, v in root_data.items() if k != "tool"} if config_file.name == WORKSPACE_FILE
                  else _tool_pypm(root_data, config_file))
    workspace = RawWorkspace(root, config_file, root_data, tool_table)
    workspace.declined_by = declined_by
    workspace_table = workspace.workspace_table
    if config_file.name == PYPROJECT and "project" in root_data:
        workspace.members.append(RawMember(root, config_file, root_data))
    if workspace_table is not None:
        for member_dir in _member_dirs(root, config_file, workspace_table, workspace.resolved_paths):
            # the root's pyproject.toml as the config file was taken above (a member when it has
            # [project]); named as "." by a pypm-workspace.toml, the root's project joins here
            if member_dir != root or config_file.name == WORKSPACE_FILE:
                pyproject = member_dir / PYPROJECT
                workspace.members.append(
                    RawMember(member_dir, pyproject, read_toml(pyproject, WorkspaceError))
                )
    if not workspace.members:
        where = "[workspace] members = [...]" if config_file.name == WORKSPACE_FILE else (
            "a [project] table or [tool.pypm.workspace] members = [...]")
        # a pyproject.toml with neither table is another tool's: no pypm workspace is here
        other_tools = config_file.name == PYPROJECT and workspace_table is None
        error = NoWorkspaceError if other_tools else WorkspaceError
        raise error(f"{config_file}: no [project] table and no workspace members", hint=f"add {where}")
    add_path_sources(workspace)
    return workspace


def add_path_sources(workspace: RawWorkspace) -> None:
    """Path dependencies named in ``[tool.pypm.sources]`` (the root's and each member's,
    paths relative to that file) join the workspace as directories to lock and install:
    editable with ``editable = true``, else built into a wheel, as uv's ``{ path = "..." }``
    sources (uv's default for a path source is not editable)."""
    tables = [(workspace.config_file, workspace.tool_table),
              *((m.pyproject, m.tool_table) for m in workspace.members if m.pyproject != workspace.config_file)]
    known = {m.path.resolve(): m for m in workspace.members}
    for origin, tool in tables:
        for name, written, directory, editable in _path_sources(origin, tool.get("sources")):
            workspace.resolved_paths.append(written)
            if directory in known:
                _check_same_kind(known[directory], origin, name, editable)
                continue
            pyproject = directory / PYPROJECT
            data = read_toml(pyproject, WorkspaceError) if pyproject.is_file() else None
            project = data.get("project") if isinstance(data, dict) else None
            if not isinstance(project, dict) or canonical_name(str(project.get("name", ""))) != name:
                raise WorkspaceError(f"{origin}: source {name!r} points at {directory}, which holds no project "
                                     f"named {name!r}", hint="point path at that project's directory")
            member = RawMember(directory, pyproject, data, source_of=origin, editable=bool(editable))
            workspace.members.append(member)
            known[directory] = member


def _check_same_kind(member: RawMember, origin: Path, name: str, editable: bool | None) -> None:
    """A directory named by two sources is installed one way: both editable or neither.
    A workspace member is always editable: a source naming it may leave the key out."""
    if member.editable == bool(editable) or (member.source_of is None and editable is None):
        return
    where = "a workspace member, installed editable" if member.source_of is None else (
        f"{'editable' if member.editable else 'not editable'} in {member.source_of}")
    raise WorkspaceError(f"{origin}: source {name!r} is {'' if editable else 'not '}editable, but it is {where}",
                         hint="give every source of that directory the same editable value")


def _path_sources(origin: Path, table: Any) -> list[tuple[str, Path, Path, bool | None]]:
    """(canonical name, path as written, directory, editable) of each path source in a
    ``sources`` table (the directory resolved; editable None: the key is not there)."""
    if table is None:
        return []
    if not isinstance(table, dict):
        raise WorkspaceError(f"{origin}: [tool.pypm.sources] must be a table of name = {{ path = ... }}")
    found = []
    for name, entry in table.items():
        if not isinstance(entry, dict) or set(entry) - {"path", "editable"} or not isinstance(entry.get("path"), str):
            raise WorkspaceError(f"{origin}: source {name!r} must be {{ path = \"...\" }} (with editable = true "
                                 "to install it editable)",
                                 hint="pypm takes path sources; indexes are settings (index-url)")
        editable = entry.get("editable")
        if editable is not None and not isinstance(editable, bool):
            raise WorkspaceError(f"{origin}: source {name!r}: editable must be true or false")
        written = origin.parent / entry["path"]
        directory = written.resolve()
        if not directory.is_dir():
            raise WorkspaceError(f"{origin}: source {name!r}: {entry['path']} is not a directory")
        found.append((canonical_name(name), written, directory, editable))
    return found


def _tool_pypm(data: dict[str, Any], path: Path) -> dict[str, Any]:
    tool = data.get("tool", {})
    table = tool.get("pypm", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise WorkspaceError(f"{path}: [tool.pypm] must be a table")
    return table


#: ``--project`` was given: the command line beats the environment (as uv's ``--project``
#: beats ``UV_PROJECT``), so the workspace-root variable is not read for that command line
#: (``pypm.cli.main.main`` reads it again when it returns).
_root_variable_ignored = False


def ignore_root_variable() -> None:
    """Read no ``PYPM_WORKSPACE_ROOT`` from now on (``--project`` names the start)."""
    global _root_variable_ignored
    _root_variable_ignored = True


def read_root_variable() -> None:
    """Read ``PYPM_WORKSPACE_ROOT`` again (a new command line in this process starts so)."""
    global _root_variable_ignored
    _root_variable_ignored = False


def root_override() -> tuple[str, str] | None:
    """``(variable, value)`` of the workspace-root variable that is set, if any:
    ``PYPM_WORKSPACE_ROOT``, else its old name ``PYP_WORKSPACE_ROOT`` (none after
    :func:`ignore_root_variable`)."""
    if _root_variable_ignored:
        return None
    for name in (ROOT_ENV_VAR, OLD_ROOT_ENV_VAR):
        value = os.environ.get(name)
        if value:
            return name, value
    return None


#: What the root search finds: the root, its config file and the workspace above that
#: declined a lone project (None for the others).
_Found = tuple[Path, Path, DecliningWorkspace | None]


def _find_root(start: Path) -> _Found:
    override = root_override()
    if override is not None:
        name, value = override
        root = Path(value).resolve()
        config = _root_config(root)
        if config is None:
            raise WorkspaceError(
                f"{name}={value}: no {PYPROJECT} or {WORKSPACE_FILE} there",
                hint=f"point {name} at the workspace root",
            )
        return root, config, None
    return _climb(start)


def _climb(start: Path) -> _Found:
    """The root found by climbing from ``start``, as uv's ``find_workspace``: the nearest
    project (a ``pyproject.toml`` with ``[project]``) belongs to a workspace above it only
    when that workspace's ``members`` match it and its ``exclude`` does not ("project is
    not included", "project is excluded"), and the climb stops at a project above that
    declares no workspace ("contained in non-workspace project"); then the nearest project
    stands alone. A plain directory (no ``pyproject.toml``, or one without ``[project]``)
    only passes the climb on."""
    nearest: Path | None = None
    project: Path | None = None
    for directory in (start, *start.parents):
        _reject_directory(directory / WORKSPACE_FILE)
        if (directory / WORKSPACE_FILE).is_file():
            return _joined(project, directory, directory / WORKSPACE_FILE)
        pyproject = directory / PYPROJECT
        _reject_directory(pyproject)
        if not pyproject.is_file():
            continue
        nearest = nearest or directory
        data = read_toml(pyproject, WorkspaceError)
        if "workspace" in _tool_pypm(data, pyproject):
            return _joined(project, directory, pyproject, data)
        if "project" in data:
            if project is not None:  # contained in a project that declares no workspace
                return project, project / PYPROJECT, None
            project = directory
    found = project or nearest
    if found is None:
        raise NoWorkspaceError(
            f"no {PYPROJECT} found in {start} or any parent directory",
            hint="run `pypm init` to create a project, or use --project DIR",
        )
    return found, found / PYPROJECT, None


def _joined(project: Path | None, root: Path, config_file: Path,
            data: dict[str, Any] | None = None) -> _Found:
    """The workspace at ``root`` (``data``: its config file's, when already read) when
    the project found below it (if any) is one of its members, else that project alone
    (declined by that workspace)."""
    if project is None:
        return root, config_file, None
    table = _workspace_table(config_file, data if data is not None else read_toml(config_file, WorkspaceError))
    matched: list[Path] = []
    if _is_member(root, config_file, table, project, matched):
        return root, config_file, None
    return project, project / PYPROJECT, DecliningWorkspace(root, table, matched)


def _workspace_table(config_file: Path, data: dict[str, Any]) -> Any:
    """The ``workspace`` table of a root's config file (top level in ``pypm-workspace.toml``,
    under ``[tool.pypm]`` in ``pyproject.toml``); None when there is none."""
    if config_file.name == WORKSPACE_FILE:
        return data.get("workspace")
    return _tool_pypm(data, config_file).get("workspace")


def _is_member(root: Path, config_file: Path, table: Any, project: Path, matched: list[Path]) -> bool:
    """``project`` is matched by the workspace's ``members`` and not by its ``exclude``
    (the globs only: a member's own problems are reported when the workspace is read);
    every path the globs looked at matched is added to ``matched``, as matched."""
    if project in _matches(root, config_file, _patterns(config_file, table, "exclude"), matched):
        return False
    return project in _matches(root, config_file, _patterns(config_file, table, "members"), matched)


def _reject_directory(path: Path) -> None:
    """A directory named like a config file is a mistake to report, not a file to skip."""
    if path.is_dir():
        raise WorkspaceError(f"{path} is a directory where a file is expected", hint="move it out of the way")


def _root_config(root: Path) -> Path | None:
    for name in (WORKSPACE_FILE, PYPROJECT):
        if (root / name).is_file():
            return root / name
    return None


def _member_dirs(root: Path, config_file: Path, table: Any, resolved: list[Path]) -> list[Path]:
    """The member directories the ``members`` globs find, less the ``exclude`` ones
    (every match resolved is added to ``resolved``). A key other than those two is refused,
    as uv refuses unknown fields in its workspace table (a misspelt ``exclude`` would else
    be ignored)."""
    unknown = sorted(set(table) - {"members", "exclude"}) if isinstance(table, dict) else []
    if unknown:
        raise WorkspaceError(f"{config_file}: unknown key {unknown[0]!r} in the workspace table",
                             hint="the workspace table takes members and exclude")
    members = _patterns(config_file, table, "members")
    excluded = set()
    for pattern in _patterns(config_file, table, "exclude"):
        matches = _glob(root, config_file, pattern, literal=False)
        resolved += matches
        excluded.update(p.resolve() for p in matches)
    found: list[Path] = []
    for pattern in members:
        matches = _glob(root, config_file, pattern)
        if not matches:
            raise WorkspaceError(f"{config_file}: workspace member {pattern!r} matches nothing")
        resolved += matches
        for match in matches:
            if match.resolve() in excluded:
                continue
            member = _check_member(root, config_file, pattern, match)
            if member is not None and member not in found:
                found.append(member)
    return found


def _patterns(config_file: Path, table: Any, key: str) -> list[str]:
    """The ``members`` or ``exclude`` list of the workspace table (``exclude`` may be
    left out): globs relative to the root."""
    value = table.get(key, [] if key == "exclude" else None) if isinstance(table, dict) else None
    if not isinstance(value, list) or not all(isinstance(pattern, str) for pattern in value):
        raise WorkspaceError(f"{config_file}: workspace {key!r} must be a list of glob strings",
                             hint=f'e.g. {key} = ["packages/*"]')
    for pattern in value:
        if not pattern.strip() or PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).anchor:
            raise WorkspaceError(f"{config_file}: workspace {key!r}: {pattern!r} is not a path relative to the "
                                 "workspace root", hint=f'write it from the root, e.g. {key} = ["packages/*"]')
    return value


def _glob(root: Path, config_file: Path, pattern: str, literal: bool = True) -> list[Path]:
    """The paths ``pattern`` matches under ``root``, sorted (``literal``: a pattern
    without a wildcard names its path, which need not exist)."""
    if literal and not is_glob(pattern):
        return [root / pattern]
    try:
        return sorted(root.glob(pattern))
    except (ValueError, NotImplementedError) as exc:  # e.g. "**" inside a name (before Python 3.13)
        raise WorkspaceError(f"{config_file}: workspace glob {pattern!r} is not valid: {exc}",
                             hint='e.g. "packages/*" or "libs/**"') from None


def _matches(root: Path, config_file: Path, patterns: list[str], matched: list[Path]) -> set[Path]:
    """Every path the globs ``patterns`` match, resolved (each added to ``matched`` as matched)."""
    found = [match for pattern in patterns for match in _glob(root, config_file, pattern)]
    matched += found
    return {match.resolve() for match in found}


def is_glob(pattern: str) -> bool:
    """True when ``pattern`` has a glob wildcard (``*``, ``?``, ``[``)."""
    return any(ch in pattern for ch in "*?[")


def _check_member(root: Path, config_file: Path, pattern: str, match: Path) -> Path | None:
    resolved = match.resolve()
    if resolved != root and root not in resolved.parents:
        raise WorkspaceError(
            f"{config_file}: workspace member {pattern!r} ({resolved}) is outside the root {root}",
            hint="members must live inside the workspace root",
        )
    if not resolved.exists():
        raise WorkspaceError(f"{config_file}: workspace member {pattern!r} does not exist")
    if not resolved.is_dir():
        return None
    if not (resolved / PYPROJECT).is_file():
        if match.name.startswith("."):  # .idea, .venv...: skipped, as uv's collect_members does
            return None
        raise WorkspaceError(
            f"workspace member {resolved.relative_to(root).as_posix()} has no {PYPROJECT}",
            hint=f"add one, or narrow the members globs in {config_file.name}",
        )
    return resolved
