"""The outbox: priority order, but never an event ahead of an earlier unsent event of its aggregate."""

import msgspec

from caja_tui.application import cash, products, users
from caja_tui.protocol import Result
from caja_tui.store.outbox import Outbox
from tests.conftest import db
from tests.e2e.test_sync import sell


def test_sales_go_first_but_never_ahead_of_their_own_aggregate(staffed):
    p = products.create_product(staffed, "ana", sku="P", name="P", price=100, tax_rate=0, stock=5)
    products.update_product(staffed, "ana", p.id, {"price": 120})
    sell(staffed, "luis", "P")
    outbox = Outbox(staffed)
    batch = [e.wire["type"] for e in outbox.next_batch(50)]
    assert batch[0] == "sale.created"
    assert batch.index("product.created") < batch.index("product.updated")
    # even when a later event of an aggregate is more urgent, it waits for the earlier one
    db(staffed).execute("UPDATE event SET priority = 100 WHERE type = 'product.updated'")
    db(staffed).execute(
        "UPDATE event SET sync_status = 'synced' WHERE type != 'product.updated' AND type != 'product.created'"
    )
    first = outbox.next_batch(1)
    assert [e.wire["type"] for e in first] == ["product.created"]
    assert [e.wire["type"] for e in outbox.next_batch(2)] == ["product.created", "product.updated"]


def test_a_failed_event_does_not_block_its_aggregate_forever(store):
    users.create_user(store, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    cash.open_session(store, "ana", 0)
    cash.move_cash(store, "ana", "in", 100)
    db(store).execute("UPDATE event SET sync_status = 'failed' WHERE type = 'cash.session_opened'")
    db(store).execute("UPDATE event SET sync_status = 'synced' WHERE type = 'user.created'")
    assert [e.wire["type"] for e in Outbox(store).next_batch(10)] == ["cash.moved"]


def test_events_left_syncing_by_a_dead_process_go_back_to_pending(store):
    users.create_user(store, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    outbox = Outbox(store)
    outbox.mark_syncing(outbox.next_batch(10))
    assert outbox.next_batch(10) == []
    assert outbox.recover() == 1
    assert len(outbox.next_batch(10)) == 1


def test_a_backlog_never_stalls_behind_an_earlier_event_the_batch_query_did_not_reach(staffed):
    p = products.create_product(staffed, "ana", sku="P", name="P", price=100, tax_rate=0)
    for price in (110, 120, 130):
        products.update_product(staffed, "ana", p.id, {"price": price})
    db(staffed).execute("UPDATE event SET sync_status = 'synced' WHERE aggregate != ?", (f"product:{p.id}",))
    # the later changes made more urgent than the creation: the candidates a batch of 1 looks at are all waiting
    db(staffed).execute("UPDATE event SET priority = 100 WHERE type = 'product.updated'")
    outbox = Outbox(staffed)
    first = outbox.next_batch(1)
    assert [e.wire["type"] for e in first] == ["product.created"]
    outbox.mark_syncing(first)
    assert outbox.next_batch(1) == []  # the creation is in flight: its changes wait for the answer
    outbox.record_results(first, [Result(event_id=first[0].wire["event_id"], status="accepted")])
    prices = [msgspec.json.decode(e.wire["payload"])["changes"]["price"] for e in outbox.next_batch(3)]
    assert prices == [110, 120, 130]
