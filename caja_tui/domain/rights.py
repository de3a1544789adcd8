"""Events that grant rights (PROTOCOL.md "Trust"): who may make a manager. Pure: no I/O.

A `user.*` event grants a manager's rights when it creates a manager, promotes a user to manager, or sets
a manager's PIN or activates one (whoever knows the new PIN holds the manager's rights). Such an event is
taken only when its actor is an active manager of the store in the receiver's own view of users at that
moment; the store's first manager (made by `caja init`, when the store has no manager at all) aside. The
server applies it at push time, a till to what it pulls and to what it writes itself.

The view is `user_id -> Rights`, folded from the store's `user.*` events last-writer-wins per field by the
stamp `(hlc, device_id)`, the same rule as the till's `user` read model, so every receiver folds the same
events to the same view whatever order they arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import NamedTuple

from .events import Payload, UserCreated, UserUpdated

NOT_ALLOWED = "NOT_ALLOWED"
REFUSAL = "only an active manager of the store may create a manager, promote a user or change a manager's PIN"


class Rights(NamedTuple):
    """What of a user decides their rights, with the stamp of each field's last write."""

    role: str | None = None
    active: bool = False
    role_ts: str = ""
    active_ts: str = ""


def stamp(hlc: int, device_id: str) -> str:
    """The sortable last-writer-wins stamp: the hlc as 20 digits, then the device id (ties broken by it)."""
    return f"{hlc:020d}{device_id}"


def grants_manager(payload: Payload, users: Mapping[str, Rights]) -> bool:
    """Whether the event would give someone a manager's rights, in this view."""
    if isinstance(payload, UserCreated):
        # a create also overwrites an existing user's fields (a manager's PIN) when its stamp is newer
        return payload.role == "manager" or _is_manager(users.get(payload.user_id))
    if isinstance(payload, UserUpdated):
        changes = payload.changes.fields()
        if changes.get("role") == "manager":
            return True
        return _is_manager(users.get(payload.user_id)) and ("pin_hash" in changes or changes.get("active") is True)
    return False


def rights_refusal(payload: Payload, actor: str, users: Mapping[str, Rights]) -> str | None:
    """None when the event may be taken in this view; otherwise why not (its code is NOT_ALLOWED)."""
    if not grants_manager(payload, users):
        return None
    actor_rights = users.get(actor)
    if actor_rights is not None and actor_rights.role == "manager" and actor_rights.active:
        return None
    if isinstance(payload, UserCreated) and not any(u.role == "manager" for u in users.values()):
        return None  # the store's first manager
    return REFUSAL


def fold_user(users: MutableMapping[str, Rights], payload: Payload, ts: str) -> None:
    """Apply a `user.*` event to the view (last-writer-wins per field by `ts`); other events change nothing."""
    if isinstance(payload, UserCreated):
        fields: dict[str, object] = {"role": payload.role, "active": True}
    elif isinstance(payload, UserUpdated):
        fields = {k: v for k, v in payload.changes.fields().items() if k in ("role", "active")}
    else:
        return
    u = users.get(payload.user_id, Rights())
    if "role" in fields and ts > u.role_ts:
        u = u._replace(role=str(fields["role"]), role_ts=ts)
    if "active" in fields and ts > u.active_ts:
        u = u._replace(active=bool(fields["active"]), active_ts=ts)
    users[payload.user_id] = u


def _is_manager(u: Rights | None) -> bool:
    return u is not None and u.role == "manager"
