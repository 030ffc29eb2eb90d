"""Named shared environments (Julia's shared environments): ``pypm env create NAME``.

A named environment is a directory in the user data dir (``PYPM_ENVS_DIR`` overrides it)
holding a ``pyproject.toml`` (its requirements), a ``pylock.toml`` and a ``.venv`` linked
from the same shared store as every project, so an environment is defined by its two
files and its installed files are shared with every other environment and project.
``pypm env`` without a name is the user's default environment, ``default``.

An environment directory carries a ``.pypm-env`` marker written when pypm created it;
``pypm env remove`` deletes only directories with that marker.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pypm.errors import PypmError, UsageError
from pypm.fsutil import atomic_write_text

if TYPE_CHECKING:
    from pypm.config import Settings

DEFAULT_ENV = "default"
MARKER = ".pypm-env"
ENVS_DIR_VAR = "PYPM_ENVS_DIR"
REMOVING_PREFIX = ".pypm-removing-"  # a removed environment's directory, aside (never a name: no leading dot)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def envs_dir() -> Path:
    """Where named environments live."""
    from pypm.config import user_data_dir

    return user_data_dir("envs", ENVS_DIR_VAR)


def env_path(name: str) -> Path:
    """The directory of environment ``name`` (the name is checked)."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not an environment name",
                         hint="use letters, digits, '.', '_' and '-' (up to 64), e.g. data-tools")
    return envs_dir() / name


def existing_env(name: str) -> Path:
    """The directory of an environment that exists (one line naming the others if not)."""
    path = env_path(name)
    if not (path / MARKER).is_file():
        known = ", ".join(list_envs()) or "none yet"
        raise UsageError(f"no environment named {name!r}",
                         hint=f"create it with `pypm env create {name}` (environments: {known})")
    return path


def list_envs() -> list[str]:
    """The names of the environments pypm created, sorted."""
    root = envs_dir()
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if _NAME.fullmatch(entry.name) and (entry / MARKER).is_file())


def create_env_files(name: str, settings: Settings) -> Path:
    """Write a new environment's ``pyproject.toml`` and marker (no requirements yet); its
    ``requires-python`` floor is the version of the interpreter its sync will use (the
    ``python`` setting's: a version, a command or a path; else pypm's own)."""
    path = env_path(name)
    if path.exists():
        raise UsageError(f"an environment named {name!r} exists already ({path})",
                         hint=f"add to it with `pypm add --env {name} REQ`, or remove it first")
    python = _python_floor(path / ".venv", settings)  # a setting naming no interpreter fails before any write
    path.mkdir(parents=True)
    atomic_write_text(path / "pyproject.toml",
                      f'# The shared environment {name!r} (pypm env). Edit with `pypm add --env {name}`.\n'
                      f'[project]\nname = "pypm-env-{name.lower()}"\nversion = "0"\nrequires-python = "{python}"\n'
                      'dependencies = []\n')
    atomic_write_text(path / MARKER, "made by `pypm env create`; `pypm env remove` deletes this directory\n")
    return path


def _python_floor(venv: Path, settings: Settings) -> str:
    """``>=X.Y`` of the Python that syncs ``venv``: one interpreter uses an environment, so
    it is locked for that Python and newer, not for every Python."""
    from pypm.install.venv import python_version_for

    major, minor = python_version_for(venv, settings).split(".")[:2]
    return f">={major}.{minor}"


def remove_env(name: str) -> tuple[Path, str | None]:
    """Delete environment ``name`` (only a directory pypm made: it has the marker): it is
    moved aside first (one rename), so a delete that fails part-way never leaves a
    half-deleted environment under its name. Returns its path and, when something would
    not go, a note naming what is left (the next ``remove`` tries again)."""
    from pypm.trash import set_aside

    path = existing_env(name)
    _sweep_removed(path.parent)
    try:
        aside = set_aside(path, REMOVING_PREFIX)
    except OSError as exc:  # nothing was deleted
        raise PypmError(f"cannot remove {path}: {exc.strerror or exc}",
                        hint=f"check the permissions of {path.parent}") from None
    return path, None if aside is None else _delete(aside)


def _delete(aside: Path) -> str | None:
    """Delete what :func:`remove_env` moved aside; a note naming what is left, if anything."""
    from pypm.trash import remove_tree

    errors = remove_tree(aside)
    if not errors:
        return None
    return (f"{len(errors)} item(s) in {aside} could not be deleted ({errors[0].filename}: "
            f"{errors[0].strerror or errors[0]}); delete it by hand")


def _sweep_removed(root: Path) -> None:
    """Try again to delete what earlier removals left aside in ``root``."""
    from pypm.trash import remove_tree

    for entry in root.glob(f"{REMOVING_PREFIX}*"):
        if entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)


def discard_new_env(path: Path) -> None:
    """Remove an environment whose creation failed (it has pypm's marker), moved aside
    first as :func:`remove_env` does."""
    from pypm.trash import delete_aside

    if (path / MARKER).is_file() and not delete_aside(path, REMOVING_PREFIX):
        shutil.rmtree(path, ignore_errors=True)
