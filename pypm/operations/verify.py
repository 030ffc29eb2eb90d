"""``pypm verify``: is ``.venv`` still what the last sync made of the lock?

Three checks, all read-only:

- *files*: every file each distribution's RECORD lists is re-hashed (in parallel) and
  compared with the RECORD's hash and size: *modified* or *removed*; a file in
  site-packages or the scripts directory that no RECORD lists is *added* (which rows count
  and what is left out: :mod:`pypm.install.record_check`);
- *origin*: each distribution against what the lock selects for ``.venv``'s interpreter
  with the selection the last sync used (recorded in its stamp): the wheel it was installed
  from (the store key, the wheel's sha256) is the locked wheel, the version is the locked
  one, a workspace member is installed editable or not as locked, from its own directory;
  nothing locked is missing, nothing unlocked is there (unless synced ``--inexact``);
- *Merkle root*: recomputed over the files as found (what RECORD says for a file that
  matches it, the file's own digest for one that does not, and the added files) and
  compared with the root the sync recorded from the RECORD files. It also catches a file
  changed together with its RECORD row, which the file check alone cannot see.

Nothing needs the network. A package built from an sdist is checked by version only (the
lock has the sdist's hash, not the wheel built from it); a member's sources changing is
staleness (the stamp's business), not a change to what is installed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.errors import PypmError
from pypm.install.merkle import merkle_root
from pypm.install.record_check import (
    Found,
    HashRequest,
    RecordedFile,
    default_workers,
    dist_info_dirs,
    hash_files,
    leaf_digest,
    read_record,
    site_dirs,
    unlisted_files,
)
from pypm.operations.verify_model import Difference, DistributionSummary, VerifyReport

if TYPE_CHECKING:
    from pypm.interpreter import Interpreter
    from pypm.operations.selection import Selection
    from pypm.workspace.model import Workspace


class NothingToVerify(PypmError):
    """There is no environment to verify (exit 2: no difference was looked for)."""

    exit_code = 2


def verify_environment(workspace: Workspace, venv_label: str, workers: int | None = None) -> VerifyReport:
    """Check ``workspace``'s ``.venv`` (see the module docstring); ``venv_label`` is how
    paths in the report start (``.venv``)."""
    from pypm.install.installed import installed_distributions
    from pypm.lock.reader import read_lock
    from pypm.operations.sync import locked_selection
    from pypm.operations.verify_origin import origin_differences

    started = time.perf_counter()
    venv = workspace.venv_path
    interpreter, stamp = _environment(venv)
    selection = recorded_selection(stamp, venv)
    planned = locked_selection(workspace, read_lock(workspace.lock_path), selection, interpreter)
    present = installed_distributions([Path(site) for site in site_dirs(interpreter.scheme)])
    owners = {os.path.normpath(dist.dist_info): (dist.name, dist.version) for dist in present.values()}
    files = check_files(interpreter, workers or default_workers(), owners)
    origins, summaries = origin_differences(present, planned, workspace, selection.inexact)
    report = VerifyReport(venv_label, files.hashed, recorded_root=_recorded_root(stamp),
                          computed_root=merkle_root(files.leaves.items()))
    report.differences = files.differences + origins
    report.distributions = [
        DistributionSummary(name, dist.version, _relative(dist.dist_info, interpreter),
                            files.per_dist.get(os.path.normpath(dist.dist_info), 0), summaries[name])
        for name, dist in sorted(present.items())
    ]
    report.seconds = time.perf_counter() - started
    return report


def _environment(venv: Path) -> tuple[Interpreter, dict[str, Any]]:
    """``.venv``'s interpreter and the last sync's stamp, or a one-line error."""
    from pypm.install.venv import complete_venv
    from pypm.operations.stamp import STAMP_FILE, read_stamp

    if not venv.exists():
        raise NothingToVerify(f"no environment at {venv}", hint="run `pypm sync` to make it")
    interpreter = complete_venv(venv)
    if interpreter is None:
        raise PypmError(f"{venv} is not a complete environment made by pypm", hint="run `pypm sync` to remake it")
    stamp = read_stamp(venv)
    if stamp is None:
        raise PypmError(f"{venv} has no sync stamp ({STAMP_FILE}): the last sync did not finish",
                        hint="run `pypm sync`")
    return interpreter, stamp


def recorded_selection(stamp: dict[str, Any], venv: Path) -> Selection:
    """The groups and extras the last sync installed, as its stamp records them."""
    from pypm.operations.selection import Selection

    recorded = (stamp.get("inputs") or {}).get("selection")
    try:
        return Selection(**{key: tuple(v) if isinstance(v, list) else v for key, v in recorded.items()})
    except (AttributeError, TypeError):
        raise PypmError(f"{venv}: the sync stamp is unreadable", hint="run `pypm sync`") from None


def _recorded_root(stamp: dict[str, Any]) -> str | None:
    root = stamp.get("merkle-root")
    return root if isinstance(root, str) else None


def _relative(path: Path, interpreter: Interpreter) -> str:
    return os.path.relpath(path, interpreter.prefix).replace(os.sep, "/")


@dataclass
class FileCheck:
    """The files check: differences, how many files were re-hashed (in all and by
    dist-info) and the Merkle leaves of the files as found (path -> digest)."""

    differences: list[Difference]
    hashed: int
    per_dist: dict[str, int]
    leaves: dict[str, str]


def check_files(interpreter: Interpreter, workers: int, owners: dict[str, tuple[str, str]]) -> FileCheck:
    """Re-hash every file the RECORDs list, find the added ones (see the module docstring);
    ``owners``: dist-info path -> (name, version) for the report (else read from its name)."""
    scheme = interpreter.scheme
    env_root, scripts = scheme["data"], os.path.normpath(scheme["scripts"])
    sites = site_dirs(scheme)
    records = {dist_info: read_record(dist_info, env_root) for dist_info in dist_info_dirs(sites)}
    listed = {row.path for rows in records.values() for row in rows}
    added = unlisted_files([*sites, scripts], listed, scripts)
    shebang = f"#!{interpreter.executable}\n".encode()
    rows = [(dist_info, row) for dist_info, found in records.items() for row in found if row.checked]
    requests = [HashRequest(row.path, row.algorithm or "", shebang if _inside(row.path, scripts) else None, row.size)
                for _, row in rows]
    found = hash_files(requests + [HashRequest(path, "sha256") for path in added], workers)
    check = FileCheck([], len(rows), {}, {})
    for (dist_info, row), result in zip(rows, found[:len(rows)], strict=True):
        check.per_dist[dist_info] = check.per_dist.get(dist_info, 0) + 1
        _compare(check, row, result, owners.get(dist_info) or _owner(dist_info))
    for dist_info, record in records.items():
        for row in record:
            if row.digest is None and not row.path.endswith(".pyc") and not os.path.lexists(row.path):
                check.differences.append(Difference("removed", row.relative, *(owners.get(dist_info)
                                                                               or _owner(dist_info))))
    for path, result in zip(added, found[len(rows):], strict=True):
        relative = os.path.relpath(path, env_root).replace(os.sep, "/")
        check.leaves[relative] = result.digest or ""
        check.differences.append(Difference("added", relative, found={"sha256": result.digest, "size": result.size}))
    check.differences.sort(key=lambda d: (d.path or "", d.kind))
    return check


def _compare(check: FileCheck, row: RecordedFile, result: Found, owner: tuple[str, str]) -> None:
    """One re-hashed file against its row: a leaf of the root as found, and a difference
    unless it matches."""
    if result.matches(row):
        check.leaves[row.relative] = row.leaf_digest
        return
    expected = {row.algorithm or "hash": row.digest, "size": row.size}
    if result.missing:
        check.differences.append(Difference("removed", row.relative, *owner, expected=expected))
        return
    check.leaves[row.relative] = leaf_digest(row.algorithm or "", result.digest or result.error or "")
    found = {row.algorithm or "hash": result.digest, "size": result.size} if result.error is None else {
        "error": result.error}
    check.differences.append(Difference("modified", row.relative, *owner, message=result.error or "",
                                        expected=expected, found=found))


def _owner(dist_info: str) -> tuple[str, str]:
    """(name, version) from a dist-info directory's name."""
    name, _, version = os.path.basename(dist_info)[: -len(".dist-info")].partition("-")
    return name, version


def _inside(path: str, directory: str) -> bool:
    return path.startswith(directory + os.sep)
