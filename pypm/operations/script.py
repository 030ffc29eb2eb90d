"""PEP 723 scripts: ``pypm run script.py`` resolves and installs the script's inline
dependencies into an environment cached under ``<cache>/script-envs/<key>/``, keyed by
the script's metadata (dependencies, ``requires-python``, ``[tool.pypm]``), so scripts
with the same requirements share one environment, linked from the shared store like
every ``.venv``. The environment is a small generated project (``pyproject.toml``,
``pylock.toml``, ``.venv``): a second run finds its lock and ``.venv`` fresh and resolves
nothing.

``pypm lock --script script.py`` writes ``script.py.lock`` (PEP 751) beside the script;
later runs install from it while it matches the script's metadata, and keep it current
when the metadata changed, as uv does with its script lock files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pypm.errors import UsageError
from pypm.fsutil import atomic_write_bytes, atomic_write_text
from pypm.store.layout import SCRIPT_ENVS
from pypm.workspace.script import script_metadata

_ENV_NAME = "pypm-script-env"


def script_lock_path(script: Path) -> Path:
    """``script.py.lock`` beside the script (uv's name for a script's lock)."""
    return script.with_name(script.name + ".lock")


def environment_key(metadata: dict[str, Any]) -> str:
    """The cache key of a script's environment: what decides what it installs."""
    tool = metadata.get("tool", {})
    wanted = {"dependencies": sorted(metadata.get("dependencies", [])),
              "requires-python": metadata.get("requires-python"),
              "pypm": tool.get("pypm", {}) if isinstance(tool, dict) else {}}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:20]


def prepare_environment(script: Path, cache_dir: Path) -> Path:
    """Write (or keep) the generated project of the script's environment; return its
    directory. A ``script.py.lock`` that matches the metadata becomes its lock."""
    import tomli_w

    metadata = script_metadata(script)
    if not metadata:
        raise UsageError(f"{script} has no `# /// script` block", hint="add one (PEP 723), or run it with python")
    directory = cache_dir / SCRIPT_ENVS / environment_key(metadata)
    project: dict[str, Any] = {"name": _ENV_NAME, "version": "0", "dependencies": metadata.get("dependencies", [])}
    if metadata.get("requires-python"):
        project["requires-python"] = metadata["requires-python"]
    document: dict[str, Any] = {"project": project}
    tool = metadata.get("tool", {})
    if isinstance(tool, dict) and isinstance(tool.get("pypm"), dict):
        document["tool"] = {"pypm": {k: v for k, v in tool["pypm"].items() if k not in ("workspace", "tasks")}}
    text = tomli_w.dumps(document)
    pyproject = directory / "pyproject.toml"
    if not pyproject.is_file() or pyproject.read_text("utf-8") != text:
        atomic_write_text(pyproject, text)
    return directory


def adopt_script_lock(script: Path, directory: Path, lock_is_current: bool) -> None:
    """Install from ``script.py.lock`` when it matches the environment's inputs
    (``lock_is_current``: its recorded input hash equals the environment's)."""
    sidecar = script_lock_path(script)
    target = directory / "pylock.toml"
    if lock_is_current and sidecar.is_file():
        data = sidecar.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            atomic_write_bytes(target, data)


def keep_script_lock(script: Path, directory: Path, always: bool = False) -> bool:
    """Copy the environment's lock to ``script.py.lock`` when it exists already (or
    ``always``); True when it was written."""
    sidecar = script_lock_path(script)
    source = directory / "pylock.toml"
    if not source.is_file() or not (always or sidecar.is_file()):
        return False
    if sidecar.is_file() and sidecar.read_bytes() == source.read_bytes():
        return False
    if sidecar.exists() and not sidecar.is_file():
        raise UsageError(f"{sidecar} is not a file", hint="move it away")
    from pypm.lock.reader import read_input_hash

    if sidecar.is_file() and read_input_hash(sidecar) is None:
        # uv writes its own script locks under this name: never replace what pypm did not write
        if not always:
            return False
        raise UsageError(f"{sidecar} exists and is not a lock pypm wrote", hint="move it away to let pypm keep one")
    atomic_write_bytes(sidecar, source.read_bytes())  # a temp name no planted link can take
    return True


def edit_script_dependencies(script: Path, requirements: list[str], remove: bool = False) -> str:
    """Add (or remove) requirements in the script's ``dependencies``, keeping the block's
    comments and the rest of the file; a same-name entry is replaced where it stands.
    Returns the new text; nothing is written."""
    import tomlkit
    from packaging.requirements import Requirement

    from pypm.workspace.edit import requirement_name
    from pypm.workspace.script import block_content, read_text, script_metadata, with_block

    script_metadata(script)  # a malformed block is refused before any edit
    old = read_text(script)
    document = tomlkit.parse(block_content(old))
    entries = document.setdefault("dependencies", tomlkit.array())

    for text in requirements:
        wanted = requirement_name(text)
        if wanted is None:
            raise UsageError(f"{text!r} is not a valid requirement (PEP 508)", hint="e.g. 'requests>=2.31'")
        found = [i for i, entry in enumerate(entries) if requirement_name(str(entry)) == wanted]
        if remove and not found:
            raise UsageError(f"{text} is not in the dependencies of {script}")
        for index in reversed(found[1:] if not remove else found):
            del entries[index]
        if not remove:
            if found:
                entries[found[0]] = str(Requirement(text))
            else:
                entries.append(str(Requirement(text)))
    return with_block(old, tomlkit.dumps(document))
