"""What a graph run needs to know: the workspace, the selection and the options."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.config import Settings, load_settings
from pypm.operations.bundle_request import BundleRequest
from pypm.operations.lock_request import LockRequest
from pypm.operations.selection import Reinstall, Selection
from pypm.workspace.discovery import RawWorkspace, find_workspace

_PLUGINS_LOADING = threading.Lock()

if TYPE_CHECKING:
    from pypm.graph.user_tasks import TaskFreshness
    from pypm.operations.lock import LockOutcome
    from pypm.operations.supervise import SideBySide
    from pypm.operations.sync import SyncOutcome
    from pypm.operations.tasks import TaskCall
    from pypm.plugins.loader import PluginSet
    from pypm.plugins.presence import NoPlugins
    from pypm.workspace.model import Workspace
    from pypm.workspace.tasks import TaskDef


@dataclass
class RunOptions:
    """How a graph run treats user tasks: ``jobs`` side by side, ``keep_going`` after a
    failure, ``after`` (task -> tasks it must follow in this run only, as members' tasks
    follow the members they depend on) and ``calls`` (a task's arguments in this run)."""

    jobs: int = 1
    keep_going: bool = False
    after: dict[str, tuple[str, ...]] = field(default_factory=dict)
    calls: dict[str, TaskCall] = field(default_factory=dict)
    #: watches the commands of tasks run side by side (``jobs`` > 1) for pypm's signals
    side_by_side: SideBySide | None = None


class GraphContext:
    """Shared state of one ``pypm`` invocation that runs graph operations."""

    def __init__(
        self,
        raw: RawWorkspace,
        settings: Settings,
        selection: Selection | None = None,
        lock_request: LockRequest | None = None,
    ) -> None:
        self.raw = raw
        self.settings = settings
        self.selection = selection or Selection()
        self.lock_request = lock_request or LockRequest()
        self.bundle_request: BundleRequest = BundleRequest()
        self.frozen = False
        #: packages to install again although they look up to date (``--reinstall``)
        self.reinstall = Reinstall()
        self.errors: list[BaseException] = []
        self.run_options = RunOptions()
        #: command names a task may not take (set by the command line)
        self.reserved_names: tuple[str, ...] = ()
        #: the command line asked for graph operations only, with no option but ``-q``
        self.plain_run = False
        #: what this run's ``lock`` did (None before it runs)
        self.lock_outcome: LockOutcome | None = None
        #: what this run's ``sync`` did (None before it runs)
        self.sync_outcome: SyncOutcome | None = None
        self._workspace: Workspace | None = None
        self._tasks: dict[str, TaskDef] | None = None
        self._freshness: dict[str, TaskFreshness] = {}
        self._plugins: PluginSet | NoPlugins | None = None

    @classmethod
    def load(cls, start: Path, exact: bool = False, **options: Any) -> GraphContext:
        """Find the workspace at ``start`` (raw TOML only) and read its settings
        (``exact``: see :func:`pypm.workspace.discovery.find_workspace`)."""
        raw = find_workspace(start, exact)
        return cls(raw, load_settings(raw.tool_table, raw.config_file), **options)

    @property
    def workspace(self) -> Workspace:
        """The validated workspace (validated on first use)."""
        if self._workspace is None:
            from pypm.workspace.model import validate_workspace

            self._workspace = validate_workspace(self.raw, self.settings)
        return self._workspace

    @property
    def tasks(self) -> dict[str, TaskDef]:
        """The workspace's user tasks by name (validated on first use)."""
        if self._tasks is None:
            from pypm.graph import GRAPH_OPERATIONS

            if not _declares_tasks(self.raw):
                self._tasks = {}  # nothing to read: the task machinery is not even imported
            else:
                from pypm.workspace.tasks import load_tasks

                self._tasks = load_tasks(self.raw, GRAPH_OPERATIONS, (*self.reserved_names, *GRAPH_OPERATIONS))
        return self._tasks

    @property
    def plugins(self) -> PluginSet | NoPlugins:
        """The plugins of this run (loaded on first use; none with ``--no-plugins``)."""
        with _PLUGINS_LOADING:  # tasks may run side by side (--jobs): load once
            if self._plugins is None:
                from pypm.plugins.presence import NoPlugins, plugins_may_exist

                if plugins_may_exist(self.raw.tool_table):
                    from pypm.plugins.loader import load_plugins

                    self._plugins = load_plugins(self.raw.config_file, self.raw.tool_table, self.venv_path)
                else:
                    self._plugins = NoPlugins()
            return self._plugins

    def kept_failure(self, action: Callable[[], object]) -> bool:
        """Run a doit task's work: an exception is kept in :attr:`errors` (the runner
        re-raises it after doit) and fails the task, so doit records nothing for it."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - re-raised by the runner with its traceback
            self.errors.append(exc)
            return False
        return True

    def call_of(self, name: str) -> TaskCall:
        """The arguments task ``name`` runs with in this run (its defaults unless given)."""
        from pypm.operations.tasks import TaskCall

        return self.run_options.calls.get(name) or TaskCall(dict(self.tasks[name].args))

    def forces(self, operation: str) -> bool:
        """True when this run must do ``operation`` whatever its freshness (``lock``
        with ``--upgrade`` or ``--refresh``, ``sync`` with ``--reinstall``)."""
        return (operation == "lock" and self.lock_request.forces) or (operation == "sync" and self.reinstall.forces)

    def freshness_of(self, name: str) -> TaskFreshness:
        """The (one) up-to-date check of task ``name`` for this run."""
        from pypm.graph.user_tasks import TaskFreshness

        if name not in self._freshness:
            self._freshness[name] = TaskFreshness(self, self.tasks[name], self.call_of(name))
        return self._freshness[name]

    def validate(self) -> Workspace:
        """Validate the workspace now (raises :class:`WorkspaceError` on bad input)."""
        return self.workspace

    @property
    def lock_path(self) -> Path:
        """The workspace's ``pylock.toml``."""
        return self.raw.root / "pylock.toml"

    @property
    def venv_path(self) -> Path:
        """The workspace's ``.venv``."""
        return self.raw.root / ".venv"

    @property
    def state_dir(self) -> Path:
        """Where doit's database and pypm's file lock live."""
        return self.raw.root / ".pypm"


def _declares_tasks(raw: RawWorkspace) -> bool:
    """Does the root or a member have a ``tasks`` key in its pypm table (valid or not)?"""
    return "tasks" in raw.tool_table or any("tasks" in member.tool_table for member in raw.members
                                            if member.source_of is None)
