"""Errors a command may stop with; each carries a message ready for the user.

Standard library only: prompts, config building and the client all raise these, and the root
group turns them into one `pynats: error: ...` line and exit status 1, never a traceback.
"""

from __future__ import annotations


class CliError(Exception):
    """A failure with a message ready for the user (no traceback)."""


class ApiError(CliError):
    """A JetStream API error reply: {"error": {"code", "err_code", "description"}}."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        self.code = code
        self.err_code = err_code
        self.description = description
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.description} (code {self.code}, err_code {self.err_code})"


class Cancelled(Exception):
    """The user answered No or pressed Ctrl-C at a prompt: stop quietly."""

    def __init__(self, code: int = 0) -> None:
        self.code = code
        super().__init__(code)
