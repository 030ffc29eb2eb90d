"""``--profile STEP``: run pypm's step under cProfile and keep the top 30 functions by
cumulative time (the call chain) and the top 25 by own time (where the time goes)."""

from __future__ import annotations

import io
import pstats
from pathlib import Path

from benchmarks import WORK_DIR
from benchmarks.steps import Workspace
from benchmarks.timing import run_sample

__all__ = ["profile_step"]


def profile_step(ws: Workspace, step: str, out_dir: Path) -> Path:
    """Prepare ``step`` in pypm's workspace, run it under ``python -m cProfile``, write the report."""
    ws.prepare(step)
    commands = ws.commands(step)
    if len(commands) != 1 or Path(commands[0][0]).name != "pypm":
        raise ValueError(f"step {step!r} is not a single pypm call")
    prof = WORK_DIR / "profiles" / f"profile-{step}.prof"  # binary: kept out of results/
    prof.parent.mkdir(parents=True, exist_ok=True)
    argv = [ws.tool.python, "-m", "cProfile", "-o", str(prof), "-m", "pypm", *commands[0][1:]]
    sample = run_sample([argv], ws.cwd(step), ws.env, ws.timeout)
    report = out_dir / f"profile-{step}.txt"
    buf = io.StringIO()
    buf.write(
        f"pypm {' '.join(commands[0][1:])} ({step}) under cProfile: {sample.wall:.3f} s wall, "
        f"exit {sample.returncode}\n"
    )
    if not sample.ok:
        buf.write(sample.stderr_tail + "\n")
    if prof.exists():
        stats = pstats.Stats(str(prof), stream=buf)
        stats.sort_stats("cumulative").print_stats(30)
        buf.write("\nBy own time (tottime):\n")
        stats.sort_stats("tottime").print_stats(25)
    report.write_text(buf.getvalue())
    return report
