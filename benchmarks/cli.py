"""Command line of the harness: install tools, serve the index, run, write the results."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import BENCH_DIR, REPO_ROOT
from benchmarks.machine import machine_info, repo_state
from benchmarks.report import render_markdown
from benchmarks.runner import make_workspace, run_matrix, summarize_samples
from benchmarks.snapshot.index import open_index
from benchmarks.sources import find_projects, search_dirs
from benchmarks.steps import STEPS, PrepareError
from benchmarks.toolenv import base_python, ensure_tool, tool_version
from benchmarks.tools import TOOL_NAMES

__all__ = ["main", "parse_args"]

PUBLIC_INDEX = "https://pypi.org/simple/"


def _csv(choices: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad)}; choose from {', '.join(choices)}")
        return items

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line (see ``python -m benchmarks --help``)."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark pypm against uv, pip-tools, Poetry and PDM on the projects in ../shared/bench-projects "
        "and benchmarks/projects.",
    )
    p.add_argument(
        "--projects",
        type=lambda s: [x for x in s.split(",") if x],
        default=["r1", "r2", "r3"],
        help="project names, looked up in --projects-dir, then in benchmarks/projects/ (default r1,r2,r3)",
    )
    p.add_argument(
        "--projects-dir",
        type=Path,
        default=REPO_ROOT.parent / "shared" / "bench-projects",
        help="searched first for the projects (default %(default)s)",
    )
    p.add_argument("--tools", type=_csv(TOOL_NAMES), default=list(TOOL_NAMES))
    p.add_argument("--steps", type=_csv(STEPS), default=list(STEPS))
    p.add_argument("--runs", type=int, default=3, help="measured runs per step (default 3)")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs before them (default 1)")
    p.add_argument(
        "--index",
        choices=("local", "public"),
        default="local",
        help="local: snapshot served on 127.0.0.1 (default); public: the public index",
    )
    p.add_argument("--index-url", default=PUBLIC_INDEX, help="the public index (default %(default)s)")
    p.add_argument("--rebuild-snapshot", action="store_true", help="rebuild the local snapshot first")
    p.add_argument("--profile", choices=STEPS, metavar="STEP", help="only profile pypm's STEP (first project)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    p.add_argument("--tag", default="", help="write latest-TAG.md/.png instead of latest.md/.png")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per command (default 900)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the projects' temporary copies")
    p.add_argument(
        "--tmp-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pypm-bench",
        help="where the projects are copied; outside any project, so no tool finds a parent "
        "pyproject.toml (default %(default)s)",
    )
    p.add_argument("--no-refresh-pypm", action="store_true", help="reuse the installed pypm as it is")
    args = p.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        p.error("--runs must be ≥ 1 and --warmup ≥ 0")
    return args


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _plot(run_json: Path, png: Path) -> str | None:
    """Draw the chart with the harness's matplotlib venv; returns an error text or None."""
    try:
        env = ensure_tool("_plot", log=_log)
        proc = subprocess.run(
            [env.python, "-m", "benchmarks.plot", str(run_json), str(png)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if proc.returncode == 0 else proc.stderr[-2000:]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or the profile) and write the results; returns the exit code."""
    args = parse_args(argv)
    python = base_python()
    sources, missing = find_projects(args.projects, args.projects_dir)
    if missing:
        where = " or ".join(str(d) for d in search_dirs(args.projects_dir))
        _log(f"error: no such project: {', '.join(missing)} (no <name>/pyproject.toml in {where}; see --projects-dir)")
        return 2
    tools = ["pypm"] if args.profile else args.tools
    envs = {t: ensure_tool(t, refresh_pypm=not args.no_refresh_pypm, log=_log) for t in tools}
    versions = {t: tool_version(e) for t, e in envs.items()}
    source = repo_state(REPO_ROOT)  # what pypm was just installed from (the tree may change during the run)
    _log("versions: " + ", ".join(f"{t}: {v}" for t, v in versions.items()))
    started = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    tmp = args.tmp_dir / f"run-{started}"
    args.out.mkdir(parents=True, exist_ok=True)
    with open_index(args, sources, python, log=_log) as index:
        try:
            spaces = {
                name: [make_workspace(envs[t], src, tmp, index.url, python, args.timeout) for t in tools]
                for name, src in sources.items()
            }
            if args.profile:
                from benchmarks.profiling import profile_step

                try:
                    report = profile_step(spaces[args.projects[0]][0], args.profile, args.out)
                except PrepareError as exc:
                    _log(f"error: {exc}")
                    return 1
                _log(f"wrote {report}")
                return 0
            samples = run_matrix(spaces, args.steps, args.runs, args.warmup, log=_log)
        finally:
            if not args.keep_tmp:
                shutil.rmtree(tmp, ignore_errors=True)
        index_info = index.describe()
    run: dict[str, Any] = {
        "started": started,
        "finished": dt.datetime.now().strftime("%Y%m%d-%H%M%S"),
        "args": {
            "projects": args.projects,
            "tools": tools,
            "steps": args.steps,
            "runs": args.runs,
            "warmup": args.warmup,
            "index": args.index,
        },
        "machine": machine_info(python),
        "index": index_info,
        "tools": versions,
        "pypm_source": source,
        "summary": summarize_samples(samples),
        "samples": samples,
    }
    run_json = args.out / f"run-{started}.json"
    run_json.write_text(json.dumps(run, indent=1))
    stem = f"latest-{args.tag}" if args.tag else "latest"
    (args.out / f"{stem}.md").write_text(render_markdown(run))
    error = _plot(run_json, args.out / f"{stem}.png")
    if error:
        _log(f"warning: no chart: {error}")
    _log(f"wrote {run_json}, {args.out / (stem + '.md')}, {args.out / (stem + '.png')}")
    return 0
