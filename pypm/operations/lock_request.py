"""What the user asked of one ``pypm lock`` run (import-light: read on the fast path)."""

from __future__ import annotations

from typing import NamedTuple


class LockRequest(NamedTuple):
    """``upgrade``: ignore every locked version; ``upgrade_packages``: ignore these
    packages' locked versions; ``refresh``: revalidate every cached index page;
    ``prerelease``: override the ``prerelease`` setting for this run; ``prefer``: (name,
    version) pairs to keep when they still fit, over the lock's own (``pypm import``'s
    pins)."""

    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    refresh: bool = False
    prerelease: str | None = None
    prefer: tuple[tuple[str, str], ...] = ()

    @property
    def forces(self) -> bool:
        """True when the lock must be re-resolved even if its inputs are unchanged."""
        return bool(self.upgrade or self.upgrade_packages or self.refresh or self.prerelease or self.prefer)
