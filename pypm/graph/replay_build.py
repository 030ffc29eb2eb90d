"""Build ``.venv`` from a sync recipe whose observation holds (:mod:`pypm.graph.sync_replay`):
beside ``.venv``, under the project's graph lock and the store's shared lock, renamed into
place once complete with its stamp; then the store links registered and the run noted."""

from __future__ import annotations

import os
import threading
from binascii import b2a_base64

from pypm.graph.noop_verdict import stat_signal
from pypm.graph.sync_replay import (
    BUILDING_MARKER,
    BUILDING_PREFIX,
    PLACE_BYTES,
    localized,
    remove_unfinished,
    state_dir,
)
from pypm.operations.venv_state import environment_state, interpreter_state, sha256

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The stamp's file in ``.venv`` (:data:`pypm.operations.stamp.STAMP_FILE`; a test keeps them equal).
STAMP_FILE = ".pypm-sync.json"


class _Stale(Exception):
    """A store file or entry is no longer as the recipe recorded it: the full sync checks
    (and repairs) it."""


def build(recipe: dict[str, Any], cwd: str) -> str | None:
    """Make ``.venv`` in ``cwd`` from ``recipe``; the line a full sync prints, or None when
    nothing was made (``.venv`` appeared meanwhile, a store entry changed)."""
    from pathlib import Path

    from pypm.graph.session import make_state_dir, note_direct_run, state_lock
    from pypm.store.lock import shared_store_lock

    state = Path(state_dir(cwd))
    make_state_dir(state)
    venv = os.path.join(cwd, ".venv")
    with state_lock(state):
        if os.path.lexists(venv):
            return None
        remove_unfinished(cwd)
        with shared_store_lock(Path(recipe["cache"])):
            if any(stat_signal(path) != signal for path, signal in recipe["manifests"]):
                return None
            if not _build_beside(recipe, cwd, venv):
                return None
            from pypm.store.registry import register_link

            for entry_root, pointer in recipe["pointers"]:
                register_link(Path(entry_root), Path(venv, pointer))
        note_direct_run(state, "sync")
    return recipe["line"]


def _build_beside(recipe: dict[str, Any], cwd: str, venv: str) -> bool:
    """Build in a directory of its own beside ``.venv`` and rename it into place; on any
    failure remove it (it is this run's) and return False or raise."""
    building = os.path.join(cwd, f"{BUILDING_PREFIX}{os.getpid()}")
    os.mkdir(building)
    try:
        with open(os.path.join(building, BUILDING_MARKER), "xb"):
            pass
        _fill(recipe, cwd, venv, building)
        os.remove(os.path.join(building, BUILDING_MARKER))
        if os.path.lexists(venv):
            raise _Stale
        os.rename(building, venv)
    except BaseException as exc:
        import shutil

        shutil.rmtree(building, ignore_errors=True)
        if isinstance(exc, _Stale):
            return False
        raise
    return True


def _fill(recipe: dict[str, Any], cwd: str, venv: str, building: str) -> None:
    """Everything of ``.venv`` into ``building``: directories, links, written files, RECORDs
    and last the stamp."""
    place = cwd.encode()
    keys = _member_keys(recipe, place)
    for relative in recipe["top-dirs"]:
        os.mkdir(os.path.join(building, relative))
    for target, relative in recipe["symlinks"]:
        os.symlink(localized(target, cwd), os.path.join(building, relative))
    failures: list[BaseException] = []
    helper = threading.Thread(target=_link_share, args=(recipe["shares"][1], building, failures))
    helper.start()
    try:
        _link_share(recipe["shares"][0], building, failures)
        written = _write_files(recipe["writes"], building, place, keys)
    finally:
        helper.join()
    if failures:
        raise failures[0]
    for relative, rows in recipe["records"]:
        _write_new(os.path.join(building, relative), _record_text(rows, written), 0o644)
    _write_new(os.path.join(building, STAMP_FILE), _stamp(recipe, cwd, venv, building, written), 0o644)


def _link_share(share: list[Any], building: str, failures: list[BaseException]) -> None:
    """Make one share's directories and link its store files (each checked as a sync checks
    it: size and mtime as the manifest recorded them)."""
    directories, links = share
    join, stat, link = os.path.join, os.stat, os.link
    try:
        for relative in directories:
            try:
                os.mkdir(join(building, relative))
            except FileExistsError:  # made by the other thread for a written file
                if not os.path.isdir(join(building, relative)):
                    raise
        for source, relative, size, mtime in links:
            if failures:
                return
            found = stat(source)
            if found.st_size != size or found.st_mtime_ns != mtime:
                raise _Stale
            link(source, join(building, relative))
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
        failures.append(exc)


