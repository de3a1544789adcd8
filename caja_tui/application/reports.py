"""Reports as pure functions over read-model rows: X (the open session so far), Z (a closed session, with its
Z number and the perpetual grand total) and the day (by hour, payment method, tax rate, product, cashier).

Every figure is integer minor units. The totals agree with each other by construction: net sales = sum by
payment method (cash net of change, less refunds by their method) = sum by tax rate (tax included).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Struct

from ..domain import money
from ..domain.errors import DomainError


class SaleRow(Struct, frozen=True):
    id: str
    receipt_no: str
    created_at: int
    actor: str
    total: int
    discount: int
    change: int
    prices_include_tax: bool
    voided: bool


class LineRow(Struct, frozen=True):
    sale_id: str
    product_id: str
    sku: str
    name: str
    qty: int
    amount: int
    tax: int
    tax_rate: int
    discount: int  # the line's own discount (its share of a sale discount is in the sale's)


class PaymentRow(Struct, frozen=True):
    sale_id: str
    method: str
    amount: int


class RefundRow(Struct, frozen=True):
    id: str
    sale_id: str
    created_at: int
    actor: str
    total: int
    method: str


class RefundLineRow(Struct, frozen=True):
    refund_id: str
    product_id: str
    qty: int
    amount: int
    tax: int
    tax_rate: int


class ReportData(Struct, frozen=True):
    sales: list[SaleRow]
    lines: list[LineRow]
    payments: list[PaymentRow]
    refunds: list[RefundRow]
    refund_lines: list[RefundLineRow]
    paid_in: int = 0
    paid_out: int = 0


class TaxRow(Struct, frozen=True):
    rate: int  # basis points
    total: int  # tax included
    tax: int


class ProductRow(Struct, frozen=True):
    sku: str
    name: str
    qty: int
    total: int


class CashierRow(Struct, frozen=True):
    actor: str
    sales: int
    total: int


class HourRow(Struct, frozen=True):
    hour: int
    sales: int
    total: int


class Report(Struct, kw_only=True):
    kind: Literal["x", "z", "day"]
    title: str
    currency: str
    exponent: int
    sales_count: int
    gross: int  # sales, tax included, voids excluded
    discounts: int
    refunds_count: int
    refunds_total: int
    voids_count: int
    voids_total: int
    net: int  # gross - refunds
    by_method: dict[str, int]
    by_tax_rate: list[TaxRow]
    by_hour: list[HourRow]
    top_products: list[ProductRow]
    by_cashier: list[CashierRow]
    opening_float: int | None = None
    paid_in: int = 0
    paid_out: int = 0
    cash_expected: int | None = None
    cash_counted: int | None = None
    cash_difference: int | None = None
    z_number: int | None = None
    grand_total: int | None = None


def _by_method(data: ReportData, sold: list[SaleRow], live: set[str]) -> dict[str, int]:
    """Money in by payment method: cash net of change, less refunds by their method."""
    by_method: dict[str, int] = {}
    change = {s.id: s.change for s in sold}
    for p in data.payments:
        if p.sale_id in live:
            by_method[p.method] = by_method.get(p.method, 0) + p.amount
    by_method["cash"] = by_method.get("cash", 0) - sum(change.values())
    for r in data.refunds:
        by_method[r.method] = by_method.get(r.method, 0) - r.total
    return {m: v for m, v in sorted(by_method.items()) if v or m == "cash"}


def _by_rate_and_product(
    data: ReportData, sold: list[SaleRow], live: set[str]
) -> tuple[list[TaxRow], list[ProductRow]]:
    """Totals (tax included) and tax by rate, and quantity and total by product, less refunds; products in no
    particular order (the caller ranks them)."""
    include = {s.id: s.prices_include_tax for s in sold}
    rates: dict[int, list[int]] = {}
    products: dict[str, list] = {}
    for ln in data.lines:
        if ln.sale_id not in live:
            continue
        total = ln.amount if include[ln.sale_id] else ln.amount + ln.tax
        acc = rates.setdefault(ln.tax_rate, [0, 0])
        acc[0] += total
        acc[1] += ln.tax
        prod = products.setdefault(ln.product_id, [ln.sku, ln.name, 0, 0])
        prod[2] += ln.qty
        prod[3] += total
    for rl in data.refund_lines:
        acc = rates.setdefault(rl.tax_rate, [0, 0])
        acc[0] -= rl.amount
        acc[1] -= rl.tax
        if rl.product_id in products:
            products[rl.product_id][2] -= rl.qty
            products[rl.product_id][3] -= rl.amount
    return (
        [TaxRow(rate=r, total=v[0], tax=v[1]) for r, v in sorted(rates.items())],
        [ProductRow(sku=v[0], name=v[1], qty=v[2], total=v[3]) for v in products.values()],
    )


def _by_hour_and_cashier(sold: list[SaleRow], tz: dt.tzinfo) -> tuple[list[HourRow], list[CashierRow]]:
    hours: dict[int, list[int]] = {}
    cashiers: dict[str, list[int]] = {}
    for s in sold:
        h = dt.datetime.fromtimestamp(s.created_at / 1000, tz).hour
        acc = hours.setdefault(h, [0, 0])
        acc[0] += 1
        acc[1] += s.total
        c = cashiers.setdefault(s.actor, [0, 0])
        c[0] += 1
        c[1] += s.total
    return (
        [HourRow(hour=h, sales=v[0], total=v[1]) for h, v in sorted(hours.items())],
        [CashierRow(actor=a, sales=v[0], total=v[1]) for a, v in sorted(cashiers.items())],
    )


def build(
    kind: Literal["x", "z", "day"],
    data: ReportData,
    *,
    title: str,
    currency: str,
    exponent: int,
    tz: dt.tzinfo,
    top: int = 10,
) -> Report:
    sold = [s for s in data.sales if not s.voided]
    voided = [s for s in data.sales if s.voided]
    live = {s.id for s in sold}
    by_tax_rate, products = _by_rate_and_product(data, sold, live)
    by_hour, by_cashier = _by_hour_and_cashier(sold, tz)
    gross = sum(s.total for s in sold)
    refunds_total = sum(r.total for r in data.refunds)
    return Report(
        kind=kind,
        title=title,
        currency=currency,
        exponent=exponent,
        sales_count=len(sold),
        gross=gross,
        discounts=sum(s.discount for s in sold) + sum(ln.discount for ln in data.lines if ln.sale_id in live),
        refunds_count=len(data.refunds),
        refunds_total=refunds_total,
        voids_count=len(voided),
        voids_total=sum(s.total for s in voided),
        net=gross - refunds_total,
        by_method=_by_method(data, sold, live),
        by_tax_rate=by_tax_rate,
        by_hour=by_hour,
        top_products=sorted(products, key=lambda p: (-p.qty, -p.total, p.sku))[:top],
        by_cashier=by_cashier,
        paid_in=data.paid_in,
        paid_out=data.paid_out,
    )


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


# --- rendering ------------------------------------------------------------------------------------------------


# The text report's words, in the shop's language (`[till] language`); CSV and JSON keep English keys.
TEXT_LABELS = {
    "en": {
        "X REPORT": "X REPORT",
        "Z REPORT": "Z REPORT",
        "DAY": "DAY",
        "z_number": "Z number",
        "sales": "Sales",
        "discounts": "  of which discounts",
        "refunds": "Refunds",
        "voids": "Voided sales",
        "net": "NET SALES",
        "by_method": "By payment method",
        "by_rate": "By tax rate (total / tax)",
        "float": "Opening float",
        "paid_in": "Paid in",
        "paid_out": "Paid out",
        "expected": "Cash expected",
        "counted": "Cash counted",
        "difference": "Difference",
        "grand": "Grand total (perpetual)",
        "by_hour": "Sales by hour",
        "top": "Top products (qty, total)",
        "by_cashier": "By cashier (sales, total)",
    },
    "es": {
        "X REPORT": "INFORME X",
        "Z REPORT": "INFORME Z",
        "DAY": "DÍA",
        "z_number": "Número Z",
        "sales": "Ventas",
        "discounts": "  de ellas descuentos",
        "refunds": "Devoluciones",
        "voids": "Ventas anuladas",
        "net": "VENTAS NETAS",
        "by_method": "Por forma de pago",
        "by_rate": "Por tasa de impuesto (total / imp.)",
        "float": "Fondo inicial",
        "paid_in": "Entradas",
        "paid_out": "Salidas",
        "expected": "Efectivo esperado",
        "counted": "Efectivo contado",
        "difference": "Diferencia",
        "grand": "Gran total (perpetuo)",
        "by_hour": "Ventas por hora",
        "top": "Productos más vendidos (cant., total)",
        "by_cashier": "Por cajero (ventas, total)",
    },
}


def render(report: Report, fmt: Literal["text", "csv", "json"], *, language: str = "en") -> str:
    if fmt == "json":
        return msgspec.json.encode(report).decode()
    if fmt == "csv":
        return _csv(report)
    return _text(report, language=language)


def _m(r: Report, v: int | None) -> str:
    return "-" if v is None else money.format_money(v, r.exponent)


def _text(r: Report, width: int = 42, *, language: str = "en") -> str:
    from .receipts import METHOD_NAMES

    t = TEXT_LABELS.get(language, TEXT_LABELS["en"])
    methods = METHOD_NAMES.get(language, METHOD_NAMES["en"])
    head, _sep, rest = r.title.partition(" ") if r.kind == "day" else (r.title[:8], "", r.title[8:])
    title = t.get(head, head) + (" " if r.kind == "day" else "") + rest
    out: list[str] = [title.center(width), "=" * width]

    def row(label: str, value: str) -> None:
        out.append(f"{label[: width - len(value) - 1]:<{width - len(value)}}{value}")

    if r.z_number is not None:
        row(t["z_number"], str(r.z_number))
    row(f"{t['sales']} ({r.sales_count})", _m(r, r.gross))
    row(t["discounts"], _m(r, r.discounts))
    row(f"{t['refunds']} ({r.refunds_count})", ("-" if r.refunds_total else "") + _m(r, r.refunds_total))
    row(f"{t['voids']} ({r.voids_count})", _m(r, r.voids_total))
    row(t["net"], _m(r, r.net))
    out.append("-" * width)
    out.append(t["by_method"])
    for method, v in r.by_method.items():
        row(f"  {methods.get(method, method)}", _m(r, v))
    out.append(t["by_rate"])
    for tr in r.by_tax_rate:
        row(f"  {money.format_rate(tr.rate)} %", f"{_m(r, tr.total)} / {_m(r, tr.tax)}")
    if r.opening_float is not None:
        out.append("-" * width)
        row(t["float"], _m(r, r.opening_float))
        row(t["paid_in"], _m(r, r.paid_in))
        row(t["paid_out"], ("-" if r.paid_out else "") + _m(r, r.paid_out))
        row(t["expected"], _m(r, r.cash_expected))
        if r.cash_counted is not None:
            row(t["counted"], _m(r, r.cash_counted))
            row(t["difference"], _m(r, r.cash_difference))
    if r.grand_total is not None:
        row(t["grand"], _m(r, r.grand_total))
    if r.kind == "day":
        out.append("-" * width)
        out.append(t["by_hour"])
        peak = max((h.total for h in r.by_hour), default=0)
        for h in r.by_hour:
            bar = "#" * (0 if not peak else max(1, round(12 * h.total / peak)))
            row(f"  {h.hour:02d}:00 {bar}", f"{h.sales:>4} {_m(r, h.total):>10}")
        out.append(t["top"])
        for p in r.top_products:
            row(f"  {p.name}", f"{p.qty:>4} {_m(r, p.total):>10}")
        out.append(t["by_cashier"])
        for c in r.by_cashier:
            row(f"  {c.actor}", f"{c.sales:>4} {_m(r, c.total):>10}")
    out.append("=" * width)
    return "\n".join(out) + "\n"


def _csv(r: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "count", "amount", "tax"])
    dec = lambda v: "" if v is None else money.format_money(v, r.exponent)  # noqa: E731
    w.writerow(["summary", "sales", r.sales_count, dec(r.gross), ""])
    w.writerow(["summary", "discounts", "", dec(r.discounts), ""])
    w.writerow(["summary", "refunds", r.refunds_count, dec(-r.refunds_total), ""])
    w.writerow(["summary", "voids", r.voids_count, dec(r.voids_total), ""])
    w.writerow(["summary", "net", "", dec(r.net), ""])
    for m, v in r.by_method.items():
        w.writerow(["payment_method", m, "", dec(v), ""])
    for t in r.by_tax_rate:
        w.writerow(["tax_rate", money.format_rate(t.rate), "", dec(t.total), dec(t.tax)])
    for h in r.by_hour:
        w.writerow(["hour", f"{h.hour:02d}", h.sales, dec(h.total), ""])
    for p in r.top_products:
        w.writerow(["product", p.sku, p.qty, dec(p.total), ""])
    for c in r.by_cashier:
        w.writerow(["cashier", c.actor, c.sales, dec(c.total), ""])
    for key, amount in (
        ("opening_float", r.opening_float),
        ("paid_in", r.paid_in),
        ("paid_out", r.paid_out),
        ("cash_expected", r.cash_expected),
        ("cash_counted", r.cash_counted),
        ("cash_difference", r.cash_difference),
        ("grand_total", r.grand_total),
    ):
        if amount is not None:
            w.writerow(["cash", key, "", dec(amount), ""])
    if r.z_number is not None:
        w.writerow(["z", "number", r.z_number, "", ""])
    return buf.getvalue()


def check_consistent(r: Report) -> list[str]:
    """The cross-checks a report must pass (used by the tests; cheap enough to run always)."""
    problems = []
    if sum(r.by_method.values()) != r.net:
        problems.append(f"payment methods add up to {sum(r.by_method.values())}, net sales are {r.net}")
    if sum(t.total for t in r.by_tax_rate) != r.net:
        problems.append(f"tax rates add up to {sum(t.total for t in r.by_tax_rate)}, net sales are {r.net}")
    return problems


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
    "build",
    "render",
    "day_bounds",
    "zone",
    "check_consistent",
    "x_report",
    "z_report",
    "day_report",
]
