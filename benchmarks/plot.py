"""Bar chart of pypm's ratios (run in the harness's own matplotlib venv, never pypm's).

Usage: ``python -m benchmarks.plot RUN.json OUT.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.report import ratios
from benchmarks.steps import STEP_TITLES

__all__ = ["plot"]


def plot(run: dict[str, Any], out: Path) -> None:
    """One panel per project: pypm/uv and pypm/best-other per step, log scale, 1× marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    projects = list(run["summary"])
    fig, axes = plt.subplots(len(projects), 1, figsize=(10, 3.6 * len(projects)), squeeze=False)
    for ax, project in zip(axes[:, 0], projects, strict=True):
        steps = [s for s in STEP_TITLES if s in run["summary"][project]]
        rows = [ratios(run["summary"][project][s]) for s in steps]
        xs = range(len(steps))
        for offset, key, color in ((-0.2, "pypm/uv", "#d95f02"), (0.2, "pypm/best-other", "#1b9e77")):
            values = [r[key] if r[key] is not None else 0 for r in rows]
            bars = ax.bar([x + offset for x in xs], values, width=0.4, label=key, color=color)
            for bar, value in zip(bars, values, strict=True):
                if value:
                    ax.annotate(
                        f"{value:.2g}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom", fontsize=7
                    )
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(list(xs), [s for s in steps], rotation=20, fontsize=8)
        ax.set_ylabel("ratio of medians (lower is better)")
        ax.set_title(f"{project}: pypm relative to uv and to the best of pip-tools/Poetry/PDM")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    plot(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
