"""Import a Pipenv project: ``Pipfile`` (TOML) and the ``Pipfile.lock`` (JSON) beside it.

``[packages]`` become the dependencies, ``[dev-packages]`` the ``dev`` group and any other
package category (Pipenv's custom categories) a group of its name; ``[[source]]`` become the
indexes (the first is the index, the others extra indexes, as Pipenv asks them);
``[requires] python_version`` (or ``python_full_version``) becomes ``requires-python = ">=X"``,
as PDM's Pipfile import does; the lock's ``==X`` versions (and hashes) become preferences.
Pipfile versions are PEP 440 specifiers already (``"*"`` is any version); marker keys
(``sys_platform = "== 'linux'"``) and ``markers`` become one environment marker.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pypm.operations.importers.common import (
    ImportContext,
    Imported,
    ImportRefused,
    Preference,
    is_pypi,
    read_toml,
    requirement_text,
    sha256_of,
    without_credentials,
)

#: Pipfile tables that are not package categories.
_NOT_CATEGORIES = frozenset({"source", "requires", "pipenv", "scripts", "packages", "dev-packages"})
#: Pipfile.lock sections that are not package categories.
_LOCK_META = "_meta"
#: Dependency keys that are environment markers (PEP 508's variables).
_MARKER_KEYS = ("os_name", "sys_platform", "platform_machine", "platform_python_implementation",
                "platform_release", "platform_system", "platform_version", "python_version",
                "python_full_version", "implementation_name", "implementation_version")
_LOCAL_KEYS = ("git", "path", "file", "editable", "hg", "svn", "bzr")


def read_pipenv(path: Path, context: ImportContext) -> Imported:
    """Read ``Pipfile`` (``path`` or the one beside the given ``Pipfile.lock``) and its lock."""
    pipfile = path if path.name == "Pipfile" else path.parent / "Pipfile"
    if not pipfile.is_file():
        raise ImportRefused(f"{path} has no Pipfile beside it",
                            hint="a Pipfile.lock does not say which packages were asked for: import the Pipfile")
    data = read_toml(pipfile)
    imported = Imported("pipenv", pipfile)
    imported.requirements.extend(_packages(data.get("packages"), "packages"))
    for category, table in data.items():
        if category in _NOT_CATEGORIES or not isinstance(table, dict):
            continue
        imported.groups[category] = _packages(table, category)
    dev = _packages(data.get("dev-packages"), "dev-packages")
    if dev:
        imported.groups["dev"] = dev
    requires = data.get("requires") if isinstance(data.get("requires"), dict) else {}
    python = requires.get("python_full_version") or requires.get("python_version")
    if isinstance(python, str) and python.strip():
        imported.requires_python = f">={python.strip()}"
    _sources(data.get("source"), imported)
    imported.preferences.extend(pipfile_lock_pins(pipfile.parent / "Pipfile.lock"))
    return imported


def _packages(table: Any, category: str) -> list[str]:
    if table is None:
        return []
    if not isinstance(table, dict):
        raise ImportRefused(f"Pipfile: [{category}] must be a table")
    return [pipfile_requirement(name, spec) for name, spec in table.items()]


def pipfile_requirement(name: str, spec: Any) -> str:
    """One Pipfile entry (``"*"``, ``">=1.2"``, ``{version = ..., extras = [...], markers =
    ..., sys_platform = "== 'linux'"}``) as a PEP 508 string."""
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise ImportRefused(f"Pipfile: {name} = {spec!r} is not a version or a table")
    local = [key for key in _LOCAL_KEYS if key in spec and spec[key] not in (False, None)]
    if local:
        raise ImportRefused(f"Pipfile: {name} is a {local[0]} dependency, which pypm does not lock",
                            hint="make it a workspace member, or depend on a release from an index")
    version = str(spec.get("version", "*")).strip()
    if version in ("", "*"):
        version = ""
    elif version[0].isdigit():
        version = f"=={version}"
    markers = [spec["markers"]] if isinstance(spec.get("markers"), str) else []
    markers += [f"{key} {str(spec[key]).strip()}" for key in _MARKER_KEYS if isinstance(spec.get(key), str)]
    marker = " and ".join(f"({m})" for m in markers) if len(markers) > 1 else (markers[0] if markers else None)
    extras = spec.get("extras") or []
    return requirement_text(name, [str(e) for e in extras], version, marker)


def _sources(sources: Any, imported: Imported) -> None:
    urls = [without_credentials(s["url"], imported.notes) for s in sources if isinstance(s, dict)
            and isinstance(s.get("url"), str)] if isinstance(sources, list) else []
    if not urls:
        return
    imported.indexes.index_url = None if is_pypi(urls[0]) else urls[0]
    imported.indexes.extra_index_urls = urls[1:]


def pipfile_lock_pins(lock: Path) -> list[Preference]:
    """Each ``==X`` version of ``Pipfile.lock`` (every category) with its sha256 hashes."""
    if not lock.is_file():
        return []
    try:
        data = json.loads(lock.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ImportRefused(f"cannot read {lock}: {exc}", hint="re-create it with `pipenv lock`") from None
    pins = []
    for section, packages in data.items() if isinstance(data, dict) else []:
        if section == _LOCK_META or not isinstance(packages, dict):
            continue
        for name, entry in packages.items():
            version = entry.get("version") if isinstance(entry, dict) else None
            if not isinstance(version, str) or not version.startswith("=="):
                continue  # a path, VCS or editable entry
            hashes = frozenset(d for h in entry.get("hashes", []) if (d := sha256_of(h)))
            pins.append(Preference(name, version[2:].strip(), hashes, lock.name))
    return pins
