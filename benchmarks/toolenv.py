"""Install each benchmarked tool into its own venv under ``benchmarks/.work/tools/<tool>``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import REPO_ROOT, WORK_DIR

TOOLS_DIR = WORK_DIR / "tools"

# What pip installs into each tool's venv (pypm comes from this repository, non-editable).
PACKAGES: dict[str, list[str]] = {
    "pypm": [str(REPO_ROOT)],
    "uv": ["uv"],
    "pip-tools": ["pip-tools", "pip"],
    "poetry": ["poetry"],
    # pdm 2.29 uses hishel 1 and httpx; hishel 2 and unearth 0.19 (on httpx2) break it
    "pdm": ["pdm", "hishel<2", "unearth<0.19"],
    "_plot": ["matplotlib"],
}

# The command whose ``--version`` output names the tool's version.
VERSION_EXE: dict[str, str] = {
    "pypm": "pypm",
    "uv": "uv",
    "pip-tools": "pip-compile",
    "poetry": "poetry",
    "pdm": "pdm",
}


def base_python() -> Path:
    """The interpreter every venv (the tools' and the projects') is created from."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return Path(base).resolve()


@dataclass(frozen=True)
class ToolEnv:
    """A tool's venv: where it lives and how to reach its executables."""

    name: str
    root: Path

    @property
    def bin(self) -> Path:
        """The venv's ``bin`` directory."""
        return self.root / "bin"

    def exe(self, name: str) -> str:
        """Absolute path of an executable in the venv."""
        return str(self.bin / name)

    @property
    def python(self) -> str:
        """The venv's interpreter."""
        return self.exe("python")


def _pip(venv: Path, args: list[str], log: Path) -> None:
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args]
    with log.open("a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        subprocess.run(cmd, check=True, stdout=fh, stderr=subprocess.STDOUT, timeout=1800)


def ensure_tool(name: str, *, refresh_pypm: bool = True, log=print) -> ToolEnv:
    """Create (or reuse) the venv for ``name``; pypm is reinstalled from the repo each call.

    Reinstalling pypm every run keeps the figures tied to the working tree being measured.
    """
    root = TOOLS_DIR / name
    marker = root / ".bench-installed.json"
    packages = PACKAGES[name]
    logfile = TOOLS_DIR / f"{name}.install.log"
    TOOLS_DIR.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        log(f"installing {name} into {root} ...")
        subprocess.run([str(base_python()), "-m", "venv", "--clear", str(root)], check=True)
        _pip(root, ["--upgrade", "pip"], logfile)
        _pip(root, packages, logfile)
        marker.write_text(json.dumps({"packages": packages}))
    elif name == "pypm" and refresh_pypm:
        log("reinstalling pypm from the working tree ...")
        _pip(root, packages, logfile)  # dependencies the working tree added since the venv was made
        _pip(root, ["--force-reinstall", "--no-deps", *packages], logfile)
    return ToolEnv(name, root)


def tool_version(env: ToolEnv) -> str:
    """The first line of ``<tool> --version`` (or ``"?"``)."""
    try:
        out = subprocess.run(
            [env.exe(VERSION_EXE[env.name]), "--version"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "NO_COLOR": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else "?"
