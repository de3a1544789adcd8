"""Events of this till that the server refused: a manager sends them again (after a fix) or reverts one.

A refused state-changing event leaves this till different from its store (the store never took it); the
status line, the sync screen and `caja verify` say so until one of the two is done.
"""

from __future__ import annotations

from ..domain.compensate import compensation
from ..domain.errors import DomainError
from .auth import require_manager
from .ports import Store


def revert_refused(store: Store, actor: str, event_id: str) -> str:
    """Write the compensating event of a refused one (domain/compensate.py) and mark it reverted, in one
    transaction. Returns the compensating event's type."""
    with store.transaction() as tx:
        require_manager(tx, actor)
        refused = tx.refused_event(event_id)
        if refused is None:
            raise DomainError("NOT_REFUSED", "that event is not waiting as refused (sent again or reverted already)")
        payload = compensation(refused, tx.store_events_of(refused.payload.aggregate()))
        if payload is None:
            raise DomainError(
                "NOT_REVERTIBLE",
                "a {type} cannot be undone: it happened at the counter; fix what the server refused and send it again",
                type=refused.type,
            )
        tx.emit(payload, actor)
        tx.mark_reverted(event_id)
    return payload.TYPE
