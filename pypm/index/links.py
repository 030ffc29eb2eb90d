"""A distribution file offered by an index, as read from a simple-API page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version


@dataclass(frozen=True)
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

    @cached_property
    def parsed(self) -> tuple[NormalizedName, Version, frozenset[Tag]] | None:
        """(name, version, tags) from the filename; None when it cannot be parsed."""
        try:
            if self.is_wheel:
                name, version, _build, tags = parse_wheel_filename(self.filename)
                return name, version, tags
            name, version = parse_sdist_filename(self.filename)
            return name, version, frozenset()
        except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
            return None

    @cached_property
    def python_specifier(self) -> SpecifierSet | None:
        """The file's ``requires-python`` as a specifier set (None if absent or invalid)."""
        if not self.requires_python:
            return None
        try:
            return SpecifierSet(self.requires_python)
        except InvalidSpecifier:
            return None
