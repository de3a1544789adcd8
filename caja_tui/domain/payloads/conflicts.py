"""The `conflict.resolved` payload (sync priority NORMAL): a manager's decision on a manual conflict."""

from __future__ import annotations

from typing import Literal

from .base import Id, Payload, Priority, Text, event_type


@event_type("conflict.resolved", Priority.NORMAL)
class ConflictResolved(Payload, frozen=True, kw_only=True):
    """A manager's decision on a conflict the server left to a person (`manual`)."""

    event_id: Id  # this till's event the server answered `conflict`
    conflict_with: Id
    outcome: Literal["keep", "apply"]  # keep the other till's change, or apply this till's after all
    note: Text = ""

    def aggregate(self) -> str:
        return f"conflict:{self.event_id}"
