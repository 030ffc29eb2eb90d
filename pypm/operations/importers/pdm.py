"""Import a PDM project: ``pyproject.toml`` (PEP 621 ``[project]``, ``[tool.pdm]``) and ``pdm.lock``.

``[project]`` is kept as it is; ``[tool.pdm.dev-dependencies]`` groups become PEP 735 groups
(``-e`` entries naming the project itself are left out: pypm installs it); ``[[tool.pdm.source]]``
become index settings (a source named ``pypi`` replaces the default index, as in PDM;
``type = "find_links"`` sources become ``find-links``); ``pdm.lock`` versions (and file
hashes) become preferences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypm.operations.importers.common import (
    ImportContext,
    Imported,
    ImportRefused,
    Preference,
    is_pypi,
    package_pins,
    pep621_tables,
    read_toml,
    sha256_of,
    strings,
    without_credentials,
)

PROJECT_ROOT = "${PROJECT_ROOT}"


def read_pdm(pyproject: Path, context: ImportContext) -> Imported:
    """Read a PDM project (``pyproject`` and the ``pdm.lock`` beside it)."""
    data = read_toml(pyproject)
    imported = Imported("pdm", pyproject)
    if not pep621_tables(data, pyproject, imported):
        raise ImportRefused(f"{pyproject} has no [project] table", hint="a PDM project declares its dependencies there")
    pdm = data.get("tool", {}).get("pdm", {})
    groups = pdm.get("dev-dependencies") if isinstance(pdm, dict) else None
    for group, values in (groups or {}).items() if isinstance(groups, dict) else []:
        entries = imported.groups.setdefault(group, [])
        for text in strings(values, f"[tool.pdm.dev-dependencies] {group}"):
            entry = _dev_entry(text, pyproject.parent, context, imported)
            if entry is not None and entry not in entries:
                entries.append(entry)
    _sources(pdm.get("source") if isinstance(pdm, dict) else None, pyproject.parent, context, imported)
    imported.preferences.extend(pdm_lock_pins(pyproject.parent / "pdm.lock"))
    return imported


def _dev_entry(text: str, project: Path, context: ImportContext, imported: Imported) -> str | None:
    """A dev-dependency string; an ``-e`` path naming the project itself is left out."""
    if not text.startswith("-e"):
        return text
    location = text[2:].strip().replace(f"file:///{PROJECT_ROOT}", str(project)).replace(PROJECT_ROOT, str(project))
    location = location.removeprefix("file://").split("#", 1)[0]
    if "://" not in location and context.is_project_dir(project / location):
        imported.notes.append(f"{text} is a project of this workspace: pypm installs it (skipped)")
        return None
    raise ImportRefused(f"dev dependency {text!r} is an editable local project, which pypm does not lock",
                        hint="make it a workspace member, then import again")


def _sources(sources: Any, project: Path, context: ImportContext, imported: Imported) -> None:
    indexes = imported.indexes
    extra: list[str] = []
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, dict) or not isinstance(source.get("url"), str):
            continue
        url = without_credentials(source["url"].replace(PROJECT_ROOT, str(project)), imported.notes)
        if source.get("type") == "find_links":
            local = url.removeprefix("file://")
            indexes.find_links.append(url if "://" in local else context.location(project / local))
        elif str(source.get("name", "")).lower() == "pypi":
            indexes.index_url = None if is_pypi(url) else url
        else:
            extra.append(url)
        if source.get("include_packages") or source.get("exclude_packages"):
            imported.notes.append(f"source {source.get('name')}: include/exclude_packages are not imported")
    indexes.extra_index_urls = extra


def pdm_lock_pins(lock: Path) -> list[Preference]:
    """Every package of ``pdm.lock`` with its file hashes (``files`` in the package, or the
    ``[metadata.files]`` table of older locks, keyed ``"name version"``)."""
    if not lock.is_file():
        return []
    data = read_toml(lock)
    pins = package_pins(data.get("package"), lock.name)
    old = data.get("metadata", {}).get("files")
    if not isinstance(old, dict):
        return pins
    merged = []
    for pin in pins:
        entries = old.get(f"{pin.name} {pin.version}", [])
        digests = {d for entry in entries if isinstance(entry, dict) and (d := sha256_of(entry.get("hash")))}
        merged.append(pin._replace(hashes=pin.hashes | digests))
    return merged
