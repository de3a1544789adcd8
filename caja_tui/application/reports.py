"""Reports: X (the open session so far), Z (a closed session, with its Z number and the perpetual grand total)
and the day (by hour, payment method, tax rate, product, cashier).

The figures are built in report_figures.py and rendered in report_render.py; this module reads the rows and
re-exports both, so callers keep writing `reports.z_report(...)`, `reports.render(...)`, `reports.SaleRow`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from ..domain.errors import DomainError
from .report_figures import (
    CashierRow,
    HourRow,
    LineRow,
    PaymentRow,
    ProductRow,
    RefundLineRow,
    RefundRow,
    Report,
    ReportData,
    SaleRow,
    TaxRow,
    build,
    check_consistent,
)
from .report_render import TEXT_LABELS, render


def day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[int, int]:
    start = dt.datetime.combine(day, dt.time(0), tz)
    end = start + dt.timedelta(days=1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def zone(name: str) -> dt.tzinfo:
    if not name:
        return dt.datetime.now().astimezone().tzinfo or dt.UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise DomainError(
            "BAD_TIMEZONE", "unknown time zone '{name}' (use a name like America/Mexico_City)", name=name
        ) from exc


# --- the use cases --------------------------------------------------------------------------------------------


def x_report(store, *, currency: str, exponent: int, tz: dt.tzinfo) -> Report:
    """The open session so far (no side effects)."""
    with store.read() as tx:
        session = tx.open_session()
        if session is None:
            raise DomainError("NO_SESSION", "no cash session is open: nothing to report (see the Z reports)")
        data = tx.report_data(session_id=session.id)
        summary = tx.cash_summary(session.id)
    r = build("x", data, title=f"X REPORT {store.device_id}", currency=currency, exponent=exponent, tz=tz)
    r.opening_float, r.cash_expected = summary.opening_float, summary.expected
    return r


def z_report(store, z_number: int | None = None, *, currency: str, exponent: int, tz: dt.tzinfo) -> Report:
    """A closed session's Z report (the last one by default); closing the session is `close_session`."""
    with store.read() as tx:
        if z_number is None:
            z_number = tx.last_z()[0]
            if not z_number:
                raise DomainError("NO_Z", "this till has not closed a session yet: there is no Z report")
        session = tx.session_by_z(z_number)
        if session is None:
            raise DomainError("NO_Z", "this till has no Z number {z_number}", z_number=z_number)
        data = tx.report_data(session_id=session.id)
    r = build("z", data, title=f"Z REPORT {store.device_id} #{z_number}", currency=currency, exponent=exponent, tz=tz)
    r.opening_float, r.cash_expected = session.opening_float, session.expected
    r.cash_counted, r.cash_difference = session.counted, session.difference
    r.z_number, r.grand_total = z_number, session.grand_total
    return r


def day_report(store, day: dt.date, *, currency: str, exponent: int, tz: dt.tzinfo) -> Report:
    """Every till's sales of one calendar day in the shop's time zone (what this till knows of them)."""
    start, end = day_bounds(day, tz)
    with store.read() as tx:
        data = tx.report_data(start_ms=start, end_ms=end)
    return build("day", data, title=f"DAY {day.isoformat()}", currency=currency, exponent=exponent, tz=tz)


__all__: Sequence[str] = [
    "Report",
    "ReportData",
    "SaleRow",
    "LineRow",
    "PaymentRow",
    "RefundRow",
    "RefundLineRow",
    "TaxRow",
    "ProductRow",
    "CashierRow",
    "HourRow",
    "TEXT_LABELS",
    "build",
    "render",
    "day_bounds",
    "zone",
    "check_consistent",
    "x_report",
    "z_report",
    "day_report",
]
