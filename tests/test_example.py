"""The committed workspace-example lock matches its inputs (so the README's first command
installs it without re-locking)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "workspace-example"


def test_committed_example_lock_is_current(run_pypm) -> None:
    result = run_pypm("lock", "--check", cwd=EXAMPLE)
    assert "pylock.toml is up to date" in result.stderr
