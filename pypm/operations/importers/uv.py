"""Import a uv project: ``pyproject.toml`` with ``[project]`` and the ``uv.lock`` beside it.

``[project]`` and ``[dependency-groups]`` are kept as they are; the legacy
``[tool.uv] dev-dependencies`` join the ``dev`` group (as uv merges them); the indexes go to
``[tool.pypm]`` in the order uv asks them: ``[[tool.uv.index]]`` entries as listed, then
``extra-index-url``, then the default index (the one marked ``default = true``, else
``index-url``, else PyPI) last; ``format = "flat"`` indexes and ``find-links`` become
``find-links``; explicit indexes (which uv asks only for the packages bound to them) are asked
last. ``uv.lock`` versions (and file hashes) become preferences; the project's own entries
(editable, virtual) and path or VCS packages give none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypm.operations.importers.common import (
    PYPI_SIMPLE,
    ImportContext,
    Imported,
    ImportRefused,
    is_pypi,
    package_pins,
    pep621_tables,
    read_toml,
    strings,
    without_credentials,
)

_LOCAL_SOURCE_KEYS = ("path", "git", "url", "workspace")


def read_uv(pyproject: Path, context: ImportContext) -> Imported:
    """Read a uv project (``pyproject`` and the ``uv.lock`` beside it)."""
    data = read_toml(pyproject)
    imported = Imported("uv", pyproject)
    if not pep621_tables(data, pyproject, imported):
        raise ImportRefused(f"{pyproject} has no [project] table", hint="a uv project declares its dependencies there")
    uv = data.get("tool", {}).get("uv", {})
    uv = uv if isinstance(uv, dict) else {}
    dev = strings(uv.get("dev-dependencies"), "[tool.uv] dev-dependencies")
    entries = imported.groups.setdefault("dev", []) if dev else []
    entries.extend(text for text in dev if text not in entries)
    _check_sources(uv.get("sources"), imported)
    _indexes(uv, pyproject.parent, context, imported)
    lock = pyproject.parent / "uv.lock"
    if lock.is_file():
        skip = frozenset({"editable", "virtual", "directory", "path", "git", "url"})
        imported.preferences.extend(package_pins(read_toml(lock).get("package"), lock.name, skip))
    return imported


def _check_sources(sources: Any, imported: Imported) -> None:
    """``[tool.uv.sources]``: an index binding is reported (pypm asks its indexes in order);
    a path, VCS, URL or workspace source cannot be locked from an index."""
    for name, source in (sources or {}).items() if isinstance(sources, dict) else []:
        for entry in source if isinstance(source, list) else [source]:
            if not isinstance(entry, dict):
                continue
            local = [key for key in _LOCAL_SOURCE_KEYS if key in entry]
            if local:
                raise ImportRefused(f"[tool.uv.sources] {name} is a {local[0]} source, which pypm does not lock",
                                    hint="make it a workspace member ([tool.pypm.workspace] members), or depend on "
                                         "a release from an index, then import again")
            if "index" in entry:
                imported.notes.append(f"[tool.uv.sources] {name}: the binding to index {entry['index']} is not "
                                      "imported (pypm asks the indexes in order)")


def _indexes(uv: dict[str, Any], project: Path, context: ImportContext, imported: Imported) -> None:
    first, explicit, default = [], [], None
    for index in uv.get("index") if isinstance(uv.get("index"), list) else []:
        if not isinstance(index, dict) or not isinstance(index.get("url"), str):
            continue
        url = without_credentials(index["url"], imported.notes)
        if index.get("format") == "flat":
            imported.indexes.find_links.append(_location(url, project, context))
        elif index.get("default") is True:
            default = url
        elif index.get("explicit") is True:
            explicit.append(url)
            imported.notes.append(f"index {index.get('name', url)} is explicit in uv: pypm asks it after the others")
        else:
            first.append(url)
    legacy_extra = [without_credentials(u, imported.notes) for u in uv.get("extra-index-url") or []
                    if isinstance(u, str)]
    if default is None and isinstance(uv.get("index-url"), str):
        default = without_credentials(uv["index-url"], imported.notes)
    urls = [*first, *legacy_extra, default or PYPI_SIMPLE + "/", *explicit]
    imported.indexes.find_links.extend(_location(u, project, context) for u in uv.get("find-links") or []
                                       if isinstance(u, str))
    if len(urls) == 1 and is_pypi(urls[0]):
        return
    imported.indexes.index_url = None if is_pypi(urls[0]) else urls[0]
    imported.indexes.extra_index_urls = urls[1:]


def _location(value: str, project: Path, context: ImportContext) -> str:
    """A find-links URL as it is; a directory relative to the project, as pypm writes it."""
    if "://" in value:
        return value
    return context.location(project / value)
