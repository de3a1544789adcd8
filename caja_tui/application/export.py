"""`caja export`: sales, products, stock and events for accountants and other tools, as CSV or JSON lines.

The products CSV has exactly the columns `caja import-products` reads, so a catalog round-trips.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Literal

import msgspec

from ..domain import money
from .importing import COLUMNS
from .reports import day_bounds

What = Literal["sales", "products", "stock", "events"]


def export(store, what: What, fmt: Literal["csv", "jsonl"], *, exponent: int, tz: dt.tzinfo,
           start: dt.date | None = None, end: dt.date | None = None) -> Iterator[str]:
    """Yield the export text in pieces (a large history never sits in memory whole)."""
    lo = day_bounds(start, tz)[0] if start else 0
    hi = day_bounds(end, tz)[1] if end else 2**62
    rows = {"products": _products, "stock": _stock, "sales": _sales, "events": _events}[what](
        store, exponent=exponent, tz=tz, lo=lo, hi=hi)
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


def _products(store, *, exponent: int, **_) -> Iterator:
    yield list(COLUMNS)
    for sku, barcodes, name, price, rate, qty, category in store.conn.execute(
            "SELECT p.sku, COALESCE(p.barcodes, '[]'), p.name, p.price, p.tax_rate, COALESCE(s.qty, 0), "
            "COALESCE(p.category, '') FROM product p LEFT JOIN stock s ON s.product_id = p.id "
            "WHERE p.created_hlc > 0 AND p.deleted IS NULL ORDER BY p.sku"):
        yield [sku, "|".join(msgspec.json.decode(barcodes)), name, money.format_money(price, exponent),
               money.format_rate(rate), qty, category]


def _stock(store, **_) -> Iterator:
    yield ["sku", "name", "stock"]
    yield from store.conn.execute(
        "SELECT p.sku, p.name, COALESCE(s.qty, 0) FROM product p LEFT JOIN stock s ON s.product_id = p.id "
        "WHERE p.created_hlc > 0 AND p.deleted IS NULL ORDER BY p.sku")


def _sales(store, *, exponent: int, tz: dt.tzinfo, lo: int, hi: int) -> Iterator:
    yield ["receipt_no", "date", "time", "device", "cashier", "items", "discount", "tax", "total", "payments",
           "change", "voided", "refunded", "customer_id"]
    m = lambda v: money.format_money(v, exponent)  # noqa: E731
    for (sale_id, receipt, created, device, actor, discount, tax, total, change, customer, voided,
         refunded, items) in store.conn.execute(
            "SELECT s.id, s.receipt_no, s.created_at, s.device_id, s.actor, s.discount, s.tax, s.total, s.change, "
            "s.customer_id, v.sale_id IS NOT NULL, COALESCE((SELECT SUM(total) FROM refund f WHERE f.sale_id = s.id), 0), "
            "(SELECT SUM(qty) FROM sale_line l WHERE l.sale_id = s.id) "
            "FROM sale s LEFT JOIN sale_void v ON v.sale_id = s.id WHERE s.created_at >= ? AND s.created_at < ? "
            "ORDER BY s.created_at, s.receipt_no", (lo, hi)).fetchall():
        when = dt.datetime.fromtimestamp(created / 1000, tz)
        pays = ";".join(f"{method}:{m(amount)}" for method, amount in store.conn.execute(
            "SELECT method, amount FROM sale_payment WHERE sale_id = ? ORDER BY idx", (sale_id,)))
        yield [receipt, when.date().isoformat(), when.strftime("%H:%M:%S"), device, actor, items, m(discount), m(tax),
               m(total), pays, m(change), int(voided), m(refunded), customer or ""]


def _events(store, *, lo: int, hi: int, **_) -> Iterator:
    yield ["event_id", "type", "store_id", "device_id", "seq", "hlc", "created_at", "actor", "v", "prev_hash", "hash",
           "payload", "sync_status"]
    from ..store.archive import archived_rows  # the archive is part of the history: exported first

    for r in archived_rows(store.conn):
        if lo <= r[6] < hi:
            yield (*r[:12], r[14])
    cur = store.conn.execute(
        "SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload, "
        "sync_status FROM event WHERE created_at >= ? AND created_at < ? ORDER BY id", (lo, hi))
    while rows := cur.fetchmany(2000):
        yield from rows
