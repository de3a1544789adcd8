"""Selling: ring up a cart (kept as a draft that survives a crash), complete the sale, refund it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import cast

from msgspec import Struct

from ..domain import rules
from ..domain.cart import Cart
from ..domain.errors import DomainError
from ..domain.events import Event, PaymentMethod, SaleCreated, SaleRefunded, SaleVoided, Tender, VoidLine
from ..domain.ids import uuid7
from .auth import require_manager, require_user
from .ports import ProductView, SaleView, Store, Tx

_QTY_CODE = re.compile(r"^\s*(\d{1,6})\s*[*xX]\s*(\S+)\s*$")


class CompletedSale(Struct, frozen=True, kw_only=True):
    sale_id: str
    receipt_no: str
    total: int
    tax: int
    change: int
    event: Event


class CompletedRefund(Struct, frozen=True, kw_only=True):
    refund_id: str
    sale_id: str
    receipt_no: str
    total: int
    event: Event


def parse_entry(text: str) -> tuple[int, str]:
    """What the cashier typed or scanned: `CODE` or `3*CODE` -> (qty, code)."""
    m = _QTY_CODE.match(text)
    if m:
        return int(m.group(1)), m.group(2)
    return 1, text.strip()


def scan(store: Store, cart: Cart, entry: str) -> ProductView | None:
    """Add the product a barcode or SKU names (with an optional `N*` quantity); None if no product matches.

    The cart is saved as the draft in the same call, so a crash right after a scan loses nothing.
    """
    qty, code = parse_entry(entry)
    if not code:
        return None
    with store.transaction() as tx:
        product = tx.product_by_code(code)
        if product is None:
            return None
        _add_line(cart, product, qty)
        tx.save_draft(cart)
    return product


def add_product(store: Store, cart: Cart, product: ProductView, qty: int = 1) -> None:
    """Add a product chosen some other way than by its code (the product search), and save the draft."""
    _add_line(cart, product, qty)
    save_cart(store, cart)


def _add_line(cart: Cart, product: ProductView, qty: int) -> None:
    cart.add(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        unit_price=product.price,
        tax_rate=product.tax_rate,
        qty=qty,
    )


def save_cart(store: Store, cart: Cart, slot: str = "current") -> None:
    """Persist the cart after any change (quantity, discount, removal)."""
    with store.transaction() as tx:
        if cart.is_empty and cart.discount == 0:
            tx.clear_draft(slot)
        else:
            tx.save_draft(cart, slot)


PARKED = "parked:"


def park_cart(store: Store, cart: Cart) -> str:
    """Set the cart aside (a customer went to fetch something) and start an empty one; returns its slot."""
    if cart.is_empty:
        raise DomainError("EMPTY_CART", "there is nothing in the cart to park")
    slot = PARKED + uuid7()
    with store.transaction() as tx:
        tx.save_draft(cart, slot)
        tx.clear_draft()
    return slot


def recall_cart(store: Store, current: Cart, slot: str) -> Cart:
    """Bring a parked cart back as the current one. The current cart must be empty (park it first)."""
    if not current.is_empty:
        raise DomainError("CART_NOT_EMPTY", "finish or park the current sale before recalling another")
    with store.transaction() as tx:
        carts = {s: c for s, c, _at in tx.drafts(slot)}
        if slot not in carts or not slot.startswith(PARKED):
            raise DomainError("NO_SUCH_CART", "that parked sale is no longer there")
        tx.save_draft(carts[slot])
        tx.clear_draft(slot)
    return carts[slot]


def complete_sale(
    store: Store,
    actor: str,
    cart: Cart,
    tenders: Sequence[Tender],
    *,
    prices_include_tax: bool,
    sale_id: str | None = None,
) -> CompletedSale:
    """Write the sale: priced, paid, numbered, stock moved and the draft cleared, in one transaction."""
    pricing = rules.price_sale(cart.lines, cart.discount, prices_include_tax)
    change = rules.settle_payment(pricing.total, tenders)
    with store.transaction() as tx:
        require_user(tx, actor)
        session = tx.open_session()
        if session is None:
            raise DomainError("NO_SESSION", "open the cash session before selling")
        if cart.customer_id is not None and tx.customer(cart.customer_id) is None:
            raise DomainError("NO_SUCH_CUSTOMER", "the customer on this sale does not exist; choose another")
        sid = sale_id or uuid7()
        receipt_no = tx.next_receipt_no()
        event = tx.emit(
            SaleCreated(
                sale_id=sid,
                receipt_no=receipt_no,
                session_id=session.id,
                lines=pricing.lines,
                discount=pricing.discount,
                subtotal=pricing.subtotal,
                tax=pricing.tax,
                total=pricing.total,
                payments=list(tenders),
                change=change,
                prices_include_tax=prices_include_tax,
                customer_id=cart.customer_id,
            ),
            actor,
        )
        tx.clear_draft()
    return CompletedSale(
        sale_id=sid, receipt_no=receipt_no, total=pricing.total, tax=pricing.tax, change=change, event=event
    )


def find_sale(store: Store, receipt_no: str) -> SaleView:
    with store.read() as tx:
        return _sale(tx, receipt_no)


def _sale(tx: Tx, receipt_no: str) -> SaleView:
    sale = tx.sale_by_receipt(receipt_no)
    if sale is None:
        raise DomainError("NO_SUCH_SALE", "no sale with receipt number {receipt_no}", receipt_no=receipt_no)
    return sale


def refund_sale(
    store: Store,
    actor: str,
    receipt_no: str,
    lines: Mapping[int, int] | None = None,
    *,
    method: str = "cash",
    restock: bool = True,
    reason: str = "",
) -> CompletedRefund:
    """Refund a whole sale (`lines=None`) or some of its items ({line_no: qty}). Needs a manager.

    Never more than was sold and not yet refunded; a cash refund leaves from the open cash session.
    """
    if method not in rules.PAYMENT_METHODS:
        raise DomainError("BAD_METHOD", "unknown refund method '{method}'", method=method)
    with store.transaction() as tx:
        require_manager(tx, actor)
        sale = _sale(tx, receipt_no)
        if lines is None:
            lines = {ln.line_no: ln.qty - sale.refunded_qty.get(ln.line_no, 0) for ln in sale.lines}
            lines = {k: v for k, v in lines.items() if v > 0}
            if not lines:
                raise DomainError(
                    "ALREADY_REFUNDED",
                    "sale {receipt_no} has already been refunded in full",
                    receipt_no=sale.receipt_no,
                )
        if sale.voided:
            raise DomainError(
                "SALE_VOIDED", "sale {receipt_no} was voided; there is nothing to refund", receipt_no=sale.receipt_no
            )
        refund_lines = rules.price_refund(
            sale.lines, lines, sale.refunded_qty, sale.refunded_amount, sale.refunded_tax, sale.prices_include_tax
        )
        session = tx.open_session()
        if method == "cash" and session is None:
            raise DomainError("NO_SESSION", "open the cash session to give cash back")
        total = sum(ln.amount for ln in refund_lines)
        rid = uuid7()
        event = tx.emit(
            SaleRefunded(
                refund_id=rid,
                sale_id=sale.id,
                receipt_no=sale.receipt_no,
                session_id=session.id if session else None,
                lines=refund_lines,
                total=total,
                tax=sum(ln.tax for ln in refund_lines),
                method=cast(PaymentMethod, method),
                restock=restock,
                reason=reason.strip(),
            ),
            actor,
        )
    return CompletedRefund(refund_id=rid, sale_id=sale.id, receipt_no=sale.receipt_no, total=total, event=event)


def void_sale(store: Store, actor: str, receipt_no: str, reason: str = "") -> Event:
    """Cancel a whole sale of the open session (a mistake caught at the counter). Needs a manager.

    The money goes back by the same tenders and the items back on the shelf; the sale stays in the log.
    A sale of an earlier session, or one already partly refunded, is refunded instead.
    """
    with store.transaction() as tx:
        require_manager(tx, actor)
        sale = _sale(tx, receipt_no)
        if sale.voided:
            raise DomainError("SALE_VOIDED", "sale {receipt_no} was already voided", receipt_no=sale.receipt_no)
        session = tx.open_session()
        if session is None or sale.session_id != session.id or sale.device_id != store.device_id:
            raise DomainError(
                "NOT_THIS_SESSION",
                "sale {receipt_no} is not from this till's open session; refund it instead",
                receipt_no=sale.receipt_no,
            )
        if sale.refunded_qty:
            raise DomainError(
                "ALREADY_REFUNDED", "sale {receipt_no} was partly refunded; refund the rest", receipt_no=sale.receipt_no
            )
        return tx.emit(
            SaleVoided(
                sale_id=sale.id,
                receipt_no=sale.receipt_no,
                session_id=session.id,
                lines=[VoidLine(line_no=ln.line_no, product_id=ln.product_id, qty=ln.qty) for ln in sale.lines],
                reason=reason.strip(),
            ),
            actor,
        )
