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
import tempfile
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
DEFAULT_BUILD_SYSTEM = {"requires": ["setuptools>=40.8.0"], "build-backend": "setuptools.build_meta:__legacy__"}
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
    from email.parser import BytesParser

    headers = BytesParser().parsebytes(metadata, headersonly=True)
    return {
        "requires-dist": sorted(headers.get_all("Requires-Dist") or []),
        "requires-python": headers["Requires-Python"],
        "provides-extra": sorted(headers.get_all("Provides-Extra") or []),
    }


def apply_metadata(member: Member, fields: frozenset[str], prepared: PreparedMetadata) -> None:
    """Fill ``member``'s dynamic ``fields`` from the backend's metadata."""
    from email.parser import BytesParser

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    headers = BytesParser().parsebytes(prepared.metadata, headersonly=True)
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
    """Runs a member's PEP 517 hooks in a build environment made by pypm (index client
    and sdist builder made on first use)."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._client: Any = None
        self._builder: Any = None

    def prepare(self, member: Member) -> tuple[bytes, bytes]:
        """``METADATA`` and ``entry_points.txt`` (empty when absent) of ``member``."""
        from pyproject_hooks import BuildBackendHookCaller, HookMissing, quiet_subprocess_runner

        system = member.build_system or DEFAULT_BUILD_SYSTEM
        requires = list(system.get("requires", []))
        hooks = BuildBackendHookCaller(
            str(member.path), system["build-backend"], backend_path=system.get("backend-path"),
            python_executable=str(self._environment(requires).executable), runner=quiet_subprocess_runner,
        )
        extra = _call(member, hooks.get_requires_for_build_editable)
        if extra:
            hooks.python_executable = str(self._environment([*requires, *extra]).executable)
        with tempfile.TemporaryDirectory(prefix="pypm-metadata-") as out:
            try:
                name = _call(member, lambda: hooks.prepare_metadata_for_build_editable(out, _allow_fallback=True))
            except HookMissing:  # no editable support at all: the wheel's metadata is the same
                name = _call(member, lambda: hooks.prepare_metadata_for_build_wheel(out, _allow_fallback=True))
            info = Path(out) / name
            points = info / "entry_points.txt"
            return (info / "METADATA").read_bytes(), points.read_bytes() if points.is_file() else b""

    def _environment(self, requirements: list[str]) -> Any:
        from pypm.build.environment import build_environment
        from pypm.build.frontend import SdistBuilder
        from pypm.index.client import IndexClient

        settings = self.workspace.settings
        if self._client is None:
            self._client = IndexClient(settings, settings.cache_dir)
            self._builder = SdistBuilder(self._client, settings.cache_dir, offline=settings["offline"])
        return build_environment(requirements, self._client, settings.cache_dir, self._builder.build_wheel,
                                 offline=settings["offline"])

    def close(self) -> None:
        """Close the index client, if one was made."""
        if self._client is not None:
            self._client.close()


def _call(member: Member, hook: Any) -> Any:
    """Run a hook; the backend's failures become one :class:`BuildError` line."""
    from pyproject_hooks import BackendUnavailable, HookMissing

    from pypm.build.frontend import BuildError

    try:
        return hook()
    except HookMissing:
        raise
    except BackendUnavailable as exc:
        raise BuildError(f"{member.display_name}: build backend unavailable: {exc.message or exc}",
                         hint="check [build-system] in its pyproject.toml") from None
    except Exception as exc:  # noqa: BLE001 - the backend's own failure, reported in one line
        output = getattr(exc, "output", None) or b""
        if isinstance(output, str):
            output = output.encode()
        last = output.decode(errors="replace").strip().splitlines()[-1:] if output else []
        raise BuildError(f"{member.display_name}: its build backend failed to give its metadata: "
                         f"{(last or [str(exc)])[0]}", hint="fix the build error, then run the command again") from None
