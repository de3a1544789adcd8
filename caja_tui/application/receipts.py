"""One receipt layout, rendered to plain text of a given width (32, 42 or 48 characters).

Shop header, receipt number, time and cashier; each line with its quantity, price and discounts; taxes by
rate; payments and change; and the first 8 characters of the sale event's hash as a verification code that
anyone can check against the audit log.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence

from msgspec import Struct

from ..domain import money
from ..domain.events import SaleRefunded
from .ports import SaleView, Tx
from .settings import StoreSettings

WIDTHS = (32, 42, 48)
METHOD_NAMES = {
    "es": {"cash": "Efectivo", "card": "Tarjeta", "other": "Otro"},
    "en": {"cash": "Cash", "card": "Card", "other": "Other"},
}
LABELS = {
    "es": {
        "receipt": "Ticket",
        "cashier": "Cajero",
        "subtotal": "Subtotal",
        "discount": "Descuento",
        "tax": "IVA",
        "included": "incluido",
        "total": "TOTAL",
        "change": "CAMBIO",
        "verify": "Verificación",
        "voided": "*** VENTA ANULADA ***",
        "reprint": "*** REIMPRESIÓN ***",
        "items": "Artículos",
        "refund": "DEVOLUCIÓN del ticket",
        "customer": "Cliente",
        "by": "Autorizó",
        "refunded": "DEVUELTO",
    },
    "en": {
        "receipt": "Receipt",
        "cashier": "Cashier",
        "subtotal": "Subtotal",
        "discount": "Discount",
        "tax": "Tax",
        "included": "included",
        "total": "TOTAL",
        "change": "CHANGE",
        "verify": "Verification",
        "voided": "*** SALE VOIDED ***",
        "reprint": "*** REPRINT ***",
        "items": "Items",
        "refund": "REFUND of receipt",
        "customer": "Customer",
        "by": "Approved by",
        "refunded": "REFUNDED",
    },
}


class Shop(Struct, frozen=True, kw_only=True):
    name: str
    header: Sequence[str] = ()
    footer: str = ""
    exponent: int = 2
    language: str = "es"


class _Page:
    """The receipt's lines as they are written, with its width, labels and money format."""

    def __init__(self, shop: Shop, width: int) -> None:
        self.width, self.exponent = width, shop.exponent
        self.t = LABELS.get(shop.language, LABELS["en"])
        self.out: list[str] = []

    def m(self, value: int) -> str:
        return money.format_money(value, self.exponent)

    def center(self, text: str) -> None:
        for part in textwrap.wrap(text, self.width) or [""]:
            self.out.append(part.center(self.width).rstrip())

    def pair(self, left: str, right: str) -> None:
        room = self.width - len(right) - 1
        if len(left) > room:
            self.out.append(left[: self.width])
            left = ""
        self.out.append(f"{left:<{room}} {right}")

    def rule(self) -> None:
        self.out.append("-" * self.width)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.out) + "\n"


def _head(
    page: _Page, sale: SaleView, shop: Shop, tz: dt.tzinfo, cashier: str | None, reprint: bool, customer: str | None
) -> None:
    t = page.t
    page.center(shop.name.upper())
    for line in shop.header:
        page.center(line)
    if reprint:
        page.center(t["reprint"])
    page.rule()
    when = dt.datetime.fromtimestamp(sale.created_at / 1000, tz).strftime("%Y-%m-%d %H:%M")
    page.pair(f"{t['receipt']} {sale.receipt_no}", when)
    page.out.append(f"{t['cashier']}: {cashier or sale.actor}"[: page.width])
    if customer:  # a sale to a customer says so (an invoice is asked for with this receipt)
        page.out.append(f"{t['customer']}: {customer}"[: page.width])
    page.rule()


def _lines(page: _Page, sale: SaleView) -> None:
    m = page.m
    for ln in sale.lines:
        for part in textwrap.wrap(ln.name, page.width) or [""]:
            page.out.append(part)
        page.pair(f"  {ln.qty} x {m(ln.unit_price)}", m(ln.qty * ln.unit_price))
        if ln.discount:
            page.pair(f"  {page.t['discount']}", "-" + m(ln.discount))
    page.rule()


