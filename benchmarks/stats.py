"""Summary statistics over timing samples (hyperfine-style: median, min, max)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

__all__ = ["summarize", "ratio"]


def summarize(values: Sequence[float]) -> dict[str, float | int]:
    """Median, min, max, mean and standard deviation of ``values`` (``n`` = how many).

    An empty sequence gives ``{"n": 0}``; one value has a standard deviation of 0.
    """
    data = [float(v) for v in values]
    if not data:
        return {"n": 0}
    return {
        "n": len(data),
        "median": statistics.median(data),
        "min": min(data),
        "max": max(data),
        "mean": statistics.fmean(data),
        "stddev": statistics.stdev(data) if len(data) > 1 else 0.0,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator
