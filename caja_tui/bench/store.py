"""The till's own SQLite file: importing a catalogue, checkouts (signed, as a till with a key signs), a Z report,
and a long history of events (the rebuild, the outbox query the sync engine runs, the archive); the signing
and verifying of one event's hash; and the fsyncs a scan and a completed sale cost (counted with strace).

fsyncs_per_scan  fsync and fdatasync calls of a scan (`sales.scan`: the draft cart saved), goal 0
fsyncs_per_sale  those of a completed sale (`sales.complete_sale`: its events, the draft cleared), goal 1
"""

from __future__ import annotations

import random
import shutil
import statistics
import subprocess
import sys
import tempfile
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


# the till's scans and sales as the sales screen makes them, in a process of its own that strace watches; each is
# preceded by a marker written to /dev/null, so every fsync is put down to the scan or the sale it belongs to
_FSYNC_CHILD = "import sys; from caja_tui.bench.store import fsync_child; fsync_child(sys.argv[1], int(sys.argv[2]))"


def fsync_child(workdir: str, n_sales: int, n_products: int = 200) -> None:
    """Ring up `n_sales` sales of 5 scans each on a till with a key (a marker write before each scan and sale)."""
    import os

    from ..application import cash, sales, users
    from ..application.importing import import_rows
    from ..domain.cart import Cart
    from ..domain.events import Tender

    s = open_store(Path(workdir) / "fsync.db")
    s.use_key(Path(workdir) / "fsync.key")
    users.create_user(s, "system", name="Bench", role="manager", pin="1234", user_id="bench")
    import_rows(s, "system", catalog_rows(n_products))
    cash.open_session(s, "bench", 0)
    rnd = random.Random(4)
    mark = os.open(os.devnull, os.O_WRONLY)
    for _ in range(n_sales):
        cart = Cart()
        for _ in range(5):
            os.write(mark, b"MARK scan")
            sales.scan(s, cart, f"750{rnd.randrange(n_products):010d}")
        total = sales.rules.price_sale(cart.lines, 0, True).total
        os.write(mark, b"MARK sale")
        sales.complete_sale(s, "bench", cart, [Tender(method="cash", amount=total)], prices_include_tax=True)
    os.write(mark, b"MARK end")
    s.close()


def count_fsyncs(trace: str) -> dict[str, tuple[int, int]]:
    """From strace's output (`-f`: each line starts with the thread's id): for each kind of marker, (fsync and
    fdatasync calls the marking thread made after it, how many markers); "background": (the calls of the
    process's other threads, e.g. its checkpoints, 1)."""
    calls: dict[str, int] = {}
    marks: dict[str, int] = {}
    kind = None
    marker_tid = None
    for line in trace.splitlines():
        tid = line.split(" ", 1)[0]
        if '"MARK ' in line:
            kind, marker_tid = line.split('"MARK ', 1)[1].split('"', 1)[0], tid
            marks[kind] = marks.get(kind, 0) + 1
        elif "fsync(" in line or "fdatasync(" in line:
            key = kind if kind is not None and tid == marker_tid else "background"
            calls[key] = calls.get(key, 0) + 1
    out = {k: (calls.get(k, 0), n) for k, n in marks.items()}
    if "background" in calls:
        out["background"] = (calls["background"], 1)
    return out


def bench_fsyncs(workdir: Path, n_sales: int) -> dict:
    """fsyncs_per_scan and fsyncs_per_sale, counted by strace on a child process; a note instead without strace."""
    strace = shutil.which("strace")
    if strace is None or not sys.platform.startswith("linux"):
        return {"fsyncs_note": "not counted: strace is not installed (apt-get install strace)"}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp) / "strace.txt"
        argv = [strace, "-f", "-qq", "-e", "trace=fsync,fdatasync,write", "-o", str(out)]
        r = subprocess.run(
            [*argv, sys.executable, "-c", _FSYNC_CHILD, tmp, str(n_sales)], capture_output=True, text=True
        )
        if r.returncode != 0 or not out.exists():
            why = (r.stderr.strip().splitlines() or ["no output"])[-1]
            return {"fsyncs_note": f"not counted: strace failed ({why})"}
        counted = count_fsyncs(out.read_text(errors="replace"))
    per = {k: round(c / n, 2) for k, (c, n) in counted.items()}
    return {
        "fsyncs_per_scan": per.get("scan"),
        "fsyncs_per_sale": per.get("sale"),
        "fsyncs_background": int(per.get("background") or 0),  # checkpoints, beside the counter's work
    }
