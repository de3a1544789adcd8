"""Peers on the shop's LAN (issue 13), with real processes on loopback: three tills, each a `caja sync` process
serving its store's events to the others on a port of its own and pulling theirs, with the server down for the
whole time they sell. Their read models become equal; `caja verify` passes on each; when the server returns,
one till relays what the others made and the server holds every event exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from caja_tui.application import cash, customers, products, stock
from caja_tui.bench.peers import free_port
from caja_tui.store.maintenance import read_model_digests
from tests.conftest import db, make_store, scalar
from tests.e2e.conftest import ROOT, caja_at
from tests.e2e.test_sync import sell
from tests.protocol_client import Client

DEVICES = ("T1", "T2", "T3")


def _peers_section(cfg: Path, port: int, others: list[int]) -> None:
    text = cfg.read_text()
    head, _, _rest = text.partition("[peers]")
    addresses = ", ".join(f'"127.0.0.1:{p}"' for p in others)
    tail = text[text.index("[printer]") :]
    cfg.write_text(f'{head}[peers]\nenabled = true\nlisten = "127.0.0.1:{port}"\naddresses = [{addresses}]\n\n{tail}')


def _sync_process(cfg: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "sync", "--log", str(log)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _digests(path: Path, device: str) -> dict:
    s = make_store(path, device_id=device, store_id="demo")
    try:
        return read_model_digests(db(s))
    finally:
        s.close()


def _shop(tmp_path, server, demo_till, devices=DEVICES) -> dict:
    """Tills made and synced with the server (keys registered, everyone knows everyone's key), each with a peer
    port of its own and the others' addresses; `caja` of each."""
    ports = {d: free_port() for d in devices}
    tills = {}
    for d in devices:
        cfg = tmp_path / f"{d.lower()}.toml"
        if d == "T1":
            tills[d], _ = demo_till(cfg, d, server.url)
        else:
            tills[d] = caja_at(cfg)
            init = [
                "init",
                "--store",
                "demo",
                "--device",
                d,
                "--server",
                server.url,
                "--token",
                server.enroll("demo", d),
            ]
            assert tills[d](*init).returncode == 0
        _peers_section(cfg, ports[d], [ports[o] for o in devices if o != d])
    for _ in range(2):  # every key registered, and every till knows the others' keys
        for d in devices:
            r = tills[d]("sync", "--once")
            assert r.returncode == 0, r.stdout + r.stderr
    return tills


def test_three_tills_converge_through_their_peers_while_the_server_is_down(tmp_path, server, demo_till):
    tills = _shop(tmp_path, server, demo_till)
    server.stop()  # the internet is down from here on
    procs = [_sync_process(tmp_path / f"{d.lower()}.toml", tmp_path / f"{d}.sync.log") for d in DEVICES]
    try:
        stores = {d: make_store(tmp_path / f"{d.lower()}.db", device_id=d, store_id="demo") for d in DEVICES}
        rice = "7500100100004"
        with stores["T1"].read() as tx:
            product = tx.product_by_code(rice)
        for d in DEVICES:
            cash.open_session(stores[d], "luis", 0)
        sell(stores["T1"], "luis", rice)
        products.update_product(stores["T2"], "ana", product.id, {"price": 4100})
        stock.count_stock(stores["T3"], "ana", product.id, 50)
        customers.create_customer(stores["T1"], "ana", name="María López")
        sell(stores["T3"], "luis", rice)
        for s in stores.values():
            s.close()
        paths = {d: tmp_path / f"{d.lower()}.db" for d in DEVICES}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            digests = [_digests(paths[d], d) for d in DEVICES]
            if digests[0] == digests[1] == digests[2]:
                break
            time.sleep(0.5)
        assert digests[0] == digests[1] == digests[2], "the tills did not converge through their peers"
        s = make_store(paths["T2"], device_id="T2", store_id="demo")
        assert scalar(s, "SELECT price FROM product WHERE id = ?", (product.id,)) == 4100
        assert scalar(s, "SELECT COUNT(*) FROM sale") == 2 and scalar(s, "SELECT COUNT(*) FROM customer") == 1
        s.close()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    for d in DEVICES:
        v = tills[d]("verify")
        assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr
    # the internet is back: T2 alone reaches the server, and relays what T1 and T3 made
    server.start()
    r = tills["T2"]("sync", "--once")
    assert r.returncode == 0, r.stdout + r.stderr
    on_server = Client(server.url, server.enroll("demo", "R1")).pull_all(limit=1000)
    ids = [e["event_id"] for e in on_server]
    assert len(ids) == len(set(ids))
    sales = [e for e in on_server if e["type"] == "sale.created"]
    assert {e["device_id"] for e in sales} == {"T1", "T3"}
    for d in ("T1", "T3"):  # their own pushes later are answered duplicate: exactly once
        r = tills[d]("sync", "--once")
        assert r.returncode == 0, r.stdout + r.stderr
    again = Client(server.url, server.enroll("demo", "R2")).pull_all(limit=1000)
    assert sorted(e["event_id"] for e in again) == sorted(ids)
    v = server.caja("verify")
    assert v.returncode == 0, v.stdout + v.stderr


def test_a_till_that_dies_before_the_server_is_back_loses_nothing(tmp_path, server, demo_till):
    """T1 sells while the server is down; T2 takes the sale from it; T1's SD card dies. When the server is back,
    T2 relays T1's sale (exactly once), and T1 restored from the server onto a new card has it."""
    tills = _shop(tmp_path, server, demo_till, devices=("T1", "T2"))
    token = server.enroll("demo", "T1")  # the replacement card's token (the old one ends)
    server.stop()
    procs = [_sync_process(tmp_path / f"{d}.toml", tmp_path / f"{d}.sync.log") for d in ("t1", "t2")]
    try:
        t1 = make_store(tmp_path / "t1.db", device_id="T1", store_id="demo")
        cash.open_session(t1, "luis", 0)
        sale = sell(t1, "luis", "7500100100004")
        t1.close()
        deadline = time.monotonic() + 60
        t2 = make_store(tmp_path / "t2.db", device_id="T2", store_id="demo")
        while time.monotonic() < deadline and not scalar(t2, "SELECT COUNT(*) FROM sale WHERE id = ?", (sale.sale_id,)):
            time.sleep(0.3)
        assert scalar(t2, "SELECT COUNT(*) FROM sale WHERE id = ?", (sale.sale_id,)) == 1
        t2.close()
    finally:
        procs[0].send_signal(signal.SIGKILL)  # T1 dies
        procs[1].send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)
    for f in ("t1.db", "t1.db-wal", "t1.db-shm", "t1.key"):
        (tmp_path / f).unlink(missing_ok=True)
    server.start()
    r = tills["T2"]("sync", "--once")
    assert r.returncode == 0, r.stdout + r.stderr
    again = tills["T2"]("sync", "--once")  # nothing twice
    assert again.returncode == 0
    on_server = Client(server.url, server.enroll("demo", "R1")).pull_all(limit=1000)
    assert [e["payload"]["sale_id"] for e in on_server if e["type"] == "sale.created"] == [sale.sale_id]
    new = caja_at(tmp_path / "new.toml")
    assert new("init", "--store", "demo", "--device", "T1", "--db", str(tmp_path / "new.db")).returncode == 0
    r = new("restore", "--server", server.url, "--token", token)
    assert r.returncode == 0, r.stdout + r.stderr
    s = make_store(tmp_path / "new.db", device_id="T1", store_id="demo")
    assert scalar(s, "SELECT COUNT(*) FROM sale WHERE id = ?", (sale.sale_id,)) == 1
    s.close()
    v = new("verify")
    assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr
