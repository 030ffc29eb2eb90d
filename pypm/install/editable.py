"""Install a workspace member in editable mode.

With a ``[build-system]`` the member's backend builds a PEP 660 editable wheel (in an
isolated build environment); without one, or when the backend has no ``build_editable``
hook, pypm writes a minimal editable wheel itself (a ``.pth`` path entry plus metadata
and entry points). Either wheel then goes through the store like any other, with a
fresh ``direct_url.json`` marking the install editable.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypm.interpreter import Interpreter
from pypm.workspace.project import Member

EDITABLES = "editable-wheels-v1"


def source_root(member: Member) -> Path:
    """The directory to put on ``sys.path``: ``src/`` when the member uses that layout."""
    src = member.path / "src"
    return src if src.is_dir() else member.path


def editable_key(member: Member, kind: str) -> str:
    """Cache key of a member's editable wheel: its pyproject, location and kind."""
    digest = hashlib.sha256(member.pyproject.read_bytes())
    digest.update(f"\0{member.path}\0{kind}".encode())
    return digest.hexdigest()


def install_editable(
    member: Member,
    interpreter: Interpreter,
    cache_dir: Path,
    builder: Callable[[], Any] | None = None,
    link_mode: str = "hardlink",
) -> str:
    """Install ``member`` editable; ``builder`` makes the SdistBuilder used for PEP 660."""
    from pypm.fsutil import file_sha256
    from pypm.store.link import link_entry
    from pypm.store.unpack import ensure_unpacked

    wheel = None
    if member.build_system is not None and builder is not None:
        wheel = builder().build_editable(member.path, editable_key(member, "pep660"))
    if wheel is None:
        wheel = pth_wheel(member, cache_dir / EDITABLES)
    direct_url = json.dumps({"url": member.path.as_uri(), "dir_info": {"editable": True}}).encode()
    entry = ensure_unpacked(wheel, file_sha256(wheel), cache_dir)
    return link_entry(entry, interpreter, link_mode, cache_dir, {"direct_url.json": direct_url}, requested=True)


def pth_wheel(member: Member, root: Path) -> Path:
    """pypm's own editable wheel for ``member``: a ``.pth`` entry, metadata, entry points."""
    key = editable_key(member, "pth")
    version = str(member.version or "0")
    dist = member.name.replace("-", "_")
    out = root / key[:2] / key / f"{dist}-{version}-py3-none-any.whl"
    if out.is_file():
        return out
    info = f"{dist}-{version}.dist-info"
    files = {
        f"_pypm_editable_{dist}.pth": (str(source_root(member)) + "\n").encode(),
        f"{info}/METADATA": _metadata(member, version).encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: pypm\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    entry_points = _entry_points(member)
    if entry_points:
        files[f"{info}/entry_points.txt"] = entry_points.encode()
    files[f"{info}/RECORD"] = _record(files, f"{info}/RECORD").encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_suffix(".tmp")
    with zipfile.ZipFile(temp, "w") as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    temp.replace(out)
    return out


def _metadata(member: Member, version: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {member.display_name}", f"Version: {version}"]
    if member.description:
        lines.append(f"Summary: {member.description}")
    if str(member.requires_python):
        lines.append(f"Requires-Python: {member.requires_python}")
    lines.extend(f"Requires-Dist: {r}" for r in member.dependencies)
    for extra, requirements in member.optional_dependencies.items():
        lines.append(f"Provides-Extra: {extra}")
        for requirement in requirements:
            marker = f"({requirement.marker}) and " if requirement.marker else ""
            base = str(requirement).split(";")[0].strip()
            lines.append(f'Requires-Dist: {base}; {marker}extra == "{extra}"')
    return "\n".join(lines) + "\n"


def _entry_points(member: Member) -> str:
    sections = []
    for header, table in (("console_scripts", member.scripts), ("gui_scripts", member.gui_scripts)):
        if table:
            sections.append(f"[{header}]\n" + "".join(f"{k} = {v}\n" for k, v in table.items()))
    return "\n".join(sections)


def _record(files: dict[str, bytes], record_name: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(data)])
    writer.writerow([record_name, "", ""])
    return out.getvalue()
