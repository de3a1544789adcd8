"""The server's ingest rules (server/ingest.py), decided without a database: the state is what storage would
have loaded for the batch, the writes are what it would store."""

from __future__ import annotations

import time
import uuid

import pytest

from caja_tui.domain.clock import pack
from caja_tui.protocol.check import check_event
from caja_tui.server.ingest import BatchState, decide_batch
from tests.protocol_client import Device, seal

NOW = int(time.time() * 1000)


@pytest.fixture(autouse=True)
def _now():
    """The server's 'now' is the test's start (the events below are sealed with the real clock, seconds later;
    a 'now' taken when the module was imported can be minutes old in a long run, and every update CLOCK_SKEW)."""
    global NOW
    NOW = int(time.time() * 1000)


def state(**known) -> BatchState:
    return BatchState("s1", "A", NOW, "manual", **known)


def push(st: BatchState, events: list[dict]):
    results, writes = decide_batch(st, [check_event(e, now_ms=NOW) for e in events])
    return [(r.status, r.code, r.conflict_with, r.resolution) for r in results], writes


ACCEPTED = ("accepted", None, None, None)


def test_a_batch_of_new_events_is_accepted_and_written_in_order():
    d = Device("s1", "A")
    batch = [d.product_created(), d.stock_adjusted(str(uuid.uuid4()))]
    results, writes = push(state(), batch)
    assert results == [ACCEPTED, ACCEPTED]
    assert [(row[0], row[3], row[10], row[12]) for row in writes.events] == [
        (e["event_id"], e["seq"], e["hash"], NOW) for e in batch
    ]
    assert writes.stats == {("product.created", "accepted"): 1, ("stock.adjusted", "accepted"): 1}


def test_an_event_already_stored_is_a_duplicate_and_other_content_under_its_id_is_id_reused():
    d = Device("s1", "A")
    e = d.product_created()
    st = state(stored={e["event_id"]: e["hash"]}, at_seq={1: (e["event_id"], e["hash"], e["prev_hash"])})
    results, writes = push(st, [e])
    assert results == [("duplicate", None, None, None)]
    assert writes.events == [] and writes.rejections == []
    other = seal({**e, "payload": {**e["payload"], "name": "Otro"}})
    assert push(st, [other])[0][0][:2] == ("rejected", "ID_REUSED")


def test_a_recorded_rejection_answers_its_retry_the_same_way():
    d = Device("s1", "A")
    e = d.product_created()
    st = state(rejected={e["event_id"]: (e["hash"], "BROKEN_CHAIN", "why")})
    assert push(st, [e])[0] == [("rejected", "BROKEN_CHAIN", None, None)]
    other = seal({**e, "actor": "eve"})
    assert push(st, [other])[0][0][:2] == ("rejected", "ID_REUSED")


def test_a_seq_taken_by_another_event_is_seq_reused_and_nothing_is_written():
    d = Device("s1", "A")
    e = d.product_created()
    st = state(at_seq={1: ("other-event", "ab" * 32, "0" * 64)})
    results, writes = push(st, [e])
    assert results[0][:2] == ("rejected", "SEQ_REUSED")
    assert writes.events == [] and writes.rejections == []


def test_a_broken_link_to_the_predecessor_is_rejected_and_recorded_at_its_seq():
    d = Device("s1", "A")
    first, second = d.product_created(), d.product_created()
    st = state(at_seq={1: (first["event_id"], "cd" * 32, first["prev_hash"])})  # the stored seq 1 is another
    results, writes = push(st, [second])
    assert results[0][:2] == ("rejected", "BROKEN_CHAIN")
    assert [(r[0], r[3], r[4], r[5]) for r in writes.rejections] == [
        (second["event_id"], 2, second["hash"], "BROKEN_CHAIN")
    ]
    assert st.at_seq[2] == (second["event_id"], second["hash"], None)  # the seq is occupied for the batch


def test_an_event_its_stored_successor_does_not_link_to_is_rejected_but_not_recorded():
    d = Device("s1", "A")
    first, second = d.product_created(), d.product_created()
    stray = seal({**first, "event_id": str(uuid.uuid4()), "actor": "eve"})  # seq 1, but not the genuine one
    st = state(at_seq={2: (second["event_id"], second["hash"], second["prev_hash"])})
    results, writes = push(st, [stray])
    assert results[0][:2] == ("rejected", "BROKEN_CHAIN")
    assert writes.rejections == [] and 1 not in st.at_seq  # the genuine seq 1 may still come
    assert push(st, [first])[0] == [ACCEPTED]


