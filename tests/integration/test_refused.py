"""A refused state-changing event and its compensating event (domain/compensate.py), on a real SQLite till."""

from __future__ import annotations

import pytest

from caja_tui.application import products
from caja_tui.application.refused import revert_refused
from caja_tui.domain.errors import DomainError
from caja_tui.protocol import Result
from caja_tui.store.maintenance import rebuild, verify
from caja_tui.store.outbox import Outbox
from tests.conftest import scalar
from tests.e2e.test_sync import sell


def _server_answers(store, code: str, refused_type: str) -> None:
    """Push what is pending, as the engine does, and record the server's answers: the events of one type refused."""
    outbox = Outbox(store)
    batch = outbox.next_batch(1000)
    outbox.mark_syncing(batch)
    results = [
        Result(event_id=e.wire["event_id"], status="rejected", code=code, message="refused in this test")
        if e.wire["type"] == refused_type
        else Result(event_id=e.wire["event_id"], status="accepted")
        for e in batch
    ]
    outbox.record_results(batch, results)


def test_a_refused_price_change_is_reverted_to_the_stores_price(staffed):
    p = products.create_product(staffed, "ana", sku="RICE", name="Rice", price=1000, tax_rate=0, stock=10)
    products.update_product(staffed, "ana", p.id, {"price": 1500, "name": "Rice 1 kg"})
    _server_answers(staffed, "CLOCK_SKEW", "product.updated")
    assert staffed.count_refused() == 1
    refused = scalar(staffed, "SELECT event_id FROM event WHERE sync_status = 'failed'")
    with pytest.raises(DomainError, match="cashier"):
        revert_refused(staffed, "luis", refused)
    assert revert_refused(staffed, "ana", refused) == "product.updated"
    with staffed.read() as tx:
        back = tx.product(p.id)
    assert (back.price, back.name) == (1000, "Rice")  # the store's values, both fields of the refused change
    assert staffed.count_refused() == 0
    assert scalar(staffed, "SELECT sync_status FROM event WHERE event_id = ?", (refused,)) == "reverted"
    assert scalar(staffed, "SELECT COUNT(*) FROM event WHERE sync_status = 'pending'") == 1  # the compensation
    with pytest.raises(DomainError, match="not waiting as refused"):
        revert_refused(staffed, "ana", refused)  # once
    assert verify(staffed).ok
    rebuild(staffed)  # the refused event and its compensation replay to the same state
    with staffed.read() as tx:
        assert tx.product(p.id).price == 1000


def test_a_refused_new_product_is_deleted_and_a_refused_sale_can_only_be_sent_again(staffed):
    p = products.create_product(staffed, "ana", sku="NEW", name="New", price=500, tax_rate=0)
    _server_answers(staffed, "INVALID", "product.created")
    refused = scalar(staffed, "SELECT event_id FROM event WHERE sync_status = 'failed'")
    assert revert_refused(staffed, "ana", refused) == "product.deleted"
    with staffed.read() as tx:
        assert tx.product(p.id).deleted
    products.create_product(staffed, "ana", sku="OLD", name="Old", price=500, tax_rate=0, stock=3)
    sell(staffed, "luis", "OLD")
    _server_answers(staffed, "INVALID", "sale.created")
    sale = scalar(staffed, "SELECT event_id FROM event WHERE sync_status = 'failed' AND type = 'sale.created'")
    with pytest.raises(DomainError, match="happened at the counter"):
        revert_refused(staffed, "ana", sale)
    assert staffed.count_refused() == 1
