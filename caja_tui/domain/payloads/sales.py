"""The `sale.*` payloads (sync priority CRITICAL) and the lines and tenders they hold."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from .base import (
    MAX_LINES,
    MAX_PRICE,
    MAX_QTY,
    Code,
    Id,
    Minor,
    Name,
    Payload,
    PaymentMethod,
    Price,
    Priority,
    Qty,
    RateBP,
    Text,
    event_type,
)


class SaleLine(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    product_id: Id
    sku: Code
    name: Name
    qty: Qty
    unit_price: Price
    tax_rate: RateBP
    discount: Minor = 0  # the line's own discount
    sale_discount: Minor = 0  # this line's share of the sale-level discount
    amount: Minor  # qty * unit_price - discount - sale_discount (tax included when prices include it)
    tax: Minor  # this line's share of the tax of its rate


class Tender(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    method: PaymentMethod
    amount: Annotated[int, Meta(ge=1, le=MAX_PRICE * MAX_QTY)]
    reference: Text = ""


@event_type("sale.created", Priority.CRITICAL)
class SaleCreated(Payload, frozen=True, kw_only=True):
    sale_id: Id
    receipt_no: Code
    session_id: Id
    lines: Annotated[list[SaleLine], Meta(min_length=1, max_length=MAX_LINES)]
    discount: Minor = 0  # sale-level discount (already spread over lines' sale_discount)
    subtotal: Minor  # sum of line amounts
    tax: Minor
    total: Minor  # what the customer pays
    payments: Annotated[list[Tender], Meta(min_length=1, max_length=20)]
    change: Minor = 0
    prices_include_tax: bool
    customer_id: Id | None = None

    def aggregate(self) -> str:
        return f"sale:{self.sale_id}"


class RefundLine(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    product_id: Id
    qty: Qty
    amount: Minor  # money returned for these items, tax included
    tax: Minor


@event_type("sale.refunded", Priority.CRITICAL)
class SaleRefunded(Payload, frozen=True, kw_only=True):
    refund_id: Id
    sale_id: Id
    receipt_no: Code  # the original sale's receipt number
    session_id: Id | None = None  # the cash session the money left from (cash refunds)
    lines: Annotated[list[RefundLine], Meta(min_length=1, max_length=MAX_LINES)]
    total: Minor
    tax: Minor
    method: PaymentMethod
    restock: bool
    reason: Text = ""

    def aggregate(self) -> str:
        return f"sale:{self.sale_id}"


class VoidLine(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    product_id: Id
    qty: Qty


@event_type("sale.voided", Priority.CRITICAL)
class SaleVoided(Payload, frozen=True, kw_only=True):
    """Cancels a whole sale of the still-open session: money back by the same tenders, stock back."""

    sale_id: Id
    receipt_no: Code
    session_id: Id
    lines: Annotated[list[VoidLine], Meta(min_length=1, max_length=MAX_LINES)]  # the items going back on the shelf
    reason: Text = ""

    def aggregate(self) -> str:
        return f"sale:{self.sale_id}"
