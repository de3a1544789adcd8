"""One storage contract, run against SQLite and PostgreSQL: idempotent ingest, chains, conflicts, pull."""

from __future__ import annotations

import time
import uuid

import pytest

from caja_tui.domain.clock import pack
from caja_tui.server.storage import DeviceAuth
from caja_tui.server.validate import check
from tests.protocol_client import Device, seal


def push(storage, auth, events):
    now = int(time.time() * 1000)
    return [
        (r.status, r.code, r.conflict_with, r.resolution) for r in storage.ingest(auth, [check(e, now) for e in events])
    ]


A = DeviceAuth("s1", "A")
B = DeviceAuth("s1", "B")


def test_a_retried_push_is_stored_once(storage):
    d = Device("s1", "A")
    batch = [d.product_created(), d.stock_adjusted(str(uuid.uuid4()))]
    assert push(storage, A, batch) == [("accepted", None, None, None)] * 2
    assert push(storage, A, batch) == [("duplicate", None, None, None)] * 2
    assert storage.counts()["events"] == 2


def test_reused_ids_and_seqs_are_rejected(storage):
    d = Device("s1", "A")
    e1 = d.product_created()
    push(storage, A, [e1])
    other = seal({**e1, "payload": {**e1["payload"], "name": "Otro"}})
    assert push(storage, A, [other])[0][:2] == ("rejected", "ID_REUSED")
    twin = seal({**e1, "event_id": str(uuid.uuid4())})
    twin["payload"] = {**e1["payload"], "sku": "B-2"}
    seal(twin)
    assert push(storage, A, [twin])[0][:2] == ("rejected", "SEQ_REUSED")


def test_bad_hash_unknown_type_and_invalid_payloads(storage):
    d = Device("s1", "A")
    bad = d.product_created()
    bad["hash"] = "0" * 64
    assert push(storage, A, [bad])[0][:2] == ("rejected", "BAD_HASH")
    unknown = d.event("loyalty.points", {"points": 5})
    invalid = d.event("product.created", {"product_id": "p", "sku": "X", "name": "X", "price": 12.5, "tax_rate": 0})
    negative = d.event("sale.created", {"sale_id": "s"})
    assert [r[:2] for r in push(storage, A, [unknown, invalid, negative])] == [
        ("rejected", "UNKNOWN_TYPE"),
        ("rejected", "INVALID"),
        ("rejected", "INVALID"),
    ]
    assert storage.counts()["events"] == 0


def test_a_rejected_event_occupies_its_seq_and_the_chain_goes_on(storage):
    d = Device("s1", "A")
    bad = d.event("product.created", {"product_id": "p", "sku": "X"})  # INVALID, seq 1
    good = d.product_created()  # seq 2, links to the rejected event's hash
    assert [r[:2] for r in push(storage, A, [bad, good])] == [("rejected", "INVALID"), ("accepted", None)]
    assert push(storage, A, [bad])[0][:2] == ("rejected", "INVALID")  # a retry gets the same answer
    assert storage.device_me(A) == (2, good["hash"])


def test_out_of_order_seq_is_accepted_and_the_link_checked_when_the_gap_fills(storage):
    d = Device("s1", "A")
    e1, e2, e3 = d.product_created(), d.product_created(sku="B"), d.product_created(sku="C")
    assert push(storage, A, [e1, e3])[1][0] == "accepted"  # seq 3 before seq 2 (priority batching)
    forged = seal({**e2, "payload": {**e2["payload"], "name": "forged"}})
    assert push(storage, A, [forged])[0][:2] == ("rejected", "BROKEN_CHAIN")  # seq 3 does not link to it
    assert push(storage, A, [e2])[0][:2] == ("accepted", None)  # the genuine seq 2 still fits
    assert push(storage, A, [forged])[0][:2] == ("rejected", "ID_REUSED")  # its event_id is now taken
    assert storage.verify() == []


def test_a_broken_link_to_a_stored_predecessor_is_rejected(storage):
    d = Device("s1", "A")
    push(storage, A, [d.product_created()])
    d.last_hash = "a" * 64
    assert push(storage, A, [d.product_created(sku="B")])[0][:2] == ("rejected", "BROKEN_CHAIN")


def test_clock_skew_rejects_last_writer_wins_events_only(storage):
    d = Device("s1", "A")
    future = int(time.time() * 1000) + 10 * 60 * 1000
    d.hlc = pack(future)
    product = d.product_created()
    pid = product["payload"]["product_id"]
    sale = d.sale_created(pid)
    stock = d.stock_adjusted(pid)
    assert [r[:2] for r in push(storage, A, [product, sale, stock])] == [
        ("rejected", "CLOCK_SKEW"),
        ("accepted", None),
        ("accepted", None),
    ]


def test_concurrent_updates_of_one_field_are_a_last_write_wins_conflict(storage):
    a, b = Device("s1", "A"), Device("s1", "B")
    created = a.product_created()
    pid = created["payload"]["product_id"]
    push(storage, A, [created])
    base = created["hlc"]
    b.hlc = max(b.hlc, base)  # B pulled the product (its clock observed it), then edited offline
    ua = a.product_updated(pid, {"price": 1100}, base)
    ub = b.product_updated(pid, {"price": 1200}, base)  # B did not see A's change
    uc = b.product_updated(pid, {"name": "Pan"}, base)  # another field: no conflict
    assert push(storage, A, [ua]) == [("accepted", None, None, None)]
    assert push(storage, B, [ub, uc]) == [
        ("conflict", None, ua["event_id"], "last-write-wins"),
        ("accepted", None, None, None),
    ]
    ud = a.product_updated(pid, {"price": 1300}, ub["hlc"])  # A saw B's change: not concurrent
    assert push(storage, A, [ud])[0][0] == "accepted"


