"""The owner's read models (server/hq/projector.py) on SQLite and PostgreSQL: right figures, the same whatever
order the events arrive in, rebuilt and verified from the events."""

from __future__ import annotations

import random

from caja_tui.server.hq import projector
from caja_tui.server.hq.models import create_tables
from caja_tui.server.storage import DeviceAuth
from tests.browser.hq_shop import BREAD, MILK, day_of_trade
from tests.protocol_client import Device
from tests.server.test_storage_contract import push


def _figures(storage, store):
    pr = projector.Projector(storage)
    return {
        "hours": pr.rows(
            "SELECT SUM(sales), SUM(amount), SUM(refunds) FROM hq_sales_hour WHERE store_id = ?", (store,)
        )[0],
        "methods": dict(
            pr.rows("SELECT method, SUM(amount) FROM hq_method_day WHERE store_id = ? GROUP BY method", (store,))
        ),
        "qty": dict(
            pr.rows("SELECT product_id, SUM(qty) FROM hq_product_day WHERE store_id = ? GROUP BY product_id", (store,))
        ),
        "stock": dict(pr.rows("SELECT product_id, qty FROM hq_product WHERE store_id = ?", (store,))),
        "names": dict(pr.rows("SELECT product_id, name FROM hq_product WHERE store_id = ?", (store,))),
        "z": pr.rows("SELECT device_id, counted, expected, difference FROM hq_z_report WHERE store_id = ?", (store,)),
    }


def test_a_day_of_trade_folds_into_the_owners_figures_in_any_arrival_order(storage):
    create_tables(storage.database)
    events = day_of_trade(Device("s1", "t1"))
    shuffled = [dict(e, store_id="s2") for e in events]  # the same facts, in another store, arriving shuffled
    from tests.protocol_client import seal

    shuffled = [seal(e) for e in _rechain(shuffled)]
    random.Random(7).shuffle(shuffled)
    for store, batch in (("s1", events), ("s2", shuffled)):
        storage.enroll(store, "t1")
        for i in range(0, len(batch), 3):  # several pushes and catch-ups, the projector between them
            push(storage, DeviceAuth(store, "t1"), batch[i : i + 3])
            assert projector.catch_up_all(storage)
    want = {
        "hours": (2, 860, 250),
        "methods": {"cash": 620, "card": 240},
        "qty": {BREAD: 2, MILK: 3},
        "stock": {BREAD: 18, MILK: -4},
        "names": {BREAD: "Pan", MILK: "Leche"},
        "z": [("t1", 600, 620, -20)],
    }
    assert _figures(storage, "s1") == want
    assert _figures(storage, "s2") == want
    assert projector.verify(storage) == []


def test_rebuild_restores_and_verify_finds_a_damaged_read_model(storage):
    create_tables(storage.database)
    storage.enroll("s1", "t1")
    push(storage, DeviceAuth("s1", "t1"), day_of_trade(Device("s1", "t1")))
    projector.catch_up_all(storage)
    before = _figures(storage, "s1")
    storage.database.execute_sql("UPDATE hq_sales_hour SET amount = amount + 1")
    storage.database.execute_sql("DELETE FROM hq_z_report")
    problems = projector.verify(storage)
    assert any("hq_sales_hour" in p for p in problems) and any("hq_z_report" in p for p in problems), problems
    assert projector.rebuild(storage) == 10
    assert _figures(storage, "s1") == before
    assert projector.verify(storage) == []


def _rechain(events):
    """Events moved to another store need their chain recomputed (the store is part of what is hashed)."""
    prev = "0" * 64
    from tests.protocol_client import seal

    out = []
    for e in sorted(events, key=lambda e: e["seq"]):
        e = seal({**e, "prev_hash": prev})
        prev = e["hash"]
        out.append(e)
    return out


def test_workers_catching_up_one_store_at_once_count_each_event_once(storage):
    import threading

    create_tables(storage.database)
    storage.enroll("s1", "t1")
    push(storage, DeviceAuth("s1", "t1"), day_of_trade(Device("s1", "t1")))
    errors = []

    def work():
        try:
            projector.Projector(storage).catch_up("s1", batch=2)  # each thread its own connection
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            storage.database.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _figures(storage, "s1")["hours"] == (2, 860, 250)
    assert projector.verify(storage) == []


def test_the_overview_counts_the_manual_conflicts_no_manager_settled(storage):
    from caja_tui.server.hq.queries import Reader

    create_tables(storage.database)
    storage.enroll("s1", "t1")
    storage.database.execute_sql(
        storage._sql(
            'INSERT INTO "conflict" (store_id, event_id, conflict_with, resolution, created_at) VALUES '
            "(?, 'e1', 'x', 'manual', 0), (?, 'e2', 'x', 'manual', 0), (?, 'e3', 'x', 'last-write-wins', 0)"
        ),
        ("s1", "s1", "s1"),
    )
    d = Device("s1", "t1")
    settled = d.event("conflict.resolved", {"event_id": "e1", "conflict_with": "x", "outcome": "keep", "note": ""})
    push(storage, DeviceAuth("s1", "t1"), [settled])
    projector.catch_up_all(storage)
    assert Reader(storage).conflicts_waiting(["s1"]) == {"s1": 1}
