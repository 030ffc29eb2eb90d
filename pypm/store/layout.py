"""Where things live in the cache directory (one place that knows the layout)."""

from __future__ import annotations

from pathlib import Path

WHEELS = "wheels-v1"
STORE = "store-v1"
BUILT = "built-wheels-v1"
SDIST_METADATA = "sdist-metadata-v1"
METADATA = "metadata-v1"
PAGES = "index-pages-v1"
BUILD_ENVS = "build-envs-v1"
EDITABLES = "editable-wheels-v1"
PARTIAL = "partial-v1"
LINK_MODES = "link-modes-v1"


def store_entry(cache_dir: Path, sha256: str) -> Path:
    """The unpacked store entry of the wheel with this sha256."""
    return cache_dir / STORE / sha256[:2] / sha256


def partial_download(cache_dir: Path, sha256: str) -> Path:
    """Where a download in progress keeps its bytes (resumable)."""
    return cache_dir / PARTIAL / f"{sha256}.part"
