"""Find Python interpreters: on PATH and in pyenv / asdf version directories."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^python3(\.\d+)?(\.exe)?$")


@dataclass(frozen=True)
class FoundPython:
    """An interpreter and the version it reports."""

    version: str
    path: Path


def _candidates() -> list[Path]:
    found: list[Path] = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in Path(directory).parts and Path(directory).is_dir():
            found.extend(p for p in Path(directory).iterdir() if _NAME.match(p.name))
    home = Path.home()
    for root in (Path(os.environ.get("PYENV_ROOT", home / ".pyenv")) / "versions", home / ".asdf/installs/python"):
        if root.is_dir():
            found.extend(root.glob("*/bin/python3"))
    return found


def discover() -> list[FoundPython]:
    """Every working interpreter found, newest version first, one per real executable."""
    seen: dict[Path, FoundPython] = {}
    for path in _candidates():
        try:
            real = path.resolve()
        except OSError:
            continue
        if real in seen or not os.access(real, os.X_OK):
            continue
        version = _version(path)
        if version:
            seen[real] = FoundPython(version, path)
    return sorted(seen.values(), key=lambda p: tuple(int(x) for x in p.version.split(".")), reverse=True)


def _version(path: Path) -> str | None:
    try:
        out = subprocess.run([str(path), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
