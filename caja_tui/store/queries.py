"""The read side of a store transaction: read-model queries shared by write and read transactions.

Mixed into SqliteTx (store/tx.py), which provides `_q` (flushing what the transaction emitted before it reads),
`_conn` and `store`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

from ..application.ports import CashSummary, PaymentView, ProductView, SaleView, SessionView, UserView
from ..domain import rules
from ..domain.cart import Cart
from ..domain.events import Event, SaleLine, decode_payload


class Queries:
    _conn: sqlite3.Connection
    store: Any

    def _q(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        raise NotImplementedError

    _PRODUCT_COLS = (
        "SELECT p.id, p.sku, p.name, p.price, p.tax_rate, COALESCE(p.barcodes, '[]'), "
        "COALESCE(p.category, ''), COALESCE(s.qty, 0), p.updated_hlc, p.deleted IS NOT NULL "
        "FROM product p LEFT JOIN stock s ON s.product_id = p.id "
    )
    _LIVE = "p.created_hlc > 0 AND p.deleted IS NULL"

    @staticmethod
    def _product_view(r: Sequence[Any]) -> ProductView:
        return ProductView(
            id=r[0],
            sku=r[1],
            name=r[2],
            price=r[3],
            tax_rate=r[4],
            barcodes=msgspec.json.decode(r[5]),
            category=r[6],
            stock=r[7],
            updated_hlc=r[8],
            deleted=bool(r[9]),
        )

    def product(self, product_id: str) -> ProductView | None:
        r = self._q(self._PRODUCT_COLS + "WHERE p.id = ? AND p.created_hlc > 0", (product_id,)).fetchone()
        return self._product_view(r) if r else None

    def product_by_code(self, code: str) -> ProductView | None:
        """A scanned or typed code: a barcode first (what scanners send), then a SKU."""
        r = self._q(
            self._PRODUCT_COLS + f"JOIN barcode b ON b.product_id = p.id WHERE b.code = ? AND {self._LIVE} "
            "ORDER BY p.updated_hlc DESC LIMIT 1",
            (code,),
        ).fetchone()
        if r is None:
            r = self._q(
                self._PRODUCT_COLS + f"WHERE p.sku = ? AND {self._LIVE} ORDER BY p.updated_hlc DESC LIMIT 1", (code,)
            ).fetchone()
        return self._product_view(r) if r else None

    def search_products(
        self, text: str, limit: int = 50, offset: int = 0, *, max_stock: int | None = None
    ) -> list[ProductView]:
        """Live products whose name, SKU or category contains `text` (or a barcode equal to it), by name;
        with `max_stock`, only those with at most that many in stock (the low-stock list)."""
        text = text.strip()
        like = f"%{text}%"
        low = "" if max_stock is None else " AND COALESCE(s.qty, 0) <= ?"
        args: tuple[Any, ...] = (like, like, like, text) + (() if max_stock is None else (max_stock,))
        rows = self._q(
            self._PRODUCT_COLS + f"WHERE {self._LIVE} AND (p.name LIKE ? OR p.sku LIKE ? OR "
            "p.category LIKE ? OR p.id IN (SELECT product_id FROM barcode WHERE code = ?))"
            f"{low} ORDER BY p.name COLLATE NOCASE LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return [self._product_view(r) for r in rows]

    def products_using(self, skus: Sequence[str], barcodes: Sequence[str]) -> dict[str, str]:
        """Which of these SKUs and barcodes live products already use: {sku or barcode: product_id}."""
        used: dict[str, str] = {}
        for chunk in _chunks(list(skus), 500):
            marks = ",".join("?" * len(chunk))
            for code, pid in self._q(
                f"SELECT p.sku, p.id FROM product p WHERE p.sku IN ({marks}) AND {self._LIVE}", chunk
            ):
                used[code] = pid
        for chunk in _chunks(list(barcodes), 500):
            marks = ",".join("?" * len(chunk))
            for code, pid in self._q(
                f"SELECT b.code, p.id FROM barcode b JOIN product p ON p.id = b.product_id "
                f"WHERE b.code IN ({marks}) AND {self._LIVE}",
                chunk,
            ):
                used[code] = pid
        return used

    def count_products(self) -> int:
        return self._q(f"SELECT COUNT(*) FROM product p WHERE {self._LIVE}").fetchone()[0]

    def stock_of(self, product_id: str) -> int:
        r = self._q("SELECT qty FROM stock WHERE product_id = ?", (product_id,)).fetchone()
        return r[0] if r else 0

    _SESSION_COLS = (
        "SELECT id, device_id, opening_float, opened_at, opened_by, closed_at, counted, expected, "
        "difference, z_number, net_sales, grand_total FROM cash_session "
    )

    @staticmethod
    def _session_view(r: Sequence[Any]) -> SessionView:
        return SessionView(
            id=r[0],
            device_id=r[1],
            opening_float=r[2],
            opened_at=r[3],
            opened_by=r[4],
            closed_at=r[5],
            counted=r[6],
            expected=r[7],
            difference=r[8],
            z_number=r[9],
            net_sales=r[10],
            grand_total=r[11],
        )

    def report_data(self, *, session_id: str | None = None, start_ms: int | None = None, end_ms: int | None = None):
        """The rows a report folds: a session's (by session id), or a time range's (by created_at)."""
        from ..application import reports as r

        if session_id is not None:
            sale_where, refund_where, params = "s.session_id = ?", "f.session_id = ?", (session_id,)
        else:
            sale_where, refund_where, params = (
                "s.created_at >= ? AND s.created_at < ?",
                "f.created_at >= ? AND f.created_at < ?",
                (start_ms, end_ms),
            )
        sales = [
            r.SaleRow(*row[:8], voided=bool(row[8]))
            for row in self._q(
                "SELECT s.id, s.receipt_no, s.created_at, s.actor, s.total, s.discount, s.change, s.prices_include_tax, "
                f"v.sale_id IS NOT NULL FROM sale s LEFT JOIN sale_void v ON v.sale_id = s.id WHERE {sale_where}",
                params,
            )
        ]
        lines = [
            r.LineRow(*row)
            for row in self._q(
                "SELECT l.sale_id, l.product_id, l.sku, l.name, l.qty, l.amount, l.tax, l.tax_rate, l.discount "
                f"FROM sale_line l JOIN sale s ON s.id = l.sale_id WHERE {sale_where}",
                params,
            )
        ]
        payments = [
            r.PaymentRow(*row)
            for row in self._q(
                f"SELECT p.sale_id, p.method, p.amount FROM sale_payment p JOIN sale s ON s.id = p.sale_id "
                f"WHERE {sale_where}",
                params,
            )
        ]
        refunds = [
            r.RefundRow(*row)
            for row in self._q(
                f"SELECT f.id, f.sale_id, f.created_at, f.actor, f.total, f.method FROM refund f WHERE {refund_where}",
                params,
            )
        ]
        refund_lines = [
            r.RefundLineRow(*row)
            for row in self._q(
                "SELECT rl.refund_id, rl.product_id, rl.qty, rl.amount, rl.tax, COALESCE(sl.tax_rate, 0) "
                "FROM refund_line rl JOIN refund f ON f.id = rl.refund_id "
                "LEFT JOIN sale_line sl ON sl.sale_id = rl.sale_id AND sl.line_no = rl.line_no "
                f"WHERE {refund_where}",
                params,
            )
        ]
        paid_in = paid_out = 0
        if session_id is not None:
            moves = dict(
                self._q(
                    "SELECT kind, SUM(amount) FROM cash_movement WHERE session_id = ? GROUP BY kind", (session_id,)
                ).fetchall()
            )
            paid_in, paid_out = moves.get("in", 0), moves.get("out", 0)
        return r.ReportData(
            sales=sales,
            lines=lines,
            payments=payments,
            refunds=refunds,
            refund_lines=refund_lines,
            paid_in=paid_in,
            paid_out=paid_out,
        )

    def last_z(self) -> tuple[int, int]:
        """This till's last Z number and perpetual grand total (0, 0 before its first Z)."""
        r = self._q(
            "SELECT z_number, grand_total FROM cash_session WHERE device_id = ? AND z_number IS NOT NULL "
            "ORDER BY z_number DESC LIMIT 1",
            (self.store.device_id,),
        ).fetchone()
        return (r[0], r[1] or 0) if r else (0, 0)

    def sessions(self, limit: int = 50) -> list[SessionView]:
        rows = self._q(
            self._SESSION_COLS + "WHERE device_id = ? ORDER BY opened_at DESC LIMIT ?", (self.store.device_id, limit)
        ).fetchall()
        return [self._session_view(r) for r in rows]

    def session_by_z(self, z_number: int) -> SessionView | None:
        r = self._q(
            self._SESSION_COLS + "WHERE device_id = ? AND z_number = ?", (self.store.device_id, z_number)
        ).fetchone()
        return self._session_view(r) if r else None

    def open_session(self) -> SessionView | None:
        r = self._q(
            self._SESSION_COLS + "WHERE device_id = ? AND opened_at IS NOT NULL AND closed_at IS NULL "
            "ORDER BY opened_at DESC LIMIT 1",
            (self.store.device_id,),
        ).fetchone()
        return self._session_view(r) if r else None

    def session(self, session_id: str) -> SessionView | None:
        r = self._q(self._SESSION_COLS + "WHERE id = ?", (session_id,)).fetchone()
        return self._session_view(r) if r else None

    def cash_summary(self, session_id: str) -> CashSummary:
        session = self.session(session_id)
        opening = session.opening_float if session else 0
        not_voided = "AND s.id NOT IN (SELECT sale_id FROM sale_void)"
        count, total, change = self._q(
            "SELECT COUNT(*), COALESCE(SUM(total), 0), COALESCE(SUM(change), 0) "
            f"FROM sale s WHERE s.session_id = ? {not_voided}",
            (session_id,),
        ).fetchone()
        voids = self._q("SELECT COUNT(*) FROM sale_void WHERE session_id = ?", (session_id,)).fetchone()[0]
        by_method = dict(
            self._q(
                "SELECT p.method, SUM(p.amount) FROM sale_payment p JOIN sale s ON s.id = p.sale_id "
                f"WHERE s.session_id = ? {not_voided} GROUP BY p.method",
                (session_id,),
            ).fetchall()
        )
        refunds = dict(
            self._q(
                "SELECT method, SUM(total) FROM refund WHERE session_id = ? GROUP BY method", (session_id,)
            ).fetchall()
        )
        moves = dict(
            self._q(
                "SELECT kind, SUM(amount) FROM cash_movement WHERE session_id = ? GROUP BY kind", (session_id,)
            ).fetchall()
        )
        cash_taken = by_method.get("cash", 0)
        paid_in, paid_out = moves.get("in", 0), moves.get("out", 0)
        return CashSummary(
            session_id=session_id,
            opening_float=opening,
            sales_count=count,
            voids_count=voids,
            sales_total=total,
            cash_taken=cash_taken,
            change_given=change,
            cash_refunded=refunds.get("cash", 0),
            paid_in=paid_in,
            paid_out=paid_out,
            card_total=by_method.get("card", 0),
            other_total=by_method.get("other", 0),
            refunds_total=sum(refunds.values()),
            expected=rules.expected_cash(opening, cash_taken, change, refunds.get("cash", 0), paid_in, paid_out),
        )

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
        lines = [
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
        payments = [
            PaymentView(method=x[0], amount=x[1], reference=x[2])
            for x in self._q(
                "SELECT method, amount, reference FROM sale_payment WHERE sale_id = ? ORDER BY idx", (sale_id,)
            )
        ]
        rq, ra, rt = {}, {}, {}
        for line_no, q, a, t in self._q(
            "SELECT line_no, SUM(qty), SUM(amount), SUM(tax) FROM refund_line WHERE sale_id = ? GROUP BY line_no",
            (sale_id,),
        ):
            rq[line_no], ra[line_no], rt[line_no] = q, a, t
        voided = self._q("SELECT 1 FROM sale_void WHERE sale_id = ?", (sale_id,)).fetchone() is not None
        digest = self._q("SELECT hash FROM event WHERE event_id = ?", (r[2],)).fetchone()
        if digest is None:  # an archived sale
            from .archive import archived_hash

            digest = (archived_hash(self._conn, r[2]),)
        return SaleView(
            id=sale_id,
            voided=voided,
            event_hash=digest[0] or "",
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

    _USER_COLS = "SELECT id, name, role, pin_hash, active, updated_hlc FROM user "

    @staticmethod
    def _user_view(r: Sequence[Any]) -> UserView:
        return UserView(id=r[0], name=r[1], role=r[2], pin_hash=r[3], active=bool(r[4]), updated_hlc=r[5])

    def user(self, user_id: str) -> UserView | None:
        r = self._q(self._USER_COLS + "WHERE id = ? AND created_hlc > 0", (user_id,)).fetchone()
        return self._user_view(r) if r else None

    def users(self, *, active_only: bool = True) -> list[UserView]:
        cond = "AND active = 1" if active_only else ""
        rows = self._q(self._USER_COLS + f"WHERE created_hlc > 0 {cond} ORDER BY name COLLATE NOCASE").fetchall()
        return [self._user_view(r) for r in rows]

    _CUSTOMER_COLS = (
        "SELECT id, name, COALESCE(tax_id, ''), COALESCE(phone, ''), COALESCE(email, ''), updated_hlc FROM customer "
    )

    @staticmethod
    def _customer(r: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(("id", "name", "tax_id", "phone", "email", "updated_hlc"), r, strict=True))

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        r = self._q(self._CUSTOMER_COLS + "WHERE id = ? AND created_hlc > 0", (customer_id,)).fetchone()
        return self._customer(r) if r else None

    def find_customers(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        like = f"%{text.strip()}%"
        return [
            self._customer(r)
            for r in self._q(
                self._CUSTOMER_COLS
                + "WHERE created_hlc > 0 AND (name LIKE ? OR tax_id LIKE ? OR phone LIKE ? OR email LIKE ?) "
                "ORDER BY name COLLATE NOCASE LIMIT ?",
                (like, like, like, like, limit),
            )
        ]

    def sales_of_customer(self, customer_id: str, limit: int = 200) -> list[tuple[str, int, int]]:
        """(receipt_no, created_at, total) of a customer's sales, newest first."""
        return self._q(
            "SELECT receipt_no, created_at, total FROM sale WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
            (customer_id, limit),
        ).fetchall()

    def count_users(self) -> int:
        return self._q("SELECT COUNT(*) FROM user WHERE created_hlc > 0").fetchone()[0]

    def sync_conflict(self, event_id: str) -> dict[str, Any] | None:
        r = self._q(
            "SELECT event_id, conflict_with, resolution, type, aggregate, resolved_at FROM sync_conflict "
            "WHERE event_id = ?",
            (event_id,),
        ).fetchone()
        return (
            None
            if r is None
            else dict(
                zip(("event_id", "conflict_with", "resolution", "type", "aggregate", "resolved_at"), r, strict=True)
            )
        )

    def mark_conflict_resolved(self, event_id: str, actor: str, outcome: str) -> None:
        self._conn.execute(
            "UPDATE sync_conflict SET resolved_at = ?, resolved_by = ?, outcome = ? WHERE event_id = ?",
            (self.store.wall(), actor, outcome, event_id),
        )

    def drafts(self, prefix: str) -> list[tuple[str, Cart, int]]:
        """Saved carts whose slot starts with `prefix`: (slot, cart, updated_at), oldest first."""
        rows = self._q(
            "SELECT slot, cart, updated_at FROM draft_cart WHERE slot LIKE ? ORDER BY updated_at, slot",
            (prefix.replace("%", "") + "%",),
        ).fetchall()
        return [(slot, msgspec.json.decode(cart, type=Cart), at) for slot, cart, at in rows]

    def failed_events(self, limit: int = 100) -> list[tuple[int, str, str]]:
        """(seq, type, reason) of this till's events the server refused, oldest first."""
        return self._q(
            "SELECT seq, type, COALESCE(sync_error, '') FROM event WHERE sync_status = 'failed' ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()

    def event_types(self) -> list[str]:
        return [r[0] for r in self._q("SELECT DISTINCT type FROM event ORDER BY type")]

    def event_log(
        self,
        *,
        type_prefix: str = "",
        actor: str = "",
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """The audit log, newest first (in the order this till stored the events: the rowid, so the newest
        page comes at once from a million events): (created_at, device_id, seq, type, actor, sync_status,
        hash, payload)."""
        where, args = ["1=1"], []
        if type_prefix:
            where.append("type LIKE ?")
            args.append(type_prefix.replace("%", "") + "%")
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if start_ms is not None:
            where.append("created_at >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("created_at < ?")
            args.append(end_ms)
        return self._q(
            f"SELECT created_at, device_id, seq, type, actor, sync_status, hash, payload FROM event "
            f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()

    def local_event(self, event_id: str) -> Event | None:
        r = self._q(
            "SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, "
            "payload FROM event WHERE event_id = ?",
            (event_id,),
        ).fetchone()
        if r is None:
            return None
        return Event(
            event_id=r[0],
            type=r[1],
            store_id=r[2],
            device_id=r[3],
            seq=r[4],
            hlc=r[5],
            created_at=r[6],
            actor=r[7],
            v=r[8],
            prev_hash=r[9],
            hash=r[10],
            payload=decode_payload(r[1], r[8], r[11]),
        )


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
