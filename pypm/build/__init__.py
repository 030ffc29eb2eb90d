"""The build frontend: metadata and wheels from sdists, via PEP 517 hooks in isolated
build environments whose requirements pypm itself resolves and installs."""

from pypm.build.frontend import SdistBuilder, make_sdist_metadata_builder

__all__ = ["SdistBuilder", "make_sdist_metadata_builder"]
