"""Install a workspace member in editable mode.

With a ``[build-system]`` the member's backend builds a PEP 660 editable wheel (in an
isolated build environment); without one, or when the backend has no ``build_editable``
hook, pypm writes a minimal editable wheel itself (the core metadata and every entry-point
group) and each environment gets the ``.pth`` path entry written fresh, as it gets its
``direct_url.json``: that wheel holds nothing of the member's location, so every copy of a
project (a second checkout, a CI workspace) links the same store entry instead of building
and unpacking a wheel of its own. Either wheel then goes through the store like any other,
with a fresh ``direct_url.json`` marking the install editable.

Building and installing are separate steps (:func:`editable_wheel`, :func:`link_editable`)
so that a sync builds first and removes the member's previous install only once the new
wheel exists: a failed build leaves the previous install in place.

Editable wheels are cached by :func:`member_install_key`: the member's ``pyproject.toml``,
``setup.py`` and ``setup.cfg``, its location, and for a member with dynamic metadata the
metadata its backend prepared (so a new dynamic version or entry point is a new wheel);
pypm's own wheel by the same without the location (:func:`pth_wheel`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypm.errors import InstallError
from pypm.interpreter import Interpreter
from pypm.store.entry import FILES, StoreEntry
from pypm.store.layout import EDITABLES
from pypm.workspace.member_sources import BUILD_FILES, PreparedMetadata
from pypm.workspace.member_sources import source_root as source_root_of
from pypm.workspace.project import Member

#: Part of every key: changing how pypm makes editable wheels makes new ones.
EDITABLE_FORMAT = "3"
#: The WHEEL line that marks pypm's own editable wheel (its ``.pth`` is written per environment).
GENERATOR_LINE = b"Generator: pypm-editable-pth"
#: The name of that ``.pth``: ``_pypm_editable_<dist>.pth``.
PTH_PREFIX = "_pypm_editable_"


def source_root(member: Member) -> Path:
    """The directory to put on ``sys.path``: ``src/`` when the member uses that layout
    (:func:`pypm.workspace.member_sources.source_root`, which the sync stamp follows too)."""
    return source_root_of(member.path)


def member_install_key(member: Member, prepared: PreparedMetadata | None = None) -> str:
    """What an editable install of ``member`` is made from (see the module docstring; the
pyproject as parsed, so an edited comment is no change)."""
    return _inputs_key(f"{member.path}\0{source_root(member)}", member, prepared)


def member_install_preimage(member: Member, prepared: PreparedMetadata | None = None) -> bytes:
    """The bytes :func:`member_install_key` is the sha256 of (a sync replay,
    :mod:`pypm.graph.sync_replay`, computes the key for another place from them)."""
    return _inputs_preimage(f"{member.path}\0{source_root(member)}", member, prepared)


def _inputs_key(location: str, member: Member, prepared: PreparedMetadata | None) -> str:
    """The digest of ``location`` and the member's build inputs (see :func:`member_install_key`)."""
    return hashlib.sha256(_inputs_preimage(location, member, prepared)).hexdigest()


def _inputs_preimage(location: str, member: Member, prepared: PreparedMetadata | None) -> bytes:
    from pypm.tomlfile import read_toml

    parts = [f"pypm-editable-{EDITABLE_FORMAT}\0{location}\0".encode(),
             json.dumps(read_toml(member.pyproject), sort_keys=True, default=str).encode()]
    for name in BUILD_FILES:
        try:
            parts.append(b"\0" + name.encode() + b"\0" + (member.path / name).read_bytes())
        except OSError:
            continue
    if prepared is not None:
        parts.append(b"\0metadata\0" + prepared.digest.encode())
    return b"".join(parts)


def editable_key(member: Member, kind: str, prepared: PreparedMetadata | None = None) -> str:
    """Cache key of a member's editable wheel of one ``kind`` (``pep660`` or ``pth``)."""
    return hashlib.sha256(f"{member_install_key(member, prepared)}\0{kind}".encode()).hexdigest()


def editable_wheel(
    member: Member, cache_dir: Path, builder: Callable[[], Any] | None = None,
    prepared: PreparedMetadata | None = None,
) -> Path:
    """The member's editable wheel, built (or taken from the cache) without touching any
    environment: PEP 660 through its backend (``builder`` makes the SdistBuilder), else
    pypm's own. A failing backend raises; nothing is installed or removed."""
    wheel = None
    if member.build_system is not None and builder is not None:
        wheel = builder().build_editable(member.path, editable_key(member, "pep660", prepared))
    if wheel is None:
        wheel = pth_wheel(member, cache_dir / EDITABLES, prepared)
    return wheel


def link_editable(
    member: Member, wheel: Path, interpreter: Interpreter, cache_dir: Path, link_mode: str = "hardlink",
    install_key: str | None = None,
) -> str:
    """Install an editable wheel of ``member`` into the environment; records the link mode
    and ``install_key`` (default: :func:`member_install_key`) in its dist-info. Returns the
    link mode really used."""
    from pypm.fsutil import file_sha256
    from pypm.store.link import link_entry
    from pypm.store.unpack import ensure_unpacked

    direct_url = json.dumps({"url": member.path.as_uri(), "dir_info": {"editable": True}}).encode()
    info = {"link-mode": link_mode, "member-key": install_key or member_install_key(member)}
    entry = ensure_unpacked(wheel, file_sha256(wheel), cache_dir)
    return link_entry(entry, interpreter, link_mode, cache_dir, {"direct_url.json": direct_url}, requested=True,
                      install_info=info, root_files=_path_entry(member, entry))


