"""Summaries of samples, ratios, the markdown table and the targets."""

from __future__ import annotations

from typing import Any

from benchmarks.report import ratios, render_markdown, targets
from benchmarks.runner import summarize_samples


def _sample(tool: str, step: str, wall: float, *, ok: bool = True, warmup: bool = False) -> dict[str, Any]:
    return {
        "project": "r2",
        "tool": tool,
        "step": step,
        "rep": 0,
        "warmup": warmup,
        "wall": wall if ok else None,
        "max_rss_kib": 10240 if ok else None,
        "ok": ok,
        "returncode": 0 if ok else 1,
        "stderr_tail": "" if ok else "boom\nerror: sdists are not supported\n",
    }


def _run() -> dict[str, Any]:
    samples = [
        _sample("pypm", "cold-lock", 99.0, warmup=True),  # warm-up samples never count
        _sample("pypm", "cold-lock", 2.0),
        _sample("pypm", "cold-lock", 4.0),
        _sample("pypm", "cold-lock", 3.0),
        _sample("uv", "cold-lock", 1.0),
        _sample("pdm", "cold-lock", 6.0),
        _sample("poetry", "cold-lock", 12.0),
        _sample("pip-tools", "cold-lock", 0.0, ok=False),
        _sample("pypm", "warm-sync-new-project", 0.4),
        _sample("uv", "warm-sync-new-project", 0.2),
        _sample("pypm", "version", 0.02),
        _sample("uv", "version", 0.01),
    ]
    return {
        "started": "20260101-000000",
        "args": {"tools": ["pypm", "uv", "pip-tools", "poetry", "pdm"], "runs": 3, "warmup": 1},
        "machine": {"cpu": "test cpu", "cores": 2, "python": "3.11.7"},
        "index": {"mode": "local"},
        "tools": {"pypm": "pypm 0.1.0", "uv": "uv 0.13.9"},
        "summary": summarize_samples(samples),
    }


def test_summary_skips_warmups_and_records_failures() -> None:
    summary = _run()["summary"]["r2"]
    assert summary["cold-lock"]["pypm"]["wall"]["median"] == 3.0
    assert summary["cold-lock"]["pypm"]["wall"]["n"] == 3
    assert summary["cold-lock"]["pip-tools"]["ok"] is False
    assert "sdists" in summary["cold-lock"]["pip-tools"]["error"]


def test_ratios_use_fastest_other_python_tool() -> None:
    r = ratios(_run()["summary"]["r2"]["cold-lock"])
    assert r["pypm/uv"] == 3.0
    assert r["best-other"] == "pdm"
    assert r["pypm/best-other"] == 0.5


def test_markdown_table() -> None:
    text = render_markdown(_run())
    assert "| cold lock (no cache, no lock) | 3.000 | 1.000 | **failed** | 12.0 | 6.000 | 3.00 | 0.50 (pdm) |" in text
    title = "warm sync of a new copy (cache warm from another copy, no .venv)"
    assert f"| {title} | 0.400 | 0.200 | n/a | n/a | n/a | 2.00 | – |" in text
    assert "### r2: median peak RSS (MiB)" in text
    assert "- r2 / cold-lock / pip-tools: `error: sdists are not supported`" in text


def test_targets() -> None:
    found = {what: (now, met) for what, now, met in targets(_run()["summary"]["r2"])}
    assert found["cold lock ≤ 1.5× uv"] == ("3.00× uv", False)
    assert found["`pypm --version` ≤ 0.02 s"] == ("0.020 s", True)
    assert found["warm sync ≤ 2× uv"] == ("–", None)
    assert found["warm sync of a new copy ≤ 2× uv"] == ("2.00× uv", True)
    assert found["faster than pip-tools, Poetry and PDM on every step"] == ("all faster", True)
