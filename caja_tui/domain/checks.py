"""The checks of one value that the cart and the business rules share: a price, a tax rate, a quantity, a
discount. Both cart.py and rules.py import this module; it imports neither."""

from __future__ import annotations

from .errors import DomainError
from .events import MAX_PRICE, MAX_QTY
from .money import BP


def check_price(price: int, *, field: str = "price") -> None:
    if not isinstance(price, int) or not 0 <= price <= MAX_PRICE:
        raise DomainError(
            "BAD_PRICE", "price must be between 0 and {MAX_PRICE} minor units", MAX_PRICE=MAX_PRICE, field=field
        )


def check_tax_rate(rate_bp: int) -> None:
    if not isinstance(rate_bp, int) or not 0 <= rate_bp <= BP:
        raise DomainError("BAD_TAX_RATE", "tax rate must be between 0 and 100 %", field="tax_rate")


def check_qty(qty: int) -> None:
    if not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
        raise DomainError(
            "BAD_QTY", "quantity must be a whole number from 1 to {MAX_QTY}", MAX_QTY=MAX_QTY, field="qty"
        )


def check_discount(amount: int, line_total: int, *, what: str) -> None:
    if amount < 0:
        raise DomainError("BAD_DISCOUNT", "a discount cannot be negative", field="discount")
    if amount > line_total:
        raise DomainError(
            "DISCOUNT_TOO_BIG",
            "the line discount cannot be more than the line itself"
            if what == "line"
            else "the sale discount cannot be more than the sale itself",
            field="discount",
        )
