"""A report as text (in the shop's language, for the screen and the printer), CSV or JSON."""

from __future__ import annotations

import csv
import io
from typing import Literal

import msgspec

from ..domain import money
from .receipts import METHOD_NAMES
from .report_figures import Report

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
