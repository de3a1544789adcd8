"""Stock: adjust for a reason (a loss takes away and needs a manager), count, receive; in memory."""

from caja_tui.application import products, stock
from tests.unit.fakes import a_product, a_till, refused


def test_a_manager_records_a_loss_and_the_stock_drops():
    till = a_till()
    milk = a_product(till, "LEC-1", stock=24)
    assert stock.adjust_stock(till, "ana", milk.id, -2, "damaged", "dropped a crate") == 24 - 2


def test_a_cashier_cannot_take_stock_away():
    till = a_till()
    milk = a_product(till, "LEC-1", stock=24)
    with refused("MANAGER_ONLY"):
        stock.adjust_stock(till, "luis", milk.id, -2, "theft")
    with till.read() as tx:
        assert tx.stock_of(milk.id) == 24


def test_a_loss_never_adds_stock():
    till = a_till()
    milk = a_product(till, "LEC-1", stock=24)
    for reason in ("damaged", "lost", "theft", "expired", "supplier_return"):
        with refused("BAD_SIGN"):
            stock.adjust_stock(till, "ana", milk.id, 2, reason)


def test_a_cashier_may_record_items_found_but_a_find_never_takes_away():
    till = a_till()
    milk = a_product(till, "LEC-1", stock=24)
    assert stock.adjust_stock(till, "luis", milk.id, 3, "found") == 24 + 3
    with refused("BAD_SIGN"):
        stock.adjust_stock(till, "ana", milk.id, -3, "found")


def test_an_adjustment_needs_a_known_reason_and_a_change():
    till = a_till()
    milk = a_product(till, "LEC-1")
    with refused("BAD_REASON"):
        stock.adjust_stock(till, "ana", milk.id, -1, "gremlins")
    with refused("BAD_QTY"):
        stock.adjust_stock(till, "ana", milk.id, 0, "correction")


def test_a_count_sets_the_stock_whatever_the_till_believed():
    till = a_till()
    milk = a_product(till, "LEC-1", stock=24)
    assert stock.count_stock(till, "luis", milk.id, 17) == 17
    with refused("BAD_QTY"):
        stock.count_stock(till, "luis", milk.id, -1)


def test_received_goods_are_added():
    till = a_till()
    milk = a_product(till, "LEC-1", stock=4)
    assert stock.receive_stock(till, "luis", milk.id, 12, unit_cost=900, supplier="Lala") == 4 + 12
    with refused("BAD_PRICE"):
        stock.receive_stock(till, "luis", milk.id, 12, unit_cost=-1)
    with refused("BAD_QTY"):
        stock.receive_stock(till, "luis", milk.id, 0)


def test_the_stock_of_a_deleted_or_unknown_product_does_not_move():
    till = a_till()
    milk = a_product(till, "LEC-1")
    products.delete_product(till, "ana", milk.id)
    for product_id in (milk.id, "no-such-product"):
        with refused("NO_SUCH_PRODUCT"):
            stock.receive_stock(till, "luis", product_id, 1)
        with refused("NO_SUCH_PRODUCT"):
            stock.count_stock(till, "luis", product_id, 1)
