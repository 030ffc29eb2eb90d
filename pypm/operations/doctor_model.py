"""What ``pypm doctor``'s checks produce and look at: :class:`CheckResult` (one report
line) and :class:`Target` (the settings and the workspace)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pypm.config import Settings
from pypm.workspace.discovery import RawWorkspace

#: (workspace, settings) -> (pylock.toml fresh, .venv matches it): the graph layer's
#: freshness check, handed in by the command line (operations do not import the graph).
Freshness = Callable[[RawWorkspace, Settings], tuple[bool, bool]]

STATUSES = ("ok", "warn", "fail", "info")
NO_PROJECT = "no pypm project here"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: which check, ok/warn/fail/info, what was found, what to do."""

    check: str
    status: str
    message: str
    hint: str = ""

    def line(self, width: int = 14) -> str:
        """``fail  compiler       no C compiler ... (install ...)``."""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{self.status:<5} {self.check:<{width}} {self.message}{hint}"


@dataclass
class Target:
    """What the checks look at: the settings, and the workspace (None outside one or when
    it does not load; ``no_project`` then says which)."""

    settings: Settings
    raw: RawWorkspace | None = None
    no_project: str = NO_PROJECT
    freshness: Freshness | None = None
    found: list[CheckResult] = field(default_factory=list)  # the project and settings lines


def error_result(check: str, exc: BaseException, note: str = "") -> CheckResult:
    """The fail line for a pypm error or an OS error."""
    from pypm.errors import PypmError

    if isinstance(exc, PypmError):
        message = " ".join(exc.message.split()) + (f"; {note}" if note else "")
        return CheckResult(check, "fail", message, " ".join((exc.hint or "").split()))
    reason = getattr(exc, "strerror", None) or str(exc)
    where = getattr(exc, "filename", None)
    return CheckResult(check, "fail", f"{where}: {reason}" if where else reason)
