"""A distribution file offered by an index, as read from a simple-API page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version


@dataclass(frozen=True, slots=True)
class FileLink:
    """One file on a project page.

    ``metadata`` is the PEP 658 metadata file's sha256 (``""`` when offered without a
    hash, ``None`` when not offered); ``yanked`` is the reason string, or ``None``.
    """

    filename: str
    url: str
    index_url: str
    sha256: str | None = None
    requires_python: str | None = None
    yanked: str | None = None
    size: int | None = None
    upload_time: str | None = None
    metadata: str | None = None

    @property
    def is_wheel(self) -> bool:
        """True for ``.whl`` files."""
        return self.filename.endswith(".whl")

    @property
    def parsed(self) -> tuple[NormalizedName, Version, frozenset[Tag]] | None:
        """(name, version, tags) from the filename; None when it cannot be parsed."""
        return _parse_filename(self.filename)


@cache
def _parse_filename(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]] | None:
    """Memoised (thread-safe, lock-free reads) parse of a distribution file name."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return name, version, tags
        name, version = parse_sdist_filename(filename)
        return name, version, frozenset()
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None
