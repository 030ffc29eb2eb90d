"""Isolated build environments: build requirements resolved by pypm for the interpreter
the build is for, installed into a cached venv keyed by that Python and the exact set of
wheels."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from pypm.errors import PypmError
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.interpreter import Interpreter
from pypm.store.layout import BUILD_ENVS

READY = ".pypm-build-env-ready"
WheelBuilder = Callable[[FileLink], Path]


def build_environment(
    requirements: list[str], client: IndexClient, cache_dir: Path, build_wheel: WheelBuilder,
    target: Interpreter | None = None, offline: bool = False,
) -> Interpreter:
    """A venv of the ``target`` interpreter's Python (default: the running one) with
    ``requirements`` installed, resolved for that interpreter; reused when the same set was
    built before for the same Python. ``offline``: wheels from the cache only."""
    from filelock import FileLock

    from pypm.resolver.resolve import resolve_requirements

    environment = dict(target.environment) if target is not None else _running_environment()
    ranks = tag_ranks(target)
    resolution = resolve_requirements(requirements, client, [environment], sdist_metadata=None)
    chosen = [_best_file(p.files, ranks) for p in resolution.entries]
    python = _python_identity(target)
    key_text = json.dumps([python, sorted(f.filename + (f.sha256 or "") for f in chosen)])
    venv = cache_dir / BUILD_ENVS / hashlib.sha256(key_text.encode()).hexdigest()[:32]
    venv.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(venv) + ".lock"):
        info_file = venv / ".pypm-interpreter.json"
        if (venv / READY).is_file() and info_file.is_file():
            return Interpreter.from_json(json.loads(info_file.read_text("utf-8")))
        return _create(venv, chosen, cache_dir, build_wheel, target, offline)


def _running_environment() -> dict[str, str]:
    from packaging.markers import default_environment

    return dict(default_environment())


def _python_identity(target: Interpreter | None) -> str:
    """What tells Pythons apart for build environments: the executable and its version."""
    if target is None:
        return f"{sys.executable}|{sys.version}"
    return f"{target.executable}|{target.version}"


def tag_ranks(target: Interpreter | None) -> dict[str, int]:
    """Each tag ``target`` (default: the running interpreter) accepts, with its rank (0 best)."""
    if target is not None:
        return {tag: rank for rank, tag in enumerate(target.tags)}
    from packaging.tags import sys_tags

    return {str(tag): rank for rank, tag in enumerate(sys_tags())}


def wheel_rank(filename: str, ranks: dict[str, int]) -> int | None:
    """The best (lowest) rank among a wheel's tags, None when the interpreter accepts none."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return None
    found = [ranks[str(tag)] for tag in tags if str(tag) in ranks]
    return min(found) if found else None


def _best_file(files: list[FileLink], ranks: dict[str, int]) -> FileLink:
    """The wheel the interpreter accepts best when there is one, else the sdist."""
    ranked = []
    for link in files:
        rank = wheel_rank(link.filename, ranks) if link.is_wheel else None
        if rank is not None:
            ranked.append((rank, link))
    if ranked:
        return min(ranked, key=lambda item: item[0])[1]
    sdists = [f for f in files if not f.is_wheel]
    if not sdists:
        raise PypmError(f"{files[0].filename}: no file installs on this interpreter")
    return sdists[0]


def _create(venv: Path, chosen: list[FileLink], cache_dir: Path, build_wheel: WheelBuilder,
            target: Interpreter | None, offline: bool) -> Interpreter:
    from pypm.install.download import FileToFetch, fetch_all
    from pypm.install.venv import ensure_venv
    from pypm.install.wheel import install_wheel

    # A venv's interpreter makes a venv of its base Python: `target.executable` will do.
    interpreter = ensure_venv(venv, str(target.executable) if target is not None else None)
    wheels = [f for f in chosen if f.is_wheel]
    items = [FileToFetch(f.filename, f.url, f.sha256 or "", f.size) for f in wheels]
    fetched = fetch_all(items, cache_dir, offline=offline, announce=False)
    paths = [fetched[f.filename] for f in wheels] + [build_wheel(f) for f in chosen if not f.is_wheel]
    for path in paths:
        install_wheel(path, interpreter, cache_dir)
    (venv / READY).write_text("ok\n")
    return interpreter
