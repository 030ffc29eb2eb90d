"""Markdown tables (medians, ratios, peak memory, targets) from a run's summary."""

from __future__ import annotations

from typing import Any

from benchmarks.stats import ratio
from benchmarks.steps import STEP_TITLES

__all__ = ["OTHER_PYTHON_TOOLS", "ratios", "render_markdown", "targets"]

OTHER_PYTHON_TOOLS = ("pip-tools", "poetry", "pdm")

Summary = dict[str, dict[str, dict[str, dict[str, Any]]]]


def _median(cell: dict[str, Any] | None, key: str = "wall") -> float | None:
    if not cell or not cell.get("ok") or key not in cell:
        return None
    return float(cell[key]["median"])


def ratios(step_cells: dict[str, dict[str, Any]], key: str = "wall") -> dict[str, Any]:
    """pypm / uv and pypm / the fastest of pip-tools, Poetry and PDM for one step."""
    pypm = _median(step_cells.get("pypm"), key)
    others = [(t, _median(step_cells.get(t), key)) for t in OTHER_PYTHON_TOOLS]
    others = [(t, v) for t, v in others if v is not None]
    best = min(others, key=lambda tv: tv[1]) if others else (None, None)
    return {
        "pypm/uv": ratio(pypm, _median(step_cells.get("uv"), key)),
        "pypm/best-other": ratio(pypm, best[1]),
        "best-other": best[0],
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def _cell(cell: dict[str, Any] | None, key: str = "wall") -> str:
    if cell is None:
        return "n/a"
    if not cell.get("ok"):
        return "**failed**"
    return _fmt(_median(cell, key), 3 if key == "wall" else 0)


def _table(project: str, steps: dict[str, dict[str, Any]], tools: list[str], key: str) -> list[str]:
    head = ["step", *tools]
    if "pypm" in tools:
        head += ["pypm/uv", "pypm/best other"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for step, title in STEP_TITLES.items():
        if step not in steps:
            continue
        row = [title, *(_cell(steps[step].get(t), key) for t in tools)]
        if "pypm" in tools:
            r = ratios(steps[step], key)
            best = f"{_fmt(r['pypm/best-other'], 2)} ({r['best-other']})" if r["best-other"] else "–"
            row += [_fmt(r["pypm/uv"], 2), best]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def targets(steps: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Issue 16's targets for one project: (target, what was measured, met or None if unmeasured)."""
    out: list[tuple[str, str, bool | None]] = []

    def cmp(step: str, limit: float, what: str, key: str = "wall") -> None:
        r = ratios(steps.get(step, {}), key)["pypm/uv"]
        out.append((what, "–" if r is None else f"{r:.2f}× uv", None if r is None else r <= limit))

    cmp("noop-lock-sync", 1.5, "no-op `pypm lock sync` ≤ 1.5× `uv sync`")
    version = _median(steps.get("version", {}).get("pypm"))
    out.append(
        (
            "`pypm --version` ≤ 0.02 s",
            "–" if version is None else f"{version:.3f} s",
            None if version is None else version <= 0.02,
        )
    )
    cmp("warm-lock", 2.0, "warm lock ≤ 2× uv")
    cmp("cold-lock", 1.5, "cold lock ≤ 1.5× uv")
    cmp("warm-sync", 2.0, "warm sync ≤ 2× uv")
    cmp("warm-sync-new-project", 2.0, "warm sync of a new copy ≤ 2× uv")
    cmp("cold-sync", 1.2, "cold sync ≤ 1.2× uv")
    rss = [(step, ratios(cells, "rss_mib")["pypm/uv"]) for step, cells in steps.items()]
    measured_rss = [(step, r) for step, r in rss if r is not None]
    over = [f"{step} {r:.2f}×" for step, r in measured_rss if r > 1.5]
    out.append(("peak memory ≤ 1.5× uv on every step",
                ("over: " + ", ".join(over)) if over else ("all within" if measured_rss else "–"),
                (not over) if measured_rss else None))
    losses, measured = [], False
    for step, cells in steps.items():
        pypm = _median(cells.get("pypm"))
        for tool in OTHER_PYTHON_TOOLS:
            other = _median(cells.get(tool))
            if pypm is not None and other is not None:
                measured = True
                if pypm >= other:
                    losses.append(f"{step} vs {tool}")
    out.append(
        (
            "faster than pip-tools, Poetry and PDM on every step",
            "slower: " + ", ".join(losses) if losses else ("all faster" if measured else "–"),
            (not losses) if measured else None,
        )
    )
    return out


def render_markdown(run: dict[str, Any]) -> str:
    """The whole ``latest.md``: per project, medians with ratios, peak RSS, and targets."""
    summary: Summary = run["summary"]
    tools: list[str] = run["args"]["tools"]
    versions = ", ".join(f"{t} {run['tools'].get(t, '?')}" for t in tools)
    m = run["machine"]
    lines = [
        f"Run {run['started']} · index: {run['index']['mode']} · runs {run['args']['runs']}, "
        f"warm-up {run['args']['warmup']} · {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"Python {m.get('python', '?')}",
        "",
        f"Tools: {versions}. Times are medians in seconds; best other = the fastest of pip-tools, Poetry and PDM.",
    ]
    source = run.get("pypm_source") or {}
    if source.get("commit"):
        dirty = " plus uncommitted changes to pypm/" if source.get("pypm_dirty") else ""
        lines += ["", f"pypm installed from commit {source['commit'][:10]}{dirty}."]
    for project, steps in summary.items():
        lines += ["", f"### {project}: median wall time (s)", "", *_table(project, steps, tools, "wall")]
        lines += ["", f"### {project}: median peak RSS (MiB)", "", *_table(project, steps, tools, "rss_mib")]
        if "pypm" in tools and "uv" in tools:
            lines += ["", f"### {project}: targets (issue 16)", "", "| target | now | met |", "|---|---|---|"]
            for what, now, met in targets(steps):
                lines.append(f"| {what} | {now} | {'–' if met is None else ('yes' if met else 'no')} |")
    failures = [
        (p, s, t, c.get("error", ""))
        for p, steps in summary.items()
        for s, cells in steps.items()
        for t, c in cells.items()
        if not c.get("ok")
    ]
    if failures:
        lines += ["", "### Failures", ""]
        for p, s, t, err in failures:
            last = next((ln.strip() for ln in reversed(err.strip().splitlines()) if ln.strip()), "")
            last = last[:200].replace("`", "'")
            lines.append(f"- {p} / {s} / {t}: `{last}`")
    return "\n".join(lines) + "\n"
