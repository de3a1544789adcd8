"""A transaction's cash and report queries: cash sessions and their Z, the drawer's summary, a report's rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..application.ports import CashSummary, SessionView
from ..domain import rules
from .reads import Reads


def cash_summary_of(
    session_id: str,
    opening: int,
    *,
    count: int,
    voids: int,
    total: int,
    change: int,
    by_method: Mapping[str, int],
    refunds: Mapping[str, int],
    paid_in: int,
    paid_out: int,
) -> CashSummary:
    """A session's drawer summary from its sums: payments and refunds by method, paid in and out.
    (The in-memory fake of the ports, tests/unit/fakes.py, sums its dicts and calls it too.)"""
    cash_taken = by_method.get("cash", 0)
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


class CashQueries(Reads):
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
        lines = self._each(
            r.LineRow,
            "SELECT l.sale_id, l.product_id, l.sku, l.name, l.qty, l.amount, l.tax, l.tax_rate, l.discount "
            f"FROM sale_line l JOIN sale s ON s.id = l.sale_id WHERE {sale_where}",
            params,
        )
        payments = self._each(
            r.PaymentRow,
            f"SELECT p.sale_id, p.method, p.amount FROM sale_payment p JOIN sale s ON s.id = p.sale_id WHERE {sale_where}",
            params,
        )
        refunds = self._each(
            r.RefundRow,
            f"SELECT f.id, f.sale_id, f.created_at, f.actor, f.total, f.method FROM refund f WHERE {refund_where}",
            params,
        )
        refund_lines = self._each(
            r.RefundLineRow,
            "SELECT rl.refund_id, rl.product_id, rl.qty, rl.amount, rl.tax, COALESCE(sl.tax_rate, 0) "
            "FROM refund_line rl JOIN refund f ON f.id = rl.refund_id "
            "LEFT JOIN sale_line sl ON sl.sale_id = rl.sale_id AND sl.line_no = rl.line_no "
            f"WHERE {refund_where}",
            params,
        )
        paid_in, paid_out = self._paid_in_out(session_id) if session_id is not None else (0, 0)
        return r.ReportData(
            sales=sales,
            lines=lines,
            payments=payments,
            refunds=refunds,
            refund_lines=refund_lines,
            paid_in=paid_in,
            paid_out=paid_out,
        )

    def _each(self, row_type: Any, sql: str, params: Sequence[Any]) -> list[Any]:
        return [row_type(*row) for row in self._q(sql, params)]

    def _paid_in_out(self, session_id: str) -> tuple[int, int]:
        """The cash paid into and out of a session's drawer (not sales)."""
        moves = dict(
            self._q(
                "SELECT kind, SUM(amount) FROM cash_movement WHERE session_id = ? GROUP BY kind", (session_id,)
            ).fetchall()
        )
        return moves.get("in", 0), moves.get("out", 0)

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
        paid_in, paid_out = self._paid_in_out(session_id)
        return cash_summary_of(
            session_id,
            opening,
            count=count,
            voids=voids,
            total=total,
            change=change,
            by_method=by_method,
            refunds=refunds,
            paid_in=paid_in,
            paid_out=paid_out,
        )
