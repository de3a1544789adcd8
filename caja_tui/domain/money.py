"""Money in integer minor units, taxes in basis points.

Rounding rule (documented in the README): every division rounds half away from zero, to the minor unit.
Taxes are computed per tax rate over the sum of the sale's lines at that rate (not per line), which is
what receipts print ("taxes by rate") and keeps rounding error to at most one minor unit per rate.

- prices include tax:  net = round(gross * 10000 / (10000 + rate)),  tax = gross - net
- prices exclude tax:  tax = round(net * rate / 10000),              gross = net + tax
"""

from __future__ import annotations

import re

from .errors import DomainError

BP = 10_000  # basis points in 100 %

_DECIMAL = re.compile(r"^([+-]?)(\d+)(?:[.,](\d*))?$")


def div_round(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return sign * q


def tax_included(gross: int, rate_bp: int) -> int:
    """The tax contained in a tax-inclusive amount."""
    return gross - div_round(gross * BP, BP + rate_bp)


def tax_added(net: int, rate_bp: int) -> int:
    """The tax to add on top of a tax-exclusive amount."""
    return div_round(net * rate_bp, BP)


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` proportionally, exactly (largest remainder); sum(result) == total."""
    if not weights:
        return []
    wsum = sum(weights)
    if wsum == 0:
        shares = [0] * len(weights)
        shares[0] = total
        return shares
    shares = [total * w // wsum for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % wsum), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


def parse_decimal(text: str, places: int, *, what: str = "amount") -> int:
    """'12.50' with places=2 -> 1250. Accepts a comma as decimal mark. Never goes through float."""
    m = _DECIMAL.match(text.strip())
    if not m:
        raise DomainError("INVALID_NUMBER", "{what} '{text}' is not a number like 12.50", what=what, text=text)
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    if len(frac) > places:
        raise DomainError(
            "TOO_MANY_DECIMALS",
            "{what} '{text}' has more than {places} decimal place(s)",
            what=what,
            text=text,
            places=places,
        )
    value = int(whole) * 10**places + (int(frac.ljust(places, "0")) if places else 0)
    return -value if sign == "-" else value


def parse_money(text: str, exponent: int) -> int:
    return parse_decimal(text, exponent, what="price")


def parse_rate(text: str) -> int:
    """'16' -> 1600 bp, '10.5' -> 1050 bp."""
    return parse_decimal(text.rstrip("%").strip(), 2, what="tax rate")


def format_decimal(value: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    if places == 0:
        return f"{sign}{value}"
    whole, frac = divmod(value, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def format_money(minor: int, exponent: int) -> str:
    return format_decimal(minor, exponent)


def format_rate(rate_bp: int) -> str:
    text = format_decimal(rate_bp, 2)
    return text.rstrip("0").rstrip(".") if "." in text else text