def test_a_clock_ordered_event_ahead_of_the_server_is_clock_skew_and_a_fact_is_not():
    later = pack(NOW + 10 * 60 * 1000)
    product = Device("s1", "A").product_created()
    ahead = seal({**product, "hlc": later})
    results, writes = push(state(), [ahead])
    assert results[0][:2] == ("rejected", "CLOCK_SKEW")
    assert writes.events == []
    sale = Device("s1", "A").sale_created(product["payload"]["product_id"])
    sale = seal({**sale, "hlc": later})
    results, writes = push(state(), [sale])
    assert results == [ACCEPTED]
    assert [row[0] for row in writes.events] == [sale["event_id"]]


def test_a_concurrent_update_of_a_field_by_another_device_is_a_last_write_wins_conflict():
    a = Device("s1", "A")
    pid = str(uuid.uuid4())
    base = pack(NOW - 60_000)
    update = a.product_updated(pid, {"price": 1200}, base)
    rival = ("rival-event", pack(NOW - 30_000), base)  # B changed the price after the state A's editor saw
    st = state(field_writes={(f"product:{pid}", "price"): [(rival[1], rival[2], rival[0])]})
    results, writes = push(st, [update])
    assert results == [("conflict", None, "rival-event", "last-write-wins")]
    assert writes.conflicts == [("s1", update["event_id"], "rival-event", "last-write-wins", update["created_at"])]
    assert writes.field_writes == [("s1", f"product:{pid}", "price", update["event_id"], "A", update["hlc"], base)]
    assert [row[0] for row in writes.events] == [update["event_id"]]  # a conflict is stored too


def test_an_update_that_saw_the_other_write_or_another_field_is_no_conflict():
    a = Device("s1", "A")
    pid = str(uuid.uuid4())
    seen = pack(NOW - 30_000)
    st = state(field_writes={(f"product:{pid}", "price"): [(seen, pack(NOW - 60_000), "rival-event")]})
    assert push(st, [a.product_updated(pid, {"price": 1200}, seen)])[0] == [ACCEPTED]
    assert push(st, [a.product_updated(pid, {"name": "Pan"}, pack(NOW - 90_000))])[0] == [ACCEPTED]


def test_an_update_of_a_deleted_product_is_a_conflict_settled_by_the_rule():
    a = Device("s1", "A")
    pid = str(uuid.uuid4())
    st = state(deleted={f"product:{pid}": "the-deletion"})
    results, writes = push(st, [a.product_updated(pid, {"price": 5}, 0)])
    assert results == [("conflict", None, "the-deletion", "manual")]
    assert writes.field_writes == []  # the rule settles it, not the fields
    st = BatchState("s1", "A", NOW, "last-write-wins", deleted={f"product:{pid}": "the-deletion"})
    assert push(st, [a.product_updated(pid, {"price": 6}, 0)])[0] == [
        ("conflict", None, "the-deletion", "last-write-wins")
    ]


def test_events_of_one_batch_see_the_ones_before_them():
    d = Device("s1", "A")
    pid = str(uuid.uuid4())
    created = d.product_created(pid)
    deleted = d.event("product.deleted", {"product_id": pid})
    updated = d.product_updated(pid, {"price": 7}, created["hlc"])
    results, writes = push(state(), [created, deleted, updated, deleted])
    assert results == [
        ACCEPTED,
        ACCEPTED,
        ("conflict", None, deleted["event_id"], "manual"),
        ("duplicate", None, None, None),
    ]
    assert writes.deletions == {f"product:{pid}": deleted["event_id"]}
    assert writes.stats[("product.deleted", "duplicate")] == 1


def test_a_chain_is_linked_inside_one_batch_in_any_order():
    d = Device("s1", "A")
    first, second, third = d.product_created(), d.product_created(), d.product_created()
    assert push(state(), [third, first, second])[0] == [ACCEPTED] * 3
    forged = seal({**second, "prev_hash": "ef" * 32})
    results, writes = push(state(), [first, forged, third])
    assert [r[:2] for r in results] == [("accepted", None), ("rejected", "BROKEN_CHAIN"), ("rejected", "BROKEN_CHAIN")]
    # the rejected seq 2 occupies its seq: seq 3 is checked against it
    assert [(r[3], r[5]) for r in writes.rejections] == [(2, "BROKEN_CHAIN"), (3, "BROKEN_CHAIN")]


def test_a_product_deleted_then_restored_in_one_batch_is_not_deleted():
    d = Device("s1", "A")
    pid = str(uuid.uuid4())
    deleted = d.event("product.deleted", {"product_id": pid})
    restored = d.event("product.restored", {"product_id": pid})
    results, writes = push(state(deleted={f"product:{pid}": "older"}), [deleted, restored])
    assert results == [ACCEPTED, ACCEPTED]
    assert writes.deletions == {f"product:{pid}": None}


def test_what_is_not_an_event_gets_its_verdict_and_nothing_else():
    results, writes = push(state(), [{"event_id": "x"}, "junk"])
    assert [r[:2] for r in results] == [("rejected", "INVALID")] * 2
    assert writes.events == writes.rejections == []
    assert writes.stats == {("?", "rejected"): 2}
