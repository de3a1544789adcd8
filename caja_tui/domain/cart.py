"""The cart being rung up: pure data and pure operations. Persisted as a draft, never as an event."""

from __future__ import annotations

from msgspec import Struct

from .checks import check_discount, check_price, check_qty
from .errors import DomainError
from .events import MAX_LINES


class CartLine(Struct, kw_only=True):
    product_id: str
    sku: str
    name: str
    qty: int
    unit_price: int
    tax_rate: int
    discount: int = 0  # minor units off this line
    price_overridden: bool = False


class Cart(Struct, kw_only=True):
    lines: list[CartLine] = []
    discount: int = 0  # minor units off the whole sale
    customer_id: str | None = None
    cashier: str | None = None  # who started it: a sale in progress found at the next sign-in names them

    def add(self, *, product_id: str, sku: str, name: str, unit_price: int, tax_rate: int, qty: int = 1) -> int:
        """Add items; the same product at the same price adds to its line. Returns the line's index."""
        check_qty(qty)
        for i, line in enumerate(self.lines):
            if line.product_id == product_id and line.unit_price == unit_price and not line.price_overridden:
                check_qty(line.qty + qty)
                line.qty += qty
                return i
        if len(self.lines) >= MAX_LINES:
            raise DomainError("TOO_MANY_LINES", "a sale holds at most {MAX_LINES} lines", MAX_LINES=MAX_LINES)
        self.lines.append(
            CartLine(product_id=product_id, sku=sku, name=name, qty=qty, unit_price=unit_price, tax_rate=tax_rate)
        )
        return len(self.lines) - 1

    def _line(self, index: int) -> CartLine:
        if not 0 <= index < len(self.lines):
            raise DomainError("NO_SUCH_LINE", "there is no line {n} in the cart", n=index + 1)
        return self.lines[index]

    def set_qty(self, index: int, qty: int) -> None:
        check_qty(qty)
        line = self._line(index)
        if line.discount > qty * line.unit_price:
            raise DomainError("DISCOUNT_TOO_BIG", "the line's discount would exceed the line; lower it first")
        line.qty = qty

    def set_line_discount(self, index: int, amount: int) -> None:
        line = self._line(index)
        check_discount(amount, line.qty * line.unit_price, what="line")
        line.discount = amount

    def override_price(self, index: int, unit_price: int) -> None:
        check_price(unit_price)
        line = self._line(index)
        line.unit_price, line.price_overridden = unit_price, True
        line.discount = min(line.discount, line.qty * unit_price)

    def remove(self, index: int) -> None:
        self._line(index)
        del self.lines[index]

    def set_discount(self, amount: int) -> None:
        check_discount(amount, sum(ln.qty * ln.unit_price - ln.discount for ln in self.lines), what="sale")
        self.discount = amount

    @property
    def is_empty(self) -> bool:
        return not self.lines
