"""The one error type business rules raise: a code a program can test, a message a person can read."""


class DomainError(Exception):
    """A command broke a business rule. Nothing was written."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
