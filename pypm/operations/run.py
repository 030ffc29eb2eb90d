"""``pypm run``: run a command inside the workspace's ``.venv``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pypm.errors import InstallError, PypmError, UsageError


def venv_environment(venv: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: os.environ) with the venv activated: PATH first, VIRTUAL_ENV set."""
    from pypm.interpreter import venv_bin

    env = dict(os.environ if base is None else base)
    env.pop("PYTHONHOME", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv_bin(venv)), env.get("PATH", "")])
    return env


def check_venv(venv: Path) -> None:
    """Raise :class:`InstallError` unless ``venv`` has an interpreter that can start: a
    command must never fall through to another Python further down ``PATH``."""
    from pypm.interpreter import venv_python

    python = venv_python(venv)
    if not venv.is_dir():
        raise InstallError(f"{venv} does not exist", hint="run `pypm sync` to create it")
    if not python.exists():  # exists() follows links: False when the link dangles
        what = "a broken link (its base Python is gone)" if python.is_symlink() else "missing"
        raise InstallError(f"{python} is {what}", hint="run `pypm sync` to recreate .venv")


def shell_command() -> list[str]:
    """The user's interactive shell: ``$SHELL`` (``%COMSPEC%`` on Windows), else ``/bin/sh``."""
    if os.environ.get("SHELL"):
        return [os.environ["SHELL"]]
    return [os.environ.get("COMSPEC", "cmd.exe") if os.name == "nt" else "/bin/sh"]


def venv_command(venv: Path, command: list[str], example: str) -> tuple[list[str], dict[str, str]]:
    """``command`` with its program found on the activated venv's ``PATH``, and that
    environment; one-line errors for no command (``example`` shows one), an unusable venv
    or a program that is not there."""
    if not command:
        raise UsageError("no command given", hint=example)
    check_venv(venv)
    env = venv_environment(venv)
    executable = shutil.which(command[0], path=env["PATH"])
    if executable is None:
        raise PypmError(f"command not found: {command[0]}", hint="add the package that provides it, then `pypm sync`")
    return [executable, *command[1:]], env


def run_in_venv(venv: Path, command: list[str], cwd: Path | None = None) -> int:
    """Run ``command`` with the venv activated and return its exit code as a shell reports
    it: Ctrl-C is the command's to handle, SIGTERM to pypm is passed on and waited out
    (:mod:`pypm.operations.supervise`), 128+N when signal N ended it."""
    from pypm.operations.supervise import run_supervised

    argv, env = venv_command(venv, command, "e.g. `pypm run pytest`")
    return run_supervised(argv, cwd, env)
