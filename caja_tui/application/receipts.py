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
from .ports import SaleView

WIDTHS = (32, 42, 48)
METHOD_NAMES = {"es": {"cash": "Efectivo", "card": "Tarjeta", "other": "Otro"},
                "en": {"cash": "Cash", "card": "Card", "other": "Other"}}
LABELS = {
    "es": {"receipt": "Ticket", "cashier": "Cajero", "subtotal": "Subtotal", "discount": "Descuento",
           "tax": "IVA", "included": "incluido", "total": "TOTAL", "change": "CAMBIO", "verify": "Verificación",
           "voided": "*** VENTA ANULADA ***", "reprint": "*** REIMPRESIÓN ***", "items": "Artículos"},
    "en": {"receipt": "Receipt", "cashier": "Cashier", "subtotal": "Subtotal", "discount": "Discount",
           "tax": "Tax", "included": "included", "total": "TOTAL", "change": "CHANGE", "verify": "Verification",
           "voided": "*** SALE VOIDED ***", "reprint": "*** REPRINT ***", "items": "Items"},
}


class Shop(Struct, frozen=True, kw_only=True):
    name: str
    header: Sequence[str] = ()
    footer: str = ""
    exponent: int = 2
    language: str = "es"


def render_receipt(sale: SaleView, shop: Shop, *, width: int = 42, tz: dt.tzinfo = dt.UTC,
                   cashier: str | None = None, reprint: bool = False) -> str:
    if width not in WIDTHS:
        raise ValueError(f"receipt width must be one of {WIDTHS}")
    t = LABELS.get(shop.language, LABELS["en"])
    methods = METHOD_NAMES.get(shop.language, METHOD_NAMES["en"])
    m = lambda v: money.format_money(v, shop.exponent)  # noqa: E731
    out: list[str] = []

    def center(text: str) -> None:
        for part in textwrap.wrap(text, width) or [""]:
            out.append(part.center(width).rstrip())

    def pair(left: str, right: str) -> None:
        room = width - len(right) - 1
        if len(left) > room:
            out.append(left[:width])
            left = ""
        out.append(f"{left:<{room}} {right}")

    rule = "-" * width
    center(shop.name.upper())
    for line in shop.header:
        center(line)
    if reprint:
        center(t["reprint"])
    out.append(rule)
    when = dt.datetime.fromtimestamp(sale.created_at / 1000, tz).strftime("%Y-%m-%d %H:%M")
    pair(f"{t['receipt']} {sale.receipt_no}", when)
    out.append(f"{t['cashier']}: {cashier or sale.actor}"[:width])
    out.append(rule)
    for ln in sale.lines:
        for part in textwrap.wrap(ln.name, width) or [""]:
            out.append(part)
        pair(f"  {ln.qty} x {m(ln.unit_price)}", m(ln.qty * ln.unit_price))
        if ln.discount:
            pair(f"  {t['discount']}", "-" + m(ln.discount))
    out.append(rule)
    items = sum(ln.qty for ln in sale.lines)
    pair(f"{t['items']}: {items}", "")
    line_total = sum(ln.qty * ln.unit_price - ln.discount for ln in sale.lines)
    if sale.discount:
        pair(t["subtotal"], m(line_total))
        pair(t["discount"], "-" + m(sale.discount))
    rates: dict[int, int] = {}
    for ln in sale.lines:
        rates[ln.tax_rate] = rates.get(ln.tax_rate, 0) + ln.tax
    if not sale.prices_include_tax:
        pair(t["subtotal"] + " ", m(sale.subtotal))
    for rate, tax in sorted(rates.items()):
        suffix = f" ({t['included']})" if sale.prices_include_tax else ""
        pair(f"{t['tax']} {money.format_rate(rate)} %{suffix}", m(tax))
    pair(t["total"], m(sale.total))
    out.append(rule)
    for p in sale.payments:
        pair(methods.get(p.method, p.method), m(p.amount))
    if sale.change:
        pair(t["change"], m(sale.change))
    if sale.voided:
        center(t["voided"])
    out.append(rule)
    center(f"{t['verify']}: {sale.event_hash[:8]}")
    if shop.footer:
        center(shop.footer)
    return "\n".join(line.rstrip() for line in out) + "\n"


def shop_of(cfg) -> Shop:
    """The receipt header and money format from the till's config."""
    t = cfg.till
    return Shop(name=t.shop_name, header=tuple(t.receipt_header), footer=t.receipt_footer,
                exponent=t.currency_exponent, language=t.language)
