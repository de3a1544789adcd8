"""A transaction's sale queries: one sale as the till shows and refunds it (lines, payments, what was refunded,
its event's hash), and the saved carts."""

from __future__ import annotations

from typing import Any

import msgspec

from ..application.ports import PaymentView, SaleView
from ..domain.cart import Cart
from ..domain.events import SaleLine
from .reads import Reads


class SalesQueries(Reads):
    def sale(self, sale_id: str) -> SaleView | None:
        return self._sale("id = ?", sale_id)

    def sale_by_receipt(self, receipt_no: str) -> SaleView | None:
        return self._sale("receipt_no = ?", receipt_no.strip().upper())

    def _sale(self, where: str, value: str) -> SaleView | None:
        r = self._q(
            "SELECT id, receipt_no, event_id, device_id, session_id, created_at, actor, subtotal, discount, "
            f"tax, total, paid, change, prices_include_tax, customer_id FROM sale WHERE {where}",
            (value,),
        ).fetchone()
        if r is None:
            return None
        sale_id = r[0]
        lines = self._sale_lines(sale_id)
        payments = [
            PaymentView(method=x[0], amount=x[1], reference=x[2])
            for x in self._q(
                "SELECT method, amount, reference FROM sale_payment WHERE sale_id = ? ORDER BY idx", (sale_id,)
            )
        ]
        rq, ra, rt = self._refunded(sale_id)
        voided = self._q("SELECT 1 FROM sale_void WHERE sale_id = ?", (sale_id,)).fetchone() is not None
        return SaleView(
            id=sale_id,
            voided=voided,
            event_hash=self._event_hash(r[2]),
            receipt_no=r[1],
            event_id=r[2],
            device_id=r[3],
            session_id=r[4],
            created_at=r[5],
            actor=r[6],
            subtotal=r[7],
            discount=r[8],
            tax=r[9],
            total=r[10],
            paid=r[11],
            change=r[12],
            prices_include_tax=bool(r[13]),
            customer_id=r[14],
            lines=lines,
            payments=payments,
            refunded_qty=rq,
            refunded_amount=ra,
            refunded_tax=rt,
        )

    def _sale_lines(self, sale_id: str) -> list[SaleLine]:
        return [
            SaleLine(
                line_no=x[0],
                product_id=x[1],
                sku=x[2],
                name=x[3],
                qty=x[4],
                unit_price=x[5],
                tax_rate=x[6],
                discount=x[7],
                sale_discount=x[8],
                amount=x[9],
                tax=x[10],
            )
            for x in self._q(
                "SELECT line_no, product_id, sku, name, qty, unit_price, tax_rate, discount, "
                "sale_discount, amount, tax FROM sale_line WHERE sale_id = ? ORDER BY line_no",
                (sale_id,),
            )
        ]

    def _refunded(self, sale_id: str) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
        """What was refunded of a sale, by line number: (qty, amount, tax)."""
        rq, ra, rt = {}, {}, {}
        for line_no, q, a, t in self._q(
            "SELECT line_no, SUM(qty), SUM(amount), SUM(tax) FROM refund_line WHERE sale_id = ? GROUP BY line_no",
            (sale_id,),
        ):
            rq[line_no], ra[line_no], rt[line_no] = q, a, t
        return rq, ra, rt

    def _event_hash(self, event_id: str) -> str:
        """The hash of a sale's event, here or (an archived sale) in the archive's index."""
        digest = self._q("SELECT hash FROM event WHERE event_id = ?", (event_id,)).fetchone()
        if digest is None:  # an archived sale
            from .archive import archived_hash

            digest = (archived_hash(self._conn, event_id),)
        return digest[0] or ""

    def drafts(self, prefix: str) -> list[tuple[str, Cart, int]]:
        """Saved carts whose slot starts with `prefix`: (slot, cart, updated_at), oldest first."""
        rows = self._q(
            "SELECT slot, cart, updated_at FROM draft_cart WHERE slot LIKE ? ORDER BY updated_at, slot",
            (prefix.replace("%", "") + "%",),
        ).fetchall()
        return [(slot, msgspec.json.decode(cart, type=Cart), at) for slot, cart, at in rows]
