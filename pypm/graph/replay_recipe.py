"""Record, after a full sync that made ``.venv`` afresh, the recipe a later plain ``pypm
sync`` of the same project elsewhere (or after ``rm -rf .venv``) replays
(:mod:`pypm.graph.sync_replay`, which says what a recipe holds).

The recipe is checked before it is kept: rendered for this very project it must give back
every file of the ``.venv`` just made, byte for byte, and the stamp the sync wrote (its
inputs and Merkle root). Anything it cannot describe (a file linked from elsewhere than the
store, a special file, a path in a written file that is not the project's own form, an
editable member whose store entry holds its path) means no recipe: the full sync stays
the only way there.
"""

from __future__ import annotations

import json
import os
import stat
from hashlib import sha256
from pathlib import Path
from typing import Any

from pypm.graph.context import GraphContext
from pypm.graph.noop_verdict import stat_signal
from pypm.graph.sync_replay import (
    KEPT_RECIPES,
    OPERATIONS,
    PLACE,
    PLACE_BYTES,
    RECIPE_FORMAT,
    RECIPES,
    is_recipe,
    is_safe_place,
    replay_key,
)
from pypm.operations.stamp import STAMP_FILE
from pypm.operations.venv_state import INTERPRETER_INFO

#: A member's install key in a recipe's written files: the sha256 of its preimage there.
KEY_TOKEN = "\0key{}\0"


class _NotReplayable(Exception):
    """This ``.venv`` cannot be described by a recipe."""


def watch(ctx: GraphContext, chain: list[str]) -> dict[str, Any] | None:
    """The observation a recipe would hold, taken before the chain runs; None when this run
    is not one to record (see :mod:`pypm.graph.sync_replay`)."""
    from pypm.graph.noop_verdict import observe
    from pypm.plugins.presence import plugins_may_exist

    if not ctx.plain_run or "sync" not in chain or "bundle" in chain or set(ctx.raw.tool_table) - {"workspace"}:
        return None  # a setting in [tool.pypm] may name a path, a plugin or a task: not recorded
    root = str(ctx.raw.root)
    if not is_safe_place(root) or os.path.lexists(ctx.venv_path) or ctx.venv_path != ctx.raw.root / ".venv":
        return None
    if plugins_may_exist(ctx.raw.tool_table):
        return None
    return observe(ctx, OPERATIONS, _own_paths(ctx))  # a copy has neither, a project after a sync both


def _own_paths(ctx: GraphContext) -> frozenset[str]:
    """``.venv`` and ``.pypm/``: left out of the listings a recipe records."""
    return frozenset({str(ctx.venv_path), str(ctx.state_dir)})


