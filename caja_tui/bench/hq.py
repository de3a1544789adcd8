"""The owner's pages (`/hq/`) at a chain's size: `hq_overview_ms` and `hq_store_ms` (p95 over many loads by a
logged-in owner who sees every store) on SQLite and, where a throwaway cluster starts, PostgreSQL; and how fast
the read models fold (`hq_rebuild_events_per_s`, `caja serve rebuild`).

The server's event table is filled directly (the push path is measured by bench/server.py): three real tills'
histories (bench/data.py, sales, refunds, stock, cash) spread over the last 30 days, copied into every store
with that store's id and fresh event ids, so 20 stores x 3 tills hold `n_events` in all.

| figure | what |
|---|---|
| hq_overview_ms(_postgresql) | p95 of GET /hq/ (every store's today, week, tills, refused events) |
| hq_store_ms(_postgresql) | p95 of GET /hq/stores/S, S taken in turn (charts, methods, top products, stock, Z) |
| hq_rebuild_events_per_s(_postgresql) | the read models folded afresh from every stored event |
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

from .data import pct, till_backlog

STORES, TILLS = 20, 3
DAY_MS = 86_400_000
PASSWORD = "bench-owner-password"


def bench_hq(work: Path, n_events: int, loads: int = 100, *, postgresql: bool = True) -> dict[str, Any]:
    """The figures on SQLite, then on PostgreSQL when a throwaway cluster starts (else a note says why not)."""
    histories = [_spread(till_backlog(work, f"hq{t}", max(100, n_events // (STORES * TILLS)))) for t in range(TILLS)]
    out = _backend(work, str(work / "hq-server.db"), histories, loads, "")
    if not postgresql:
        return out
    from ..server.devcluster import Cluster

    try:
        cluster = Cluster().start()
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: said in the JSON, the SQLite figures stand
        return {**out, "hq_postgresql_note": f"no throwaway PostgreSQL cluster could be started ({exc})"}
    try:
        out.update(_backend(work, cluster.new_database(), histories, loads, "_postgresql"))
    finally:
        cluster.stop()
    return out


def _spread(events: list[dict]) -> list[dict]:
    """The history's hlc spread over the last 30 days, in its order (the charts then have 30 days to draw)."""
    now, n = time.time_ns() // 1_000_000, max(1, len(events))
    return [{**e, "hlc": (now - 30 * DAY_MS + (30 * DAY_MS * i) // n) << 16} for i, e in enumerate(events)]


def _fill(db: str, histories: list[list[dict]]) -> int:
    import msgspec

    from ..server.bulk import copy_events
    from ..server.run import open_storage

    storage = open_storage(db)
    try:
        n, now = 0, time.time_ns() // 1_000_000
        for s in range(STORES):
            store = f"store{s:02d}"
            rows = []
            for t, history in enumerate(histories):
                storage.enroll(store, f"t{t + 1}")
                for e in history:
                    payload = msgspec.json.encode(e["payload"], order="sorted").decode()
                    rows.append(
                        (str(uuid.uuid4()), store, f"t{t + 1}", e["seq"], e["type"], e["hlc"], e["created_at"],
                         e["actor"], e["v"], e["prev_hash"], e["hash"], payload, now, None)
                    )  # fmt: skip
            copy_events(storage, store, rows, now)
            n += len(rows)
        return n
    finally:
        storage.close()


def _backend(work: Path, db: str, histories: list[list[dict]], loads: int, suffix: str) -> dict[str, Any]:
    import requests

    from ..server.devcluster import free_port
    from ..server.hq import admin, owners, projector
    from ..server.run import open_storage
    from .server import serve

    n = _fill(db, histories)
    admin.setup(db)
    storage = open_storage(db)
    try:
        owners.add("bench", PASSWORD, (owners.ALL,))
        t0 = time.perf_counter()
        projector.rebuild(storage)
        rebuild_s = time.perf_counter() - t0
    finally:
        storage.close()
    port = free_port()
    proc = serve(db, port)
    try:
        url = f"http://127.0.0.1:{port}/hq"
        s = requests.Session()
        csrf = re.search(r'name="csrf" value="([^"]+)"', s.get(url + "/login").text)
        assert csrf is not None
        s.post(url + "/login", data={"csrf": csrf.group(1), "name": "bench", "password": PASSWORD}).raise_for_status()
        overview = _timed(s, [url + "/"] * loads)
        store = _timed(s, [f"{url}/stores/store{i % STORES:02d}" for i in range(loads)])
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return {
        f"hq_overview_ms{suffix}": round(pct(overview, 95), 2),
        f"hq_store_ms{suffix}": round(pct(store, 95), 2),
        f"hq_rebuild_events_per_s{suffix}": round(n / rebuild_s),
        f"hq_events{suffix}": n,
    }


def _timed(s: Any, urls: list[str]) -> list[float]:
    for u in dict.fromkeys(urls):  # warm: connections, templates, each page's data in the page cache once
        s.get(u).raise_for_status()
    out = []
    for u in urls:
        t0 = time.perf_counter()
        r = s.get(u)
        out.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        assert "catching up" not in r.text, "the read models were not caught up before timing"
    return out
