"""The cash drawer: open with a float, pay in and out, close with a count; against the in-memory store."""

from caja_tui.application import cash, sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from tests.unit.fakes import FLOAT, a_product, a_till, refused


def drawer(till):
    return cash.current_summary(till)


# --- opening -----------------------------------------------------------------------------------------


def test_opening_a_session_puts_the_float_in_the_drawer():
    till = a_till(session=False)
    session = cash.open_session(till, "luis", 12_345)
    assert session.opened_by == "luis" and session.closed_at is None
    assert drawer(till).expected == 12_345


def test_a_second_session_cannot_be_opened_while_one_is_open():
    till = a_till()
    with refused("SESSION_OPEN"):
        cash.open_session(till, "ana", 0)


def test_a_negative_float_is_refused():
    till = a_till(session=False)
    with refused("BAD_AMOUNT"):
        cash.open_session(till, "luis", -1)
    assert drawer(till) is None


def test_only_a_known_user_opens_the_drawer():
    till = a_till(session=False)
    with refused("NOT_SIGNED_IN"):
        cash.open_session(till, "nobody", FLOAT)


# --- paying in and out -------------------------------------------------------------------------------


def test_a_cashier_can_pay_cash_in():
    till = a_till()
    summary = cash.move_cash(till, "luis", "in", 2_000, "change from the bank")
    assert summary.paid_in == 2_000
    assert summary.expected == FLOAT + 2_000


def test_a_cashier_cannot_pay_cash_out():
    till = a_till()
    with refused("MANAGER_ONLY"):
        cash.move_cash(till, "luis", "out", 2_000)
    assert drawer(till).expected == FLOAT


def test_a_manager_pays_cash_out_and_the_drawer_expects_less():
    till = a_till()
    summary = cash.move_cash(till, "ana", "out", 3_000, "milk for the shop")
    assert (summary.paid_out, summary.expected) == (3_000, FLOAT - 3_000)


def test_cash_moves_need_an_open_session_a_known_kind_and_an_amount():
    with refused("NO_SESSION"):
        cash.move_cash(a_till(session=False), "ana", "in", 100)
    till = a_till()
    with refused("BAD_KIND"):
        cash.move_cash(till, "ana", "sideways", 100)
    with refused("BAD_AMOUNT"):
        cash.move_cash(till, "ana", "in", 0)


# --- closing -----------------------------------------------------------------------------------------


def _sell_for_cash(till, qty: int, paid: int):
    cart = Cart()
    sales.scan(till, cart, f"{qty}*PAN-1")
    return sales.complete_sale(till, "luis", cart, [Tender(method="cash", amount=paid)], prices_include_tax=True)


def test_closing_with_a_count_by_denomination_shows_the_difference():
    till = a_till()
    a_product(till, "PAN-1", price=250)
    _sell_for_cash(till, 2, 1_000)  # 500 in, 500 back as change
    cash.move_cash(till, "ana", "out", 1_000)
    expected = FLOAT + 2 * 250 - 1_000
    count = {"20000": 2, "5000": 1, "100": 4}  # two notes of 200.00, one of 50.00, four coins of 1.00
    counted = 2 * 20_000 + 5_000 + 4 * 100
    closed, summary = cash.close_session(till, "ana", denominations=count)
    assert summary.expected == expected
    assert (closed.counted, closed.difference) == (counted, counted - expected)
    assert closed.closed_at is not None and drawer(till) is None


def test_z_numbers_follow_each_other_and_the_grand_total_keeps_adding():
    till = a_till()
    a_product(till, "PAN-1", price=250)
    _sell_for_cash(till, 1, 250)
    first, s1 = cash.close_session(till, "ana", counted=drawer(till).expected)
    cash.open_session(till, "luis", FLOAT)
    _sell_for_cash(till, 3, 750)
    second, s2 = cash.close_session(till, "ana", counted=drawer(till).expected)
    assert second.z_number == first.z_number + 1
    assert second.grand_total == first.grand_total + s2.sales_total
    assert (first.difference, second.difference) == (0, 0)


def test_a_refund_in_cash_leaves_the_drawer():
    till = a_till()
    a_product(till, "PAN-1", price=250)
    sale = _sell_for_cash(till, 2, 500)
    sales.refund_sale(till, "ana", sale.receipt_no, {1: 1})
    summary = drawer(till)
    assert summary.cash_refunded == 250
    assert summary.expected == FLOAT + 500 - 250


def test_a_cashier_cannot_close_the_drawer():
    till = a_till()
    with refused("MANAGER_ONLY"):
        cash.close_session(till, "luis", counted=FLOAT)
    assert drawer(till) is not None


def test_closing_needs_a_count_that_adds_up():
    till = a_till()
    with refused("NO_COUNT"):
        cash.close_session(till, "ana")
    with refused("COUNT_MISMATCH"):
        cash.close_session(till, "ana", counted=FLOAT, denominations={"20000": 1})
    with refused("NO_SESSION"):
        cash.close_session(a_till(session=False), "ana", counted=0)
