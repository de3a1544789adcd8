"""A till and a local server: a backlog drained, a till restored from the server, and checkouts while another
process applies a big pull to the same file."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from .data import catalog_rows, generate_events, open_store, pct, timed_checkout
from .server import enroll, serve

# the pull is applied by the sync service, a process of its own beside the till (as in production)
_PULLER = (
    "import sys; from caja_tui.store.sqlite import SqliteStore; from caja_tui.sync.engine import SyncEngine;"
    "from caja_tui.sync.transport import Transport; "
    "s = SqliteStore(sys.argv[1], store_id='bench', device_id='SB').open(); "
    "SyncEngine(s, Transport(sys.argv[2], sys.argv[3])).pull_all()"
)


def _drain_and_restore(workdir: Path, url: str, token: str, n_events: int) -> dict:
    from ..sync.engine import SyncEngine
    from ..sync.restore import restore
    from ..sync.transport import Transport

    out: dict = {}
    a = open_store(workdir / "sync-a.db", device="SA")
    generate_events(a, n_events, n_products=max(10, n_events // 50))
    t0 = time.perf_counter()
    SyncEngine(a, Transport(url, token)).push_pending()
    out["drain_s"] = round(time.perf_counter() - t0, 2)
    a.close()
    fresh = open_store(workdir / "sync-a2.db", device="SA")
    r = restore(fresh, Transport(url, token))
    out["restore_events_per_s"] = round(r.events / r.seconds)
    fresh.close()
    return out


def _checkouts_while_pulling(workdir: Path, url: str, token: str) -> dict:
    import subprocess

    from ..application import cash, users
    from ..application.importing import import_rows

    b = open_store(workdir / "sync-b.db", device="SB")
    users.create_user(b, "system", name="Bench", role="manager", pin="1234", user_id="bench-b")
    import_rows(b, "system", catalog_rows(1000, seed=9))
    cash.open_session(b, "bench-b", 0)
    rnd = random.Random(4)
    times = []
    t_pull = time.perf_counter()
    puller = subprocess.Popen([sys.executable, "-c", _PULLER, str(workdir / "sync-b.db"), url, token])
    while puller.poll() is None and len(times) < 20_000:
        time.sleep(0.01)  # a checkout every 10 ms: far busier than any counter, yet the pull goes on
        times.append(timed_checkout(b, "bench-b", rnd, 1000))
    puller.wait()
    out = {
        "checkout_p99_ms_while_syncing": round(pct(times, 99), 3) if len(times) >= 20 else None,
        "checkouts_while_syncing": len(times),
        "pull_applied_while_selling_s": round(time.perf_counter() - t_pull, 2),
    }
    b.close()
    return out


def bench_sync(workdir: Path, n_events: int) -> dict:
    """A till's backlog to a local server, a restore from it, and checkouts while a big pull is applied."""
    try:
        import falcon  # noqa: F401
    except ImportError:
        return {"sync_note": "the server extra is not installed (pip install 'caja[server]')"}
    from ..server.devcluster import free_port

    db = str(workdir / "sync-server.db")
    port = free_port()
    proc = serve(db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        ta, tb = enroll(db, "bench", "SA"), enroll(db, "bench", "SB")
        return {**_drain_and_restore(workdir, url, ta, n_events), **_checkouts_while_pulling(workdir, url, tb)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
