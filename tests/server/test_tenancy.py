"""Stores on one server know nothing of each other (issue 15), on SQLite and PostgreSQL: an event id is answered
per store, and `caja serve revoke` never ends the token of a device id it had to guess the store of."""

from __future__ import annotations

import time
import uuid

from caja_tui.server.storage import DeviceAuth, ServerStorage
from caja_tui.server.validate import check
from tests.protocol_client import Client, Device, seal
from tests.server_proc import ServerProcess


def push(storage, auth, events):
    now = int(time.time() * 1000)
    return [(r.status, r.code) for r in storage.ingest(auth, [check(e, now) for e in events])]


def first_event(store: str, device: str, event_id: str, sku: str = "A-1") -> dict:
    """The first event of a device (seq 1), under the id given."""
    return seal({**Device(store, device).product_created(sku=sku), "event_id": event_id})


def test_an_id_used_in_another_store_gets_the_answer_of_an_unused_one(storage):
    a = DeviceAuth("sa", "T1")
    taken = Device("sa", "T1").product_created()
    assert push(storage, a, [taken]) == [("accepted", None)]
    unused = first_event("sb", "T1", str(uuid.uuid4()))
    same_id = first_event("sb", "T2", taken["event_id"])  # the same place in another device's chain
    b = DeviceAuth("sb", "T2")
    assert push(storage, DeviceAuth("sb", "T1"), [unused]) == push(storage, b, [same_id]) == [("accepted", None)]
    assert push(storage, b, [same_id]) == [("duplicate", None)]  # and it is B's own from now on
    assert push(storage, a, [taken]) == [("duplicate", None)]
    other = seal({**same_id, "payload": {**same_id["payload"], "name": "Otro"}})
    assert push(storage, b, [other]) == [("rejected", "ID_REUSED")]  # reuse within a store is still refused
    for auth, event in ((a, taken), (b, same_id)):  # each store pulls its own event under that id
        pulled, _, _ = storage.pull(DeviceAuth(auth.store_id, "other"), 0, 10, False)
        assert [e["hash"] for e in pulled if e["event_id"] == taken["event_id"]] == [event["hash"]]
    assert storage.verify() == []


def test_an_id_rejected_in_another_store_is_not_answered_with_that_rejection(storage):
    a, b = DeviceAuth("sa", "T1"), DeviceAuth("sb", "T1")
    bad = Device("sa", "T1").event("product.created", {"product_id": "p", "sku": "X"})  # INVALID, recorded
    assert push(storage, a, [bad]) == [("rejected", "INVALID")]
    mine = first_event("sb", "T1", bad["event_id"])
    assert push(storage, b, [mine]) == [("accepted", None)]


def test_a_database_of_an_older_release_loses_its_server_wide_id_index_when_opened(db_url):
    s = ServerStorage(db_url).open()
    s.database.execute_sql("DROP INDEX IF EXISTS event_store_id_event_id")
    s.database.execute_sql("CREATE UNIQUE INDEX event_event_id ON event (event_id)")  # as an older release made it
    taken = Device("sa", "T1").product_created()
    assert push(s, DeviceAuth("sa", "T1"), [taken]) == [("accepted", None)]
    s.close()
    s = ServerStorage(db_url).open()  # what `caja serve` does at its start
    try:
        indexes = {i.name: i for i in s.database.get_indexes("event")}
        assert "event_event_id" not in indexes and indexes["event_store_id_event_id"].unique
        same_id = first_event("sb", "T1", taken["event_id"])
        assert push(s, DeviceAuth("sb", "T1"), [same_id]) == [("accepted", None)]
    finally:
        s.close()


def test_over_http_a_push_tells_nothing_of_another_store(server):
    sa, sb = ("st-" + uuid.uuid4().hex[:8] for _ in range(2))
    ca, cb = Client(server.url, server.enroll(sa, "T1")), Client(server.url, server.enroll(sb, "T1"))
    taken = Device(sa, "T1").product_created()
    assert ca.push([taken])[0]["status"] == "accepted"
    cb2 = Client(server.url, server.enroll(sb, "T2"))
    answers = [
        cb.push([first_event(sb, "T1", str(uuid.uuid4()))])[0],
        cb2.push([first_event(sb, "T2", taken["event_id"])])[0],
    ]
    assert [(r["status"], r.get("code")) for r in answers] == [("accepted", None), ("accepted", None)]


def test_revoke_without_a_store_refuses_a_device_id_of_several_stores(db_url):
    srv = ServerProcess(db_url)
    tokens = {s: srv.enroll(s, "T1") for s in ("b-shop", "a-shop")}
    only = srv.enroll("c-shop", "T2")
    ambiguous = srv.caja("revoke", "--device", "T1")
    assert ambiguous.returncode == 2
    assert "T1 is in stores a-shop, b-shop: say which with --store" in ambiguous.stderr
    assert "nothing was revoked" in ambiguous.stderr
    s = ServerStorage(db_url).open(create=False)
    try:
        assert all(s.authenticate(t) is not None for t in tokens.values())
        done = srv.caja("revoke", "--device", "T1", "--store", "a-shop")
        assert done.returncode == 0 and done.stdout.startswith("device T1 of store a-shop: token revoked")
        assert s.authenticate(tokens["a-shop"]) is None and s.authenticate(tokens["b-shop"]) is not None
        again = srv.caja("revoke", "--device", "T1", "--store", "a-shop")
        assert again.returncode == 0 and "already revoked; nothing changed" in again.stdout
        sole = srv.caja("revoke", "--device", "T2")  # in one store only: no need to name it
        assert sole.returncode == 0 and sole.stdout.startswith("device T2 of store c-shop: token revoked")
        assert s.authenticate(only) is None
        none = srv.caja("revoke", "--device", "T9")
        assert none.returncode == 1 and "no enrolled device 'T9'" in none.stderr
        both = srv.caja("revoke", "--device", "T1")  # still in two stores (one revoked): still ambiguous
        assert both.returncode == 2 and s.authenticate(tokens["b-shop"]) is not None
    finally:
        s.close()
