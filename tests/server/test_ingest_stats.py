"""A database that takes a backlog keeps its planner statistics fresh (storage.keep_stats), and the owner's read
models catch up after pushes stop with a projector per worker (hq/background.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from caja_tui.server.hq import projector
from caja_tui.server.hq.background import Projecting
from caja_tui.server.hq.models import create_tables
from caja_tui.server.storage import DeviceAuth, ServerStorage
from tests.browser.hq_shop import day_of_trade
from tests.protocol_client import Device
from tests.server.test_storage_contract import push


def _backlog(storage, store: str, n: int) -> list[str]:
    d = Device(store, "t1")
    storage.enroll(store, "t1")
    events = [d.product_created()] + [d.stock_adjusted("p1") for _ in range(n - 1)]
    for i in range(0, n, 500):
        assert {r[0] for r in push(storage, DeviceAuth(store, "t1"), events[i : i + 500])} == {"accepted"}
    return [e["event_id"] for e in events]


def test_a_table_that_grew_by_a_backlog_is_analyzed_for_the_planner(storage):
    _backlog(storage, "s1", 3000)
    if not storage.is_pg:
        storage.keep_stats()  # nothing to do on SQLite
        return
    analyzed = 0.0
    deadline = time.monotonic() + 20  # PostgreSQL publishes a backend's row counts at most once a second
    while time.monotonic() < deadline and analyzed < 3000:
        storage._stats_due.clear()
        storage.keep_stats()
        analyzed = storage.database.execute_sql(
            "SELECT c.reltuples FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.relname = 'event' AND s.last_analyze IS NOT NULL"
        ).fetchone() or (0.0,)
        analyzed = analyzed[0]
        time.sleep(0.2)
    assert analyzed >= 3000  # the planner knows the rows: it no longer reads the store's every event a push


def test_the_read_models_catch_up_after_pushes_stop_with_a_projector_per_worker(db_url):
    first = ServerStorage(db_url).open()
    create_tables(first.database)
    workers = [first, ServerStorage(db_url).open(create=False)]
    try:
        projecting = [Projecting(lambda s=s: s, quiet_s=0.05, max_wait_s=1.0) for s in workers]
        for store in ("s1", "s2"):
            first.enroll(store, "t1")
            events = day_of_trade(Device(store, "t1"))
            for n, i in enumerate(range(0, len(events), 2)):  # pushes to either worker in turn
                push(workers[n % 2], DeviceAuth(store, "t1"), events[i : i + 2])
                projecting[n % 2].wake()  # as the worker that took the push does
        pr = projector.Projector(first)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(pr.cursor(s) < pr.top(s) for s in ("s1", "s2")):
            time.sleep(0.1)
        assert all(pr.cursor(s) == pr.top(s) > 0 for s in ("s1", "s2"))
        assert projector.verify(first) == []  # each event counted once
    finally:
        for s in workers:
            s.close()
