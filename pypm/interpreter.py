"""The model of a Python environment's interpreter, shared by the installer and the store
(import-light: no pypm imports, no third-party imports)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Interpreter:
    """What an environment's Python is: executable, marker environment, tags, scheme."""

    executable: Path
    version: str
    environment: dict[str, str]
    tags: list[str]
    scheme: dict[str, str]

    @property
    def prefix(self) -> Path:
        """The environment's root directory (the install scheme's ``data`` path)."""
        return Path(self.scheme["data"])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interpreter:
        """Build from :mod:`pypm.install.interpreter_info` output."""
        return cls(Path(data["executable"]), data["version"], data["environment"], data["tags"], data["scheme"])


def venv_python(venv: Path) -> Path:
    """The interpreter path inside a venv on this platform."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def venv_bin(venv: Path) -> Path:
    """The scripts directory of a venv on this platform."""
    return venv / ("Scripts" if os.name == "nt" else "bin")
