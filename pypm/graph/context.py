"""What a graph run needs to know: the workspace, the selection and the options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.config import Settings, load_settings
from pypm.operations.lock_request import LockRequest
from pypm.operations.selection import Selection
from pypm.workspace.discovery import RawWorkspace, find_workspace

if TYPE_CHECKING:
    from pypm.workspace.model import Workspace


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
        self.frozen = False
        self.errors: list[BaseException] = []
        self._workspace: Workspace | None = None

    @classmethod
    def load(cls, start: Path, **options: Any) -> GraphContext:
        """Find the workspace at ``start`` (raw TOML only) and read its settings."""
        raw = find_workspace(start)
        return cls(raw, load_settings(raw.tool_table, raw.config_file), **options)

    @property
    def workspace(self) -> Workspace:
        """The validated workspace (validated on first use)."""
        if self._workspace is None:
            from pypm.workspace.model import validate_workspace

            self._workspace = validate_workspace(self.raw, self.settings)
        return self._workspace

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
