"""Network faults the test index can inject: error statuses (with ``Retry-After``),
connections reset before an answer, dropped or stalled in the middle of a body, and
misleading response headers. A :class:`FaultPlan` holds them; each :class:`Fault` applies
to the first ``times`` requests whose path matches its pattern.

Example: ``IndexServer(files, faults=[Fault("/files/big-*.whl", drop_after=1_000_000)])``
sends the first download of ``big`` only up to its first million bytes, then closes the
connection; ``server.faults.add(Fault("/simple/alpha/", status=500, times=2))`` makes the
next two requests for that page answer 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Fault:
    """One kind of failure, for the first ``times`` matching requests (None: all of them).

    ``path`` is a shell-style pattern matched against the request's decoded URL path
    (``/simple/alpha/``, ``/files/*.whl.metadata``); ``method`` limits it to one method.
    At most one of ``status`` and ``reset`` decides how the request is answered:

    - ``status``: answer with this status (a short text body) instead of serving;
      ``retry_after`` adds a ``Retry-After`` header.
    - ``reset``: close the connection with a TCP reset, answering nothing.

    Otherwise the request is served as usual, with these changes to the answer:

    - ``drop_after``: close the connection after this many body bytes (the headers
      promised the whole body, so the client sees a truncated answer).
    - ``stall_after`` / ``stall_seconds``: after this many body bytes, send nothing for
      that long (cut short when the server stops), then go on.
    - ``headers``: extra response headers (e.g. a misleading ``Content-Encoding``).
    """

    path: str
    times: int | None = 1
    method: str | None = None
    status: int | None = None
    retry_after: str | None = None
    reset: bool = False
    drop_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """True if this fault is meant for a ``method`` request of ``path``."""
        return (self.method is None or self.method.upper() == method.upper()) and fnmatchcase(path, self.path)


class FaultPlan:
    """The faults a server still has to inject (thread-safe; the first match wins)."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._left: list[tuple[Fault, list[int | None]]] = []
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> None:
        """Inject ``fault`` into the next ``fault.times`` matching requests."""
        with self._lock:
            self._left.append((fault, [fault.times]))

    def clear(self) -> None:
        """Forget every fault not yet used up."""
        with self._lock:
            self._left.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any (counting it as used once)."""
        with self._lock:
            for fault, left in self._left:
                if fault.matches(method, path) and (left[0] is None or left[0] > 0):
                    if left[0] is not None:
                        left[0] -= 1
                    return fault
        return None

    def pending(self) -> int:
        """How many more requests the counted faults will hit."""
        with self._lock:
            return sum(left[0] or 0 for _fault, left in self._left)


class BodyFaults:
    """Applies one fault's ``stall_after`` and ``drop_after`` to a body being written."""

    def __init__(self, fault: Fault | None) -> None:
        self.sent = 0
        self._events: list[tuple[int, str]] = []
        if fault is not None and fault.stall_after is not None:
            self._events.append((fault.stall_after, "stall"))
        if fault is not None and fault.drop_after is not None:
            self._events.append((fault.drop_after, "drop"))
        self._events.sort()

    def split(self, size: int) -> tuple[int, str | None]:
        """How many of the next ``size`` bytes may go out, and the event due after them."""
        if self._events and self._events[0][0] <= self.sent + size:
            at, event = self._events.pop(0)
            return max(0, at - self.sent), event
        return size, None
