"""PROTOCOL.md version 2, "Trust": device keys end to end, with real processes. A till made by `caja init`
registers its key at its first `caja sync` and its sales reach the server signed (checked here with
`cryptography` directly, against the key `GET /v1/devices` lists); a hostile server serving an event of a keyed
device with a forged signature is refused by the till's pull (issue 12)."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tests.conftest import db as conn_of
from tests.conftest import make_store, scalar
from tests.e2e.conftest import caja_at
from tests.hostile import HostileServer
from tests.protocol_client import Client, Device, sign

STORE = "demo"


def test_a_till_registers_its_key_and_its_sales_reach_the_server_signed(tmp_path, server, demo_till):
    cfg = tmp_path / "t1.toml"
    caja, token = demo_till(cfg, "T1", server.url)
    key_file = next(tmp_path.rglob("*.key"))
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    r = caja("sync", "--once")
    assert r.returncode == 0, r.stdout + r.stderr
    c = Client(server.url, token)
    mine = {d["device_id"]: d for d in c.devices()}["T1"]
    assert mine["public_key"] and mine["from_seq"] == 1
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(mine["public_key"]))
    events = c.pull_all(include_own=True)
    assert events and all("sig" in e for e in events)
    for e in events:
        public.verify(bytes.fromhex(e["sig"]), bytes.fromhex(e["hash"]))  # raises if it does not verify
    again = caja("sync", "--once")  # registered once: the same key again is fine, nothing is refused
    assert again.returncode == 0, again.stdout + again.stderr
    v = server.caja("verify")
    assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr
    assert caja("verify").returncode == 0


def _hostile(page: list[dict], devices: list[dict]) -> HostileServer:
    def msgpack(obj):
        return 200, {"Content-Type": "application/msgpack"}, msgspec.msgpack.encode(obj)

    def push(_query: str, body: bytes):
        sent = msgspec.msgpack.decode(gzip.decompress(body))["events"]
        return msgpack(
            {"results": [{"event_id": e["event_id"], "status": "accepted"} for e in sent], "server_time_ms": _now()}
        )

    def pull(query: str, _body: bytes):
        return msgpack(
            {"events": page if "after=0" in query else [], "cursor": 1, "more": False, "server_time_ms": _now()}
        )

    return HostileServer(
        {
            ("POST", "/v1/events"): push,
            ("GET", "/v1/events"): pull,
            ("GET", "/v1/health"): lambda q, b: msgpack({"status": "ok", "version": "9.9", "server_time_ms": _now()}),
            ("PUT", "/v1/devices/me/key"): lambda q, b: msgpack(
                {**msgspec.msgpack.decode(gzip.decompress(b)), "server_time_ms": _now()}
            ),
            ("GET", "/v1/devices"): lambda q, b: msgpack({"devices": devices, "server_time_ms": _now()}),
        }
    )


def _now() -> int:
    return int(time.time() * 1000)


def test_a_pulled_event_with_a_forged_signature_is_refused(tmp_path):
    peer = Device(STORE, "T9")
    peer_key = peer.make_key()
    genuine = peer.product_created(sku="GENUINE-1")
    forged_source = peer.product_created(sku="FORGED-1")
    forged = sign(Ed25519PrivateKey.generate(), forged_source)  # right hash, someone else's signature
    stripped = {k: v for k, v in peer.product_created(sku="STRIPPED-1").items() if k != "sig"}
    devices = [{"device_id": "T9", "public_key": peer_key, "from_seq": 1, "revoked_at": None}]
    db = tmp_path / "t5.db"
    with _hostile([genuine, forged, stripped], devices) as srv:
        caja = caja_at(tmp_path / "t5.toml")
        init = ["init", "--demo", "--store", STORE, "--device", "T05", "--db", str(db), "--server", srv.url]
        assert caja(*init, "--token", "tok").returncode == 0
        r = caja("sync", "--once")
    assert "Traceback" not in r.stderr
    assert ("PUT", "/v1/devices/me/key") in srv.seen
    s = make_store(db, device_id="T05", store_id=STORE)
    try:
        assert scalar(s, "SELECT COUNT(*) FROM product WHERE sku = 'GENUINE-1'") == 1
        assert scalar(s, "SELECT COUNT(*) FROM product WHERE sku IN ('FORGED-1', 'STRIPPED-1')") == 0
        assert scalar(s, "SELECT COUNT(*) FROM event WHERE device_id = 'T9'") == 1
        assert scalar(s, "SELECT sig FROM event WHERE device_id = 'T9'") == genuine["sig"]
    finally:
        s.close()
    assert Path(str(db.with_suffix(".key"))).exists()


def test_a_till_from_before_keys_gets_one_at_its_first_open_and_signs_from_its_next_seq(tmp_path):
    db = tmp_path / "old.db"
    caja = caja_at(tmp_path / "old.toml")
    assert caja("init", "--demo", "--store", STORE, "--device", "T07", "--db", str(db)).returncode == 0
    s = make_store(db, device_id="T07", store_id=STORE)  # as a release before keys left it: no key, no sig
    with s.write():
        conn_of(s).execute("UPDATE event SET sig = NULL")
        conn_of(s).execute("DELETE FROM meta WHERE key LIKE 'key_%'")
    last = scalar(s, "SELECT MAX(seq) FROM event")
    s.close()
    db.with_suffix(".key").unlink()
    v = caja("verify")  # the first open by this release makes the key
    assert v.returncode == 0, v.stdout + v.stderr
    assert os.stat(db.with_suffix(".key")).st_mode & 0o777 == 0o600
    s = make_store(db, device_id="T07", store_id=STORE)
    try:
        assert s.key is not None and s.key_from_seq == last + 1
        assert scalar(s, "SELECT COUNT(sig) FROM event") == 0  # the history before it stays as it was
    finally:
        s.close()


def test_a_restored_till_signs_with_a_new_key_accepted_after_rekey(tmp_path, server, demo_till):
    """A till whose disk died: restored onto a new database, it makes a new key that signs from its next seq; the
    server refuses that key (409) until an operator re-enrols the till with --rekey; then its new events are
    taken, the other tills verify them, and everything it signed before stays verifiable."""
    from caja_tui.application import cash
    from tests.conftest import make_store
    from tests.e2e.conftest import caja_at
    from tests.e2e.test_sync import sell

    old, token = demo_till(tmp_path / "t1.toml", "T1", server.url)
    assert old("sync", "--once").returncode == 0
    other, _ = demo_till(tmp_path / "t2.toml", "T2", server.url)
    new = caja_at(tmp_path / "new.toml")  # the new SD card
    assert new("init", "--store", "demo", "--device", "T1", "--db", str(tmp_path / "new.db")).returncode == 0
    r = new("restore", "--server", server.url, "--token", token)
    assert r.returncode == 0 and "this till's next event continues its chain" in r.stdout, r.stdout + r.stderr
    _set(tmp_path / "new.toml", server_url=server.url, token=token)
    s = make_store(tmp_path / "new.db", device_id="T1", store_id="demo")
    cash.open_session(s, "ana", 0)
    sell(s, "luis", "7500100100004")  # signed with the new key
    s.close()
    refused = new("sync", "--once")
    assert refused.returncode == 1 and "409" in new("status").stdout  # another key is registered for T1
    rekey = server.caja("enroll", "--store", "demo", "--device", "T1", "--rekey")
    assert rekey.returncode == 0, rekey.stderr
    _set(tmp_path / "new.toml", token=rekey.stdout.strip().splitlines()[-1])
    ok = new("sync", "--once")
    assert ok.returncode == 0, ok.stdout + ok.stderr + new("status").stdout
    assert other("sync", "--once").returncode == 0  # T2 takes T1's new sale, its signature checked
    t2 = make_store(tmp_path / "t2.db", device_id="T2", store_id="demo")
    try:
        assert t2._conn.execute("SELECT COUNT(*) FROM sale WHERE device_id = 'T1'").fetchone()[0] == 1
    finally:
        t2.close()
    for till in (new, other):
        v = till("verify")
        assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr
    v = server.caja("verify")
    assert v.returncode == 0 and v.stdout.startswith("ok"), v.stdout + v.stderr


def _set(cfg, **values: str) -> None:
    lines = cfg.read_text().splitlines()
    for key, value in values.items():
        if any(x.startswith(f"{key} ") or x.startswith(f"{key}=") for x in lines):
            lines = [f'{key} = "{value}"' if x.startswith((f"{key} ", f"{key}=")) else x for x in lines]
        else:
            i = lines.index("[sync]") if "[sync]" in lines else len(lines)
            if i == len(lines):
                lines.append("[sync]")
            lines.insert(i + 1, f'{key} = "{value}"')
    cfg.write_text("\n".join(lines) + "\n")
