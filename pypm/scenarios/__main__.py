"""Command line: ``python -m pypm.scenarios [--jobs N] [-k SUBSTRING] PATH...``.

Prints ``PASS folder/name`` or ``FAIL folder/name: reason`` per scenario, then
``N passed, M failed``; exits 1 when any failed (2 on bad usage). Timing goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pypm.scenarios.model import ScenarioError
from pypm.scenarios.runner import Outcome, discover, run_many

SLOWEST_SHOWN = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pypm.scenarios", description="Run resolver scenarios against pypm's resolver."
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scenario files or folders")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="scenarios run in parallel (default 2)")
    parser.add_argument("-k", dest="keyword", default=None, help="only scenarios whose folder/name contains this")
    return parser


def _label(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; return the exit status."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    from pypm import ui

    ui.configure(-1, False)  # the resolver's own progress lines would interleave with PASS/FAIL
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=err)
        return 2
    try:
        paths = discover(args.paths)
    except ScenarioError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if args.keyword is not None:
        paths = [p for p in paths if args.keyword in _label(p)]
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    for outcome in run_many(paths, jobs=args.jobs):
        outcomes.append(outcome)
        print(outcome.line(), file=out, flush=True)
    elapsed = time.perf_counter() - start
    failed = sum(not o.passed for o in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed", file=out, flush=True)
    slowest = sorted(outcomes, key=lambda o: o.seconds, reverse=True)[:SLOWEST_SHOWN]
    detail = ", ".join(f"{o.label} {o.seconds:.1f}s" for o in slowest)
    print(f"ran {len(outcomes)} scenarios in {elapsed:.1f}s with {args.jobs} jobs"
          + (f" (slowest: {detail})" if detail else ""), file=err)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
