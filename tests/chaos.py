"""`make chaos`: several tills and a server as separate processes, a fault-injecting proxy between them,
server and till restarts and SIGKILLs, minutes of selling. At the end it prints the sales committed, the
sales on the server, duplicates, losses, and whether every read model converged; exit 1 if anything is off.

    python -m tests.chaos [--tills 3] [--seconds 180] [--seed 1] [--dir DIR]

Each till is a real config and SQLite file made with `caja init` (the first with the demo catalog, the
others pull it), a seller process that sells through the use cases and prints each sale id once committed,
and a `caja sync` process. The chaos loop SIGKILLs sellers and sync processes and restarts them, restarts
the server (SIGTERM) or SIGKILLs it (all of gunicorn), while the proxy drops, resets, answers 500, stalls,
loses answers and duplicates requests. Then faults stop, every till syncs until nothing is pending and pulls
everything, and the checks run. `tests/e2e/test_chaos.py` runs a short version in `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from msgspec import Struct

from caja_tui.bench.peers import free_port
from tests.faultproxy import FaultProxy

ROOT = Path(__file__).resolve().parents[1]
STORE = "chaos"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def caja(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "caja_tui.cli", *args], capture_output=True, text=True, env=_env(), timeout=timeout
    )


class Till:
    def __init__(self, work: Path, device: str) -> None:
        self.device = device
        self.cfg = work / f"{device}.toml"
        self.db = work / f"{device}.db"
        self.seller: subprocess.Popen | None = None
        self.sync: subprocess.Popen | None = None
        self.committed: set[str] = set()
        self._reader: threading.Thread | None = None
        self.seed = 0

    def start_seller(self) -> None:
        self.seed += 1
        self.seller = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos_seller", str(self.cfg), str(self.seed)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        proc = self.seller

        def read() -> None:
            for line in proc.stdout:  # one committed sale id per line
                self.committed.add(line.strip())

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()

    def start_sync(self) -> None:
        log = open(self.db.with_suffix(".sync.log"), "a")  # noqa: SIM115 - the child keeps it
        self.sync = subprocess.Popen(
            [sys.executable, "-m", "caja_tui.cli", "--config", str(self.cfg), "sync"],
            env=_env(),
            stdout=log,
            stderr=log,
        )

    def kill(self, which: str) -> None:
        proc = getattr(self, which)
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        if which == "seller" and self._reader is not None:
            self._reader.join(timeout=5)

    def stop_all(self) -> None:
        self.kill("seller")
        if self.sync and self.sync.poll() is None:
            self.sync.terminate()
            try:
                self.sync.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill("sync")


class Report(Struct):
    tills: int
    seconds: float
    sales_committed: int
    sales_on_server: int
    duplicates: int
    lost: int
    lost_locally: int
    converged: bool
    verified: bool
    peers_converged: str  # "yes", "NO", or "-" (no outage phase)
    chaos: dict[str, int]
    faults: dict[str, int]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run(
    work: Path, *, tills: int = 3, seconds: float = 180, seed: int = 1, say=print, outage_s: float = 20.0
) -> Report:
    from caja_tui.store.maintenance import read_model_digests
    from tests.server_proc import ServerProcess

    rnd = random.Random(seed)
    server = ServerProcess(str(work / "server.db"), workers=2, log=work / "server.jsonl").start()
    proxy = FaultProxy(
        server.port,
        seed=seed,
        stall_s=1.0,
        weights={"pass": 6, "drop": 1, "reset": 1, "error500": 1, "stall": 0.3, "lose_response": 1, "duplicate": 1},
    )
    proxy.start()
    url = f"http://127.0.0.1:{proxy.port}"
    devices = [f"T{i}" for i in range(1, tills + 1)]
    fleet = [Till(work, d) for d in devices]
    # peers: each till serves on a port of its own, and reaches the others through a fault proxy of theirs
    peer_ports = {t.device: free_port() for t in fleet}
    lan = {
        t.device: FaultProxy(peer_ports[t.device], seed=seed + i + 1, stall_s=1.0, weights=LAN_FAULTS).start()
        for i, t in enumerate(fleet)
    }
    for i, t in enumerate(fleet):
        token = server.enroll(STORE, t.device)
        r = caja(
            "--config",
            str(t.cfg),
            "init",
            "--store",
            STORE,
            "--device",
            t.device,
            "--server",
            url,
            "--token",
            token,
            *(["--demo"] if i == 0 else []),
        )
        assert r.returncode == 0, r.stderr
        others = ", ".join(f'"127.0.0.1:{lan[o.device].port}"' for o in fleet if o is not t)
        text = t.cfg.read_text().replace("batch_seconds = 5.0", "batch_seconds = 0.5")
        text = text.replace('listen = "0.0.0.0:7870"', f'listen = "127.0.0.1:{peer_ports[t.device]}"')
        t.cfg.write_text(text.replace("addresses = []", f"addresses = [{others}]"))
    proxy.forced = "pass"
    for t in fleet:  # the first till's catalog and users reach the others before anyone sells
        _sync_until_clean(t, deadline=time.monotonic() + 60)
    for t in fleet:
        _sync_until_clean(t, deadline=time.monotonic() + 60)
    proxy.forced = None
    say(f"chaos: {tills} tills, {seconds:.0f} s, seed {seed}, in {work}")
    for t in fleet:
        t.start_seller()
        t.start_sync()
    counts = {"seller_kill": 0, "sync_kill": 0, "server_restart": 0, "server_kill": 0, "outage": 0}
    peers_converged = "-"
    t0 = time.monotonic()
    outage_at = t0 + seconds / 2  # once, half way: the server is away while the tills keep selling
    try:
        while time.monotonic() - t0 < seconds:
            if time.monotonic() >= outage_at and peers_converged == "-":
                peers_converged = _outage(server, fleet, lan, counts, read_model_digests, say, outage_s)
                continue
            time.sleep(rnd.uniform(0.5, 2.5))
            roll = rnd.random()
            t = rnd.choice(fleet)
            if roll < 0.35:
                t.kill("seller")
                counts["seller_kill"] += 1
                time.sleep(rnd.uniform(0, 0.5))
                t.start_seller()
            elif roll < 0.7:
                t.kill("sync")
                counts["sync_kill"] += 1
                time.sleep(rnd.uniform(0, 1.0))
                t.start_sync()
            elif roll < 0.85:
                server.stop(signal.SIGTERM)
                counts["server_restart"] += 1
                server.start()
            else:
                server.stop(signal.SIGKILL)
                counts["server_kill"] += 1
                time.sleep(rnd.uniform(0, 2.0))
                server.start()
        # the end: no more faults, everything running, every till syncs until nothing is pending
        for t in fleet:
            t.kill("seller")
        proxy.forced = "pass"
        for t in fleet:
            t.stop_all()
        deadline = time.monotonic() + 120
        for _round in range(2):  # push everything, then pull what the others pushed
            for t in fleet:
                _sync_until_clean(t, deadline)
    finally:
        for t in fleet:
            t.stop_all()
        server.stop()
        proxy.stop()
        for p in lan.values():
            p.stop()
    faults = dict(proxy.seen)
    for p in lan.values():
        for k, v in p.seen.items():
            faults[f"lan_{k}"] = faults.get(f"lan_{k}", 0) + v
    report = _check(work, fleet, Path(server.db), seconds, counts, faults, read_model_digests)
    report.peers_converged = peers_converged
    if peers_converged == "NO":
        report.problems.append("the tills did not converge through their peers while the server was down")
    return report


LAN_FAULTS = {"pass": 8, "drop": 1, "reset": 1, "error500": 1, "stall": 0.2, "lose_response": 1, "duplicate": 1}


def _outage(server, fleet: list[Till], lan: dict, counts: dict[str, int], digests, say, seconds: float) -> str:
    """The server goes away for `seconds` while the tills sell and gossip over a faulty LAN; then the sellers stop
    and the tills must converge through their peers alone (bounded wait), before the server comes back."""
    server.stop(signal.SIGTERM)
    counts["outage"] += 1
    say(f"chaos: the server is down for {seconds:.0f} s; the tills sell on, with their peers")
    time.sleep(seconds)
    for t in fleet:
        t.kill("seller")
    for p in lan.values():
        p.forced = "pass"  # the LAN heals; the server stays away
    deadline, converged = time.monotonic() + 90, False
    while time.monotonic() < deadline and not converged:
        time.sleep(1.0)
        views = []
        for t in fleet:
            conn = sqlite3.connect(t.db, timeout=30)
            try:
                views.append(digests(conn))
            finally:
                conn.close()
        converged = all(v == views[0] for v in views)
    for p in lan.values():
        p.forced = None
    server.start()
    for t in fleet:
        t.start_seller()
    say(f"chaos: converged through peers while the server was down: {'yes' if converged else 'NO'}")
    return "yes" if converged else "NO"


def _sync_until_clean(t: Till, deadline: float) -> None:
    while time.monotonic() < deadline:
        r = caja("--config", str(t.cfg), "sync", "--once", timeout=120)
        if r.returncode == 0 and "pending 0," in r.stdout:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{t.device} did not finish syncing: {r.stdout} {r.stderr}")


def _check(
    work: Path,
    fleet: list[Till],
    server_db: Path,
    seconds: float,
    counts: dict[str, int],
    faults: dict[str, int],
    digests,
) -> Report:
    problems: list[str] = []
    committed = set().union(*(t.committed for t in fleet))
    srv = sqlite3.connect(server_db)
    on_server = [
        r[0] for r in srv.execute("SELECT json_extract(payload, '$.sale_id') FROM event WHERE type = 'sale.created'")
    ]
    dup_events = srv.execute("SELECT COUNT(*) - COUNT(DISTINCT store_id || device_id || seq) FROM event").fetchone()[0]
    srv.close()
    duplicates = (len(on_server) - len(set(on_server))) + dup_events
    lost = len(committed - set(on_server))
    lost_locally = 0
    views = {}
    verified = True
    for t in fleet:
        conn = sqlite3.connect(t.db)
        mine = {r[0] for r in conn.execute("SELECT id FROM sale WHERE device_id = ?", (t.device,))}
        lost_locally += len(t.committed - mine)
        pending = conn.execute("SELECT COUNT(*) FROM event WHERE sync_status != 'synced'").fetchone()[0]
        if pending:
            problems.append(f"{t.device}: {pending} events not synced at the end")
        views[t.device] = digests(conn)
        conn.close()
        v = caja("--config", str(t.cfg), "verify")
        if v.returncode != 0:
            verified = False
            problems.append(f"{t.device}: caja verify failed: {v.stdout.strip()[-300:]}")
    first = next(iter(views.values()))
    converged = all(v == first for v in views.values())
    if not converged:
        differ = sorted({table for v in views.values() for table in v if v[table] != first.get(table)})
        problems.append(f"read models differ between tills in: {', '.join(differ)}")
    if not committed:
        problems.append("no sale was committed: the chaos run did not sell")
    if lost:
        problems.append(f"{lost} committed sales are not on the server")
    if lost_locally:
        problems.append(f"{lost_locally} committed sales are missing from their own till")
    if duplicates:
        problems.append(f"{duplicates} duplicates on the server")
    return Report(
        tills=len(fleet),
        seconds=seconds,
        sales_committed=len(committed),
        sales_on_server=len(set(on_server)),
        duplicates=duplicates,
        lost=lost,
        lost_locally=lost_locally,
        converged=converged,
        verified=verified,
        peers_converged="-",
        chaos=counts,
        faults=faults,
        problems=problems,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n\n")[0])
    p.add_argument("--tills", type=int, default=3)
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dir", help="keep the files here (default: a temporary folder, removed after)")
    args = p.parse_args(argv)
    if args.dir:
        work = Path(args.dir)
        work.mkdir(parents=True, exist_ok=True)
        report = run(work, tills=args.tills, seconds=args.seconds, seed=args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="caja-chaos-") as tmp:
            report = run(Path(tmp), tills=args.tills, seconds=args.seconds, seed=args.seed)
    print(f"sales committed   {report.sales_committed}")
    print(f"sales on server   {report.sales_on_server}")
    print(f"duplicates        {report.duplicates}")
    print(f"lost              {report.lost} (missing from their own till: {report.lost_locally})")
    print(
        f"converged         {'yes' if report.converged else 'NO'} (caja verify on every till: "
        f"{'passed' if report.verified else 'FAILED'})"
    )
    print(f"converged through peers while the server was down: {report.peers_converged}")
    print(f"chaos             {json.dumps(report.chaos)}")
    print(f"proxy faults      {json.dumps(report.faults)}")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
