import pytest

from caja_tui.domain import rules
from caja_tui.domain.cart import Cart, CartLine
from caja_tui.domain.errors import DomainError
from caja_tui.domain.events import MAX_PRICE, MAX_QTY, Tender


def line(qty=1, price=1000, rate=1600, discount=0, pid="p1"):
    return CartLine(
        product_id=pid, sku=pid.upper(), name=pid, qty=qty, unit_price=price, tax_rate=rate, discount=discount
    )


def test_a_sale_needs_lines():
    with pytest.raises(DomainError) as e:
        rules.price_sale([], 0, True)
    assert e.value.code == "EMPTY_SALE"


def test_pricing_with_tax_included_spreads_the_sale_discount_exactly():
    p = rules.price_sale(
        [line(3, 1000, 1600), line(1, 2000, 0, pid="p2"), line(2, 333, 1600, 66, pid="p3")],
        sale_discount=1001,
        prices_include_tax=True,
    )
    assert sum(ln.sale_discount for ln in p.lines) == 1001
    assert p.subtotal == 3000 + 2000 + 600 - 1001
    assert p.total == p.subtotal  # tax is inside the prices
    assert p.tax == sum(ln.tax for ln in p.lines) == sum(p.taxes_by_rate.values())
    assert p.taxes_by_rate[0] == 0


def test_pricing_with_tax_added_on_top():
    p = rules.price_sale([line(1, 10000, 1600)], 0, prices_include_tax=False)
    assert (p.subtotal, p.tax, p.total) == (10000, 1600, 11600)


def test_discount_never_above_the_line_or_the_sale():
    with pytest.raises(DomainError, match="line discount"):
        rules.price_sale([line(1, 1000, discount=1001)], 0, True)
    with pytest.raises(DomainError, match="sale discount"):
        rules.price_sale([line(1, 1000)], 1001, True)
    cart = Cart()
    cart.add(product_id="p", sku="P", name="P", unit_price=500, tax_rate=0, qty=2)
    with pytest.raises(DomainError):
        cart.set_line_discount(0, 1001)
    cart.set_line_discount(0, 1000)
    with pytest.raises(DomainError):
        cart.set_qty(0, 1)  # the discount would exceed the line


def test_quantities_and_prices_within_bounds():
    with pytest.raises(DomainError):
        rules.price_sale([line(0)], 0, True)
    with pytest.raises(DomainError):
        rules.price_sale([line(MAX_QTY + 1)], 0, True)
    with pytest.raises(DomainError):
        rules.price_sale([line(1, MAX_PRICE + 1)], 0, True)
    with pytest.raises(DomainError):
        rules.price_sale([line(1, -1)], 0, True)
    with pytest.raises(DomainError):
        rules.price_sale([line(1, 100, rate=10_001)], 0, True)


def test_cash_may_exceed_the_total_and_gives_change():
    assert rules.settle_payment(1550, [Tender(method="cash", amount=2000)]) == 450


def test_card_may_not_exceed_the_total():
    with pytest.raises(DomainError) as e:
        rules.settle_payment(1550, [Tender(method="card", amount=2000)])
    assert e.value.code == "OVERPAID_CARD"


def test_mixed_payment_change_comes_from_cash():
    assert rules.settle_payment(1550, [Tender(method="card", amount=1000), Tender(method="cash", amount=1000)]) == 450


def test_payment_must_cover_the_total():
    with pytest.raises(DomainError) as e:
        rules.settle_payment(1550, [Tender(method="cash", amount=1000), Tender(method="other", amount=500)])
    assert e.value.code == "UNDERPAID"
    with pytest.raises(DomainError):
        rules.settle_payment(1550, [])


def _sold():
    return rules.price_sale([line(3, 1000, 1600), line(1, 999, 1600, pid="p2")], 0, True).lines


def test_refunds_never_above_what_was_sold_and_not_yet_refunded():
    lines = _sold()
    first = rules.price_refund(lines, {1: 2}, {}, {}, {})
    assert first[0].qty == 2
    with pytest.raises(DomainError) as e:
        rules.price_refund(lines, {1: 2}, {1: 2}, {1: first[0].amount}, {1: first[0].tax})
    assert e.value.code == "REFUND_TOO_BIG"
    with pytest.raises(DomainError):
        rules.price_refund(lines, {9: 1}, {}, {}, {})


def test_a_line_refunded_in_parts_returns_exactly_what_it_cost():
    lines = rules.price_sale([line(3, 1001, 1600)], 0, True).lines
    a = rules.price_refund(lines, {1: 1}, {}, {}, {})[0]
    b = rules.price_refund(lines, {1: 1}, {1: 1}, {1: a.amount}, {1: a.tax})[0]
    c = rules.price_refund(lines, {1: 1}, {1: 2}, {1: a.amount + b.amount}, {1: a.tax + b.tax})[0]
    assert a.amount + b.amount + c.amount == lines[0].amount
    assert a.tax + b.tax + c.tax == lines[0].tax


def test_product_fields_are_checked():
    rules.check_product_fields({"sku": "ABC-1", "name": "Pan", "price": 100, "tax_rate": 0, "barcodes": ["7501"]})
    for bad in (
        {"sku": "has space"},
        {"name": " "},
        {"price": -1},
        {"tax_rate": 20000},
        {"barcodes": ["1", "1"]},
        {"barcodes": ["bad code"]},
    ):
        with pytest.raises(DomainError):
            rules.check_product_fields(bad)


def test_expected_cash():
    assert rules.expected_cash(50000, 3000, 500, 200, 1000, 300) == 53000
    assert rules.denominations_total({"50000": 1, "2000": 3, "50": 4}) == 56200
    with pytest.raises(DomainError):
        rules.denominations_total({"abc": 1})


def test_a_refund_returns_the_tax_too_when_prices_exclude_it():
    lines = rules.price_sale([line(3, 1000, 1600)], 0, prices_include_tax=False).lines
    total_paid = lines[0].amount + lines[0].tax  # 3000 + 480
    a = rules.price_refund(lines, {1: 1}, {}, {}, {}, prices_include_tax=False)[0]
    assert a.amount == 1160 and a.tax == 160
    rest = rules.price_refund(lines, {1: 2}, {1: 1}, {1: a.amount}, {1: a.tax}, prices_include_tax=False)[0]
    assert a.amount + rest.amount == total_paid
