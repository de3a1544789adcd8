"""The peers' figures (issue 13): three tills as real `caja sync` processes on 127.0.0.1, no server.

lan_propagation_p99_ms   a sale committed on one till until it is in another till's read models (p99 over the sales
                         and both other tills), the sync processes gossiping on loopback
peer_pull_events_per_s   a new till catching up a history from one peer (its sync process serving), pages of 1000,
                         every event checked (hash, signature) and projected
peers_idle_cpu_pct       CPU of the busiest of the three sync processes over a quiet spell, all in touch
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .data import generate_events, pct

DEVICES = ("P1", "P2", "P3")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a till's peer server; tests use it too)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shop(work: Path) -> dict[str, Path]:
    """Three tills of store `bench` with keys that know each other's (as after a sync with the server)."""
    from .. import config
    from ..bootstrap import context

    ports = {d: free_port() for d in DEVICES}
    cfgs, keys = {}, []
    for d in DEVICES:
        cfg = config.Config(
            till=config.TillConfig(store_id="bench", device_id=d, db=str(work / f"{d}.db"), language="en"),
            sync=config.SyncConfig(emit_limit_per_minute=1_000_000),  # the bench writes a history at once
            peers=config.PeersConfig(
                listen=f"127.0.0.1:{ports[d]}", addresses=[f"127.0.0.1:{ports[o]}" for o in DEVICES if o != d]
            ),
        )
        path = work / f"{d}.toml"
        path.write_text(config.render(cfg))
        path.chmod(0o600)  # as `caja init` leaves a till's config (no warning from each start)
        cfgs[d] = path
        with context(config.load(str(path))).open_store(create=True) as store:
            keys.append({"device_id": d, "public_key": store.key.public_hex, "from_seq": 1, "revoked_at": None})
    for d in DEVICES:
        with context(config.load(str(cfgs[d]))).open_store() as store:
            store.save_devices(keys)
    return cfgs


def _sync(cfg: Path) -> subprocess.Popen:
    root = str(Path(__file__).resolve().parents[2])
    return subprocess.Popen(
        [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "sync"],
        env={**os.environ, "PYTHONPATH": root},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_serving(store, port: int) -> None:
    """Until the peer's sync process answers (it is starting)."""
    from ..peers.client import PeerClient
    from ..sync.transport import TransportError

    client, deadline = PeerClient(store, "127.0.0.1", port), time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            client.heads()
            return
        except TransportError:
            time.sleep(0.1)
        finally:
            client.close()


def bench_peers(work: Path, n_events: int, sales: int, idle_s: float) -> dict:
    from .. import config
    from ..bootstrap import context
    from ..peers.gossip import PeerSync

    if not Path("/proc/self/stat").exists():
        return {"peers_note": "peer figures are measured on Linux only"}
    work = work / "peers"
    work.mkdir()
    cfgs = _shop(work)
    ctx = {d: context(config.load(str(cfgs[d]))) for d in DEVICES}
    with ctx["P1"].open_store() as p1:
        generate_events(p1, n_events, n_products=1000)
    procs = {"P1": _sync(cfgs["P1"])}
    out: dict = {}
    try:
        port = config.split_address(ctx["P1"].cfg.peers.listen)[1]
        with ctx["P2"].open_store() as p2:  # P2 catches up from P1's sync process
            _wait_serving(p2, port)
            gossip = PeerSync(p2, lambda: [("127.0.0.1", port)])
            t0 = time.perf_counter()
            for _ in range(1000):
                if gossip.round() == 0:
                    break
            got = p2.count_events()
            out["peer_pull_events_per_s"] = round(got / max(time.perf_counter() - t0, 1e-9))
        for d in ("P2", "P3"):
            procs[d] = _sync(cfgs[d])
        with ctx["P1"].open_store() as p1, ctx["P3"].open_store() as p3:  # P3 catches up before the timing
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and p3.count_events() < p1.count_events():
                time.sleep(0.2)
        out.update(_propagation(ctx, sales, min(1000, n_events // 20)))
        time.sleep(2.0)
        before = {d: _cpu_s(p.pid) for d, p in procs.items()}
        time.sleep(idle_s)
        used = {d: _cpu_s(p.pid) - before[d] for d, p in procs.items()}
        out["peers_idle_cpu_pct"] = round(100 * max(used.values()) / idle_s, 2)
    finally:
        for p in procs.values():
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    return out


def _propagation(ctx: dict, sales: int, n_products: int) -> dict:
    """Sales on P1, each timed until it is in P2's and P3's read models (read as the till reads them)."""
    import random

    from ..application import cash
    from ..application import sales as selling
    from ..domain.cart import Cart
    from ..domain.events import Tender

    latencies: list[float] = []
    with ctx["P1"].open_store() as p1, ctx["P2"].open_store() as p2, ctx["P3"].open_store() as p3:
        if cash.current_summary(p1) is None:
            cash.open_session(p1, "bench", 0)
        rnd = random.Random(5)
        for _ in range(sales):
            cart = Cart()
            for _ in range(3):
                selling.scan(p1, cart, f"750{rnd.randrange(n_products):010d}")
            total = selling.rules.price_sale(cart.lines, 0, True).total
            done = selling.complete_sale(
                p1, "bench", cart, [Tender(method="cash", amount=total)], prices_include_tax=True
            )
            t0 = time.perf_counter()
            waiting, deadline = {0: p2, 1: p3}, time.monotonic() + 10
            while waiting and time.monotonic() < deadline:
                for i, other in list(waiting.items()):
                    with other.read() as tx:
                        if tx.sale(done.sale_id) is not None:
                            latencies.append((time.perf_counter() - t0) * 1000)
                            del waiting[i]
                time.sleep(0.005)
            latencies.extend(10_000.0 for _ in waiting)  # not there in 10 s: counted as 10 s
            time.sleep(0.2)
    return {
        "lan_propagation_p99_ms": round(pct(latencies, 99), 1),
        "lan_propagation_p50_ms": round(pct(latencies, 50), 1),
    }
