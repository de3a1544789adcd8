"""The one error every command may raise for a problem the user can fix."""

from __future__ import annotations


class CliError(Exception):
    """A problem the user can fix; printed as one line."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
