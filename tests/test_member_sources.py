"""What a member's tree digest counts: a built wheel of the member changes with every file
its backend packs, so the digest must change with them (a hidden file inside a package
too); what only tools write (hidden directories, hidden files at the top) does not count."""

from __future__ import annotations

import os
from pathlib import Path

from pypm.workspace.member_sources import source_tree_digest


def tree(root: Path) -> Path:
    (root / "src" / "demo").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "1"\n')
    (root / "src" / "demo" / "__init__.py").write_text("")
    (root / "src" / "demo" / ".hidden.cfg").write_text("h1\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref\n")
    (root / ".env").write_text("A=1\n")
    return root


def changed(path: Path, text: str) -> None:
    path.write_text(text)
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def test_a_hidden_file_inside_a_package_counts(tmp_path: Path) -> None:
    root = tree(tmp_path / "m")
    before = source_tree_digest(root)
    changed(root / "src" / "demo" / ".hidden.cfg", "NEW\n")
    assert source_tree_digest(root) != before


def test_hidden_directories_and_hidden_top_files_do_not_count(tmp_path: Path) -> None:
    root = tree(tmp_path / "m")
    before = source_tree_digest(root)
    changed(root / ".git" / "HEAD", "other ref\n")
    changed(root / ".env", "A=2\n")
    (root / "src" / "demo" / ".mypy_cache").mkdir()
    (root / "src" / "demo" / ".mypy_cache" / "x.json").write_text("{}")
    assert source_tree_digest(root) == before
