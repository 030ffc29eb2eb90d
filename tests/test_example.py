"""The committed workspace-example lock matches its inputs (so the README's first command
installs it without re-locking)."""

from __future__ import annotations

from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "workspace-example"


def test_committed_example_lock_is_current(run_pypm) -> None:
    result = run_pypm("lock", "--check", cwd=EXAMPLE)
    assert "pylock.toml is up to date" in result.stderr


def test_readme_ci_line_names_the_example_tasks(run_pypm, tmp_path: Path) -> None:
    """The README's first command runs `pypm lock sync lint test build bundle` in the example:
    every name is a task or an operation there, and the graph orders them (dry run: no
    network, nothing installed)."""
    import shutil

    readme = (EXAMPLE.parent / "README.md").read_text("utf-8")
    assert "pypm lock sync lint test build bundle" in readme.split("```")[1]
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".venv", ".pypm", "dist", "__pycache__"))
    result = run_pypm("lock", "sync", "lint", "test", "build", "bundle", "--dry-run", cwd=copy)
    names = [line.split(":")[0] if not line.startswith("acme") else ":".join(line.split(":")[:2])
             for line in result.stdout.splitlines()]
    assert names == ["lock", "sync", "bundle", "lint", "test", "acme-core:build", "acme-utils:build", "acme-app:build",
                     "build"]
    assert "sync: would run" in result.stdout and "acme-core:build: would run" in result.stdout
    assert not (copy / ".venv").exists() and not (copy / "dist").exists()
