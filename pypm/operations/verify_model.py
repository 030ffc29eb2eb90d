"""What ``pypm verify`` finds: the differences and the report (text lines and JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Kinds of difference: a file's content, a file gone, a file no RECORD lists, and a
#: distribution installed otherwise than the lock says.
KINDS = ("modified", "removed", "added", "origin")
#: How many hex digits of a hash a text line shows (JSON has them all).
SHORT_HASH = 16


@dataclass(frozen=True)
class Difference:
    """One difference: ``path`` relative to the environment root (POSIX; None for an
    origin difference), the distribution it belongs to, why (``reason``: for an origin
    difference ``not-installed``, ``not-locked``, ``version``, ``wheel``, ``unknown-wheel``,
    ``editable`` or ``directory``), and what was expected and found."""

    kind: str
    path: str | None = None
    distribution: str | None = None
    version: str | None = None
    reason: str = ""
    message: str = ""
    expected: dict[str, Any] | None = None
    found: dict[str, Any] | None = None

    def line(self, venv_label: str) -> str:
        """The text line: ``modified .venv/lib/.../x.py (alpha 1.0)``, ``origin alpha 1.0: ...``."""
        owner = " ".join(part for part in (self.distribution, self.version) if part)
        if self.path is None:
            return f"{self.kind} {owner}: {self.message}"
        where = f"{venv_label}/{self.path}"
        detail = f": {self.message}" if self.message else ""
        return f"{self.kind} {where}{f' ({owner})' if owner else ''}{detail}"

    def to_json(self) -> dict[str, Any]:
        """Every field, for ``--json``."""
        return {
            "kind": self.kind, "path": self.path, "distribution": self.distribution, "version": self.version,
            "reason": self.reason or None, "message": self.message or None,
            "expected": self.expected, "found": self.found,
        }


@dataclass(frozen=True)
class DistributionSummary:
    """One installed distribution: its dist-info (relative to the environment root), how
    many of its files were re-hashed, and what the lock says it was installed from."""

    name: str
    version: str
    dist_info: str
    files: int
    origin: dict[str, Any]


@dataclass
class VerifyReport:
    """Everything ``pypm verify`` found in one environment."""

    venv: str
    files: int = 0
    distributions: list[DistributionSummary] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    recorded_root: str | None = None
    computed_root: str = ""
    seconds: float = 0.0

    @property
    def root_holds(self) -> bool | None:
        """The Merkle root is the one the sync recorded (None: the stamp records none)."""
        return None if self.recorded_root is None else self.recorded_root == self.computed_root

    @property
    def ok(self) -> bool:
        """No difference, and the root holds (or was not recorded)."""
        return not self.differences and self.root_holds is not False

    def counts(self) -> dict[str, int]:
        """Differences by kind."""
        return {kind: sum(1 for d in self.differences if d.kind == kind) for kind in KINDS}

    def summary(self) -> str:
        """``Verified N files of M distributions in X.XXs: ...``."""
        counts = self.counts()
        found = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no differences"
        return f"Verified {self.files} files of {len(self.distributions)} distributions in {self.seconds:.2f}s: {found}"

    def repair_hint(self) -> str | None:
        """The command that installs again the distributions whose files differ (a sync
        alone trusts what looks installed, as uv's does), None when none differs."""
        names = sorted({d.distribution for d in self.differences
                        if d.kind in ("modified", "removed") and d.distribution})
        if not names:
            return None
        return "run `pypm sync " + " ".join(f"--reinstall-package {name}" for name in names) + "` to install again"

    def root_line(self) -> str:
        """Whether the Merkle root the sync recorded still holds."""
        if self.recorded_root is None:
            return f"Merkle root not recorded (the stamp was written by an older pypm): now {self.computed_root}"
        if self.root_holds:
            return f"Merkle root holds: {self.computed_root}"
        return f"Merkle root changed: recorded {self.recorded_root}, now {self.computed_root}"

    def to_json(self) -> dict[str, Any]:
        """The whole report, for ``--json``."""
        return {
            "ok": self.ok,
            "venv": self.venv,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "counts": self.counts(),
            "differences": [d.to_json() for d in self.differences],
            "merkle-root": {"recorded": self.recorded_root, "computed": self.computed_root, "holds": self.root_holds},
            "distributions": [
                {"name": d.name, "version": d.version, "dist-info": d.dist_info, "files": d.files, "origin": d.origin}
                for d in self.distributions
            ],
        }
