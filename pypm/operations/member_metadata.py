"""Dynamic metadata of workspace members, asked of their build backends.

A member that lists ``version``, ``dependencies``, scripts or the like under
``[project] dynamic`` leaves them to its build backend. pypm asks the backend through the
PEP 660 hook ``prepare_metadata_for_build_editable`` (falling back as PEP 517 says: a
backend without it builds the editable wheel, one without editable support prepares wheel
metadata), in an isolated build environment, and fills the member's fields from the
answer. The answer is cached by the member's signature
(:func:`pypm.workspace.member_sources.member_signature`), so the backend is asked again only
when the member's pyproject or sources change, as uv's ``cache-keys`` decide.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm import ui
from pypm.fsutil import atomic_write_text
from pypm.workspace.discovery import RawMember
from pypm.workspace.member_sources import (
    PreparedMetadata,
    cached_metadata,
    dynamic_fields,
    member_signature,
    metadata_cache_file,
)

if TYPE_CHECKING:
    from pypm.workspace.model import Workspace
    from pypm.workspace.project import Member

#: PEP 517: a project without ``build-backend`` is built with setuptools' legacy backend.
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def prepare_dynamic_metadata(workspace: Workspace) -> dict[str, PreparedMetadata]:
    """Ask (or recall) each dynamic member's backend for its metadata and fill the
    member's dynamic fields with it; returns the metadata by member name."""
    raws = {raw.path: raw for raw in workspace.raw.members if dynamic_fields(raw)}
    if not raws:
        return {}
    backend = _Backend(workspace)
    try:
        prepared = {}
        for member in workspace.members.values():
            raw = raws.get(member.path)
            if raw is not None:
                prepared[member.name] = _prepared(workspace.root, raw, member, backend)
                apply_metadata(member, dynamic_fields(raw), prepared[member.name])
        return prepared
    finally:
        backend.close()


def _prepared(root: Path, raw: RawMember, member: Member, backend: _Backend) -> PreparedMetadata:
    signature = member_signature(raw)
    record = cached_metadata(root, raw, signature)
    if record is None:
        ui.info(f"Reading the dynamic metadata of {member.display_name} from its build backend")
        metadata, entry_points = backend.prepare(member)
        record = {"metadata": metadata.decode("utf-8", "replace"),
                  "entry-points": entry_points.decode("utf-8", "replace"), "lock-fields": _lock_fields(metadata)}
        text = json.dumps(record, indent=1, sort_keys=True)
        atomic_write_text(metadata_cache_file(root, signature), text)
        after = member_signature(raw)  # a backend may write into the sources (a version file)
        if after != signature:
            atomic_write_text(metadata_cache_file(root, after), text)
    return PreparedMetadata(record["metadata"].encode(), record["entry-points"].encode())


def _lock_fields(metadata: bytes) -> dict[str, Any]:
    """What of the metadata changes the lock (see :mod:`pypm.workspace.inputs`)."""
    from pypm.index.metadata import metadata_headers

    headers = metadata_headers(metadata)
    return {
        "requires-dist": sorted(headers.get_all("Requires-Dist") or []),
        "requires-python": headers["Requires-Python"],
        "provides-extra": sorted(headers.get_all("Provides-Extra") or []),
    }


def apply_metadata(member: Member, fields: frozenset[str], prepared: PreparedMetadata) -> None:
    """Fill ``member``'s dynamic ``fields`` from the backend's metadata."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from pypm.index.metadata import metadata_headers

    headers = metadata_headers(prepared.metadata)
    if "version" in fields and headers["Version"]:
        member.version = Version(headers["Version"])
    if "requires-python" in fields:
        member.requires_python = SpecifierSet(headers["Requires-Python"] or "")
    dependencies, optional = _split_requirements(headers.get_all("Requires-Dist") or [])
    if "dependencies" in fields:
        member.dependencies = dependencies
    if "optional-dependencies" in fields:
        member.optional_dependencies = optional
    if fields & {"scripts", "gui-scripts"}:
        groups = _entry_point_groups(prepared.entry_points)
        member.scripts = groups.get("console_scripts", {})
        member.gui_scripts = groups.get("gui_scripts", {})


def _split_requirements(lines: list[str]) -> tuple[list[Any], dict[Any, list[Any]]]:
    """``Requires-Dist`` lines as the dependencies and, per extra, the optional ones (the
    ``extra == ...`` clause taken off their markers)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from pypm.resolver.markers import strip_extra

    dependencies: list[Requirement] = []
    optional: dict[Any, list[Requirement]] = {}
    for line in lines:
        requirement = Requirement(line)
        extras = _EXTRA.findall(str(requirement.marker)) if requirement.marker else []
        if not extras:
            dependencies.append(requirement)
            continue
        requirement.marker = strip_extra(requirement.marker)
        for extra in extras:
            optional.setdefault(canonicalize_name(extra), []).append(requirement)
    return dependencies, optional


def _entry_point_groups(text: bytes) -> dict[str, dict[str, str]]:
    import configparser

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(text.decode("utf-8", "replace"))
    except configparser.Error:
        return {}
    return {section: dict(parser[section]) for section in parser.sections()}


class _Backend:
    """Asks a member's PEP 517 backend, in a build environment pypm makes (through the build
    frontend; index client and builder made on first use)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._client: Any = None
        self._builder: Any = None

    def prepare(self, member: Member) -> tuple[bytes, bytes]:
        """``METADATA`` and ``entry_points.txt`` (empty when absent) of ``member``."""
        if self._builder is None:
            from pypm.build.frontend import SdistBuilder
            from pypm.index.client import IndexClient

            settings = self.workspace.settings
            self._client = IndexClient(settings, settings.cache_dir)
            self._builder = SdistBuilder(self._client, settings.cache_dir, offline=settings["offline"])
        return self._builder.editable_metadata(member.path)

    def close(self) -> None:
        """Close the index client, if one was made."""
        if self._client is not None:
            self._client.close()
