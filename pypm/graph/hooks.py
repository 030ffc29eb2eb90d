"""Plugin hooks at the graph's stages: before and after ``lock``, ``sync`` and ``bundle``,
around each user task, and before ``pypm run``'s command.

A post-hook that stops the run leaves nothing that looks up to date: a rejected lock is
put back as it was (the new one removed when there was none), a rejected sync loses its
stamp (``.venv`` is stale until a sync passes), a rejected bundle is removed with its
record. So the next run meets the same hook again rather than "All up to date".
Hooks run only when their operation runs: an up-to-date operation (and the no-op fast
path) loads no plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pypm.graph.context import GraphContext
    from pypm.operations.edit_requirements import LockHooks
    from pypm.plugins.api import HookResult


def run_stage(ctx: GraphContext, stage: str, result: HookResult | None = None, task: str | None = None,
              command: tuple[str, ...] = ()) -> None:
    """Call the plugins' hooks of ``stage`` (loading the plugins on first use)."""
    plugins = ctx.plugins
    if not plugins:
        return
    from pypm.plugins.api import HookContext

    plugins.run_hooks(HookContext(
        stage=stage, workspace_root=ctx.raw.root, config_file=ctx.raw.config_file, lock_path=ctx.lock_path,
        venv_path=ctx.venv_path, selection=ctx.selection.key(), result=result, task=task, command=command,
    ))


def with_hooks(ctx: GraphContext, operation: str, work: Callable[[], dict[str, Any]],
               undo: Callable[[], None], undone: str) -> None:
    """``pre-<operation>``, ``work()``, ``post-<operation>`` with what it did (``work``
    returns the fields of the :class:`~pypm.plugins.api.HookResult`); ``undo()`` when the
    post-hook stops the run (``undone`` says what that did, in its error line)."""
    from pypm.errors import PluginError

    run_stage(ctx, f"pre-{operation}")
    fields = work()
    if not ctx.plugins:
        return
    from pypm.plugins.api import HookResult

    try:
        run_stage(ctx, f"post-{operation}", result=HookResult(**fields))
    except PluginError as exc:
        undo()
        raise PluginError(f"{exc.message}; {undone}", hint=exc.hint) from None
    except BaseException:  # interrupted while a post-hook ran: what it checked is not accepted
        undo()
        raise


def lock_hooks(ctx: GraphContext) -> LockHooks:
    """``pre-lock`` and ``post-lock`` for a lock made outside the graph (``pypm add``,
    ``pypm remove``), which puts the lock back itself when ``post-lock`` stops it."""
    from pypm.operations.edit_requirements import LockHooks
    from pypm.plugins.api import HookResult

    def post_lock() -> None:
        from pypm.errors import PluginError

        try:
            run_stage(ctx, "post-lock", result=HookResult(locked=locked_packages(ctx.lock_path)))
        except PluginError as exc:
            raise PluginError(f"{exc.message}; pyproject.toml and pylock.toml are as they were",
                              hint=exc.hint) from None

    return LockHooks(lambda: run_stage(ctx, "pre-lock"), post_lock)


def locked_packages(lock_path: Path) -> tuple[str, ...]:
    """``name==version`` of every package in the lock (the name alone for a directory)."""
    from pypm.errors import PypmError
    from pypm.tomlfile import read_toml

    try:
        data = read_toml(lock_path)
    except (PypmError, OSError):
        return ()
    rows = []
    for package in data.get("packages", []):
        if isinstance(package, dict) and isinstance(package.get("name"), str):
            version = package.get("version")
            rows.append(f"{package['name']}=={version}" if isinstance(version, str) else package["name"])
    return tuple(sorted(set(rows)))


def restore_file(path: Path, previous: bytes | None) -> None:
    """Put a file pypm just wrote back as it was (remove it when it was not there)."""
    from pypm.fsutil import atomic_write_bytes

    if previous is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write_bytes(path, previous)


def read_optional(path: Path) -> bytes | None:
    """The file's bytes, None when it is not there."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def remove_files(*paths: Path) -> Callable[[], None]:
    """An undo that removes files this run wrote."""
    def undo() -> None:
        for path in paths:
            path.unlink(missing_ok=True)
    return undo
