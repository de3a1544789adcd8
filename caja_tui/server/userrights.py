"""The server's own view of each store's users, for the rule on events that grant rights (domain/rights.py).

Kept in `user_right`, updated in the push's transaction as `user.*` events are stored (ingest.py folds them
into the batch's state, so an event sees the ones before it), and folded again from the stored events when
the table is new on a database that already holds users (a server upgraded to this release).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.events import decode_payload
from ..domain.rights import Rights, fold_user, stamp

COLUMNS = "store_id, user_id, role, active, role_ts, active_ts"


def load(storage: Any, store_id: str) -> dict[str, Rights]:
    return {
        user_id: Rights(role, bool(active), role_ts, active_ts)
        for user_id, role, active, role_ts, active_ts in storage._rows(
            "SELECT user_id, role, active, role_ts, active_ts FROM user_right WHERE store_id = ?", (store_id,)
        )
    }


def save(storage: Any, store_id: str, users: Mapping[str, Rights]) -> None:
    """Write the users the batch changed (all of each row: a fold already merged it with the stored one)."""
    storage._many("DELETE FROM user_right WHERE store_id = ? AND user_id = ?", [(store_id, u) for u in users])
    storage._many(
        f"INSERT INTO user_right ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        [(store_id, u, r.role, int(r.active), r.role_ts, r.active_ts) for u, r in users.items()],
    )


def backfill(storage: Any) -> None:
    """Fold every stored `user.*` event into an empty `user_right` (once, when the table is new)."""
    if storage._rows("SELECT 1 FROM user_right LIMIT 1", ()):
        return
    views: dict[str, dict[str, Rights]] = {}
    for store_id, type_, v, payload, hlc, device_id in storage._rows(
        "SELECT store_id, type, v, payload, hlc, device_id FROM event WHERE type IN ('user.created', "
        "'user.updated') ORDER BY server_seq",
        (),
    ):
        fold_user(views.setdefault(store_id, {}), decode_payload(type_, v, payload), stamp(hlc, device_id))
    for store_id, users in views.items():
        save(storage, store_id, users)