def _path_entry(member: Member, entry: StoreEntry) -> dict[str, bytes]:
    """The ``.pth`` of pypm's own editable wheel (:func:`pth_wheel`), written into each
    environment; none for a backend's PEP 660 wheel, which carries its own."""
    if not _is_pth_wheel(entry):
        return {}
    dist = entry.dist_info.split("-")[0]
    return {f"{PTH_PREFIX}{dist}.pth": (str(source_root(member)) + "\n").encode()}


def _is_pth_wheel(entry: StoreEntry) -> bool:
    """Was ``entry`` unpacked from pypm's own editable wheel (its WHEEL names pypm)?"""
    wheel_file = entry.root / FILES / entry.root_scheme / entry.dist_info / "WHEEL"
    try:
        return GENERATOR_LINE in wheel_file.read_bytes().splitlines()
    except OSError:
        return False


def install_editable(
    member: Member,
    interpreter: Interpreter,
    cache_dir: Path,
    builder: Callable[[], Any] | None = None,
    link_mode: str = "hardlink",
    prepared: PreparedMetadata | None = None,
) -> str:
    """Build and install ``member`` editable (:func:`editable_wheel`, then :func:`link_editable`)."""
    wheel = editable_wheel(member, cache_dir, builder, prepared)
    return link_editable(member, wheel, interpreter, cache_dir, link_mode, member_install_key(member, prepared))


def pth_wheel(member: Member, root: Path, prepared: PreparedMetadata | None = None) -> Path:
    """pypm's own editable wheel for ``member``: the core metadata (the backend's when
    ``prepared``, else from ``[project]``) and every entry-point group. Its ``.pth`` is
    not in it but written into each environment (:func:`link_editable`), so the wheel,
    and its store entry, serve every copy of the member wherever it is."""
    key = hashlib.sha256(f"{_inputs_key('', member, prepared)}\0pth".encode()).hexdigest()  # no location
    folder = root / key[:2] / key
    built = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if built:  # the key covers everything the wheel holds (its metadata is not made again)
        return built[0]
    metadata = prepared.metadata if prepared is not None else _metadata(member)
    version = _version_of(metadata) or "0"
    dist = member.name.replace("-", "_")
    out = folder / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": b"Wheel-Version: 1.0\n" + GENERATOR_LINE + b"\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    entry_points = prepared.entry_points if prepared is not None else entry_points_text(member).encode()
    if entry_points.strip():
        files[f"{info}/entry_points.txt"] = entry_points
    files[f"{info}/RECORD"] = _record(files, f"{info}/RECORD")
    import io
    import zipfile

    from pypm.fsutil import atomic_write_bytes

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    # Every copy of the member builds into this folder: each writes its own temp file and
    # renames it into place, so two syncs at once each leave a whole wheel (the same bytes).
    atomic_write_bytes(out, buffer.getvalue())
    return out


def _metadata(member: Member) -> bytes:
    """Core metadata from the member's ``[project]`` table, written by packaging."""
    from packaging.metadata import Metadata, RawMetadata

    requires = [str(r) for r in member.dependencies]
    for extra, requirements in member.optional_dependencies.items():
        for requirement in requirements:
            marker = f"({requirement.marker}) and " if requirement.marker else ""
            base = str(requirement).split(";")[0].strip()
            requires.append(f'{base}; {marker}extra == "{extra}"')
    raw: RawMetadata = {"metadata_version": "2.1", "name": member.display_name, "version": str(member.version or "0")}
    if member.description.strip():
        raw["summary"] = " ".join(member.description.split())  # one line, as the field must be
    if str(member.requires_python):
        raw["requires_python"] = str(member.requires_python)
    if requires:
        raw["requires_dist"] = requires
    if member.optional_dependencies:
        raw["provides_extra"] = list(member.optional_dependencies)
    try:
        return bytes(Metadata.from_raw(raw).as_rfc822())
    except Exception as exc:  # packaging raises an ExceptionGroup of InvalidMetadata
        problems = getattr(exc, "exceptions", None) or [exc]
        raise InstallError(f"{member.pyproject}: cannot write its core metadata: {problems[0]}",
                           hint="fix the [project] table") from None


def _version_of(metadata: bytes) -> str | None:
    from pypm.index.metadata import metadata_headers

    return metadata_headers(metadata)["Version"]


def entry_points_text(member: Member) -> str:
    """``entry_points.txt`` for the member: ``[project.scripts]`` and ``[project.gui-scripts]``
    as ``console_scripts`` and ``gui_scripts``, and every ``[project.entry-points.<group>]``
    (pytest plugins and the like)."""
    from pypm.tomlfile import read_toml

    groups: dict[str, dict[str, str]] = {"console_scripts": member.scripts, "gui_scripts": member.gui_scripts}
    declared = read_toml(member.pyproject).get("project", {}).get("entry-points", {})
    if isinstance(declared, dict):
        for group, table in sorted(declared.items()):
            if isinstance(table, dict) and group not in ("console_scripts", "gui_scripts"):
                groups[group] = {str(k): str(v) for k, v in table.items()}
    sections = [f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in table.items())
                for group, table in groups.items() if table]
    return "\n".join(sections)


def _record(files: dict[str, bytes], record_name: str) -> bytes:
    """The wheel's RECORD, written by pypa/installer."""
    from installer.records import Hash, RecordEntry
    from installer.utils import construct_record_file

    rows = []
    for name, data in files.items():
        digest = hashlib.sha256(data).digest()
        rows.append(("purelib", RecordEntry(name, Hash("sha256", _urlsafe(digest)), len(data))))
    rows.append(("purelib", RecordEntry(record_name, None, None)))
    stream = construct_record_file(rows, lambda scheme: None)
    try:
        return stream.read()
    finally:
        stream.close()


def _urlsafe(digest: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
