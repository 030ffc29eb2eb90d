"""The fast path's records hold no credential: the settings variables are recorded as one
digest (pypm/graph/noop_verdict.py), in the no-op verdict and in the lock recall record."""

from __future__ import annotations

from pathlib import Path

from pypm.graph.lock_recall import RECALL_FILE
from pypm.graph.noop_verdict import STATE_DIR, VERDICT_FILE
from pypm.testing import DistSpec
from tests.workspaces import write_project

SECRET = "s3cr3t-token"


def test_records_hold_no_credential_of_a_settings_variable(tmp_path: Path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    osv = {"PYPM_OSV_URL": f"https://bob:{SECRET}@osv.example/v1"}
    root = write_project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, **osv})  # no lock: the recall records
    assert (root / STATE_DIR / RECALL_FILE).is_file()
    env = {"PYPM_INDEX_URL": index.url.replace("http://", f"http://alice:{SECRET}@"), **osv}
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr
    assert (root / STATE_DIR / VERDICT_FILE).is_file()
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr  # the verdict holds
    for record in (root / STATE_DIR / VERDICT_FILE, root / STATE_DIR / RECALL_FILE):
        data = record.read_bytes()
        assert SECRET.encode() not in data and b"alice" not in data and b"bob" not in data, record.name
