"""`caja export`: sales, their lines, products, stock and events for accountants and other tools, as CSV or
JSON lines.

The products CSV has exactly the columns `caja import-products` reads, so a catalog round-trips. Money is
written from the integer minor units as an exact decimal of the currency (`32.90`), never through a float, in
every export alike. `sale-lines` has one row per line of every sale of the period: a voided sale's lines stay,
marked `voided`, and what was refunded of a line is in its `refunded_qty` and `refunded_amount` (the refund's
own date is in the events), as the sales export shows a sale's void and refunds.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Literal

import msgspec

from ..domain import money
from ..domain.events import Event
from .importing import COLUMNS
from .ports import ExportSource
from .reports import day_bounds

What = Literal["sales", "sale-lines", "products", "stock", "events"]


def export(
    store: ExportSource,
    what: What,
    fmt: Literal["csv", "jsonl"],
    *,
    exponent: int,
    tz: dt.tzinfo,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Iterator[str]:
    """Yield the export text in pieces (a large history never sits in memory whole)."""
    lo = day_bounds(start, tz)[0] if start else 0
    hi = day_bounds(end, tz)[1] if end else 2**62
    kinds = {"products": _products, "stock": _stock, "sales": _sales, "sale-lines": _sale_lines, "events": _events}
    rows = kinds[what](store, exponent=exponent, tz=tz, lo=lo, hi=hi)
    header = next(rows)
    if fmt == "jsonl":
        for row in rows:
            yield msgspec.json.encode(dict(zip(header, row, strict=True))).decode() + "\n"
        return
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for i, row in enumerate(rows):
        w.writerow(row)
        if i % 1000 == 999:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _products(store: ExportSource, *, exponent: int, **_) -> Iterator:
    yield list(COLUMNS)
    for sku, barcodes, name, price, rate, qty, category in store.products_for_export():
        yield [
            sku,
            "|".join(msgspec.json.decode(barcodes)),
            name,
            money.format_money(price, exponent),
            money.format_rate(rate),
            qty,
            category,
        ]


def _stock(store: ExportSource, **_) -> Iterator:
    yield ["sku", "name", "stock"]
    yield from store.stock_levels()


def _sales(store: ExportSource, *, exponent: int, tz: dt.tzinfo, lo: int, hi: int) -> Iterator:
    yield [
        "receipt_no",
        "date",
        "time",
        "device",
        "cashier",
        "items",
        "discount",
        "tax",
        "total",
        "payments",
        "change",
        "voided",
        "refunded",
        "customer_id",
    ]
    m = lambda v: money.format_money(v, exponent)  # noqa: E731
    for (
        sale_id,
        receipt,
        created,
        device,
        actor,
        discount,
        tax,
        total,
        change,
        customer,
        voided,
        refunded,
        items,
    ) in store.sales_for_export(lo, hi):
        pays = ";".join(f"{method}:{m(amount)}" for method, amount in store.sale_payments(sale_id))
        yield [
            receipt,
            *_day_and_time(created, tz),
            device,
            actor,
            items,
            m(discount),
            m(tax),
            m(total),
            pays,
            m(change),
            int(voided),
            m(refunded),
            customer or "",
        ]


SALE_LINE_COLUMNS = (
    "receipt_no date time device line_no product_id sku name qty unit_price tax_rate discount sale_discount net tax "
    "amount voided refunded_qty refunded_amount"
).split()
"""`discount`: the line's own; `sale_discount`: its share of a discount on the whole sale; `net`: after both, before
tax; `amount`: net + tax, what the customer paid for the line (a sale's lines add up to its total);
`refunded_amount`: tax included, like `amount`."""


def _sale_lines(store: ExportSource, *, exponent: int, tz: dt.tzinfo, lo: int, hi: int) -> Iterator:
    yield list(SALE_LINE_COLUMNS)
    m = lambda v: money.format_money(v, exponent)  # noqa: E731
    for row in store.sale_lines_for_export(lo, hi):
        receipt, created, device = row[:3]
        price, rate, discount, share, amount, tax, included, voided, refunded_qty, refunded = row[8:]
        net = amount - tax if included else amount
        yield [
            receipt,
            *_day_and_time(created, tz),
            device,
            *row[3:8],  # line_no, product_id, sku, name, qty
            m(price),
            money.format_rate(rate),
            m(discount),
            m(share),
            m(net),
            m(tax),
            m(net + tax),
            int(voided),
            refunded_qty,
            m(refunded),
        ]


def _day_and_time(created_ms: int, tz: dt.tzinfo) -> tuple[str, str]:
    when = dt.datetime.fromtimestamp(created_ms / 1000, tz)
    return when.date().isoformat(), when.strftime("%H:%M:%S")


def _events(store: ExportSource, *, lo: int, hi: int, **_) -> Iterator:
    yield [*Event.__struct_fields__, "sync_status"]  # the envelope, field by field, then where sync stands
    yield from store.events_for_export(lo, hi)  # the archived events first: the archive is part of the history
