"""The one retry policy for every HTTP request pypm makes (index pages, metadata, range
requests, downloads): which answers are worth another try and how long to wait first.

Like uv (reqwest-retry's default strategy): connection errors, timeouts, 408, 429 and 5xx
are transient; 3 retries with exponential backoff. A ``Retry-After`` header is honoured,
but capped (see :data:`MAX_RETRY_AFTER`) so one server cannot stall a run for hours.
Import-light: no httpx here.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

#: The longest a ``Retry-After`` header may make pypm wait before one retry. Servers ask
#: for minutes or hours when they throttle hard; past 30 s a person is better served by
#: an error now than by a silent wait (the worst case of a request is then 3 x 30 s).
MAX_RETRY_AFTER = 30.0

#: HTTP statuses that say "try again later" rather than "no".
TRANSIENT_STATUSES = frozenset({408, 429})


def is_transient_status(status: int) -> bool:
    """True for 408, 429 and every 5xx (what uv retries)."""
    return status in TRANSIENT_STATUSES or 500 <= status <= 599


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), or None
    when absent or unreadable. Never negative; not capped here."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: ``retries`` more tries after the first,
    waiting ``base_delay * 2**n`` (at most ``max_delay``, plus up to 10% jitter so parallel
    downloads do not retry in lock step), or the server's capped ``Retry-After``."""

    retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 4.0
    max_retry_after: float = MAX_RETRY_AFTER

    @property
    def attempts(self) -> int:
        """Tries in all, the first included."""
        return self.retries + 1

    def delay(self, failures: int, retry_after: str | None = None) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1-based)."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return min(asked, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2 ** max(0, failures - 1))
        return backoff * (1 + random.random() / 10)


#: The policy every request uses.
DEFAULT_POLICY = RetryPolicy()
