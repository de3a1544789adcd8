"""The compensating event of a refused one (PROTOCOL.md "Trust", Clocks): what puts this till back in step with
its store when the server refused a change it had already applied. Pure: no I/O.

The store never took the refused event, so the store's state of that product, customer or user is what the
other events of it say, folded last-writer-wins by stamp like the read models. The compensation says that
state again, as an event newer than all of them, so it wins here and changes nothing elsewhere:

- an update: the same fields, with the values the other events give them;
- a product's creation: its deletion (when nothing else created it); a user's creation: the user deactivated;
- a product's deletion or restoration: the opposite.

Facts (sales, refunds, payments, cash, stock movements) have no compensation: they happened at the counter,
and are sent again once what made the server refuse them is fixed. Neither has a customer's creation (there
is no deletion of a customer): it is sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msgspec import UNSET, Struct

from .events import (
    CustomerChanges,
    CustomerCreated,
    CustomerUpdated,
    Event,
    Payload,
    ProductChanges,
    ProductCreated,
    ProductDeleted,
    ProductRestored,
    ProductUpdated,
    UserChanges,
    UserCreated,
    UserUpdated,
)
from .rights import stamp

# per family: the creation, the update and its changes
FAMILIES: dict[str, tuple[type[Payload], type[Payload], type[Struct]]] = {
    "product": (ProductCreated, ProductUpdated, ProductChanges),
    "customer": (CustomerCreated, CustomerUpdated, CustomerChanges),
    "user": (UserCreated, UserUpdated, UserChanges),
}
REVERTIBLE = (
    "product.created",
    "product.updated",
    "product.deleted",
    "product.restored",
    "customer.updated",
    "user.created",
    "user.updated",
)


def compensation(refused: Event, others: Sequence[Event]) -> Payload | None:
    """The event that undoes `refused` here, given the other events of its product, customer or user that the
    store holds (any order); None when it has none (a fact, or a customer's creation: send it again)."""
    p, family = refused.payload, refused.type.partition(".")[0]
    if refused.type not in REVERTIBLE:
        return None
    ordered = sorted(others, key=lambda e: stamp(e.hlc, e.device_id))
    base_hlc = max([refused.hlc, *(e.hlc for e in others)])
    if isinstance(p, ProductDeleted | ProductRestored):
        return _deletion_again(p.product_id, ordered)
    created, updated, changes_type = FAMILIES[family]
    if isinstance(p, created):
        fields = [f for f in changes_type.__struct_fields__ if getattr(p, f, UNSET) is not UNSET]
        if not any(isinstance(e.payload, created) for e in ordered):  # it made the entity: it goes again
            if isinstance(p, ProductCreated):
                return ProductDeleted(product_id=p.product_id)
            if isinstance(p, UserCreated):
                return UserUpdated(user_id=p.user_id, changes=UserChanges(active=False), base_hlc=base_hlc)
            return None
    else:
        fields = list(p.changes.fields())  # type: ignore[attr-defined]
    values = _fold(ordered, created, fields)
    if isinstance(p, UserCreated):
        values.setdefault("active", _fold(ordered, created, ["active"]).get("active", True))
    if not values:
        return None
    id_field = next(iter(created.__struct_fields__))
    return updated(**{id_field: getattr(p, id_field), "changes": changes_type(**values), "base_hlc": base_hlc})


def _fold(ordered: Sequence[Event], created: type, fields: Sequence[str]) -> dict[str, Any]:
    """Each field's value after the events, oldest stamp first (a creation gives every field it has)."""
    values: dict[str, Any] = {}
    for e in ordered:
        p = e.payload
        given = (
            {f: getattr(p, f) for f in fields if hasattr(p, f)}
            if isinstance(p, created)
            else p.changes.fields()
            if hasattr(p, "changes")
            else {}
        )
        if isinstance(p, UserCreated) and "active" in fields:
            given = {**given, "active": True}
        values.update({f: v for f, v in given.items() if f in fields})
    return values


def _deletion_again(product_id: str, ordered: Sequence[Event]) -> Payload:
    """The product deleted or not as the other events leave it (the later of a deletion and a restoration)."""
    last = next(
        (e.type for e in reversed(ordered) if e.type in ("product.deleted", "product.restored")), "product.restored"
    )
    return (
        ProductDeleted(product_id=product_id) if last == "product.deleted" else ProductRestored(product_id=product_id)
    )
