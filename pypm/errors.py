"""The exception hierarchy: every error pypm reports to a user is a :class:`PypmError`."""

from __future__ import annotations


class PypmError(Exception):
    """Root of all pypm errors; ``str()`` is the one-line message shown to the user.

    ``hint`` tells the user what to do about it; ``exit_code`` is the process exit status.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """Return the message and hint joined into the single line printed on stderr."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({' '.join(self.hint.split())})"
        return text


class UsageError(PypmError):
    """The command line itself is wrong."""

    exit_code = 2


class ConfigError(PypmError):
    """A settings value or file is invalid."""


class WorkspaceError(PypmError):
    """The workspace layout or a member's ``pyproject.toml`` is invalid."""


class IndexClientError(PypmError):
    """The package index could not be reached or answered with something unusable."""


class ResolutionError(PypmError):
    """No set of versions satisfies the requirements."""


class LockError(PypmError):
    """The lockfile is missing, stale where it must not be, or malformed."""


class InstallError(PypmError):
    """Creating the environment or installing into it failed."""


class HashMismatchError(InstallError):
    """A downloaded file's sha256 differs from the one recorded for it."""
