"""Build the local snapshot once: select versions, fetch their PEP 691 pages, download wheels.

For every selected version the snapshot lists all its files (wheels and sdists) with the
public index's hashes and sizes, and downloads every wheel this interpreter's tags accept
(or, failing that, one wheel, or the sdist when there is no wheel) so that locking needs
only PEP 658 metadata and installing here needs only downloaded files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import urllib.request
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.snapshot.selection import universal_selection
from benchmarks.snapshot.store import FORMAT, metadata_name, split_version

try:
    from packaging.tags import sys_tags
    from packaging.utils import parse_wheel_filename
    from packaging.version import InvalidVersion, Version
except ImportError:  # pragma: no cover - the runner's interpreter lacks packaging
    from pip._vendor.packaging.tags import sys_tags  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import parse_wheel_filename  # type: ignore[no-redef]
    from pip._vendor.packaging.version import InvalidVersion, Version  # type: ignore[no-redef]

__all__ = ["build_snapshot", "choose_downloads", "same_version"]

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"


def same_version(a: str, b: str) -> bool:
    """Whether two version strings are equal after PEP 440 normalization."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _tag_rank() -> dict[Any, int]:
    return {tag: i for i, tag in enumerate(sys_tags())}


def choose_downloads(files: list[dict[str, Any]], rank: dict[Any, int]) -> list[dict[str, Any]]:
    """Files of one version to download: every wheel installable here, else one wheel, else an sdist."""
    wheels, ours = [], []
    for entry in files:
        if not entry["filename"].endswith(".whl"):
            continue
        wheels.append(entry)
        try:
            tags = parse_wheel_filename(entry["filename"])[3]
        except ValueError:
            continue
        if any(tag in rank for tag in tags):
            ours.append(entry)
    if ours:
        return ours
    if wheels:
        pure = [w for w in wheels if w["filename"].endswith("-none-any.whl")]
        return [min(pure or wheels, key=lambda w: w["size"])]
    sdists = [f for f in files if not f["filename"].endswith(".whl")]
    return sdists[:1]


def _get(url: str, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - http(s) index URLs
        return response.read()


def _download(entry: dict[str, Any], files_dir: Path) -> None:
    target = files_dir / entry["filename"]
    want = entry["hashes"]["sha256"]
    if target.is_file() and target.stat().st_size == entry["size"]:
        return
    part = target.with_name(target.name + ".part")
    request = urllib.request.Request(entry["url"])
    digest = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=600) as response, part.open("wb") as fh:  # noqa: S310
        for chunk in iter(lambda: response.read(1 << 20), b""):
            digest.update(chunk)
            fh.write(chunk)
    if digest.hexdigest() != want:
        part.unlink()
        raise RuntimeError(f"{entry['filename']}: sha256 mismatch")
    part.replace(target)


def _wheel_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise RuntimeError(f"{path.name}: no .dist-info/METADATA")
        return zf.read(names[0])


def _project_entry(page: dict[str, Any], versions: set[str]) -> dict[str, Any]:
    kept, listed = [], set()
    for item in page["files"]:
        version = split_version(item["filename"])
        match = next((v for v in versions if version is not None and same_version(version, v)), None)
        if match is None:
            continue
        listed.add(match)
        kept.append(
            {
                "filename": item["filename"],
                "url": item["url"],
                "hashes": {"sha256": item["hashes"]["sha256"]},
                "size": item["size"],
                "requires-python": item.get("requires-python"),
                "yanked": item.get("yanked", False),
                "upload-time": item.get("upload-time"),
                "version": match,
            }
        )
    return {"versions": sorted(listed, key=Version), "files": kept}


def build_snapshot(
    root: Path,
    covers: dict[str, Path],
    *,
    uv: str,
    index_url: str,
    python: str,
    log: Callable[[str], None] = print,
) -> None:
    """(Re)build the snapshot in ``root`` for the projects ``covers`` (label -> pyproject.toml)."""
    root.mkdir(parents=True, exist_ok=True)
    files_dir, meta_dir = root / "files", root / "metadata"
    files_dir.mkdir(exist_ok=True)
    meta_dir.mkdir(exist_ok=True)
    log(f"snapshot: resolving {', '.join(sorted(covers))} universally with uv against {index_url}")
    selection = universal_selection(list(covers.values()), uv, index_url, python, root / "uv-cache")
    log(f"snapshot: {len(selection)} projects, {sum(map(len, selection.values()))} versions; fetching pages")
    base = index_url.rstrip("/") + "/"
    with ThreadPoolExecutor(8) as pool:
        fetched = pool.map(lambda n: json.loads(_get(f"{base}{n}/", JSON_ACCEPT)), selection)
        pages = dict(zip(selection, fetched, strict=True))
    projects = {name: _project_entry(pages[name], selection[name]) for name in sorted(selection)}
    rank = _tag_rank()
    todo: list[tuple[str, str, list[dict[str, Any]]]] = []
    for name, project in projects.items():
        missing = set(selection[name]) - set(project["versions"])
        if missing:
            raise RuntimeError(f"{name}: versions {sorted(missing)} not on the index page")
        for version in project["versions"]:
            files = [f for f in project["files"] if f["version"] == version]
            todo.append((name, version, choose_downloads(files, rank)))
    downloads = [entry for _, _, chosen in todo for entry in chosen]
    log(f"snapshot: downloading {len(downloads)} files ({sum(e['size'] for e in downloads) / 1e6:.1f} MB)")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda e: _download(e, files_dir), downloads))
    for name, version, chosen in todo:
        wheel = next((e for e in chosen if e["filename"].endswith(".whl")), None)
        if wheel is not None:
            (meta_dir / metadata_name(name, version)).write_bytes(_wheel_metadata(files_dir / wheel["filename"]))
    for project in projects.values():
        for entry in project["files"]:
            entry.pop("url", None)
    covered = {label: hashlib.sha256(path.read_bytes()).hexdigest() for label, path in covers.items()}
    tmp = root / "index.json.part"
    tmp.write_text(json.dumps({"format": FORMAT, "covers": covered, "projects": projects}, indent=1))
    tmp.replace(root / "index.json")
    shutil.rmtree(root / "uv-cache", ignore_errors=True)
    log(f"snapshot: ready in {root}")
