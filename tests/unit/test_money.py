import pytest
from hypothesis import given
from hypothesis import strategies as st

from caja_tui.domain import money
from caja_tui.domain.errors import DomainError


def test_rounding_is_half_away_from_zero():
    assert money.div_round(5, 10) == 1
    assert money.div_round(4, 10) == 0
    assert money.div_round(-5, 10) == -1
    assert money.div_round(15, 10) == 2


def test_tax_included_in_a_price():
    # 116.00 with 16 % inside: 100.00 net, 16.00 tax
    assert money.tax_included(11600, 1600) == 1600
    # 10.00 with 16 % inside: 8.62 net (8.6206...), 1.38 tax
    assert money.tax_included(1000, 1600) == 138


def test_tax_added_on_top():
    assert money.tax_added(10000, 1600) == 1600
    assert money.tax_added(999, 1050) == 105  # 104.895 rounds up


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=30))
def test_allocation_is_exact_and_proportional(total, weights):
    shares = money.allocate(total, weights)
    assert sum(shares) == total
    wsum = sum(weights)
    if wsum:
        for s, w in zip(shares, weights, strict=True):
            assert abs(s - total * w / wsum) < 1


def test_parsing_never_goes_through_float():
    assert money.parse_money("12.50", 2) == 1250
    assert money.parse_money("0.1", 2) == 10
    assert money.parse_money("12,5", 2) == 1250
    assert money.parse_money("7", 0) == 7
    assert money.parse_rate("16") == 1600
    assert money.parse_rate("10.5") == 1050
    with pytest.raises(DomainError, match="more than 2 decimal"):
        money.parse_money("1.005", 2)
    with pytest.raises(DomainError, match="not a number"):
        money.parse_money("1e3", 2)


def test_formatting():
    assert money.format_money(1250, 2) == "12.50"
    assert money.format_money(-5, 2) == "-0.05"
    assert money.format_money(7, 0) == "7"
    assert money.format_rate(1050) == "10.5"
    assert money.format_rate(1600) == "16"
