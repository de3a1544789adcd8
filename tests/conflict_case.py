"""The manual conflict two tests build and check: till A deletes a product while till B, offline, changes
its price; after both sync, B's update waits for a manager; applying it restores the product everywhere."""

from __future__ import annotations

from caja_tui.application import products, users
from caja_tui.store.maintenance import read_model_digests
from tests.conftest import db


def deleted_here_updated_there(a, b, ea, eb) -> list[tuple]:
    """Set the conflict up through the server; returns B's open conflicts (one)."""
    users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(a, "ana", name="Luis", role="cashier", pin="0000", user_id="luis")
    p = products.create_product(a, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0)
    assert ea.sync_once() and eb.sync_once()
    products.delete_product(a, "ana", p.id)  # A deletes while B, offline, changes the price
    products.update_product(b, "ana", p.id, {"price": 1500})
    assert ea.sync_once() and eb.sync_once()
    open_ = eb.outbox.conflicts(open_only=True)
    assert len(open_) == 1 and open_[0][2] == "manual" and eb.refresh_metrics().conflicts_open == 1
    return open_


def assert_applied_everywhere(a, b, ea, eb) -> None:
    """After a manager applied B's change: the price is B's on both tills and their read models agree."""
    with b.read() as tx:
        assert tx.product_by_code("PAN").price == 1500
    assert eb.sync_once() and ea.sync_once()
    with a.read() as tx:
        assert tx.product_by_code("PAN").price == 1500  # the decision reached the other till
    assert read_model_digests(db(a)) == read_model_digests(db(b))
