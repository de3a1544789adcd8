"""Selling, refunding and voiding, against the in-memory store (tests/unit/fakes.py)."""

from caja_tui.application import sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from tests.unit.fakes import a_product, a_till, refused


def cash(amount: int) -> list[Tender]:
    return [Tender(method="cash", amount=amount)]


def sell(store, entries, tenders=None, *, actor="luis"):
    cart = Cart()
    for entry in entries:
        assert sales.scan(store, cart, entry) is not None
    total = sum(ln.qty * ln.unit_price for ln in cart.lines)
    return sales.complete_sale(store, actor, cart, tenders or cash(total), prices_include_tax=True)


def a_sale(entry="PAN-1", **product):
    """A till selling one product, PAN-1 (`product`: its fields), and a sale of `entry` rung up by Luis, paid in cash:
    (till, the product, the sale)."""
    till = a_till()
    item = a_product(till, "PAN-1", **product)
    return till, item, sell(till, [entry])


# --- scanning ----------------------------------------------------------------------------------------


def test_a_scanned_barcode_adds_its_product_and_the_cart_survives_as_a_draft():
    till = a_till()
    bread = a_product(till, "PAN-1", barcodes=["7501000000017"])
    cart = Cart()
    assert sales.scan(till, cart, "7501000000017").id == bread.id
    with till.read() as tx:
        ((slot, saved, _at),) = tx.drafts("current")
    assert saved.lines[0].product_id == bread.id and saved.lines[0].qty == 1


def test_a_product_picked_from_the_search_is_added_with_the_quantity_typed_and_saved_as_the_draft():
    till = a_till()
    bread = a_product(till, "PAN-1")
    cart = Cart()
    sales.add_product(till, cart, bread, 2)
    with till.read() as tx:
        ((slot, saved, _at),) = tx.drafts("current")
    assert [(ln.product_id, ln.qty) for ln in cart.lines] == [(bread.id, 2)]
    assert [(ln.product_id, ln.qty) for ln in saved.lines] == [(bread.id, 2)]


def test_a_quantity_typed_before_the_code_adds_that_many():
    till = a_till()
    a_product(till, "PAN-1")
    cart = Cart()
    sales.scan(till, cart, "3*PAN-1")
    assert [ln.qty for ln in cart.lines] == [3]


def test_an_unknown_or_deleted_code_adds_nothing():
    till = a_till()
    gone = a_product(till, "OLD-1")
    from caja_tui.application.products import delete_product

    delete_product(till, "ana", gone.id)
    cart = Cart()
    assert sales.scan(till, cart, "NOPE") is None
    assert sales.scan(till, cart, "OLD-1") is None
    assert cart.is_empty


# --- completing a sale -------------------------------------------------------------------------------


def test_a_cash_sale_gives_the_change_and_takes_the_items_off_the_shelf():
    till = a_till()
    bread = a_product(till, "PAN-1", price=250, stock=10)
    cart = Cart()
    sales.scan(till, cart, "2*PAN-1")
    done = sales.complete_sale(till, "luis", cart, cash(1000), prices_include_tax=True)
    assert done.total == 2 * 250
    assert done.change == 1000 - 2 * 250
    with till.read() as tx:
        assert tx.stock_of(bread.id) == 10 - 2
        assert tx.drafts("current") == []  # the cart is gone with the sale


def test_receipt_numbers_follow_each_other():
    till = a_till()
    a_product(till, "PAN-1")
    first, second = sell(till, ["PAN-1"]), sell(till, ["PAN-1"])
    assert int(second.receipt_no.rsplit("-", 1)[1]) == int(first.receipt_no.rsplit("-", 1)[1]) + 1


def test_nothing_is_sold_before_the_cash_session_opens():
    till = a_till(session=False)
    bread = a_product(till, "PAN-1", stock=5)
    before = len(till.events)
    with refused("NO_SESSION"):
        sell(till, ["PAN-1"])
    assert len(till.events) == before
    with till.read() as tx:
        assert tx.stock_of(bread.id) == 5
        assert len(tx.drafts("current")) == 1  # the customer's items are still in the cart


def test_a_short_payment_is_refused():
    till = a_till()
    a_product(till, "PAN-1", price=250)
    with refused("UNDERPAID"):
        sell(till, ["PAN-1"], cash(249))


def test_a_card_cannot_pay_more_than_the_total():
    till = a_till()
    a_product(till, "PAN-1", price=250)
    with refused("OVERPAID_CARD"):
        sell(till, ["PAN-1"], [Tender(method="card", amount=300)])


