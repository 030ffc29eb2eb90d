"""``pypm doctor`` reads a find-links path as the index client does."""

from __future__ import annotations

import json
from pathlib import Path

from pypm.testing import DistSpec
from pypm.testing.plugin import MakeIndex, RunPypm
from tests.workspaces import write_project


def test_doctor_expands_home_in_a_find_links_path(tmp_path: Path, make_index: MakeIndex, run_pypm: RunPypm) -> None:
    """``~/wheels`` (which lock reads) is a local directory, not a failure; a home that
    cannot be found (``~no-such-user-pypm/wheels``) is one fail line, not a crash."""
    home = tmp_path / "home"
    (home / "wheels").mkdir(parents=True)
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url, "HOME": str(home)}
    root = write_project(tmp_path / "proj", ["alpha"], tool='find-links = ["~/wheels"]')
    run_pypm("lock", cwd=root, env_extra=env)
    proc = run_pypm("doctor", "--json", "--find-links", "~/wheels", "--find-links", "~no-such-user-pypm/wheels",
                    cwd=root, env_extra=env, check=False)
    found = [entry for entry in json.loads(proc.stdout)["checks"] if entry["check"] == "find-links"]
    assert [(entry["status"], entry["message"]) for entry in found] == [
        ("ok", "~/wheels: a local directory"),
        ("fail", "find-links: the home directory in '~no-such-user-pypm/wheels' cannot be found")]
    assert "Traceback" not in proc.stderr
