"""Small HTTP helpers for the test index: request records, Range and ETag parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Returned by :func:`parse_range` for a syntactically valid but unsatisfiable range.
UNSATISFIABLE: tuple[int, int] = (-1, -1)


class CaseInsensitiveHeaders(dict[str, str]):
    """A plain dict of request headers with lower-cased keys and case-insensitive lookup."""

    def __getitem__(self, key: str) -> str:
        """Look ``key`` up case-insensitively."""
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        """Case-insensitive membership test."""
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        """Case-insensitive :meth:`dict.get`."""
        return super().get(key.lower(), default)


@dataclass
class RequestRecord:
    """One request served by :class:`IndexServer`."""

    method: str
    path: str  # raw request target, including any query string
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased keys, case-insensitive lookup
    status: int = 0  # 0: no answer (an injected connection reset)
    time: float = 0.0  # time.monotonic() when the answer started


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range into inclusive ``(start, end)``.

    Returns None when the header should be ignored (malformed or multi-range)
    and ``(-1, -1)`` when the range is unsatisfiable.
    """
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, sep, last = spec.strip().partition("-")
    if not sep or not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # suffix range: last n bytes
        n = int(last)
        return UNSATISFIABLE if n == 0 or size == 0 else (max(0, size - n), size - 1)
    start = int(first)
    if last and not last.isdigit():
        return None
    if last and int(last) < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    return start, (min(int(last), size - 1) if last else size - 1)


def etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison of an ``If-None-Match`` header against ``etag``."""
    if header is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags
