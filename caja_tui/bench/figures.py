"""`caja bench [--json] [--quick]`: measure this machine with real SQLite files in a scratch folder.

Every issue adds its figures here. Each figure says the size it was measured at (`sizes`); `--quick` uses
smaller sizes and finishes in under 30 s. Times are medians or percentiles over many runs, never one run.
"""

from __future__ import annotations

import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path

from .. import __version__

GOALS = {
    "checkout_p99_ms": "<= 5",
    "import_products_per_s": ">= 30000",
    "rebuild_events_per_s": ">= 50000 at 1,000,000 events",
    "pending_query_ms": "<= 1 (next 50 of 1,000,000 pending)",
    "z_report_ms": "<= 200 (a day of 5,000 sales)",
    "push_100_ms": "<= 5",
    "push_events_per_s_sqlite": ">= 20000",
    "push_events_per_s_postgresql": ">= 10000",
    "pull_events_per_s": ">= 50000",
    "drain_100k_s": "<= 10",
    "restore_events_per_s": ">= 20000",
    "checkout_p99_ms_while_syncing": "<= 2 x checkout_p99_ms",
    "startup_ms": "<= 600 (50,000 products, 1,000,000 events)",
    "rss_mb": "<= 64",
    "scan_p99_ms": "<= 20 (50,000 products)",
    "idle_cpu_pct": "<= 0.5 (30 s on the sales screen)",
}


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def _store(path: Path, device: str = "T01"):
    from ..store.sqlite import SqliteStore

    return SqliteStore(path, store_id="bench", device_id=device).open()


def _catalog_rows(n: int, seed: int = 1):
    from ..application.importing import ImportRow

    rnd = random.Random(seed)
    return [ImportRow(i + 2, f"SKU-{i:06d}", [f"750{i:010d}"], f"Product {i} {rnd.choice('ABCDEFGH')}",
                      rnd.randint(100, 50_000), rnd.choice((0, 1600)), rnd.randint(0, 500), "Bench")
            for i in range(n)]


def bench_import(workdir: Path, n: int) -> dict:
    from ..application.importing import import_rows, parse_csv

    rows = _catalog_rows(n)
    text = "sku,barcode,name,price,tax_rate,stock,category\n" + "".join(
        f"{r.sku},{r.barcodes[0]},{r.name},{r.price // 100}.{r.price % 100:02d},{r.tax_rate // 100},{r.stock},"
        f"{r.category}\n" for r in rows)
    s = _store(workdir / "import.db")
    t0 = time.perf_counter()
    parsed = parse_csv(text, 2)
    import_rows(s, "system", parsed)
    seconds = time.perf_counter() - t0
    s.close()
    return {"import_products_per_s": round(n / seconds)}


def bench_checkout(workdir: Path, n_sales: int, n_products: int = 1000) -> dict:
    from ..application import cash, sales, users
    from ..application.importing import import_rows
    from ..domain.cart import Cart
    from ..domain.events import Tender

    s = _store(workdir / "checkout.db")
    users.create_user(s, "system", name="Bench", role="manager", pin="1234", user_id="bench")
    import_rows(s, "system", _catalog_rows(n_products))
    cash.open_session(s, "bench", 0)
    rnd = random.Random(2)
    times = []
    for _ in range(n_sales):
        cart = Cart()
        for _ in range(5):
            i = rnd.randrange(n_products)
            sales.scan(s, cart, f"750{i:010d}")
        total = sales.rules.price_sale(cart.lines, 0, True).total
        t0 = time.perf_counter()
        sales.complete_sale(s, "bench", cart, [Tender(method="cash", amount=total + 1000)], prices_include_tax=True)
        times.append((time.perf_counter() - t0) * 1000)
    s.close()
    return {"checkout_p50_ms": round(statistics.median(times), 3), "checkout_p99_ms": round(_pct(times, 99), 3)}


