"""Install a workspace member in editable mode: a ``.pth`` entry plus a real dist-info."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from pathlib import Path

from installer.scripts import Script
from installer.utils import get_launcher_kind

from pypm.install.venv import Interpreter
from pypm.workspace.project import Member

INSTALLER_NAME = "pypm\n"


def source_root(member: Member) -> Path:
    """The directory to put on ``sys.path``: ``src/`` when the member uses that layout."""
    src = member.path / "src"
    return src if src.is_dir() else member.path


def install_editable(member: Member, interpreter: Interpreter) -> None:
    """Make ``member`` importable from its source tree and register it as installed."""
    site = Path(interpreter.scheme["purelib"])
    scripts_dir = Path(interpreter.scheme["scripts"])
    version = str(member.version or "0")
    dist_name = member.name.replace("-", "_")
    dist_info = site / f"{dist_name}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    files: dict[Path, bytes] = {
        site / f"_pypm_editable_{dist_name}.pth": (str(source_root(member)) + "\n").encode(),
        dist_info / "METADATA": _metadata(member, version).encode(),
        dist_info / "INSTALLER": INSTALLER_NAME.encode(),
        dist_info / "REQUESTED": b"",
        dist_info / "direct_url.json": json.dumps(
            {"url": member.path.as_uri(), "dir_info": {"editable": True}}
        ).encode(),
    }
    entry_points = _entry_points(member)
    if entry_points:
        files[dist_info / "entry_points.txt"] = entry_points.encode()
    for section, table in (("console", member.scripts), ("gui", member.gui_scripts)):
        for name, target in table.items():
            module, _, attr = target.partition(":")
            script = Script(name, module.strip(), attr.strip(), section)
            filename, data = script.generate(str(interpreter.executable), get_launcher_kind())
            files[scripts_dir / filename] = data
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if path.parent == scripts_dir:
            path.chmod(0o755)
    _write_record(dist_info, site, files)


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


def _write_record(dist_info: Path, site: Path, files: dict[Path, bytes]) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([_relative(path, site), f"sha256={digest}", len(data)])
    writer.writerow([_relative(dist_info / "RECORD", site), "", ""])
    (dist_info / "RECORD").write_text(out.getvalue(), encoding="utf-8")


def _relative(path: Path, site: Path) -> str:
    import os

    return Path(os.path.relpath(path, site)).as_posix()
