"""Run the steps for every project and tool, tools interleaved within each step."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.stats import summarize
from benchmarks.steps import PrepareError, Workspace
from benchmarks.toolenv import ToolEnv
from benchmarks.tools import ADAPTERS, clean_env

__all__ = ["make_workspace", "run_matrix", "summarize_samples"]


def make_workspace(
    tool: ToolEnv, project_src: Path, tmp: Path, index_url: str, python: Path, timeout: float
) -> Workspace:
    """Copy the project for ``tool`` into ``tmp/<project>/<tool>`` and give it its own cache."""
    adapter = ADAPTERS[tool.name]()
    home = tmp / project_src.name / tool.name
    project, cache = home / "project", home / "cache"
    shutil.rmtree(home, ignore_errors=True)
    project.mkdir(parents=True)
    cache.mkdir(parents=True)
    shutil.copy(project_src / "pyproject.toml", project / "pyproject.toml")
    env = clean_env(dict(os.environ), home, python)
    env["XDG_CACHE_HOME"] = str(cache / "xdg")
    env.update(adapter.env(tool, cache, index_url, python))
    adapter.prepare_project(project, index_url)
    return Workspace(adapter, tool, project, cache, env, python, timeout)


def run_matrix(
    workspaces: dict[str, list[Workspace]],
    steps: list[str],
    runs: int,
    warmup: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Every sample, as dicts: for each project, each step, each repetition, each tool in turn.

    The tools' order rotates with the repetition, so no tool always runs first (or right
    after the heaviest one). Steps a tool cannot be prepared for are recorded as failed.
    """
    samples: list[dict[str, Any]] = []
    for project, spaces in workspaces.items():
        for step in steps:
            for rep in range(warmup + runs):
                shift = rep % len(spaces)
                for ws in spaces[shift:] + spaces[:shift]:
                    record: dict[str, Any] = {
                        "project": project,
                        "tool": ws.tool.name,
                        "step": step,
                        "rep": rep,
                        "warmup": rep < warmup,
                    }
                    try:
                        ws.prepare(step)
                    except PrepareError as exc:
                        record.update(wall=None, max_rss_kib=None, ok=False, returncode=None, stderr_tail=str(exc))
                    else:
                        sample = asdict(ws.run(step))
                        sample.pop("commands")
                        record.update(sample)
                    samples.append(record)
                    status = f"{record['wall']:.3f}s" if record["ok"] else "FAILED"
                    kind = "warmup" if record["warmup"] else "run"
                    log(f"  {project} {step:<21} {kind:<6} {ws.tool.name:<10} {status}")
    return samples


def summarize_samples(samples: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """{project: {step: {tool: summary}}} over the measured (non-warm-up) samples.

    A summary holds ``ok``, ``wall`` and ``rss_mib`` statistics; when any measured sample
    failed, ``ok`` is False and ``error`` is the last failure's stderr tail.
    """
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for s in samples:
        if not s["warmup"]:
            grouped.setdefault((s["project"], s["step"], s["tool"]), []).append(s)
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for (project, step, tool), group in grouped.items():
        failed = [s for s in group if not s["ok"]]
        good = [s for s in group if s["ok"]]
        summary: dict[str, Any] = {"ok": not failed}
        if good:
            summary["wall"] = summarize([s["wall"] for s in good])
            summary["rss_mib"] = summarize([s["max_rss_kib"] / 1024 for s in good])
        if failed:
            summary["error"] = failed[-1]["stderr_tail"]
        out.setdefault(project, {}).setdefault(step, {})[tool] = summary
    return out