def test_an_update_of_a_deleted_product_is_a_manual_conflict(storage):
    a, b = Device("s1", "A"), Device("s1", "B")
    created = a.product_created()
    pid = created["payload"]["product_id"]
    deleted = a.event("product.deleted", {"product_id": pid})
    push(storage, A, [created, deleted])
    upd = b.product_updated(pid, {"price": 5}, created["hlc"])
    assert push(storage, B, [upd]) == [("conflict", None, deleted["event_id"], "manual")]


def test_stock_deltas_from_several_tills_are_never_a_conflict(storage):
    a, b = Device("s1", "A"), Device("s1", "B")
    pid = str(uuid.uuid4())
    assert [r[0] for r in push(storage, A, [a.stock_adjusted(pid, -2), a.sale_created(pid)])] == ["accepted"] * 2
    assert [r[0] for r in push(storage, B, [b.stock_adjusted(pid, -3), b.sale_created(pid)])] == ["accepted"] * 2


def test_pull_returns_the_store_other_devices_in_order_and_pages(storage):
    a, b = Device("s1", "A"), Device("s1", "B")
    other_store = Device("s2", "A")
    push(storage, A, [a.product_created(sku=f"A{i}") for i in range(5)])
    push(storage, B, [b.product_created(sku=f"B{i}") for i in range(3)])
    push(storage, DeviceAuth("s2", "A"), [other_store.product_created()])
    events, cursor, more = storage.pull(B, 0, 3, include_own=False)
    assert [e["device_id"] for e in events] == ["A"] * 3 and more
    rest, cursor2, more2 = storage.pull(B, cursor, 3, include_own=False)
    assert len(rest) == 2 and not more2
    assert storage.pull(B, cursor2, 3, include_own=False)[0] == []
    everything, _, _ = storage.pull(B, 0, 100, include_own=True)
    assert len(everything) == 8 and {e["store_id"] for e in everything} == {"s1"}
    seqs = [e["seq"] for e in everything if e["device_id"] == "A"]
    assert seqs == [1, 2, 3, 4, 5]


def test_verify_finds_a_tampered_event(storage, db_url):
    d = Device("s1", "A")
    push(storage, A, [d.product_created(), d.product_created(sku="B")])
    assert storage.verify() == []
    storage.database.execute_sql("UPDATE event SET actor = 'mallory' WHERE seq = 2")
    problems = storage.verify()
    assert problems and "seq 2: hash does not match" in problems[0]


@pytest.mark.parametrize("n", [1000])
def test_a_full_batch_is_stored(storage, n):
    d = Device("s1", "A")
    pid = str(uuid.uuid4())
    results = push(storage, A, [d.sale_created(pid) for _ in range(n)])
    assert [r[0] for r in results] == ["accepted"] * n
    assert storage.device_me(A)[0] == n


def test_a_rejected_stray_does_not_take_the_seq_of_a_stored_successor(storage):
    d = Device("s1", "A")
    e1, e2, e3 = d.product_created(), d.product_created(sku="B"), d.product_created(sku="C")
    push(storage, A, [e1, e3])
    stray = Device("s1", "A", seq=1).event("product.created", {"product_id": "x"})  # INVALID, seq 2
    assert push(storage, A, [stray])[0][:2] == ("rejected", "INVALID")
    assert push(storage, A, [e2])[0][:2] == ("accepted", None)
    assert storage.verify() == []


def test_a_version_1_database_gains_the_key_columns_when_opened(db_url):
    from caja_tui.server.storage import ServerStorage

    s = ServerStorage(db_url).open()
    for table, column in (("device", "public_key"), ("device", "key_from_seq"), ("event", "sig")):
        s.database.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")  # as a version-1 server made it
    s.close()
    s = ServerStorage(db_url).open()  # what `caja serve` does at its start
    try:
        assert {"public_key", "key_from_seq"} <= {c.name for c in s.database.get_columns("device")}
        assert "sig" in {c.name for c in s.database.get_columns("event")}
        d = Device("s1", "A")
        assert push(s, A, [d.product_created()]) == [("accepted", None, None, None)]
    finally:
        s.close()


def test_verify_checks_the_signatures_of_devices_with_a_key(storage):
    from caja_tui.server import devicekeys

    storage.enroll("s1", "A")
    d = Device("s1", "A")
    devicekeys.register("s1", "A", d.make_key(), 1)
    now = int(time.time() * 1000)
    keys = devicekeys.active_keys("s1")
    events = [d.product_created(), d.product_created(sku="A-2")]
    assert [r.status for r in storage.ingest(A, [check(e, now, keys) for e in events])] == ["accepted"] * 2
    assert storage.verify() == []
    with storage.database.atomic():  # someone with the database, not the key, alters a signature
        storage.database.execute_sql(
            storage._sql("UPDATE event SET sig = ? WHERE event_id = ?"), ("0" * 128, events[1]["event_id"])
        )
    problems = storage.verify()
    assert len(problems) == 1 and "seq 2" in problems[0] and "signature" in problems[0]
