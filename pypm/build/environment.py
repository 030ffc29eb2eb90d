"""Isolated build environments: build requirements resolved by pypm for the running
interpreter, installed into a cached venv keyed by the exact set of wheels."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from pypm.errors import PypmError
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.interpreter import Interpreter

READY = ".pypm-build-env-ready"
WheelBuilder = Callable[[FileLink], Path]


def current_environment() -> list[dict[str, str]]:
    """The running interpreter's marker environment, as the resolver's single target."""
    from packaging.markers import default_environment

    return [dict(default_environment())]


def build_environment(
    requirements: list[str], client: IndexClient, cache_dir: Path, build_wheel: WheelBuilder
) -> Interpreter:
    """A venv with ``requirements`` installed (reused when the same set was built before)."""
    from pypm.resolver.resolve import resolve_requirements

    resolution = resolve_requirements(requirements, client, current_environment(), sdist_metadata=None)
    chosen = [_best_file(p.files) for p in resolution.entries]
    key = hashlib.sha256(json.dumps(sorted(f.filename + (f.sha256 or "") for f in chosen)).encode()).hexdigest()
    venv = cache_dir / "build-envs-v1" / key[:32]
    from filelock import FileLock

    venv.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(venv) + ".lock"):
        info_file = venv / ".pypm-interpreter.json"
        if (venv / READY).is_file() and info_file.is_file():
            return Interpreter.from_json(json.loads(info_file.read_text("utf-8")))
        return _create(venv, chosen, cache_dir, build_wheel)


def _best_file(files: list[FileLink]) -> FileLink:
    """The wheel for this interpreter when there is one, else the sdist."""
    from packaging.tags import sys_tags

    supported = {str(tag): rank for rank, tag in enumerate(sys_tags())}
    ranked = []
    for link in files:
        parsed = link.parsed
        if link.is_wheel and parsed is not None:
            ranks = [supported[str(t)] for t in parsed[2] if str(t) in supported]
            if ranks:
                ranked.append((min(ranks), link))
    if ranked:
        return min(ranked, key=lambda item: item[0])[1]
    sdists = [f for f in files if not f.is_wheel]
    if not sdists:
        raise PypmError(f"{files[0].filename}: no file installs on this interpreter")
    return sdists[0]


def _create(venv: Path, chosen: list[FileLink], cache_dir: Path, build_wheel: WheelBuilder) -> Interpreter:
    from pypm.install.download import FileToFetch, fetch_all
    from pypm.install.venv import ensure_venv
    from pypm.install.wheel import install_wheel

    interpreter = ensure_venv(venv, None)
    wheels = [f for f in chosen if f.is_wheel]
    items = [FileToFetch(f.filename, f.url, f.sha256 or "", f.size) for f in wheels]
    fetched = fetch_all(items, cache_dir, announce=False)
    paths = [fetched[f.filename] for f in wheels] + [build_wheel(f) for f in chosen if not f.is_wheel]
    for path in paths:
        install_wheel(path, interpreter, cache_dir)
    (venv / READY).write_text("ok\n")
    return interpreter
