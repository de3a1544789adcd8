"""The till's own SQLite file: importing a catalogue, checkouts (signed, as a till with a key signs), a Z report,
and a long history of events (the rebuild, the outbox query the sync engine runs, the archive); and the signing
and verifying of one event's hash."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from ..protocol.keys import DeviceKey, signature_ok
from .data import catalog_rows, emit_sale, generate_events, open_store, pct, timed_checkout


def bench_import(workdir: Path, n: int) -> dict:
    from ..application.importing import import_rows, parse_csv

    rows = catalog_rows(n)
    text = "sku,barcode,name,price,tax_rate,stock,category\n" + "".join(
        f"{r.sku},{r.barcodes[0]},{r.name},{r.price // 100}.{r.price % 100:02d},{r.tax_rate // 100},{r.stock},"
        f"{r.category}\n"
        for r in rows
    )
    s = open_store(workdir / "import.db")
    t0 = time.perf_counter()
    parsed = parse_csv(text, 2)
    import_rows(s, "system", parsed)
    seconds = time.perf_counter() - t0
    s.close()
    return {"import_products_per_s": round(n / seconds)}


def bench_checkout(workdir: Path, n_sales: int, n_products: int = 1000) -> dict:
    from ..application import cash, users
    from ..application.importing import import_rows

    s = open_store(workdir / "checkout.db")
    s.use_key(workdir / "checkout.key")  # every event of a checkout signed, as on a till with a key
    users.create_user(s, "system", name="Bench", role="manager", pin="1234", user_id="bench")
    import_rows(s, "system", catalog_rows(n_products))
    cash.open_session(s, "bench", 0)
    rnd = random.Random(2)
    times = [timed_checkout(s, "bench", rnd, n_products, over=1000) for _ in range(n_sales)]
    s.close()
    return {
        "checkout_p50_ms": round(statistics.median(times), 3),
        "checkout_p99_ms": round(pct(times, 99), 3),
        **bench_sign_verify(),
    }


def bench_sign_verify(n: int = 2000) -> dict:
    """Sign one event's hash and verify the signature (what a till's emit and a receiver's check each add)."""
    key, rnd = DeviceKey.generate(), random.Random(3)
    times = []
    for _ in range(n):
        digest = rnd.randbytes(32).hex()
        t0 = time.perf_counter()
        assert signature_ok(key.public_hex, digest, key.sign(digest))
        times.append((time.perf_counter() - t0) * 1e6)
    return {"sign_verify_us": round(statistics.median(times), 1)}


def bench_z_report(workdir: Path, n_sales: int = 5000) -> dict:
    """A Z report over a day of n sales (1-5 lines, some mixed payments and refunds)."""
    import datetime as dt

    from ..application import cash, reports
    from ..domain.cart import CartLine
    from ..domain.events import UserCreated

    s = open_store(workdir / "z.db")
    with s.transaction() as tx:
        tx.emit(UserCreated(user_id="bench", name="Bench", role="manager", pin_hash="x"), "system")
    session = cash.open_session(s, "bench", 10_000)
    rnd = random.Random(6)
    with s.transaction(bulk=True) as tx:
        for _ in range(n_sales):
            lines = [
                CartLine(
                    product_id=f"p{rnd.randrange(500)}",
                    sku="S",
                    name="Bench item",
                    qty=rnd.randint(1, 3),
                    unit_price=rnd.randint(100, 9000),
                    tax_rate=rnd.choice((0, 1600)),
                )
                for _ in range(rnd.randint(1, 5))
            ]
            emit_sale(tx, session.id, lines, split=rnd.random() < 0.2)
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
    from ..store.outbox import Outbox

    path = workdir / "events.db"
    s = open_store(path)
    t0 = time.perf_counter()
    made = generate_events(s, n_events)
    gen_s = time.perf_counter() - t0
    s.checkpoint_wal("TRUNCATE")
    size = path.stat().st_size
    r = rebuild(s)
    # the outbox query the sync engine runs: the next 50 pending events by priority, then seq
    outbox = Outbox(s)
    times = []
    for i in range(300):
        if i % 50 == 0:  # move the head of the queue, as a sync would
            outbox.mark_head_synced(50)
        t1 = time.perf_counter()
        rows = outbox.pending_head(50)
        times.append((time.perf_counter() - t1) * 1000)
        assert len(rows) == 50
    # the archive: every event synced and old enough, into compressed chunks
    from ..store.archive import archive

    outbox.mark_all_synced()
    a = archive(s, 0)
    s.close()
    return {
        "archive_events_per_s": round(a.events / a.seconds),
        "archive_ratio": round(a.ratio, 2),
        "rebuild_events_per_s": round(r.per_second),
        "pending_query_ms": round(statistics.median(times), 3),
        "pending_query_p99_ms": round(pct(times, 99), 3),
        "db_bytes_per_event": round(size / made),
        "generate_events_per_s": round(made / gen_s),
    }