def record(ctx: GraphContext, before: dict[str, Any] | None) -> None:
    """Keep the recipe of the ``.venv`` this run made, when it may be replayed (best
    effort: a recipe that cannot be made only costs a later sync its time)."""
    outcome, locked = ctx.sync_outcome, ctx.lock_outcome
    if before is None or ctx.errors or outcome is None or outcome.skipped or outcome.removed:
        return
    if locked is not None and locked.written:
        return
    settings = ctx.settings
    cache = settings.cache_dir
    root = str(ctx.raw.root)
    if settings["link-mode"] != "hardlink" or cache is None or _under(str(cache), root):
        return
    try:
        if not _unchanged_since(ctx, before):
            return
        recipe = _recipe(ctx, before, str(cache), outcome.line)
    except (_NotReplayable, OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return
    import marshal

    from pypm.fsutil import atomic_write_bytes, keep_most_recent

    try:
        name = replay_key((ctx.raw.root / "pyproject.toml").read_bytes(), ctx.lock_path.read_bytes())
        atomic_write_bytes(Path(cache, RECIPES, name + ".marshal"), marshal.dumps(recipe))
    except (OSError, ValueError):  # ValueError: a value marshal cannot write
        return
    keep_most_recent(Path(cache, RECIPES), KEPT_RECIPES, is_recipe)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _unchanged_since(ctx: GraphContext, before: dict[str, Any]) -> bool:
    """What the observation saw before the run is still so after it, but for ``.venv`` and
    ``.pypm/``, which the run made."""
    from pypm.graph.noop_verdict import observe

    after = observe(GraphContext.load(ctx.raw.root), OPERATIONS, _own_paths(ctx))
    if after is None:
        return False
    return _compared(after, ctx) == _compared(before, ctx)


def _compared(observation: dict[str, Any], ctx: GraphContext) -> dict[str, Any]:
    """What must be the same before and after: all but pypm's code and ``.venv``."""
    venv = str(ctx.venv_path)
    left_out = ("code", "venv-info", "venv-stamp", "interpreters")
    files = {path: digest for path, digest in observation["files"].items() if not _under(path, venv)}
    return {**{k: v for k, v in observation.items() if k not in left_out}, "files": files}


def _recipe(ctx: GraphContext, before: dict[str, Any], cache: str, line: str) -> dict[str, Any]:
    root = str(ctx.raw.root)
    venv = str(ctx.venv_path)
    observation = _relative_observation(ctx, before, root)
    keys = _member_keys(ctx)
    parts = _VenvParts(venv, root, cache, [key for key, _ in keys])
    parts.walk()
    tokens = [(KEY_TOKEN.format(index).encode(), preimage.replace(root.encode(), PLACE_BYTES))
              for index, (_, preimage) in enumerate(keys)]
    recipe = {
        "format": RECIPE_FORMAT,
        "cache": cache,
        "observation": observation,
        "keys": tokens,
        **parts.recipe(),
        "line": line,
    }
    _check_against(recipe, ctx, parts)
    return recipe


def _relative_observation(ctx: GraphContext, before: dict[str, Any], root: str) -> dict[str, Any]:
    """``before`` with the project's directory as :data:`PLACE`; the workspace files looked
    for above the project must all be missing (the replay checks that above its own place)."""
    from pypm.workspace.discovery import PYPROJECT, WORKSPACE_FILE

    files = {}
    for path, digest in before["files"].items():
        above = not _under(path, root) and os.path.basename(path) in (PYPROJECT, WORKSPACE_FILE) \
            and _under(root, os.path.dirname(path))
        if above:
            if digest is not None:
                raise _NotReplayable
            continue
        files[path] = digest
    if ctx.raw.declined_by is not None:
        raise _NotReplayable
    relative = _relativized({**before, "files": files}, root)
    for path in [*relative["listings"], *relative["leads-to"], *relative["source-layouts"]]:
        if not path.startswith(PLACE):
            raise _NotReplayable
    return relative


def _relativized(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return PLACE + value[len(root):] if _under(value, root) else value
    if isinstance(value, dict):
        return {_relativized(key, root): _relativized(item, root) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_relativized(item, root) for item in value]
    return value


def _member_keys(ctx: GraphContext) -> list[tuple[str, bytes]]:
    """(install key, its preimage) of each member installed editable (its dist-info's
    store pointer holds the key)."""
    from pypm.install.editable import member_install_preimage

    preimages = [member_install_preimage(member) for member in ctx.workspace.members.values()]
    return [(sha256(preimage).hexdigest(), preimage) for preimage in preimages]


class _VenvParts:
    """What a fresh ``.venv`` is made of, found by walking it."""

    def __init__(self, venv: str, root: str, cache: str, keys: list[str]) -> None:
        self.venv, self.root, self.cache, self.keys = venv, root, cache, keys
        self.dirs: list[str] = []
        self.symlinks: list[list[str]] = []
        self.links: list[list[Any]] = []
        self.writes: list[list[Any]] = []
        self.written: dict[str, int] = {}  # relative path -> index in writes
        self.derived: set[int] = set()  # writes whose bytes follow the place
        self.records: list[tuple[str, bytes]] = []  # (relative path, bytes) of each RECORD
        self.manifests: dict[str, list[int] | None] = {}
        self.pointers: list[list[str]] = []
        self.store_files = self._store_files()

    def _store_files(self) -> dict[tuple[int, int], list[Any]]:
        """(device, inode) -> [store path, size, mtime] of every file of the store entries
        the environment's dist-infos point at."""
        from pypm.store.entry import FILES, MANIFEST, StoreEntry
        from pypm.store.layout import store_entry
        from pypm.store.registry import STORE_POINTER

        found: dict[tuple[int, int], list[Any]] = {}
        for site, _, names in os.walk(self.venv):
            if not site.endswith(".dist-info") or STORE_POINTER not in names:
                continue
            with open(os.path.join(site, STORE_POINTER), encoding="utf-8") as file:
                entry_root = store_entry(Path(self.cache), json.load(file)["store"])
            entry = StoreEntry.load(entry_root)
            if entry.mtimes is None:
                raise _NotReplayable
            self.manifests[str(entry_root / MANIFEST)] = stat_signal(str(entry_root / MANIFEST))
            self.pointers.append([str(entry_root), os.path.relpath(os.path.join(site, STORE_POINTER), self.venv)])
            for stored in entry.files:
                source = os.path.join(entry_root, FILES, stored.scheme, stored.path)
                info = os.stat(source)
                found[(info.st_dev, info.st_ino)] = [source, info.st_size, info.st_mtime_ns]
        return found

    def walk(self) -> None:
        """Sort every path of the environment into directories, links, symlinks, written
        files and RECORDs."""
        for here, dirs, files in os.walk(self.venv):
            for name in sorted(dirs):
                path = os.path.join(here, name)
                if os.path.islink(path):
                    self._symlink(path)
                else:
                    self.dirs.append(self._relative(path))
            dirs[:] = sorted(name for name in dirs if not os.path.islink(os.path.join(here, name)))
            for name in sorted(files):
                self._file(os.path.join(here, name))

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.venv)

    def _symlink(self, path: str) -> None:
        target = os.readlink(path)
        if _under(target, self.root) or not os.path.exists(path):  # the base interpreter is outside
            raise _NotReplayable
        self.symlinks.append([target, self._relative(path)])

    def _file(self, path: str) -> None:
        relative = self._relative(path)
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return self._symlink(path)
        if not stat.S_ISREG(info.st_mode):
            raise _NotReplayable
        if relative == STAMP_FILE:
            return None
        stored = self.store_files.get((info.st_dev, info.st_ino))
        if stored is not None:
            self.links.append([stored[0], relative, stored[1], stored[2]])
            return None
        with open(path, "rb") as file:
            data = file.read()
        if info.st_nlink > 1:  # linked from a shared copy (pypm.store.shared_files), or from elsewhere
            self.links.append([self._shared_copy(path, data), relative, info.st_size, info.st_mtime_ns])
            return None
        if os.path.basename(path) == "RECORD" and os.path.dirname(path).endswith(".dist-info"):
            self.records.append((relative, data))
            return None
        self._written(relative, data, info.st_mode & 0o777)
        return None

    def _shared_copy(self, path: str, data: bytes) -> str:
        """The store's shared copy ``path`` is a link of (:mod:`pypm.store.shared_files`)."""
        from pypm.store.shared_files import shared_path

        shared = shared_path(self.cache, data)
        if not os.path.exists(shared) or not os.path.samefile(shared, path):
            raise _NotReplayable
        return shared

    def _written(self, relative: str, data: bytes, mode: int) -> None:
        if PLACE_BYTES in data or b"\0key" in data:
            raise _NotReplayable
        template = data.replace(self.root.encode(), PLACE_BYTES)
        for index, key in enumerate(self.keys):
            template = template.replace(key.encode(), KEY_TOKEN.format(index).encode())
        if template != data:
            self.derived.add(len(self.writes))
        self.written[relative] = len(self.writes)
        self.writes.append([relative, template, mode])

    def recipe(self) -> dict[str, Any]:
        """The recipe's parts about the environment itself."""
        with open(os.path.join(self.venv, INTERPRETER_INFO), encoding="utf-8") as file:
            info = json.load(file)
        top = [d for d in self.dirs if _group(d) is None]
        shares: list[list[list[Any]]] = [[[], []], [[], []]]
        groups: dict[str, list[list[Any]]] = {}
        for directory in self.dirs:
            if (group := _group(directory)) is not None:
                groups.setdefault(group, [[], []])[0].append(directory)
        for link in self.links:
            groups.setdefault(_group(link[1]) or "", [[], []])[1].append(link)
        for dirs, links in sorted(groups.values(), key=lambda g: -len(g[0]) - len(g[1])):
            share = min(shares, key=lambda s: len(s[0]) + len(s[1]))
            share[0] += dirs
            share[1] += links
        return {
            "top-dirs": top, "symlinks": self.symlinks, "shares": shares, "writes": self.writes,
            "records": [[relative, self._record_rows(relative, data)] for relative, data in self.records],
            "leaves": self._leaves(info), "info": _relativized(info, self.root), "inputs": self._inputs(),
            "manifests": list(self.manifests.items()), "pointers": self.pointers,
        }

    def _record_rows(self, relative: str, data: bytes) -> list[list[Any]]:
        text = data.decode("utf-8")
        rows = [line.split(",") for line in text.splitlines()]
        if any(len(row) != 3 for row in rows) or "".join(",".join(row) + "\n" for row in rows) != text:
            raise _NotReplayable  # quoted fields or other line ends: not written back the simple way
        site = os.path.dirname(os.path.dirname(relative))
        found = []
        for path, digest, size in rows:
            target = os.path.normpath(os.path.join(site, path))
            index = self.written.get(target)
            found.append([path, None, index] if index in self.derived else [path, digest, size])
        return found

    def _leaves(self, info: dict[str, Any]) -> list[list[Any]]:
        """The stamp's Merkle leaves (:func:`pypm.install.record_check.recorded_root`) for
        the environment ``info`` describes, the digest of a file written here as its index
        (it follows the place)."""
        from pypm.install.record_check import dist_info_dirs, read_record, site_dirs

        leaves: dict[str, Any] = {}
        for dist_info in dist_info_dirs(site_dirs(info["scheme"])):
            leaves.update((row.relative, row.leaf_digest) for row in read_record(dist_info, info["scheme"]["data"])
                          if row.checked)
        return [[path, self.written[path] if self.written.get(path) in self.derived else digest]
                for path, digest in leaves.items()]

    def _inputs(self) -> Any:
        with open(os.path.join(self.venv, STAMP_FILE), encoding="utf-8") as file:
            stamp = json.load(file)
        if set(stamp) != {"inputs", "interpreter", "environment", "merkle-root"}:
            raise _NotReplayable
        return _relativized(stamp["inputs"], self.root)


def _group(relative: str) -> str | None:
    """Which share a path goes to: its top-level name in site-packages, or its first
    component elsewhere; None for the directories every share needs first."""
    parts = relative.split("/")
    if parts[0] == "lib":
        if len(parts) <= 3:
            return None
        return "/".join(parts[:4])
    return parts[0] if len(parts) > 1 else None


def _check_against(recipe: dict[str, Any], ctx: GraphContext, parts: _VenvParts) -> None:
    """The recipe rendered for this project gives back the ``.venv`` just made."""
    from pypm.graph.replay_build import render_check

    if not render_check(recipe, str(ctx.raw.root), parts.venv):
        raise _NotReplayable
