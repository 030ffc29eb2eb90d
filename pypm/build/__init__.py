"""The build frontend: metadata and wheels from sdists, via PEP 517 hooks in isolated
build environments whose requirements pypm itself resolves and installs.

Importing this package is cheap; the frontend loads on the first sdist it meets.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypm.index.client import IndexClient
    from pypm.index.links import FileLink
    from pypm.index.metadata import DistMetadata


def make_sdist_metadata_builder(client: IndexClient, cache_dir: Path) -> Callable[[FileLink], DistMetadata]:
    """The callable the resolver uses to read an sdist's metadata (frontend made on first use)."""
    builder = None

    def metadata(link: FileLink) -> DistMetadata:
        nonlocal builder
        if builder is None:
            from pypm.build.frontend import SdistBuilder

            builder = SdistBuilder(client, cache_dir)
        return builder.metadata(link)

    return metadata
