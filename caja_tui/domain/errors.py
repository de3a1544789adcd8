"""The one error type business rules raise: a code a program can test, a message a person can read."""


class DomainError(Exception):
    """A command broke a business rule. Nothing was written."""

    def __init__(self, code: str, message: str, /, *, field: str | None = None, **params: object) -> None:
        """`message` is an English template; `params` fill its {placeholders} (the screens translate the
        template, so they keep it and the values apart)."""
        text = message.format(**params) if params else message
        super().__init__(text)
        self.code = code
        self.template = message
        self.params = params
        self.message = text
        self.field = field

    def __str__(self) -> str:
        return self.message
