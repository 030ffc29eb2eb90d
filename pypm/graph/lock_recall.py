"""The repeated warm lock: a plain ``pypm lock`` where ``pylock.toml`` is missing, written
from the remembered resolution (:mod:`pypm.lock.memo`) without parsing the workspace.

A plain ``pypm lock`` (no option but ``-q``) that found no ``pylock.toml`` and wrote it
from a remembered resolution, or resolved and remembered one, records in
``.pypm/lock-recall.marshal`` what that lock depended on, observed as the no-op verdict
observes it (:mod:`pypm.graph.noop_verdict`: the content of every input file and the
absence of ``pylock.toml``, the settings variables, the working directory, the
interpreter and pypm's code), with the resolution's key, the digest of pypm's deciding
code and the line the lock printed.

The next plain ``pypm lock`` that finds every observation the same (``pylock.toml``
absent again) and the deciding code unchanged takes the remembered resolution under that
key and, when every index page it was resolved from is still fresh in the cache with the
same digest (no request is made here), writes its lock under the project's graph lock and
prints what the full lock prints. Anything else (a page past ``index-page-ttl``, a record
gone from the cache, any change) runs the full lock, which revalidates and resolves as
usual and records again.

Not recorded: what the no-op verdict does not record (dynamic metadata, path dependencies
that are not editable, ``**`` globs, another working directory), a run that may have
plugins (their hooks run around a lock; a plugin installed into pypm's environment since
the record sends the lock to the full path too), a workspace without ``requires-python``
(its lock follows the Python of ``.venv``), and index URLs with credentials.
"""

from __future__ import annotations

import os

from pypm.graph.noop_verdict import holding_record

TYPE_CHECKING = False  # typing's import is a tenth of this path
if TYPE_CHECKING:
    from typing import Any

    from pypm.graph.context import GraphContext

RECALL_FILE = "lock-recall.marshal"
OPERATIONS = ["lock"]


def write_recalled_lock(quiet: bool) -> bool:
    """Write ``pylock.toml`` from the remembered resolution the record in the working
    directory names, when the record holds and the resolution's pages are fresh and
    unchanged; False (nothing written) otherwise."""
    record = holding_record(RECALL_FILE, OPERATIONS)
    if record is None:
        return False
    try:
        return _write(record["recall"], quiet)
    except (OSError, KeyError, TypeError, ValueError):  # the full lock reports what is wrong
        return False


def _write(recall: dict[str, Any], quiet: bool) -> bool:
    from pathlib import Path

    from pypm.lock.memo import code_fingerprint, locked_line, still_holds
    from pypm.lock.memo import recall as recorded_resolution

    if recall["code-fingerprint"] != code_fingerprint() or _plugins_installed():
        return False
    cache_dir = Path(recall["cache"])
    recalled = recorded_resolution(cache_dir, recall["key"])
    if recalled is None:
        return False
    from pypm.index.page_cache import PageCache

    if not still_holds(recalled, PageCache(cache_dir, int(recall["ttl"])).fresh_digest, _ask_nobody):
        return False
    from pypm.fsutil import atomic_write_text
    from pypm.graph.session import note_direct_run, state_lock

    state_dir = Path(recall["state"])
    with state_lock(state_dir):
        if holding_record(RECALL_FILE, OPERATIONS) is None:  # another pypm changed something meanwhile
            return False
        atomic_write_text(Path(recall["lock"]), recalled.lock_text)
        note_direct_run(state_dir, "lock")
    from pypm import ui

    ui.configure(-1 if quiet else 0, True)
    if recalled.warning:
        ui.warning(recalled.warning)
    ui.info(locked_line(recalled.packages, recall["where"]))  # the remembered resolution's count
    return True


def _plugins_installed() -> bool:
    """A plugin installed into pypm's environment since the record (the workspace named
    none then, and its files are unchanged): its hooks run around a lock, on the full path."""
    from pypm.plugins.presence import group_may_be_declared, plugins_disabled

    return not plugins_disabled() and group_may_be_declared()


def _ask_nobody(urls: list[str]) -> dict[str, str]:
    """No page is revalidated here: a stale one leaves the lock to the full path."""
    return {}


# -- recording (after a full lock; may import what it needs) --------------------------------


def watch(ctx: GraphContext, chain: list[str]) -> dict[str, Any] | None:
    """The observation a record would be computed from, taken before ``lock`` runs; None
    when this run is not one to record (not plain, no ``lock`` to run, or a lock there)."""
    if not ctx.plain_run or "lock" not in chain or os.path.lexists(ctx.lock_path):
        return None
    from pypm.graph.noop_verdict import observe

    return observe(ctx, OPERATIONS)


def record(ctx: GraphContext, before: dict[str, Any] | None) -> None:
    """Record what this run's lock was written from, when it may be written again so
    (see the module docstring); best effort, as the no-op verdict."""
    outcome = ctx.lock_outcome
    if before is None or ctx.errors or outcome is None or outcome.memo_key is None:
        return
    settings = ctx.settings
    cache_dir = settings.cache_dir
    if cache_dir is None or ctx.workspace.default_requires_python is not None:
        return
    from pypm.plugins.presence import plugins_may_exist

    if plugins_may_exist(ctx.raw.tool_table):  # a plugin (even one that loads nothing) may hook a lock
        return
    if any("@" in url for url in settings.index_base_urls):
        return
    from pypm.graph.noop_verdict import record_verdict
    from pypm.lock.memo import code_fingerprint

    recall = {
        "key": outcome.memo_key,
        "code-fingerprint": code_fingerprint(),
        "cache": str(cache_dir),
        "ttl": int(settings["index-page-ttl"]),
        "lock": str(ctx.lock_path),
        "state": str(ctx.state_dir),
        "where": outcome.where,
    }
    record_verdict(ctx, OPERATIONS, before, RECALL_FILE, {"recall": recall}, written=(ctx.lock_path,))
