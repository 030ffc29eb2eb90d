"""What linking an environment costs on this machine, whatever the tool: the floor under
``warm-sync-new-project``.

Given an environment some tool synced, two figures for recreating its ``site-packages``
from the same inodes (hard links, as pypm links from its store and uv from its cache):

- ``cp -al``: the directories and links made by one C process (GNU ``cp``): what the
  filesystem charges for them, with no interpreter and no bookkeeping at all;
- a minimal Python program: the interpreter started, ``venv`` made in-process as pypm
  makes it, then every directory made and every file linked from a list read from JSON,
  in one thread (two threads were no faster here: the GIL and the directories' locks).
  Nothing else: no lock file read, no RECORD, no check. No Python tool can sync a new
  copy faster than this on the same machine.

Run ``python -m benchmarks.link_floor PATH/TO/.venv`` (``--runs N``, ``--python PY``: the
interpreter of the minimal program, default the one running this). The outputs are made
next to the environment's directory (same filesystem) and deleted, untimed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FloorPlan", "MINIMAL_LINKER", "main", "plan_for", "time_cp", "time_minimal"]

#: The minimal Python program (run with ``-c``; argv: plan JSON, target directory).
MINIMAL_LINKER = """
import json, os, sys, venv
plan = json.load(open(sys.argv[1]))
target = sys.argv[2]
venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(target)
site = os.path.join(target, plan["site"])
for directory in plan["dirs"]:
    os.mkdir(os.path.join(site, directory))
for source, relative in plan["files"]:
    os.link(source, os.path.join(site, relative))
"""


@dataclass(frozen=True)
class FloorPlan:
    """What recreating ``site-packages`` of an environment takes: its directories (parents
    first) and files (absolute source, path relative to ``site-packages``)."""

    site: str  # site-packages relative to the environment's root
    dirs: list[str]
    files: list[tuple[str, str]]

    def to_json(self) -> str:
        """The plan as the minimal program reads it."""
        return json.dumps({"site": self.site, "dirs": self.dirs, "files": self.files})


def plan_for(venv: Path) -> FloorPlan:
    """The plan of ``venv``'s ``site-packages`` (``lib/pythonX.Y/site-packages`` or
    ``Lib/site-packages``); ``__pycache__`` directories are left out (no installer makes them)."""
    found = sorted(venv.glob("lib/python*/site-packages")) + sorted(venv.glob("Lib/site-packages"))
    if not found:
        raise SystemExit(f"{venv}: no site-packages found; give the .venv of a synced project")
    site = found[0]
    dirs: list[str] = []
    files: list[tuple[str, str]] = []
    for root, subdirs, names in os.walk(site):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        relative_root = os.path.relpath(root, site)
        for directory in subdirs:
            dirs.append(os.path.normpath(os.path.join(relative_root, directory)))
        for name in sorted(names):
            files.append((os.path.join(root, name), os.path.normpath(os.path.join(relative_root, name))))
    return FloorPlan(site.relative_to(venv).as_posix(), dirs, files)


def _fresh(parent: Path, name: str) -> Path:
    target = parent / name
    shutil.rmtree(target, ignore_errors=True)
    if hasattr(os, "sync"):  # the deletion's writes land before the timed run, not during it
        os.sync()
    return target


def time_cp(site: Path, scratch: Path) -> float | None:
    """Seconds for ``cp -al`` of ``site`` into ``scratch`` (None where ``cp`` has no ``-l``)."""
    target = _fresh(scratch, "cp-al")
    start = time.perf_counter()
    result = subprocess.run(["cp", "-al", str(site), str(target)], capture_output=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return elapsed if result.returncode == 0 else None


def time_minimal(plan_file: Path, python: str, scratch: Path) -> float:
    """Seconds for the minimal Python program, from its start to its exit."""
    target = _fresh(scratch, "minimal")
    start = time.perf_counter()
    subprocess.run([python, "-c", MINIMAL_LINKER, str(plan_file), str(target)], check=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Print the two floors (medians) for an environment; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.link_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("venv", type=Path, help="the .venv of a synced project")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="interpreter of the minimal program")
    args = parser.parse_args(argv)
    plan = plan_for(args.venv)
    with tempfile.TemporaryDirectory(prefix=".link-floor-", dir=args.venv.parent) as scratch_dir:
        scratch = Path(scratch_dir)
        plan_file = scratch / "plan.json"
        plan_file.write_text(plan.to_json())
        copies = [time_cp(args.venv / plan.site, scratch) for _ in range(args.runs)]
        minimal = [time_minimal(plan_file, args.python, scratch) for _ in range(args.runs)]
    print(f"{args.venv}: {len(plan.dirs)} directories, {len(plan.files)} files in {plan.site}")
    if None in copies:
        print("cp -al: not available here")
    else:
        print(f"cp -al: median {statistics.median(copies) * 1000:.0f} ms {[round(t * 1000) for t in copies]}")
    print(f"minimal Python (start, venv, mkdir, link): median {statistics.median(minimal) * 1000:.0f} ms "
          f"{[round(t * 1000) for t in minimal]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
