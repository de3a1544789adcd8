"""Writes one folded batch (fold.Batch) into the read models of one store, with upserts that add (so the
order of batches does not matter) and last-writer-wins or newest-count-wins conditions where sums do not fit.

`pr` is the projector (projector.py): its `sql`/`rows`/`many` helpers, bound to the live or shadow tables.
"""

from __future__ import annotations

from typing import Any

from .fold import Batch


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
        many(
            "INSERT INTO {p}z_report (store_id, event_id, device_id, session_id, z_number, closed_at, counted, "
            "expected, difference, net_sales) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, event_id) DO NOTHING",
            [(s, *z) for z in b.zreports],
        )
        many(
            "INSERT INTO {p}resolved (store_id, event_id) VALUES (?, ?) ON CONFLICT (store_id, event_id) DO NOTHING",
            [(s, event_id) for event_id in sorted(b.resolved)],
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
