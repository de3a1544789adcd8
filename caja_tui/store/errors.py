"""The store's own errors: what the database could not do, said so that a person knows what to do next."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot do what was asked; the message says what to do."""


class EmitLimitExceeded(StoreError):
    """The till tried to write more non-sale events than its limit allows (a runaway loop somewhere)."""
