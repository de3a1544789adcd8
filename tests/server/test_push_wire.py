"""A msgpack pull sends each event as encoded once at ingest (`event.wire`), the same event as the plain pull."""

from __future__ import annotations

import msgspec

from caja_tui.server.storage import DeviceAuth
from tests.protocol_client import Device
from tests.server.test_storage_contract import push

A = DeviceAuth("s1", "A")
B = DeviceAuth("s1", "B")


def _plain(storage, auth):
    events, cursor, more = storage.pull(auth, 0, 100, False)
    for e in events:
        e["payload"] = msgspec.json.decode(e["payload"])
    return events, cursor, more


def _encoded(storage, auth):
    events, cursor, more = storage.pull(auth, 0, 100, False, encoded=True)
    return [msgspec.msgpack.decode(bytes(e)) for e in events], cursor, more


def test_the_encoded_pull_is_the_plain_pull(storage):
    d = Device("s1", "A")
    push(storage, A, [d.product_created(), d.product_created()])
    assert _encoded(storage, B) == _plain(storage, B)
    assert len(_plain(storage, B)[0]) == 2


def test_events_stored_before_the_wire_column_are_encoded_at_the_pull(storage):
    d = Device("s1", "A")
    push(storage, A, [d.product_created(), d.product_created(), d.product_created()])
    storage.database.execute_sql("UPDATE event SET wire = NULL WHERE seq <> 2")
    assert _encoded(storage, B) == _plain(storage, B)


def test_verify_finds_a_wire_form_that_differs_from_the_event(storage):
    d = Device("s1", "A")
    push(storage, A, [d.product_created(), d.product_created()])
    assert storage.verify() == []
    storage.database.execute_sql(
        storage._sql("UPDATE event SET wire = ? WHERE seq = 2"), (msgspec.msgpack.encode({"x": 1}),)
    )
    assert [p.endswith("the wire form a pull sends differs from the stored event") for p in storage.verify()] == [True]
