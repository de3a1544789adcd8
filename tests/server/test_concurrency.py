"""Many clients pushing overlapping batches at once while a reader pulls all the while: no duplicate, no skip."""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest

from tests.protocol_client import Client, Device
from tests.server_proc import ServerProcess

DEVICES = 4
EVENTS_PER_DEVICE = 300


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_overlapping_pushes_and_a_concurrent_reader(backend, tmp_path, request):
    url = str(tmp_path / "s.db") if backend == "sqlite" else request.getfixturevalue("pg_cluster").new_database()
    srv = ServerProcess(url, workers=4).start()
    try:
        store = "conc"
        tokens = {f"T{i}": srv.enroll(store, f"T{i}") for i in range(DEVICES)}
        reader_token = srv.enroll(store, "READER")
        chains = {}
        for dev in tokens:
            d = Device(store, dev)
            pid = str(uuid.uuid4())
            chains[dev] = [d.sale_created(pid) if i % 3 else d.stock_adjusted(pid) for i in range(EVENTS_PER_DEVICE)]
        errors: list[str] = []
        done = threading.Event()

        def pusher(dev: str, seed: int) -> None:
            try:
                push(dev, seed)
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(f"{dev}: {exc!r}")

        def push(dev: str, seed: int) -> None:
            rnd = random.Random(seed)
            c = Client(srv.url, tokens[dev], fmt="msgpack" if seed % 2 else "json")
            events = chains[dev]
            i = 0
            while i < len(events):  # overlapping windows: each batch re-sends part of the previous one
                size = rnd.randint(5, 60)
                start = max(0, i - rnd.randint(0, 20))
                results = c.push(events[start : i + size])
                if any(r["status"] not in ("accepted", "duplicate") for r in results):
                    errors.append(f"{dev}: {[r for r in results if r['status'] not in ('accepted', 'duplicate')]}")
                i += size

        seen: list[dict] = []

        def reader() -> None:
            try:
                read()
            except Exception as exc:  # noqa: BLE001 - reported by the main thread
                errors.append(f"reader: {exc!r}")

        def read() -> None:
            c = Client(srv.url, reader_token)
            cursor = 0
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                page = c.pull(cursor, limit=97)
                seen.extend(page["events"])
                assert page["cursor"] >= cursor
                cursor = page["cursor"]
                if done.is_set() and not page["more"]:
                    page = c.pull(cursor, limit=1000)  # one last look after the pushers finished
                    seen.extend(page["events"])
                    if not page["events"]:
                        return
                    cursor = page["cursor"]  # events that landed since: go on from after them

        threads = [
            threading.Thread(target=pusher, args=(dev, k * 10 + j)) for j in range(2) for k, dev in enumerate(tokens)
        ]  # two pushers per device: the same events at the same time
        r = threading.Thread(target=reader)
        r.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        done.set()
        r.join(timeout=180)
        assert not errors, errors[:3]
        expected = {e["event_id"] for evs in chains.values() for e in evs}
        ids = [e["event_id"] for e in seen]
        assert len(ids) == len(set(ids)), "the reader got an event twice"
        assert set(ids) == expected, f"the reader missed {len(expected - set(ids))} events"
        # the server holds each event once, and every device's chain is whole
        full = Client(srv.url, reader_token).pull_all(limit=1000)
        assert len(full) == len(expected)
        for dev in tokens:
            assert sorted(e["seq"] for e in full if e["device_id"] == dev) == list(range(1, EVENTS_PER_DEVICE + 1))
        v = srv.caja("verify")
        assert v.returncode == 0, v.stdout
    finally:
        srv.stop()
