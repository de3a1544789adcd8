"""Stock: adjust with a reason, count (absolute), receive goods."""

from __future__ import annotations

from typing import cast

from ..domain import rules
from ..domain.errors import DomainError
from ..domain.events import ADJUST_REASONS, MAX_QTY, AdjustReason, StockAdjusted, StockCounted, StockReceived
from .auth import require_manager
from .ports import ProductView, Store, Tx


def _product(tx: Tx, product_id: str) -> ProductView:
    product = tx.product(product_id)
    if product is None or product.deleted:
        raise DomainError("NO_SUCH_PRODUCT", "that product does not exist or was deleted")
    return product


def _check_amount(value: int, *, low: int, what: str) -> None:
    if not isinstance(value, int) or not low <= value <= MAX_QTY * 100:
        raise DomainError(
            "BAD_QTY",
            "{what} must be a whole number from {low} to {high}",
            what=what,
            low=low,
            high=MAX_QTY * 100,
            field="qty",
        )


def adjust_stock(store: Store, actor: str, product_id: str, delta: int, reason: str, note: str = "") -> int:
    """Add or remove items for a reason (damaged, lost, found, ...). Returns the new stock.

    The reason decides the sign (a loss takes away, a find adds); taking items away needs a manager."""
    if reason not in ADJUST_REASONS:
        raise DomainError(
            "BAD_REASON", "reason must be one of: {reasons}", reasons=", ".join(ADJUST_REASONS), field="reason"
        )
    rules.check_adjustment(reason, delta)
    _check_amount(abs(delta), low=1, what="the adjustment")
    with store.transaction() as tx:
        if delta < 0:
            require_manager(tx, actor)
        _product(tx, product_id)
        tx.emit(
            StockAdjusted(product_id=product_id, delta=delta, reason=cast(AdjustReason, reason), note=note.strip()),
            actor,
        )
        return tx.stock_of(product_id)


def count_stock(store: Store, actor: str, product_id: str, counted: int) -> int:
    """Record a physical count: stock becomes `counted` (plus whatever sells after the count)."""
    _check_amount(counted, low=0, what="the count")
    with store.transaction() as tx:
        product = _product(tx, product_id)
        tx.emit(StockCounted(product_id=product_id, counted=counted, previous=product.stock), actor)
        return tx.stock_of(product_id)


def receive_stock(
    store: Store,
    actor: str,
    product_id: str,
    qty: int,
    *,
    unit_cost: int | None = None,
    supplier: str = "",
    reference: str = "",
) -> int:
    _check_amount(qty, low=1, what="the quantity received")
    if unit_cost is not None and unit_cost < 0:
        raise DomainError("BAD_PRICE", "the unit cost cannot be negative", field="unit_cost")
    with store.transaction() as tx:
        _product(tx, product_id)
        tx.emit(
            StockReceived(
                product_id=product_id,
                qty=qty,
                unit_cost=unit_cost,
                supplier=supplier.strip(),
                reference=reference.strip(),
            ),
            actor,
        )
        return tx.stock_of(product_id)
