"""Install one wheel: unpack it once into the store, then link it into the environment."""

from __future__ import annotations

from pathlib import Path

from pypm.fsutil import file_sha256
from pypm.interpreter import Interpreter


def install_wheel(
    wheel: Path,
    interpreter: Interpreter,
    cache_dir: Path,
    sha256: str | None = None,
    link_mode: str = "hardlink",
) -> str:
    """Install ``wheel`` (whose sha256 is checked when given) and return the link mode used."""
    from pypm.store.link import link_entry
    from pypm.store.lock import shared_store_lock
    from pypm.store.unpack import ensure_unpacked

    with shared_store_lock(cache_dir):  # `cache prune` must not delete the entry between the two steps
        entry = ensure_unpacked(wheel, sha256 or file_sha256(wheel), cache_dir)
        return link_entry(entry, interpreter, link_mode, cache_dir)