def _totals(page: _Page, sale: SaleView) -> None:
    t, m = page.t, page.m
    items = sum(ln.qty for ln in sale.lines)
    page.pair(f"{t['items']}: {items}", "")
    line_total = sum(ln.qty * ln.unit_price - ln.discount for ln in sale.lines)
    if sale.discount:
        page.pair(t["subtotal"], m(line_total))
        page.pair(t["discount"], "-" + m(sale.discount))
    rates: dict[int, int] = {}
    for ln in sale.lines:
        rates[ln.tax_rate] = rates.get(ln.tax_rate, 0) + ln.tax
    if not sale.prices_include_tax:
        page.pair(t["subtotal"] + " ", m(sale.subtotal))
    for rate, tax in sorted(rates.items()):
        suffix = f" ({t['included']})" if sale.prices_include_tax else ""
        page.pair(f"{t['tax']} {money.format_rate(rate)} %{suffix}", m(tax))
    page.pair(t["total"], m(sale.total))
    page.rule()


def _payments_and_foot(page: _Page, sale: SaleView, shop: Shop) -> None:
    t = page.t
    methods = METHOD_NAMES.get(shop.language, METHOD_NAMES["en"])
    for p in sale.payments:
        page.pair(methods.get(p.method, p.method), page.m(p.amount))
    if sale.change:
        page.pair(t["change"], page.m(sale.change))
    if sale.voided:
        page.center(t["voided"])
    page.rule()
    page.center(f"{t['verify']}: {sale.event_hash[:8]}")
    if shop.footer:
        page.center(shop.footer)


def render_receipt(
    sale: SaleView,
    shop: Shop,
    *,
    width: int = 42,
    tz: dt.tzinfo = dt.UTC,
    cashier: str | None = None,
    reprint: bool = False,
    customer: str | None = None,
) -> str:
    if width not in WIDTHS:
        raise ValueError(f"receipt width must be one of {WIDTHS}")
    page = _Page(shop, width)
    _head(page, sale, shop, tz, cashier, reprint, customer)
    _lines(page, sale)
    _totals(page, sale)
    _payments_and_foot(page, sale, shop)
    return page.text()


def people_of(tx: Tx, sale: SaleView) -> tuple[str | None, str | None]:
    """The cashier's and the customer's names, as a receipt prints them (None where unknown or none)."""
    user = tx.user(sale.actor)
    customer = tx.customer(sale.customer_id) if sale.customer_id else None
    return (user.name if user else None), (customer["name"] if customer else None)


def render_refund_receipt(
    sale: SaleView,
    refund: SaleRefunded,
    shop: Shop,
    *,
    at_ms: int,
    event_hash: str,
    approved_by: str,
    width: int = 42,
    tz: dt.tzinfo = dt.UTC,
) -> str:
    """The slip of a refund: which items of which receipt came back, how much, how, and who approved it."""
    if width not in WIDTHS:
        raise ValueError(f"receipt width must be one of {WIDTHS}")
    page = _Page(shop, width)
    t, m = page.t, page.m
    page.center(shop.name.upper())
    page.rule()
    page.out.append(f"{t['refund']} {sale.receipt_no}"[:width])
    page.out.append(dt.datetime.fromtimestamp(at_ms / 1000, tz).strftime("%Y-%m-%d %H:%M"))
    page.out.append(f"{t['by']}: {approved_by}"[:width])
    page.rule()
    by_line = {ln.line_no: ln for ln in sale.lines}
    for back in refund.lines:
        ln = by_line.get(back.line_no)
        for part in textwrap.wrap(ln.name if ln else back.product_id, width) or [""]:
            page.out.append(part)
        page.pair(f"  {back.qty} x", m(back.amount))
    page.rule()
    page.pair(t["refunded"], m(refund.total))
    methods = METHOD_NAMES.get(shop.language, METHOD_NAMES["en"])
    page.pair(methods.get(refund.method, refund.method), m(refund.total))
    page.rule()
    page.center(f"{t['verify']}: {event_hash[:8]}")
    return page.text()


def shop_of(cfg, settings: StoreSettings | None = None) -> Shop:
    """The receipt's header and footer from the store's settings (application/settings.py; without them, from the
    till's config alone), its money format and language from the till's config."""
    t = cfg.till
    s = settings if settings is not None else t
    return Shop(
        name=s.shop_name,
        header=tuple(s.receipt_header),
        footer=s.receipt_footer,
        exponent=t.currency_exponent,
        language=t.language,
    )
