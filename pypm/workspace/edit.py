"""Edit a ``pyproject.toml`` in place, keeping its comments, order and formatting (tomlkit):
add and remove requirements in ``[project] dependencies``, an optional-dependencies extra
or a ``[dependency-groups]`` group. Edits happen in memory; :meth:`PyprojectEdit.save`
writes the file atomically, so a failed operation leaves it as it was.

As uv does, adding a requirement whose name is already in the list replaces that entry
where it stands; a new one is appended.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from pypm.errors import UsageError, WorkspaceError
from pypm.fsutil import write_user_file

if TYPE_CHECKING:
    from pypm.workspace.discovery import RawWorkspace


class Place(NamedTuple):
    """Which list a requirement goes in: ``kind`` is ``"project"``, ``"optional"`` (extra
    ``name``) or ``"group"`` (dependency group ``name``)."""

    kind: str = "project"
    name: str = ""

    def describe(self) -> str:
        """``dependencies``, ``optional-dependencies.cli`` or ``dependency-groups.dev``."""
        if self.kind == "project":
            return "dependencies"
        return f"{'optional-dependencies' if self.kind == 'optional' else 'dependency-groups'}.{self.name}"


class PyprojectEdit:
    """One ``pyproject.toml``, parsed with tomlkit and edited in memory."""

    def __init__(self, path: Path) -> None:
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        self.path = path
        try:
            self.original = path.read_bytes().decode("utf-8")  # line ends as they are (CRLF kept)
            self.document = tomlkit.parse(self.original)
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"cannot read {path}: {exc}") from None
        except TOMLKitError as exc:
            raise WorkspaceError(f"{path} is not valid TOML: {exc}", hint="fix the file, then try again") from None

    @classmethod
    def new(cls, path: Path) -> PyprojectEdit:
        """An edit of a ``pyproject.toml`` that does not exist yet (written by :meth:`save`)."""
        import tomlkit

        edit = cls.__new__(cls)
        edit.path, edit.original, edit.document = path, "", tomlkit.document()
        return edit

    def add(self, requirement: str, place: Place) -> str | None:
        """Put ``requirement`` in the list; return the entry it replaced (None: appended).
        It replaces the entry of the same name and the same marker; one for another marker
        is kept beside it (as uv since astral-sh/uv#6010)."""
        entries = self.array(place, create=True)
        wanted = (_name(requirement), requirement_identity(requirement)[1])
        for index, entry in enumerate(entries):
            if requirement_identity(str(entry)) == wanted:
                old = str(entry)
                entries[index] = requirement
                return old
        entries.append(requirement)
        return None

    def remove(self, name: str, place: Place) -> list[str]:
        """Drop every entry for ``name`` from the list; return what was removed."""
        from packaging.utils import canonicalize_name

        entries = self.array(place, create=False)
        if entries is None:
            return []
        wanted = canonicalize_name(name)
        removed = [str(entry) for entry in entries if requirement_name(str(entry)) == wanted]
        for index in reversed([i for i, entry in enumerate(entries) if requirement_name(str(entry)) == wanted]):
            del entries[index]
        return removed

    def set_path_source(self, name: str, path: str, editable: bool) -> None:
        """``[tool.pypm.sources] name = { path = "...", editable = true }``, or without the
        ``editable`` key for a project built into a wheel (uv writes its sources so)."""
        import tomlkit

        tool = self._table(self.document, "tool", True)
        pypm = self._table(tool, "pypm", True)
        sources = self._table(pypm, "sources", True)
        entry = tomlkit.inline_table()
        entry.update({"path": path, "editable": True} if editable else {"path": path})
        sources[name] = entry

    def drop_unused_source(self, name: str) -> bool:
        """Remove ``[tool.pypm.sources] name`` when no list of the file names it any more
        (as uv drops a source with its last dependency); True when removed."""
        from packaging.utils import canonicalize_name

        wanted = canonicalize_name(name)
        project = self.document.get("project", {})
        lists = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values(),
                 *self.document.get("dependency-groups", {}).values()]
        if any(requirement_name(str(entry)) == wanted for entries in lists for entry in entries):
            return False
        pypm = self.document.get("tool", {}).get("pypm", {})
        sources = pypm.get("sources", {})
        keys = [key for key in sources if canonicalize_name(key) == wanted]
        for key in keys:
            del sources[key]
        if keys and not sources:
            del pypm["sources"]
            tool = self.document.get("tool", {})
            if not pypm and "pypm" in tool:
                del tool["pypm"]
        return bool(keys)

    def names(self, place: Place) -> list[str]:
        """The requirement names in the list (canonical), in order."""
        entries = self.array(place, create=False)
        return [n for n in (requirement_name(str(entry)) for entry in entries or []) if n]

    def text(self) -> str:
        """The edited file's text (ending as the original did: tomlkit leaves a blank line
        behind a table it removed last)."""
        import tomlkit

        text = tomlkit.dumps(self.document)
        if "\r\n" in self.original and "\n" not in self.original.replace("\r\n", ""):
            text = re.sub(r"(?<!\r)\n", "\r\n", text)  # a CRLF file: the lines tomlkit adds too
        ending = "\r\n" if self.original.endswith("\r\n") else "\n"
        if self.original.endswith(ending) and not self.original.endswith(ending * 2):
            text = text.rstrip("\r\n") + ending
        return text

    @property
    def changed(self) -> bool:
        """True when the text differs from the file as read."""
        return self.text() != self.original

    def save(self) -> None:
        """Write the edited text (atomically) when it changed."""
        if self.changed:
            write_user_file(self.path, self.text().encode("utf-8"))

    def array(self, place: Place, create: bool) -> Any:
        """The list at ``place`` (created, with its tables, when ``create``; else None
        when missing)."""
        import tomlkit

        if place.kind == "group":
            parent = self._table(self.document, "dependency-groups", create)
        else:
            project = self._table(self.document, "project", create)
            if project is None:
                return None
            parent = project if place.kind == "project" else self._table(project, "optional-dependencies", create)
        if parent is None:
            return None
        key = "dependencies" if place.kind == "project" else _spelled(parent, place.name)
        if key not in parent:
            if not create:
                return None
            parent[key] = tomlkit.array()
            if place.kind != "project" and len(parent) == 1:  # a new table: a blank line before the next one
                parent.add(tomlkit.nl())
        entries = parent[key]
        if not isinstance(entries, list):
            raise WorkspaceError(f"{self.path}: {place.describe()} is not an array",
                                 hint="make it a list of requirement strings")
        return entries

    def _table(self, container: Any, key: str, create: bool) -> Any:
        import tomlkit

        if key not in container:
            if not create:
                return None
            container[key] = tomlkit.table()
        table = container[key]
        if not isinstance(table, dict):
            raise WorkspaceError(f"{self.path}: [{key}] is not a table")
        return table


