"""The report's figures as pure functions over read-model rows: the rows a report folds (`ReportData`, which
the store fills), the `Report` they fold into (`build`) and the cross-checks it passes (`check_consistent`).

Every figure is integer minor units. The totals agree with each other by construction: net sales = sum by
payment method (cash net of change, less refunds by their method) = sum by tax rate (tax included).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from msgspec import Struct


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


def check_consistent(r: Report) -> list[str]:
    """The cross-checks a report must pass (used by the tests; cheap enough to run always)."""
    problems = []
    if sum(r.by_method.values()) != r.net:
        problems.append(f"payment methods add up to {sum(r.by_method.values())}, net sales are {r.net}")
    if sum(t.total for t in r.by_tax_rate) != r.net:
        problems.append(f"tax rates add up to {sum(t.total for t in r.by_tax_rate)}, net sales are {r.net}")
    return problems
