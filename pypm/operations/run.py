"""``pypm run``: run a command inside the workspace's ``.venv``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pypm.errors import PypmError


def venv_environment(venv: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) with the venv activated: PATH first, VIRTUAL_ENV set."""
    from pypm.interpreter import venv_bin

    env = dict(os.environ if base is None else base)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_bin(venv)), env.get("PATH", "")])
    return env


def run_in_venv(venv: Path, command: list[str], cwd: Path | None = None) -> int:
    """Run ``command`` with the venv activated and return its exit code."""
    if not command:
        raise PypmError("no command given", hint="e.g. `pypm run pytest`")
    env = venv_environment(venv)
    executable = shutil.which(command[0], path=env["PATH"])
    if executable is None:
        raise PypmError(f"command not found: {command[0]}", hint="add the package that provides it, then `pypm sync`")
    try:
        return subprocess.run([executable, *command[1:]], env=env, cwd=cwd).returncode
    except KeyboardInterrupt:
        return 130