def generate_events(store, n_events: int, *, n_products: int = 10_000, seed: int = 3) -> int:
    """Fill a till with a realistic history: products, stock, a cash session, and mostly sales (1-5 lines)."""
    from ..domain import rules
    from ..domain.cart import CartLine
    from ..domain.events import (
        CashSessionOpened,
        ProductCreated,
        SaleCreated,
        StockAdjusted,
        StockCounted,
        StockReceived,
        Tender,
        UserCreated,
    )
    from ..domain.ids import uuid7

    rnd = random.Random(seed)
    made = 0
    n_products = min(n_products, max(1, n_events // 20))
    catalog = []
    with store.transaction() as tx:
        tx.emit(UserCreated(user_id="bench", name="Bench", role="manager", pin_hash="x"), "system")
        session = uuid7()
        tx.emit(CashSessionOpened(session_id=session, opening_float=0), "bench")
        made += 2
    while made < n_events:
        with store.transaction() as tx:
            for _ in range(min(10_000, n_events - made)):
                if len(catalog) < n_products:
                    pid = uuid7()
                    price, rate = rnd.randint(100, 50_000), rnd.choice((0, 1600))
                    n = len(catalog)
                    tx.emit(ProductCreated(product_id=pid, sku=f"SKU-{n:06d}", name=f"Product {n}", price=price,
                                           tax_rate=rate, barcodes=[f"750{n:010d}"], category="Bench"), "bench")
                    catalog.append((pid, f"SKU-{n:06d}", price, rate))
                else:
                    roll = rnd.random()
                    pid, sku, price, rate = rnd.choice(catalog)
                    if roll < 0.02:
                        tx.emit(StockCounted(product_id=pid, counted=rnd.randint(0, 500)), "bench")
                    elif roll < 0.05:
                        tx.emit(StockReceived(product_id=pid, qty=rnd.randint(1, 100)), "bench")
                    elif roll < 0.06:
                        tx.emit(StockAdjusted(product_id=pid, delta=-rnd.randint(1, 3), reason="damaged"), "bench")
                    else:
                        lines = []
                        for _ in range(rnd.randint(1, 5)):
                            pid, sku, price, rate = rnd.choice(catalog)
                            lines.append(CartLine(product_id=pid, sku=sku, name=sku, qty=rnd.randint(1, 3),
                                                  unit_price=price, tax_rate=rate))
                        p = rules.price_sale(lines, 0, True)
                        tx.emit(SaleCreated(sale_id=uuid7(), receipt_no=tx.next_receipt_no(), session_id=session,
                                            lines=p.lines, subtotal=p.subtotal, tax=p.tax, total=p.total,
                                            payments=[Tender(method="cash", amount=p.total)],
                                            prices_include_tax=True), "bench")
                made += 1
    return made


def bench_z_report(workdir: Path, n_sales: int = 5000) -> dict:
    """A Z report over a day of n sales (1-5 lines, some mixed payments and refunds)."""
    import datetime as dt

    from ..application import cash, reports
    from ..domain import rules
    from ..domain.cart import CartLine
    from ..domain.events import SaleCreated, Tender, UserCreated
    from ..domain.ids import uuid7

    s = _store(workdir / "z.db")
    with s.transaction() as tx:
        tx.emit(UserCreated(user_id="bench", name="Bench", role="manager", pin_hash="x"), "system")
    session = cash.open_session(s, "bench", 10_000)
    rnd = random.Random(6)
    with s.transaction(bulk=True) as tx:
        for _ in range(n_sales):
            lines = [CartLine(product_id=f"p{rnd.randrange(500)}", sku="S", name="Bench item", qty=rnd.randint(1, 3),
                              unit_price=rnd.randint(100, 9000), tax_rate=rnd.choice((0, 1600)))
                     for _ in range(rnd.randint(1, 5))]
            p = rules.price_sale(lines, 0, True)
            pays = ([Tender(method="card", amount=p.total // 2), Tender(method="cash", amount=p.total - p.total // 2)]
                    if rnd.random() < 0.2 else [Tender(method="cash", amount=p.total)])
            tx.emit(SaleCreated(sale_id=uuid7(), receipt_no=tx.next_receipt_no(), session_id=session.id, lines=p.lines,
                                subtotal=p.subtotal, tax=p.tax, total=p.total, payments=pays,
                                prices_include_tax=True), "bench")
    cash.close_session(s, "bench", counted=0)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        reports.z_report(s, currency="MXN", exponent=2, tz=dt.UTC)
        times.append((time.perf_counter() - t0) * 1000)
    s.close()
    return {"z_report_ms": round(statistics.median(times), 1)}


def bench_events(workdir: Path, n_events: int) -> dict:
    from ..store.maintenance import rebuild

    path = workdir / "events.db"
    s = _store(path)
    t0 = time.perf_counter()
    made = generate_events(s, n_events)
    gen_s = time.perf_counter() - t0
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    r = rebuild(s)
    # the outbox query the sync engine runs: the next 50 pending events by priority, then seq
    q = ("SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload "
         "FROM event WHERE sync_status = 'pending' ORDER BY priority DESC, seq LIMIT 50")
    times = []
    conn = s.conn
    for i in range(300):
        if i % 50 == 0:  # move the head of the queue, as a sync would
            conn.execute("UPDATE event SET sync_status = 'synced' WHERE id IN (SELECT id FROM event "
                         "WHERE sync_status = 'pending' ORDER BY priority DESC, seq LIMIT 50)")
        t1 = time.perf_counter()
        rows = conn.execute(q).fetchall()
        times.append((time.perf_counter() - t1) * 1000)
        assert len(rows) == 50
    # the archive: every event synced and old enough, into compressed chunks
    from ..store.archive import archive

    conn.execute("UPDATE event SET sync_status = 'synced'")
    a = archive(s, 0)
    s.close()
    return {"archive_events_per_s": round(a.events / a.seconds), "archive_ratio": round(a.ratio, 2),
            "rebuild_events_per_s": round(r.per_second), "pending_query_ms": round(statistics.median(times), 3),
            "pending_query_p99_ms": round(_pct(times, 99), 3), "db_bytes_per_event": round(size / made),
            "generate_events_per_s": round(made / gen_s)}


def _till_backlog(workdir: Path, device: str, n: int) -> list[dict]:
    """A real till's events (a history like generate_events makes), as wire dicts."""
    import msgspec

    s = _store(workdir / f"backlog-{device}.db", device=device)
    generate_events(s, n, n_products=max(10, n // 50), seed=zlib.crc32(device.encode()))
    events = [msgspec.to_builtins(e) for e in s.iter_events()]
    s.close()
    return events


def _serve(db: str, port: int, workers: int = 2):
    import subprocess

    import requests

    proc = subprocess.Popen([sys.executable, "-m", "caja_tui.cli", "serve", "--db", db, "--port", str(port),
                             "--workers", str(workers), "--rate", "0", "--log", os.devnull],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("caja serve did not start")


def _enroll(db: str, store: str, device: str) -> str:
    from ..server.run import enroll_token

    return enroll_token(db, store, device)


def _body(events: list[dict]) -> bytes:
    import gzip

    import msgspec

    return gzip.compress(msgspec.msgpack.encode({"events": events}), compresslevel=5)


def _push_all(url: str, token: str, bodies: list[bytes]) -> None:
    import requests

    s = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/msgpack",
               "Content-Encoding": "gzip", "Accept": "application/msgpack", "Accept-Encoding": "gzip"}
    for body in bodies:
        r = s.post(url + "/v1/events", data=body, headers=headers, timeout=120)
        r.raise_for_status()


def bench_server_backend(db: str, backlogs: dict[str, list[dict]], *, measure_single: bool, rounds: int) -> dict:
    import threading

    import msgspec
    import requests

    from ..server.devcluster import free_port

    out: dict = {}
    port = free_port()
    proc = _serve(db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        tokens = {d: _enroll(db, "bench", d) for d in [*backlogs, "READER", "SOLO"]}
        if measure_single:
            solo = _till_backlog(Path(tempfile.mkdtemp(prefix="caja-solo-")), "SOLO", rounds * 100)
            bodies = [_body(solo[i:i + 100]) for i in range(0, len(solo), 100)]
            out["wire_bytes_per_event"] = round(sum(len(b) for b in bodies) / len(solo), 1)
            s = requests.Session()
            headers = {"Authorization": f"Bearer {tokens['SOLO']}", "Content-Type": "application/msgpack",
                       "Content-Encoding": "gzip", "Accept": "application/msgpack", "Accept-Encoding": "gzip"}
            times = []
            for body in bodies:
                t0 = time.perf_counter()
                r = s.post(url + "/v1/events", data=body, headers=headers, timeout=60)
                times.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                assert all(x["status"] == "accepted" for x in msgspec.msgpack.decode(r.content)["results"])
            out["push_100_ms"] = round(statistics.median(times), 2)
            out["push_100_p99_ms"] = round(_pct(times, 99), 2)
        total = sum(len(v) for v in backlogs.values())
        bodies = {d: [_body(evs[i:i + 1000]) for i in range(0, len(evs), 1000)] for d, evs in backlogs.items()}
        threads = [threading.Thread(target=_push_all, args=(url, tokens[d], bodies[d])) for d in backlogs]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out["push_events_per_s"] = round(total / (time.perf_counter() - t0))
        if measure_single:
            s = requests.Session()
            s.headers.update({"Authorization": f"Bearer {tokens['READER']}", "Accept": "application/msgpack",
                              "Accept-Encoding": "gzip"})
            t0 = time.perf_counter()
            cursor, got, more = 0, 0, True
            while more:
                page = msgspec.msgpack.decode(s.get(url + "/v1/events", params={"after": cursor, "limit": 1000},
                                                    timeout=60).content)
                got += len(page["events"])
                cursor, more = page["cursor"], page["more"]
            out["pull_events_per_s"] = round(got / (time.perf_counter() - t0))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def bench_server(workdir: Path, n_events: int, rounds: int) -> dict:
    try:
        import falcon  # noqa: F401
    except ImportError:
        return {"server_note": "the server extra is not installed (pip install 'caja[server]')"}
    backlogs = {f"D{i}": _till_backlog(workdir, f"D{i}", n_events // 4) for i in range(4)}
    out = {}
    sqlite_figs = bench_server_backend(str(workdir / "server.db"), backlogs, measure_single=True, rounds=rounds)
    out.update({k: v for k, v in sqlite_figs.items() if k != "push_events_per_s"})
    out["push_events_per_s_sqlite"] = sqlite_figs["push_events_per_s"]
    try:
        from ..server.devcluster import Cluster

        cluster = Cluster().start()
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so, measure the rest
        out["push_events_per_s_postgresql"] = None
        out["postgresql_note"] = f"no throwaway PostgreSQL cluster could be started ({exc})"
        return out
    try:
        pg = bench_server_backend(cluster.new_database(), backlogs, measure_single=False, rounds=rounds)
        out["push_events_per_s_postgresql"] = pg["push_events_per_s"]
    finally:
        cluster.stop()
    return out


def bench_sync(workdir: Path, n_events: int) -> dict:
    """A till's backlog to a local server, a restore from it, and checkouts while a big pull is applied."""
    try:
        import falcon  # noqa: F401
    except ImportError:
        return {"sync_note": "the server extra is not installed (pip install 'caja[server]')"}
    from ..application import cash, sales, users
    from ..application.importing import import_rows
    from ..domain.cart import Cart
    from ..domain.events import Tender
    from ..server.devcluster import free_port
    from ..sync.engine import SyncEngine
    from ..sync.restore import restore
    from ..sync.transport import Transport

    db = str(workdir / "sync-server.db")
    port = free_port()
    proc = _serve(db, port)
    url = f"http://127.0.0.1:{port}"
    out: dict = {}
    try:
        ta, tb = _enroll(db, "bench", "SA"), _enroll(db, "bench", "SB")
        a = _store(workdir / "sync-a.db", device="SA")
        generate_events(a, n_events, n_products=max(10, n_events // 50))
        t0 = time.perf_counter()
        SyncEngine(a, Transport(url, ta)).push_pending()
        out["drain_s"] = round(time.perf_counter() - t0, 2)
        a.close()
        fresh = _store(workdir / "sync-a2.db", device="SA")
        r = restore(fresh, Transport(url, ta))
        out["restore_events_per_s"] = round(r.events / r.seconds)
        fresh.close()
        b = _store(workdir / "sync-b.db", device="SB")
        users.create_user(b, "system", name="Bench", role="manager", pin="1234", user_id="bench-b")
        import_rows(b, "system", _catalog_rows(1000, seed=9))
        cash.open_session(b, "bench-b", 0)
        # the pull is applied by the sync service, a process of its own beside the till (as in production)
        import subprocess

        code = ("import sys; from caja_tui.store.sqlite import SqliteStore; from caja_tui.sync.engine import SyncEngine;"
                "from caja_tui.sync.transport import Transport; "
                "s = SqliteStore(sys.argv[1], store_id='bench', device_id='SB').open(); "
                "SyncEngine(s, Transport(sys.argv[2], sys.argv[3])).pull_all()")
        rnd = random.Random(4)
        times = []
        t_pull = time.perf_counter()
        puller = subprocess.Popen([sys.executable, "-c", code, str(workdir / "sync-b.db"), url, tb])
        while puller.poll() is None and len(times) < 20_000:
            time.sleep(0.01)  # a checkout every 10 ms: far busier than any counter, yet the pull goes on
            cart = Cart()
            for _ in range(5):
                sales.scan(b, cart, f"750{rnd.randrange(1000):010d}")
            total = sales.rules.price_sale(cart.lines, 0, True).total
            t1 = time.perf_counter()
            sales.complete_sale(b, "bench-b", cart, [Tender(method="cash", amount=total)], prices_include_tax=True)
            times.append((time.perf_counter() - t1) * 1000)
        puller.wait()
        out["checkout_p99_ms_while_syncing"] = round(_pct(times, 99), 3) if len(times) >= 20 else None
        out["checkouts_while_syncing"] = len(times)
        out["pull_applied_while_selling_s"] = round(time.perf_counter() - t_pull, 2)
        b.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def bench_tui(work: Path, **kw) -> dict:
    from .terminal import bench_tui as run

    return run(work, **kw)


def run_bench(*, json_out: bool, quick: bool, workdir: str | None = None) -> int:
    sizes = {
        "checkout": 300 if quick else 2000,
        "z_report": 5000,
        "import_products": 10_000 if quick else 100_000,
        "events": 25_000 if quick else 1_000_000,
        "server_backlog": 6_000 if quick else 100_000,
        "sync_backlog": 8_000 if quick else 100_000,
        "push_rounds": 40 if quick else 200,
        "tui": (5_000, 1000, 25, 3.0) if quick else (1_000_000, 50_000, 200, 30.0),  # events, products, scans, idle s
    }
    result: dict = {"caja_version": __version__, "quick": quick,
                    "machine": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                                "platform": platform.platform(), "cpus": os.cpu_count()}}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caja-bench-", dir=workdir) as tmp:
        work = Path(tmp)
        steps = (("checkout", lambda: bench_checkout(work, sizes["checkout"])),
                 ("import_products", lambda: bench_import(work, sizes["import_products"])),
                 ("z_report", lambda: bench_z_report(work, sizes["z_report"])),
                 ("events", lambda: bench_events(work, sizes["events"])),
                 ("server_backlog", lambda: bench_server(work, sizes["server_backlog"], sizes["push_rounds"])),
                 ("sync_backlog", lambda: bench_sync(work, sizes["sync_backlog"])),
                 ("tui", lambda: bench_tui(work, n_events=sizes["tui"][0], n_products=sizes["tui"][1],
                                           scans=sizes["tui"][2], idle_s=sizes["tui"][3])))
        for name, step in steps:
            if not json_out:
                print(f"measuring {name} ({sizes[name]:,}) ...", file=sys.stderr)
            result.update(step())
    if not quick and "drain_s" in result:
        result["drain_100k_s"] = result["drain_s"]
    result["sizes"] = {
        "checkout_p99_ms": f"{sizes['checkout']} sales of 5 lines, 1,000 products",
        "import_products_per_s": f"{sizes['import_products']} products",
        "rebuild_events_per_s": f"{sizes['events']} events",
        "pending_query_ms": f"next 50 of {sizes['events']} pending events",
        "db_bytes_per_event": f"{sizes['events']} events",
        "z_report_ms": f"median of 15 Z reports over a session of {sizes['z_report']} sales",
        "archive_events_per_s": f"{sizes['events']} events",
        "archive_ratio": f"bytes of {sizes['events']} archived events before / after",
        "push_100_ms": f"median of {sizes['push_rounds']} pushes of 100 events (msgpack, gzip), 2 workers, SQLite",
        "push_events_per_s_sqlite": f"{sizes['server_backlog']} events from 4 devices at once, 1000 per push",
        "push_events_per_s_postgresql": f"{sizes['server_backlog']} events from 4 devices at once, 1000 per push",
        "pull_events_per_s": f"{sizes['server_backlog']} events, 1000 per pull (msgpack, gzip)",
        "wire_bytes_per_event": "gzip msgpack push bodies of 100 events",
        "drain_s": f"a till pushing a backlog of {sizes['sync_backlog']} events to a local server (drain_100k_s "
                   "is this at 100,000)",
        "restore_events_per_s": f"restoring a till of {sizes['sync_backlog']} events from a local server",
        "checkout_p99_ms_while_syncing": f"5-line sales while another connection applies a pull of "
                                         f"{sizes['sync_backlog']} events",
        "startup_ms": f"the real caja on an 80x24 pseudo-terminal (TERM=linux): process start, sign-in, PIN, "
                      f"sales screen drawn; {sizes['tui'][1]:,} products, {sizes['tui'][0]:,} events",
        "rss_mb": "peak resident memory (VmHWM) of that process after the scans",
        "scan_p99_ms": f"{sizes['tui'][2]} scans (13 digits and Enter at once, 0.1 s apart) to the line drawn",
        "idle_cpu_pct": f"CPU over {sizes['tui'][3]:.0f} s on the sales screen with the status line live",
    }
    result["goals"] = GOALS
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    if json_out:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k not in ("sizes", "goals", "machine"):
                print(f"{k:28} {v}")
    return 0
