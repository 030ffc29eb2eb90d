"""Test harness for pypm: build real wheels/sdists and serve them from a local HTTP index.

Only imported by tests; the pytest plugin lives in :mod:`pypm.testing.plugin`.
"""

from pypm.testing.builders import DistSpec, build_sdist, build_wheel
from pypm.testing.index_server import IndexServer

__all__ = ["DistSpec", "IndexServer", "build_sdist", "build_wheel"]