def _spelled(table: Any, name: str) -> str:
    """The key of ``table`` that names the extra or group ``name`` (they compare by their
    normalized names, PEP 685 and 735), else ``name`` normalized, for a new one."""
    from pypm.workspace.discovery import canonical_name

    wanted = canonical_name(name)
    return next((key for key in table if canonical_name(key) == wanted), wanted)


def _name(requirement: str) -> str:
    name = requirement_name(requirement)
    if name is None:
        raise UsageError(f"{requirement!r} is not a valid requirement (PEP 508)",
                         hint="e.g. requests, 'requests>=2.31', 'rich[jupyter]; python_version >= \"3.11\"'")
    return name


def requirement_name(requirement: str) -> str | None:
    """The canonical name of a PEP 508 requirement string (None when it is not one, such
    as a group include table)."""
    return requirement_identity(requirement)[0]


def requirement_identity(requirement: str) -> tuple[str | None, str]:
    """What makes two entries of a list the same requirement: the canonical name and the
    normalized marker ('' for none) of a PEP 508 string ((None, '') when it is not one)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        return None, ""
    return canonicalize_name(parsed.name), str(parsed.marker or "")


def edited_workspace(raw: RawWorkspace | None, edit: PyprojectEdit) -> RawWorkspace:
    """The workspace as it will be once ``edit`` is saved, without reading or writing the
    edited file: ``raw`` with the edited contents in place of what was read from disk (its
    path dependencies found again), or, when ``raw`` is None, a new one-project workspace."""
    from pypm.workspace.discovery import RawMember, RawWorkspace, add_path_sources

    data = edit.document.unwrap()
    if raw is None:
        project = RawMember(edit.path.parent, edit.path, data)
        created = RawWorkspace(edit.path.parent, edit.path, data, project.tool_table)
        created.members.append(project)
        return created
    is_root = edit.path == raw.config_file
    if not is_root:
        tool_table = raw.tool_table
    elif raw.config_file.name == "pyproject.toml":
        tool_table = RawMember(raw.root, edit.path, data).tool_table
    else:
        tool_table = data  # pypm-workspace.toml: its top level is the settings table
    copy = RawWorkspace(raw.root, raw.config_file, data if is_root else raw.root_data, tool_table)
    copy.members = [RawMember(m.path, m.pyproject, data, m.source_of) if m.pyproject == edit.path else m
                    for m in raw.members if m.source_of is None]
    add_path_sources(copy)  # the edit may name a new one
    copy.label = raw.label
    return copy