def test_a_mixed_payment_gives_change_only_from_cash():
    till = a_till()
    a_product(till, "PAN-1", price=250)
    done = sell(till, ["PAN-1"], [Tender(method="card", amount=200), Tender(method="cash", amount=100)])
    assert done.change == 200 + 100 - 250


def test_a_user_who_is_not_active_cannot_sell():
    till = a_till()
    till.given_user("eve", "Eve", active=False)
    a_product(till, "PAN-1")
    with refused("NOT_SIGNED_IN"):
        sell(till, ["PAN-1"], actor="eve")


# --- refunds -----------------------------------------------------------------------------------------


def test_a_cashier_cannot_refund():
    till, _, sale = a_sale()
    with refused("MANAGER_ONLY"):
        sales.refund_sale(till, "luis", sale.receipt_no)


def test_a_whole_refund_returns_what_was_paid_and_puts_the_items_back():
    till, bread, sale = a_sale("3*PAN-1", price=250, stock=10)
    refund = sales.refund_sale(till, "ana", sale.receipt_no.lower())  # typed in lower case: still found
    assert refund.total == sale.total
    with till.read() as tx:
        assert tx.stock_of(bread.id) == 10
        assert tx.cash_summary(tx.open_session().id).cash_refunded == sale.total


def test_a_refund_in_parts_returns_exactly_what_the_line_cost():
    till, _, sale = a_sale("3*PAN-1", price=333)
    parts = [sales.refund_sale(till, "ana", sale.receipt_no, {1: 1}).total for _ in range(3)]
    assert sum(parts) == sale.total
    with refused("ALREADY_REFUNDED"):
        sales.refund_sale(till, "ana", sale.receipt_no)


def test_no_more_can_be_refunded_than_was_sold():
    till, _, sale = a_sale("2*PAN-1")
    with refused("REFUND_TOO_BIG"):
        sales.refund_sale(till, "ana", sale.receipt_no, {1: 3})


def test_a_refund_without_restock_leaves_the_shelf_as_it_is():
    till, bread, sale = a_sale("2*PAN-1", stock=10)
    sales.refund_sale(till, "ana", sale.receipt_no, restock=False, reason="broken")
    with till.read() as tx:
        assert tx.stock_of(bread.id) == 10 - 2


def test_an_unknown_receipt_is_refused():
    till = a_till()
    with refused("NO_SUCH_SALE"):
        sales.refund_sale(till, "ana", "T01-999999")
    with refused("NO_SUCH_SALE"):
        sales.find_sale(till, "T01-999999")


# --- voids -------------------------------------------------------------------------------------------


def test_a_void_puts_the_items_back_and_takes_the_sale_out_of_the_drawer():
    till, bread, sale = a_sale("2*PAN-1", price=250, stock=10)
    sales.void_sale(till, "ana", sale.receipt_no, reason="wrong item")
    with till.read() as tx:
        summary = tx.cash_summary(tx.open_session().id)
        assert tx.stock_of(bread.id) == 10
    assert (summary.sales_count, summary.voids_count, summary.sales_total) == (0, 1, 0)
    assert summary.expected == summary.opening_float


def test_a_cashier_cannot_void():
    till, _, sale = a_sale()
    with refused("MANAGER_ONLY"):
        sales.void_sale(till, "luis", sale.receipt_no)


def test_a_voided_sale_cannot_be_voided_again_nor_refunded():
    till, _, sale = a_sale()
    sales.void_sale(till, "ana", sale.receipt_no)
    with refused("SALE_VOIDED"):
        sales.void_sale(till, "ana", sale.receipt_no)
    with refused("SALE_VOIDED"):
        sales.refund_sale(till, "ana", sale.receipt_no)


def test_a_partly_refunded_sale_is_refunded_not_voided():
    till, _, sale = a_sale("2*PAN-1")
    sales.refund_sale(till, "ana", sale.receipt_no, {1: 1})
    with refused("ALREADY_REFUNDED"):
        sales.void_sale(till, "ana", sale.receipt_no)


def test_a_sale_of_an_earlier_session_is_refunded_not_voided():
    from caja_tui.application import cash as cash_uc

    till, _, sale = a_sale()
    summary = cash_uc.current_summary(till)
    cash_uc.close_session(till, "ana", counted=summary.expected)
    cash_uc.open_session(till, "luis", 0)
    with refused("NOT_THIS_SESSION"):
        sales.void_sale(till, "ana", sale.receipt_no)
