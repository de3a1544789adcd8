"""The `stock.*` payloads (sync priority HIGH): an adjustment or a receipt moves stock, a count sets it."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from .base import AdjustReason, Delta, Id, Payload, Price, Priority, Qty, Text, event_type


@event_type("stock.adjusted", Priority.HIGH)
class StockAdjusted(Payload, frozen=True, kw_only=True):
    product_id: Id
    delta: Delta
    reason: AdjustReason
    note: Text = ""

    def aggregate(self) -> str:
        return f"stock:{self.product_id}"


@event_type("stock.counted", Priority.HIGH)
class StockCounted(Payload, frozen=True, kw_only=True):
    """An absolute count: stock is `counted` at this event's hlc, plus every delta after it."""

    product_id: Id
    counted: Delta
    previous: Annotated[int, Meta(ge=-(2**62), le=2**62)] = (
        0  # what the till believed before the count (informative, for the audit)
    )

    def aggregate(self) -> str:
        return f"stock:{self.product_id}"


@event_type("stock.received", Priority.HIGH)
class StockReceived(Payload, frozen=True, kw_only=True):
    product_id: Id
    qty: Qty
    unit_cost: Price | None = None
    supplier: Text = ""
    reference: Text = ""

    def aggregate(self) -> str:
        return f"stock:{self.product_id}"
