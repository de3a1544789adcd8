"""Writes one folded batch (fold.Batch) into the read models of one store, with upserts that add (so the
order of batches does not matter) and last-writer-wins or newest-count-wins conditions where sums do not fit.

`pr` is the projector (projector.py): its `sql`/`rows`/`many` helpers, bound to the live or shadow tables.
"""

from __future__ import annotations

import json
from typing import Any

from .fold import Batch

CATALOGUE_FIELDS = ("sku", "name", "price", "deleted")
CATALOGUE_DEFAULTS: dict[str, Any] = {"sku": "", "name": "", "price": 0, "deleted": 0, "hlc": 0}


class Writer:
    def __init__(self, pr: Any, store_id: str) -> None:
        self.pr = pr
        self.store = store_id

    def write(self, b: Batch) -> None:
        s, many = self.store, self.pr.many
        many(
            "INSERT INTO {p}sales_hour (store_id, hour, sales, amount, refunds) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (store_id, hour) DO UPDATE SET sales = {p}sales_hour.sales + excluded.sales, "
            "amount = {p}sales_hour.amount + excluded.amount, refunds = {p}sales_hour.refunds + excluded.refunds",
            [(s, hour, *v) for hour, v in b.hours.items()],
        )
        many(
            "INSERT INTO {p}product_day (store_id, day, product_id, qty, amount) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (store_id, day, product_id) DO UPDATE SET qty = {p}product_day.qty + excluded.qty, "
            "amount = {p}product_day.amount + excluded.amount",
            [(s, day, product, *v) for (day, product), v in b.products.items()],
        )
        many(
            "INSERT INTO {p}method_day (store_id, day, method, payments, amount) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (store_id, day, method) DO UPDATE SET payments = {p}method_day.payments + excluded.payments, "
            "amount = {p}method_day.amount + excluded.amount",
            [(s, day, method, *v) for (day, method), v in b.methods.items()],
        )
        many(
            "INSERT INTO {p}sale (store_id, sale_id, server_seq, voided) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (store_id, sale_id) DO UPDATE SET server_seq = COALESCE({p}sale.server_seq, excluded.server_seq), "
            "voided = CASE WHEN excluded.voided > {p}sale.voided THEN excluded.voided ELSE {p}sale.voided END",
            [(s, sale_id, seq, voided) for sale_id, (seq, voided) in b.sales.items()],
        )
        many(
            "INSERT INTO {p}product (store_id, product_id, name, name_hlc, qty, count_hlc, count_qty) "
            "VALUES (?, ?, ?, ?, 0, -1, 0) "
            "ON CONFLICT (store_id, product_id) DO UPDATE SET name = excluded.name, name_hlc = excluded.name_hlc "
            "WHERE {p}product.name_hlc < excluded.name_hlc",
            [(s, product, name, hlc) for product, (name, hlc) in b.names.items()],
        )
        self._stock(b)
        self._catalogue(b)
        self._settings(b)
        many(
            "INSERT INTO {p}z_report (store_id, event_id, device_id, session_id, z_number, closed_at, counted, "
            "expected, difference, net_sales) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, event_id) DO NOTHING",
            [(s, *z) for z in b.zreports],
        )
        many(
            "INSERT INTO {p}resolved (store_id, event_id) VALUES (?, ?) ON CONFLICT (store_id, event_id) DO NOTHING",
            [(s, event_id) for event_id in sorted(b.resolved)],
        )

    def _catalogue(self, b: Batch) -> None:
        """Each product's fields merged with the row held, field by field, the newer stamp winning."""
        if not b.catalogue:
            return
        held: dict[str, dict[str, tuple[str, Any]]] = {}
        keys = sorted(b.catalogue)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            for product, sku, sku_st, name, name_st, price, price_st, deleted, deleted_st, hlc in self.pr.rows(
                "SELECT product_id, sku, sku_st, name, name_st, price, price_st, deleted, deleted_st, hlc FROM "
                f"{{p}}catalogue WHERE store_id = ? AND product_id IN ({','.join('?' * len(chunk))})",
                (self.store, *chunk),
            ):
                held[product] = {
                    "sku": (sku_st, sku),
                    "name": (name_st, name),
                    "price": (price_st, price),
                    "deleted": (deleted_st, deleted),
                    "hlc": ("", hlc),
                }
        rows = []
        for product, fields in b.catalogue.items():
            row = held.get(product, {f: ("", d) for f, d in CATALOGUE_DEFAULTS.items()})
            for name, (st, value) in fields.items():
                if st > row[name][0]:
                    row[name] = (st, value)
            hlc = max(int(row["hlc"][1]), b.product_hlc.get(product, 0))
            rows.append((self.store, product, *(x for f in CATALOGUE_FIELDS for x in (row[f][1], row[f][0])), hlc))
        self.pr.many(
            "INSERT INTO {p}catalogue (store_id, product_id, sku, sku_st, name, name_st, price, price_st, deleted, "
            "deleted_st, hlc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, product_id) DO UPDATE "
            "SET sku = excluded.sku, sku_st = excluded.sku_st, name = excluded.name, name_st = excluded.name_st, "
            "price = excluded.price, price_st = excluded.price_st, deleted = excluded.deleted, "
            "deleted_st = excluded.deleted_st, hlc = excluded.hlc",
            rows,
        )

    def _settings(self, b: Batch) -> None:
        self.pr.many(
            "INSERT INTO {p}setting (store_id, field, value, stamp, actor) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (store_id, field) DO UPDATE SET value = excluded.value, stamp = excluded.stamp, "
            "actor = excluded.actor WHERE {p}setting.stamp < excluded.stamp",
            [(self.store, f, json.dumps(v), st, actor) for f, (st, v, actor) in sorted(b.settings.items())],
        )

    def _stock(self, b: Batch) -> None:
        """Movements first (each counts unless older than the product's count held), then counts newer than the
        one held, which recompute from the movements after them and drop the older ones."""
        s, many = self.store, self.pr.many
        held = self._count_hlcs({m[0] for m in b.moves})
        kept = [m for m in b.moves if m[1] > held.get(m[0], -1)]
        many(
            "INSERT INTO {p}stock_move (store_id, product_id, hlc, delta) VALUES (?, ?, ?, ?)", [(s, *m) for m in kept]
        )
        sums: dict[str, int] = {}
        for product, _, delta in kept:
            sums[product] = sums.get(product, 0) + delta
        many(
            "INSERT INTO {p}product (store_id, product_id, name, name_hlc, qty, count_hlc, count_qty) "
            "VALUES (?, ?, '', -1, ?, -1, 0) ON CONFLICT (store_id, product_id) "
            "DO UPDATE SET qty = {p}product.qty + excluded.qty",
            [(s, product, delta) for product, delta in sums.items()],
        )
        for product, (hlc, counted) in b.counts.items():
            if held.get(product, -1) >= hlc:
                continue
            self.pr.many(
                "DELETE FROM {p}stock_move WHERE store_id = ? AND product_id = ? AND hlc <= ?", [(s, product, hlc)]
            )
            after = self.pr.rows(
                "SELECT COALESCE(SUM(delta), 0) FROM {p}stock_move WHERE store_id = ? AND product_id = ? AND hlc > ?",
                (s, product, hlc),
            )[0][0]
            many(
                "INSERT INTO {p}product (store_id, product_id, name, name_hlc, qty, count_hlc, count_qty) "
                "VALUES (?, ?, '', -1, ?, ?, ?) "
                "ON CONFLICT (store_id, product_id) DO UPDATE SET qty = excluded.qty, count_hlc = excluded.count_hlc, "
                "count_qty = excluded.count_qty",
                [(s, product, counted + int(after), hlc, counted)],
            )

    def _count_hlcs(self, products: set[str]) -> dict[str, int]:
        """The hlc of the count each of these products holds (absent: never counted)."""
        out: dict[str, int] = {}
        keys = sorted(products)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            out.update(
                self.pr.rows(
                    f"SELECT product_id, count_hlc FROM {{p}}product WHERE store_id = ? AND count_hlc >= 0 "
                    f"AND product_id IN ({','.join('?' * len(chunk))})",
                    (self.store, *chunk),
                )
            )
        return out
