"""The repeated new environment: a plain ``pypm sync`` (or ``pypm lock sync``) where ``.venv``
is missing, made again from the recipe a full sync of the same project left in the cache.

A new checkout of a project, a CI workspace, a copy, or ``rm -rf .venv``: the lock, the
settings, the interpreter and every store entry are the ones a full sync already linked a
``.venv`` from. The full sync (:mod:`pypm.graph.replay_recipe`) recorded, in
``<cache>/sync-replays-v1/``, what that ``.venv`` is made of with the project's directory
as a placeholder: its directories and interpreter links, each file linked from the store
(with the store file's size and mtime and its entry's manifest), each file written for
this environment (scripts, RECORDs, the ``.pth`` of an editable member, the interpreter
description...), the RECORD rows and Merkle leaves whose hashes follow the place, and what
the sync stamp holds; and, as the no-op verdict observes them (:mod:`pypm.graph.noop_verdict`),
everything the full run's result depended on, by path relative to the project.

Here that observation is compared with the project in the working directory (the same
file contents, listings, settings variables, interpreter, pypm code; no workspace file in
any directory above it). When it holds, the environment is built beside ``.venv`` (under
the project's graph lock and the store's shared lock), each store file checked as a sync
checks it (size and mtime, its manifest unchanged), and renamed into place once complete,
stamp included; then its links are registered in the store and the run noted, as a full
sync does. Anything different, missing or failing leaves the work to the full sync, which
reports what is wrong; a replay that fails leaves nothing behind but its own directory,
which the next replay removes.

Recorded only where the result cannot depend on the place other than through the path
itself: POSIX, paths of letters, digits and ``/._-`` (no quoting in JSON, CSV, URLs or
shebang lines), nothing in ``[tool.pypm]`` but the workspace's members, no plugins, hardlink mode, editable members
installed through pypm's own ``.pth`` wheel, a cache and base interpreter outside the
project (see :mod:`pypm.graph.replay_recipe`).

Imports ``os``, ``sys``, ``marshal`` and ``threading`` until the observation holds.
"""

from __future__ import annotations

import marshal
import os
import sys

from pypm import __version__
from pypm.graph.noop_verdict import STATE_DIR, observation_holds, settings_environment
from pypm.operations.venv_state import sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RECIPE_FORMAT = 1
#: The recipes' directory in the cache (:data:`pypm.store.layout.SYNC_REPLAYS`, not imported
#: here: that module imports pathlib; a test keeps them equal).
RECIPES = "sync-replays-v1"
#: How many recipes the cache keeps (the most recently made).
KEPT_RECIPES = 32
#: What a recipe's paths and written files hold in place of the project's directory.
PLACE = "\0project\0"
PLACE_BYTES = PLACE.encode()
#: The operations a recipe's observation covers (a plain ``sync`` locks first).
OPERATIONS = ["lock", "sync"]
#: The directory a replay builds ``.venv`` in, beside it (the pid follows).
BUILDING_PREFIX = ".venv.pypm-replay-"
BUILDING_MARKER = ".pypm-replay"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-")
_WORKSPACE_FILES = ("pyproject.toml", "pypm-workspace.toml")


def is_recipe(name: str) -> bool:
    """``<64 hex>.marshal``: a recipe's file."""
    return len(name) == 72 and name.endswith(".marshal")


def is_safe_place(path: str) -> bool:
    """True for an absolute POSIX path that no file format quotes or escapes."""
    return os.name == "posix" and path.startswith("/") and set(path) <= _SAFE and "\0" not in path


def replay_key(project: bytes, lock: bytes) -> str:
    """The name of the recipe for a project whose ``pyproject.toml`` and ``pylock.toml``
    hold these bytes, run by this pypm on this interpreter with these settings variables."""
    key = [RECIPE_FORMAT, __version__, sys.executable, sys.version, settings_environment(), project, lock]
    return sha256(marshal.dumps(key)).hexdigest()


