"""Conflicts the server left to a person: a manager picks the outcome, written as an event of its own."""

from __future__ import annotations

from typing import Literal, cast

from ..domain.errors import DomainError
from ..domain.events import ConflictResolved, ProductRestored, ProductUpdated
from .auth import require_manager
from .ports import Store

Outcome = Literal["keep", "apply"]


def resolve_conflict(store: Store, actor: str, event_id: str, outcome: str, note: str = "") -> None:
    """`keep`: the other till's change stands (e.g. the product stays deleted).
    `apply`: this till's change is applied after all (a deleted product is restored and updated)."""
    if outcome not in ("keep", "apply"):
        raise DomainError("BAD_OUTCOME", "the outcome is 'keep' (theirs) or 'apply' (ours)")
    with store.transaction() as tx:
        require_manager(tx, actor)
        conflict = tx.sync_conflict(event_id)
        if conflict is None:
            raise DomainError("NO_SUCH_CONFLICT", "no conflict for event {event_id}", event_id=event_id)
        if conflict["resolved_at"] is not None:
            raise DomainError("ALREADY_RESOLVED", "that conflict was already resolved")
        if conflict["resolution"] != "manual":
            raise DomainError("NOT_MANUAL", "that conflict was settled automatically (last write wins)")
        mine = tx.local_event(event_id)
        if outcome == "apply" and mine is not None and isinstance(mine.payload, ProductUpdated):
            pid = mine.payload.product_id
            tx.emit(ProductRestored(product_id=pid), actor)
            current = tx.product(pid)
            tx.emit(
                ProductUpdated(
                    product_id=pid, changes=mine.payload.changes, base_hlc=current.updated_hlc if current else 0
                ),
                actor,
            )
        tx.emit(
            ConflictResolved(
                event_id=event_id,
                conflict_with=conflict["conflict_with"],
                outcome=cast(Outcome, outcome),
                note=note.strip(),
            ),
            actor,
        )
        tx.mark_conflict_resolved(event_id, actor, outcome)
