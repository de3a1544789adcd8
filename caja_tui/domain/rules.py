"""Business rules as pure functions: pricing, payment, refunds, products, cash. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from msgspec import Struct

from .cart import CartLine
from .checks import check_discount, check_price, check_qty, check_tax_rate
from .errors import DomainError
from .events import MAX_LINES, MAX_TEXT, RefundLine, SaleLine, Tender
from .money import allocate, div_round, tax_added, tax_included

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
BARCODE_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
PAYMENT_METHODS = ("cash", "card", "other")
# The reason of a stock adjustment decides its sign: these take items away, these add them; a correction or
# "other" goes either way and is typed with its sign.
REMOVING_REASONS = ("damaged", "lost", "theft", "expired", "supplier_return")
ADDING_REASONS = ("found",)


class Pricing(Struct, frozen=True, kw_only=True):
    lines: list[SaleLine]
    discount: int
    subtotal: int
    tax: int
    total: int
    taxes_by_rate: dict[int, int]


def check_product_fields(fields: Mapping[str, object]) -> None:
    """Validate whichever product fields are given (a create gives all, an update some)."""
    if "sku" in fields and not SKU_RE.match(str(fields["sku"])):
        raise DomainError("BAD_SKU", "SKU must be 1-64 letters, digits or . _ / - with no spaces", field="sku")
    if "name" in fields:
        name = str(fields["name"]).strip()
        if not name or len(name) > MAX_TEXT:
            raise DomainError("BAD_NAME", "name must be 1-{MAX_TEXT} characters", MAX_TEXT=MAX_TEXT, field="name")
    if "price" in fields:
        check_price(fields["price"])  # type: ignore[arg-type]
    if "tax_rate" in fields:
        check_tax_rate(fields["tax_rate"])  # type: ignore[arg-type]
    if "category" in fields and len(str(fields["category"])) > MAX_TEXT:
        raise DomainError(
            "BAD_CATEGORY", "category must be at most {MAX_TEXT} characters", MAX_TEXT=MAX_TEXT, field="category"
        )
    if "barcodes" in fields:
        codes = list(fields["barcodes"])  # type: ignore[call-overload]
        for code in codes:
            if not BARCODE_RE.match(code):
                raise DomainError(
                    "BAD_BARCODE", "barcode '{barcode}' must be 1-64 letters or digits", barcode=code, field="barcodes"
                )
        if len(set(codes)) != len(codes):
            raise DomainError("DUPLICATE_BARCODE", "the same barcode is listed twice", field="barcodes")


def price_sale(lines: Sequence[CartLine], sale_discount: int, prices_include_tax: bool) -> Pricing:
    """Price a cart: line discounts, the sale discount spread over lines, taxes per rate."""
    if not lines:
        raise DomainError("EMPTY_SALE", "a sale needs at least one line")
    if len(lines) > MAX_LINES:
        raise DomainError("TOO_MANY_LINES", "a sale holds at most {MAX_LINES} lines", MAX_LINES=MAX_LINES)
    after_line = []
    for ln in lines:
        check_qty(ln.qty)
        check_price(ln.unit_price)
        check_tax_rate(ln.tax_rate)
        check_discount(ln.discount, ln.qty * ln.unit_price, what="line")
        after_line.append(ln.qty * ln.unit_price - ln.discount)
    check_discount(sale_discount, sum(after_line), what="sale")
    shares = allocate(sale_discount, after_line)
    amounts = [a - s for a, s in zip(after_line, shares, strict=True)]

    taxes = [0] * len(lines)
    taxes_by_rate: dict[int, int] = {}
    for rate in sorted({ln.tax_rate for ln in lines}):
        idx = [i for i, ln in enumerate(lines) if ln.tax_rate == rate]
        base = sum(amounts[i] for i in idx)
        tax = tax_included(base, rate) if prices_include_tax else tax_added(base, rate)
        taxes_by_rate[rate] = tax
        for i, t in zip(idx, allocate(tax, [amounts[i] for i in idx]), strict=True):
            taxes[i] = t

    sale_lines = [
        SaleLine(
            line_no=i + 1,
            product_id=ln.product_id,
            sku=ln.sku,
            name=ln.name,
            qty=ln.qty,
            unit_price=ln.unit_price,
            tax_rate=ln.tax_rate,
            discount=ln.discount,
            sale_discount=shares[i],
            amount=amounts[i],
            tax=taxes[i],
        )
        for i, ln in enumerate(lines)
    ]
    subtotal = sum(amounts)
    tax_total = sum(taxes_by_rate.values())
    total = subtotal if prices_include_tax else subtotal + tax_total
    return Pricing(
        lines=sale_lines,
        discount=sale_discount,
        subtotal=subtotal,
        tax=tax_total,
        total=total,
        taxes_by_rate=taxes_by_rate,
    )


def settle_payment(total: int, tenders: Sequence[Tender]) -> int:
    """Check the tenders cover the total; return the change, which only cash can give."""
    if not tenders:
        raise DomainError("NO_PAYMENT", "the sale needs a payment")
    for t in tenders:
        if t.method not in PAYMENT_METHODS:
            raise DomainError("BAD_METHOD", "unknown payment method '{method}'", method=t.method)
        if not isinstance(t.amount, int) or t.amount <= 0:
            raise DomainError("BAD_AMOUNT", "every payment must be a positive amount")
    non_cash = sum(t.amount for t in tenders if t.method != "cash")
    if non_cash > total:
        raise DomainError("OVERPAID_CARD", "card and other payments may not exceed the total; only cash gives change")
    paid = sum(t.amount for t in tenders)
    if paid < total:
        raise DomainError("UNDERPAID", "payment is short by {short} minor units", short=total - paid)
    return paid - total


def price_refund(
    sale_lines: Sequence[SaleLine],
    requested: Mapping[int, int],
    refunded_qty: Mapping[int, int],
    refunded_amount: Mapping[int, int],
    refunded_tax: Mapping[int, int],
    prices_include_tax: bool = True,
) -> list[RefundLine]:
    """Refund lines for `requested` {line_no: qty}, never above what was sold and not yet refunded.

    A partial refund returns the line's amount pro rata (rounded); the refund that takes the last items of
    a line returns exactly what is left, so a line refunded in parts returns exactly what it cost. The
    amount returned always includes the tax (added on top of the line when prices excluded it).
    """
    by_no = {ln.line_no: ln for ln in sale_lines}
    out: list[RefundLine] = []
    for line_no, qty in sorted(requested.items()):
        if qty == 0:
            continue
        line = by_no.get(line_no)
        if line is None:
            raise DomainError("NO_SUCH_LINE", "the sale has no line {line_no}", line_no=line_no)
        check_qty(qty)
        left = line.qty - refunded_qty.get(line_no, 0)
        if qty > left:
            raise DomainError(
                "REFUND_TOO_BIG",
                "line {line_no} ({name}): only {left} of {qty} can still be refunded",
                line_no=line_no,
                name=line.name,
                left=left,
                qty=line.qty,
            )
        paid = line.amount if prices_include_tax else line.amount + line.tax
        if qty == left:
            amount = paid - refunded_amount.get(line_no, 0)
            tax = line.tax - refunded_tax.get(line_no, 0)
        else:
            amount = div_round(paid * qty, line.qty)
            tax = div_round(line.tax * qty, line.qty)
        out.append(RefundLine(line_no=line_no, product_id=line.product_id, qty=qty, amount=amount, tax=tax))
    if not out:
        raise DomainError("EMPTY_REFUND", "choose at least one item to refund")
    return out


def expected_cash(
    opening_float: int, cash_taken: int, change_given: int, cash_refunded: int, paid_in: int, paid_out: int
) -> int:
    """What should be in the drawer."""
    return opening_float + cash_taken - change_given - cash_refunded + paid_in - paid_out


def denominations_total(counts: Mapping[str, int]) -> int:
    total = 0
    for face, n in counts.items():
        if not face.isdigit() or int(face) <= 0:
            raise DomainError("BAD_DENOMINATION", "'{face}' is not a face value in minor units", face=face)
        if not isinstance(n, int) or n < 0:
            raise DomainError("BAD_COUNT", "the count of {face} must be zero or more", face=face)
        total += int(face) * n
    return total


def adjustment_sign(reason: str) -> int:
    """-1 when the reason takes items away, +1 when it adds them, 0 when the amount is typed with its sign."""
    return -1 if reason in REMOVING_REASONS else 1 if reason in ADDING_REASONS else 0


def check_adjustment(reason: str, delta: int) -> None:
    """A loss never adds stock and a find never removes it (a typed sign that contradicts the reason)."""
    sign = adjustment_sign(reason)
    if delta == 0:
        raise DomainError("BAD_QTY", "an adjustment must change the stock", field="qty")
    if sign and (delta > 0) != (sign > 0):
        raise DomainError(
            "BAD_SIGN",
            "'{reason}' {direction} stock; the amount must be {expected}",
            reason=reason,
            direction="takes away" if sign < 0 else "adds",
            expected="negative" if sign < 0 else "positive",
            field="qty",
        )