def candidate_cache() -> str | None:
    """Where the cache is when no settings file moves it: ``PYPM_CACHE_DIR``, else the
    platform's cache directory (a recipe records the cache it was made with, and is used
    only when that is this one)."""
    configured = os.environ.get("PYPM_CACHE_DIR")
    if configured:
        return os.path.abspath(os.path.expanduser(configured))
    import platformdirs

    return str(platformdirs.user_cache_path("pypm", appauthor=False))


def localized(value: Any, place: str) -> Any:
    """``value`` (a recipe's part) with :data:`PLACE` in its strings replaced by ``place``."""
    if isinstance(value, str):
        return value.replace(PLACE, place) if PLACE in value else value
    if isinstance(value, dict):
        return {localized(key, place): localized(item, place) for key, item in value.items()}
    if isinstance(value, list):
        return [localized(item, place) for item in value]
    return value


def replay_sync(quiet: bool) -> bool:
    """Make ``.venv`` from the recipe of a full sync of this very project, when one holds
    (see the module docstring); False (nothing made) otherwise."""
    cwd = os.getcwd()
    venv = os.path.join(cwd, ".venv")
    if not is_safe_place(cwd) or os.path.lexists(venv):
        return False
    from pypm.errors import PypmError

    try:
        recipe = _holding_recipe(cwd)
        if recipe is None:
            return False
        from pypm.graph.replay_build import build

        line = build(recipe, cwd)
    except (PypmError, OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return False  # the full sync reports what is wrong
    if line is None:
        return False
    if not quiet:
        print(line, file=sys.stderr)
    return True


def _holding_recipe(cwd: str) -> dict[str, Any] | None:
    with open(os.path.join(cwd, "pyproject.toml"), "rb") as file:
        project = file.read()
    with open(os.path.join(cwd, "pylock.toml"), "rb") as file:
        lock = file.read()
    cache = candidate_cache()
    if cache is None:
        return None
    try:
        with open(os.path.join(cache, RECIPES, replay_key(project, lock) + ".marshal"), "rb") as file:
            recipe = marshal.loads(file.read())
    except FileNotFoundError:
        return None
    if recipe.get("format") != RECIPE_FORMAT or recipe["cache"] != cache:
        return None
    observation = localized(recipe["observation"], cwd)
    own = frozenset({os.path.join(cwd, ".venv"), os.path.join(cwd, STATE_DIR)})
    if not observation_holds(observation, cwd, ["lock"], own) or not _nothing_above(cwd):
        return None
    if any(os.path.isdir(path) != is_dir for path, is_dir in observation["source-layouts"].items()):
        return None
    markers = recipe["info"].get("environment", {})  # the interpreter's description holds these
    system = os.uname()
    if (markers.get("platform_release"), markers.get("platform_version")) != (system.release, system.version):
        return None
    from pypm.plugins.presence import group_may_be_declared, plugins_disabled

    if not plugins_disabled() and group_may_be_declared():  # installed since: its hooks run around a sync
        return None
    return recipe


def _nothing_above(cwd: str) -> bool:
    """No directory above the project holds a workspace file (one could take it in)."""
    directory = cwd
    while (parent := os.path.dirname(directory)) != directory:
        directory = parent
        if any(os.path.lexists(os.path.join(directory, name)) for name in _WORKSPACE_FILES):
            return False
    return True


def remove_unfinished(cwd: str) -> None:
    """Remove the directories of replays that did not finish (killed: the graph lock is
    held, so none is running), those holding the marker a replay writes first."""
    import shutil

    try:
        names = [name for name in os.listdir(cwd) if name.startswith(BUILDING_PREFIX)]
    except OSError:  # the sync that follows reports an unreadable project directory
        return
    for name in names:
        path = os.path.join(cwd, name)
        if not os.path.islink(path) and os.path.isfile(os.path.join(path, BUILDING_MARKER)):
            shutil.rmtree(path, ignore_errors=True)


def state_dir(cwd: str) -> str:
    """The project's ``.pypm/``."""
    return os.path.join(cwd, STATE_DIR)
