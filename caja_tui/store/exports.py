"""The rows `caja export` streams (application.ports.ExportSource): read straight from cursors, so a long
history is written out as it is read and never sits in memory whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from .archive import archived_rows

_LIVE_PRODUCTS = (
    "FROM product p LEFT JOIN stock s ON s.product_id = p.id "
    "WHERE p.created_hlc > 0 AND p.deleted IS NULL ORDER BY p.sku"
)
_REFUNDED = "FROM refund_line f WHERE f.sale_id = s.id AND f.line_no = l.line_no"  # its index: (sale_id, line_no)


class ExportReads:
    """Mixed into SqliteStore, which provides `_conn`."""

    _conn: sqlite3.Connection

    def products_for_export(self) -> Iterator[tuple[str, str, str, int, int, int, str]]:
        """Live products by SKU: (sku, barcodes as JSON, name, price, tax rate, stock, category)."""
        return self._conn.execute(
            "SELECT p.sku, COALESCE(p.barcodes, '[]'), p.name, p.price, p.tax_rate, COALESCE(s.qty, 0), "
            "COALESCE(p.category, '') " + _LIVE_PRODUCTS
        )

    def stock_levels(self) -> Iterator[tuple[str, str, int]]:
        """Live products by SKU: (sku, name, stock)."""
        return self._conn.execute("SELECT p.sku, p.name, COALESCE(s.qty, 0) " + _LIVE_PRODUCTS)

    def sales_for_export(self, lo: int, hi: int) -> list[tuple[Any, ...]]:
        """Sales made in [lo, hi) ms, oldest first: (id, receipt_no, created_at, device_id, actor, discount, tax,
        total, change, customer_id, voided, refunded total, items)."""
        return self._conn.execute(
            "SELECT s.id, s.receipt_no, s.created_at, s.device_id, s.actor, s.discount, s.tax, s.total, s.change, "
            "s.customer_id, v.sale_id IS NOT NULL, COALESCE((SELECT SUM(total) FROM refund f WHERE f.sale_id = s.id), 0), "
            "(SELECT SUM(qty) FROM sale_line l WHERE l.sale_id = s.id) "
            "FROM sale s LEFT JOIN sale_void v ON v.sale_id = s.id WHERE s.created_at >= ? AND s.created_at < ? "
            "ORDER BY s.created_at, s.receipt_no",
            (lo, hi),
        ).fetchall()

    def sale_lines_for_export(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        """The lines of the sales made in [lo, hi) ms, oldest sale first, each sale's lines in order: (receipt_no,
        created_at, device_id, line_no, product_id, sku, name, qty, unit_price, tax_rate, discount, sale_discount,
        amount, tax, prices_include_tax, voided, refunded qty, refunded amount)."""
        cur = self._conn.execute(
            "SELECT s.receipt_no, s.created_at, s.device_id, l.line_no, l.product_id, l.sku, l.name, l.qty, "
            "l.unit_price, l.tax_rate, l.discount, l.sale_discount, l.amount, l.tax, s.prices_include_tax, "
            "v.sale_id IS NOT NULL, "
            f"COALESCE((SELECT SUM(qty) {_REFUNDED}), 0), COALESCE((SELECT SUM(amount) {_REFUNDED}), 0) "
            "FROM sale s JOIN sale_line l ON l.sale_id = s.id LEFT JOIN sale_void v ON v.sale_id = s.id "
            "WHERE s.created_at >= ? AND s.created_at < ? ORDER BY s.created_at, s.receipt_no, l.line_no",
            (lo, hi),
        )
        while rows := cur.fetchmany(2000):
            yield from rows

    def sale_payments(self, sale_id: str) -> Iterator[tuple[str, int]]:
        """(method, amount) of a sale's payments, in the order they were tendered."""
        return self._conn.execute("SELECT method, amount FROM sale_payment WHERE sale_id = ? ORDER BY idx", (sale_id,))

    def events_for_export(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
        """Events made in [lo, hi) ms, the archived ones first (the archive is part of the history), then the
        live ones in the order this till stored them: (event_id, type, store_id, device_id, seq, hlc, created_at,
        actor, v, prev_hash, hash, payload, sync_status)."""
        for r in archived_rows(self._conn):
            if lo <= r[6] < hi:
                yield (*r[:12], r[14])
        cur = self._conn.execute(
            "SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload, "
            "sync_status FROM event WHERE created_at >= ? AND created_at < ? ORDER BY id",
            (lo, hi),
        )
        while rows := cur.fetchmany(2000):
            yield from rows