def _rendered(writes: list[Any], place: bytes, keys: list[tuple[bytes, bytes]]) -> list[bytes]:
    """The bytes of each file made for this environment: the project's path and the
    members' install keys put in."""
    rendered = []
    for _, template, _ in writes:
        data = template.replace(PLACE_BYTES, place) if PLACE_BYTES in template else template
        for token, key in keys:
            if token in data:
                data = data.replace(token, key)
        rendered.append(data)
    return rendered


def _member_keys(recipe: dict[str, Any], place: bytes) -> list[tuple[bytes, bytes]]:
    """(token, install key) of each member: the sha256 of its preimage for this place."""
    return [(token, sha256(preimage.replace(PLACE_BYTES, place)).hexdigest().encode())
            for token, preimage in recipe["keys"]]


def _write_files(writes: list[Any], building: str, place: bytes, keys: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Write each file made for this environment; returns their bytes, by index."""
    written = _rendered(writes, place, keys)
    for (relative, _, mode), data in zip(writes, written, strict=True):
        path = os.path.join(building, relative)
        try:
            _write_new(path, data, mode)
        except FileNotFoundError:  # its directory is the other thread's, not made yet
            os.makedirs(os.path.dirname(path), exist_ok=True)
            _write_new(path, data, mode)
    return written


def render_check(recipe: dict[str, Any], cwd: str, venv: str) -> bool:
    """True when ``recipe`` rendered for the project at ``cwd`` gives back the files written
    for its ``.venv`` byte for byte, its RECORDs, and its stamp's inputs and Merkle root
    (what :mod:`pypm.graph.replay_recipe` checks before it keeps a recipe)."""
    import json

    from pypm.install.merkle import merkle_root

    place = cwd.encode()
    written = _rendered(recipe["writes"], place, _member_keys(recipe, place))
    for (relative, _, _), data in zip(recipe["writes"], written, strict=True):
        with open(os.path.join(venv, relative), "rb") as file:
            if file.read() != data:
                return False
    for relative, rows in recipe["records"]:
        with open(os.path.join(venv, relative), "rb") as file:
            if file.read() != _record_text(rows, written).encode("utf-8"):
                return False
    with open(os.path.join(venv, STAMP_FILE), encoding="utf-8") as file:
        stamp = json.load(file)
    return stamp["inputs"] == localized(recipe["inputs"], cwd) and stamp["merkle-root"] == merkle_root(
        _leaves(recipe, written))


def _leaves(recipe: dict[str, Any], written: list[bytes]) -> list[tuple[str, str]]:
    return [(path, digest if isinstance(digest, str) else sha256(written[digest]).hexdigest())
            for path, digest in recipe["leaves"]]


def _write_new(path: str, data: bytes | str, mode: int) -> None:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(handle, raw)
    finally:
        os.close(handle)
    os.chmod(path, mode)  # as the full sync leaves it, whatever the umask


def _digest_row(data: bytes) -> str:
    """RECORD's ``sha256=`` field for ``data`` (urlsafe base64, unpadded)."""
    encoded = b2a_base64(sha256(data).digest(), newline=False).decode("ascii")
    return "sha256=" + encoded.replace("+", "-").replace("/", "_").rstrip("=")


def _record_text(rows: list[Any], written: list[bytes]) -> str:
    """A RECORD: the recorded rows, and the hash and size of each file written here for
    the rows that name one (their bytes follow the place)."""
    lines = []
    for path, digest, size in rows:
        if digest is None:
            data = written[size]
            digest, size = _digest_row(data), str(len(data))
        lines.append(f"{path},{digest},{size}\n")
    return "".join(lines)


def _stamp(recipe: dict[str, Any], cwd: str, venv: str, building: str, written: list[bytes]) -> str:
    """The sync stamp (:func:`pypm.operations.stamp.stamp_content`'s fields) of the
    environment being built, with the paths it will have."""
    import json

    from pypm.install.merkle import merkle_root

    # described where it is being built (its interpreter's link leads to the base Python,
    # outside the project); the environment's paths are then given as they will be
    info = localized(recipe["info"], cwd)
    here = {**info, "executable": info["executable"].replace(venv, building, 1),
            "scheme": {name: path.replace(venv, building, 1) for name, path in info["scheme"].items()}}
    interpreter = interpreter_state(here)
    if interpreter is None:
        raise _Stale
    environment = {path.replace(building, venv, 1): signal for path, signal in environment_state(here).items()}
    stamp = {"inputs": localized(recipe["inputs"], cwd), "interpreter": interpreter, "environment": environment,
             "merkle-root": merkle_root(_leaves(recipe, written))}
    return json.dumps(stamp)
