"""What linking an environment costs on this machine, whatever the tool: the floor under
``warm-sync-new-project``.

Given an environment some tool synced, two figures for recreating its ``site-packages``
from the same inodes (hard links, as pypm links from its store and uv from its cache):

- ``cp -al``: the directories and links made by one C process (GNU ``cp``): what the
  filesystem charges for them, with no interpreter and no bookkeeping at all;
- a minimal Python program: the interpreter started, ``venv`` made in-process as pypm
  makes it, then every directory made and every file linked from a list read from JSON,
  in one thread and in two (each top-level name of ``site-packages`` goes to one thread,
  as uv and pypm split their work). Nothing else: no lock file read, no RECORD, no check;
- the same program with the environment made by hand instead of by :mod:`venv`
  (``pyvenv.cfg``, the interpreter's link and ``site-packages``, as uv makes its own): the
  ``venv`` module's import (``logging``, ``re``, ``enum``, ``subprocess``) costs more here
  than its work; 2 threads. The least a Python tool that links file by file does for a new
  copy on this machine.

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

__all__ = ["BARE_LINKER", "FloorPlan", "MINIMAL_LINKER", "THREADS", "main", "plan_for", "time_cp", "time_minimal"]

#: The minimal program's thread counts.
THREADS = (1, 2)

#: The linking both minimal programs do, after they made the environment and ``site``.
_LINK_IN_THREADS = """
def work(share):
    for directory in share["dirs"]:
        os.mkdir(os.path.join(site, directory))
    for source, relative in share["files"]:
        os.link(source, os.path.join(site, relative))
workers = [threading.Thread(target=work, args=(share,)) for share in plan["shares"][:threads]]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
"""

#: The minimal Python program (run with ``-c``; argv: plan JSON, target directory, threads).
MINIMAL_LINKER = """
import json, os, sys, threading, venv
plan = json.load(open(sys.argv[1]))
target, threads = sys.argv[2], int(sys.argv[3])
venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(target)
site = os.path.join(target, plan["site"])
""" + _LINK_IN_THREADS


#: The same with the environment made by hand (argv: plan JSON, target, threads, base interpreter).
BARE_LINKER = """
import json, os, sys, threading
plan = json.load(open(sys.argv[1]))
target, threads, base = sys.argv[2], int(sys.argv[3]), sys.argv[4]
site = os.path.join(target, plan["site"])
os.makedirs(site)
os.mkdir(os.path.join(target, "bin"))
os.symlink(base, os.path.join(target, "bin", "python"))
with open(os.path.join(target, "pyvenv.cfg"), "w") as cfg:
    cfg.write(f"home = {os.path.dirname(base)}\\ninclude-system-site-packages = false\\n")
""" + _LINK_IN_THREADS
#: Threads of the program that makes the environment by hand.
BARE_THREADS = 2


@dataclass(frozen=True)
class FloorPlan:
    """What recreating ``site-packages`` of an environment takes: its directories (parents
    first) and files (absolute source, path relative to ``site-packages``)."""

    site: str  # site-packages relative to the environment's root
    dirs: list[str]
    files: list[tuple[str, str]]

    def shares(self, threads: int) -> list[dict[str, list]]:
        """The work split among ``threads``: whole top-level names, the largest first to
        the thread with the fewest files so far."""
        by_top: dict[str, dict[str, list]] = {}
        for directory in self.dirs:
            by_top.setdefault(_top(directory), {"dirs": [], "files": []})["dirs"].append(directory)
        for source, relative in self.files:
            by_top.setdefault(_top(relative), {"dirs": [], "files": []})["files"].append((source, relative))
        shares: list[dict[str, list]] = [{"dirs": [], "files": []} for _ in range(threads)]
        for group in sorted(by_top.values(), key=lambda g: -len(g["files"]) - len(g["dirs"])):
            share = min(shares, key=lambda s: len(s["files"]) + len(s["dirs"]))
            share["dirs"] += group["dirs"]
            share["files"] += group["files"]
        return shares

    def to_json(self, threads: int) -> str:
        """The plan as the minimal program reads it, split for ``threads``."""
        return json.dumps({"site": self.site, "shares": self.shares(threads)})


def _top(relative: str) -> str:
    return relative.replace(os.sep, "/").split("/", 1)[0]


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
    """Seconds for ``cp -al`` of ``site`` into ``scratch`` (None where there is no ``cp``
    or it has no ``-l``). It links ``__pycache__`` directories too, where the environment
    has any (the minimal program leaves them out)."""
    target = _fresh(scratch, "cp-al")
    start = time.perf_counter()
    try:
        result = subprocess.run(["cp", "-al", str(site), str(target)], capture_output=True)
    except OSError:  # no cp (Windows)
        return None
    elapsed = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return elapsed if result.returncode == 0 else None


def time_minimal(plan_file: Path, python: str, scratch: Path, threads: int, bare: bool = False) -> float:
    """Seconds for the minimal Python program with ``threads`` threads (``plan_file``
    split for as many), from its start to its exit; ``bare``: the environment made by hand."""
    target = _fresh(scratch, "minimal")
    program = [BARE_LINKER, str(plan_file), str(target), str(threads), _base_of(python)] if bare else [
        MINIMAL_LINKER, str(plan_file), str(target), str(threads)]
    start = time.perf_counter()
    subprocess.run([python, "-c", *program], check=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(target, ignore_errors=True)
    return elapsed


def _base_of(python: str) -> str:
    """The base interpreter of ``python`` (itself outside a venv): what a venv's link names."""
    code = "import sys; print(getattr(sys, '_base_executable', sys.executable))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


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
        copies = [time_cp(args.venv / plan.site, scratch) for _ in range(args.runs)]
        minimal = {}
        for threads in THREADS:
            plan_file = scratch / f"plan-{threads}.json"
            plan_file.write_text(plan.to_json(threads))
            minimal[threads] = [time_minimal(plan_file, args.python, scratch, threads) for _ in range(args.runs)]
        bare = [time_minimal(scratch / f"plan-{BARE_THREADS}.json", args.python, scratch, BARE_THREADS, bare=True)
                for _ in range(args.runs)] if os.name != "nt" else []  # (its interpreter link: POSIX)
    print(f"{args.venv}: {len(plan.dirs)} directories, {len(plan.files)} files in {plan.site}")
    if None in copies:
        print("cp -al: not available here")
    else:
        print(f"cp -al: median {_ms(copies)}")
    for threads, times in minimal.items():
        print(f"minimal Python (start, venv, mkdir, link), {threads} thread(s): median {_ms(times)}")
    if bare:
        print(f"minimal Python, environment made by hand, {BARE_THREADS} threads: median {_ms(bare)}")
    return 0


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.0f} ms {[round(t * 1000) for t in times]}"


if __name__ == "__main__":
    raise SystemExit(main())
