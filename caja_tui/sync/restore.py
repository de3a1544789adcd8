"""`caja restore`: rebuild a till whose disk died, from the server, onto an empty database."""

from __future__ import annotations

import time

import msgspec

from ..store.sqlite import SqliteStore, StoreError
from .engine import SyncEngine
from .transport import Transport


class Restored(msgspec.Struct):
    events: int
    own_events: int
    last_seq: int
    seconds: float


def restore(store: SqliteStore, transport: Transport) -> Restored:
    if store.count_events() and store.meta("restoring") != "1":
        raise StoreError(
            f"{store.path} already holds events; restore only fills an empty database "
            "(create one with `caja init` and a new db path)"
        )
    me = transport.devices_me()
    if (me.store_id, me.device_id) != (store.store_id, store.device_id):
        raise StoreError(
            f"the token belongs to store '{me.store_id}' device '{me.device_id}', but the config says "
            f"store '{store.store_id}' device '{store.device_id}'; fix [till] in the config"
        )
    t0 = time.perf_counter()
    store.set_meta("restoring", "1")  # an interrupted restore may be run again: it goes on from its cursor
    engine = SyncEngine(store, transport)
    engine.refresh_devices()  # the store's keys: the restored events' signatures are checked
    engine.pull_all(include_own=True, page=1000, gentle=False)
    store.resume_chain(
        me.last_seq, me.last_hash, store.last_hlc_of(store.device_id), store.last_receipt_number_of(store.device_id)
    )
    store.key_resumes_at(me.last_seq + 1)  # this till's key signs what it writes after the restored chain
    store.set_meta("restoring", "0")
    own = store.count_events(store.device_id)
    total = store.count_events()
    return Restored(events=total, own_events=own, last_seq=me.last_seq, seconds=time.perf_counter() - t0)
