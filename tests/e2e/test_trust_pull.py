"""PROTOCOL.md version 2, "Trust", on the till's side: a pull answer is checked like a push, event by event.

A hostile server (tests/hostile.py) serves pages whose events all have correct hashes: another store's
product, an event carrying this till's own device id, a manager made by a cashier. The real `caja sync`
pulls them; the till keeps selling, and nothing of them reaches its read models (issue 12, case 4)."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import msgspec
import pytest

from caja_tui.application import cash, sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.store.maintenance import verify
from tests.conftest import make_store, scalar
from tests.e2e.conftest import caja_at
from tests.hostile import HostileServer
from tests.protocol_client import Device

ROOT = Path(__file__).resolve().parents[2]
STORE, DEVICE = "demo", "T05"


def _server(page: list[dict]) -> HostileServer:
    """Accepts every push; serves `page` once, then nothing more."""

    def push(_query: str, body: bytes):
        sent = msgspec.msgpack.decode(gzip.decompress(body))["events"]
        results = [{"event_id": e["event_id"], "status": "accepted"} for e in sent]
        return (
            200,
            {"Content-Type": "application/msgpack"},
            msgspec.msgpack.encode({"results": results, "server_time_ms": _now()}),
        )

    def pull(query: str, _body: bytes):
        first = "after=0" in query
        answer = {"events": page if first else [], "cursor": 1, "more": False, "server_time_ms": _now()}
        return 200, {"Content-Type": "application/msgpack"}, msgspec.msgpack.encode(answer)

    def health(_query: str, _body: bytes):
        return (
            200,
            {"Content-Type": "application/msgpack"},
            msgspec.msgpack.encode({"status": "ok", "version": "9.9", "server_time_ms": _now()}),
        )

    return HostileServer({("POST", "/v1/events"): push, ("GET", "/v1/events"): pull, ("GET", "/v1/health"): health})


def _now() -> int:
    import time

    return int(time.time() * 1000)


def _caja(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return caja_at(cfg)(*args)


def _till(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "t5.toml"
    r = _caja(
        cfg,
        "init",
        "--demo",
        "--store",
        STORE,
        "--device",
        DEVICE,
        "--db",
        str(tmp_path / "t5.db"),
        "--server",
        url,
        "--token",
        "tok",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return cfg


def _sell_one(path: Path) -> None:
    s = make_store(path, device_id=DEVICE, store_id=STORE)
    try:
        if cash.current_summary(s) is None:
            cash.open_session(s, "ana", 0)
        cart = Cart()
        assert sales.scan(s, cart, "7500100100004") is not None  # rice, from the demo catalog
        total = sales.rules.price_sale(cart.lines, 0, True).total
        sales.complete_sale(s, "ana", cart, [Tender(method="cash", amount=total)], prices_include_tax=True)
        assert verify(s).ok
    finally:
        s.close()


@pytest.mark.parametrize("own_seq", ["next", "existing"])
def test_a_pulled_event_with_this_tills_own_device_id_is_refused(tmp_path, own_seq):
    db = tmp_path / "t5.db"
    with _server([]) as srv:
        cfg = _till(tmp_path, srv.url)
    s = make_store(db, device_id=DEVICE, store_id=STORE)
    last = scalar(s, "SELECT MAX(seq) FROM event WHERE device_id = ?", (DEVICE,))
    s.close()
    me = Device(STORE, DEVICE, seq=last if own_seq == "next" else 0)
    page = [me.product_created(sku="MINE-1")]
    with _server(page) as srv:
        _rewrite_server(cfg, srv.url)
        first = _caja(cfg, "sync", "--once")
        again = _caja(cfg, "sync", "--once")  # the till starts again and syncs: no crash
    assert "Traceback" not in first.stderr + again.stderr and "unexpected error" not in again.stderr
    s = make_store(db, device_id=DEVICE, store_id=STORE)
    assert scalar(s, "SELECT COUNT(*) FROM product WHERE sku = 'MINE-1'") == 0
    s.close()
    _sell_one(db)  # and the till sells on


def test_another_stores_events_never_reach_the_catalogue(tmp_path):
    db = tmp_path / "t5.db"
    other = Device("another-store", "X1")
    with _server([other.product_created(sku="OTHER-1")]) as srv:
        cfg = _till(tmp_path, srv.url)
        _caja(cfg, "sync", "--once")
    s = make_store(db, device_id=DEVICE, store_id=STORE)
    assert scalar(s, "SELECT COUNT(*) FROM product WHERE sku = 'OTHER-1'") == 0
    assert scalar(s, "SELECT COUNT(*) FROM event WHERE store_id != ?", (STORE,)) == 0
    s.close()


def _rewrite_server(cfg: Path, url: str) -> None:
    lines = [
        f'server_url = "{url}"' if line.startswith("server_url") else line for line in cfg.read_text().splitlines()
    ]
    cfg.write_text("\n".join(lines) + "\n")


def test_a_manager_made_by_a_cashier_never_signs_in(tmp_path):
    """A pulled `user.created` manager (or a promotion) whose actor is not a manager of the store in the till's
    own view of users is refused; one made by a manager is taken (PROTOCOL.md "Trust", events that grant rights)."""
    from caja_tui.application.users import authenticate
    from caja_tui.domain.errors import DomainError
    from caja_tui.domain.pins import hash_pin

    db = tmp_path / "t5.db"
    other = Device(STORE, "T09")
    pin = hash_pin("9999")
    page = [
        other.event(
            "user.created", {"user_id": "mallory", "name": "Mallory", "role": "manager", "pin_hash": pin}, actor="luis"
        ),
        other.event(
            "user.created", {"user_id": "eve", "name": "Eve", "role": "cashier", "pin_hash": pin}, actor="luis"
        ),
        other.event("user.updated", {"user_id": "eve", "changes": {"role": "manager"}, "base_hlc": 0}, actor="eve"),
        other.event("user.updated", {"user_id": "ana", "changes": {"pin_hash": pin}, "base_hlc": 0}, actor="luis"),
        other.event(
            "user.created", {"user_id": "marta", "name": "Marta", "role": "manager", "pin_hash": pin}, actor="ana"
        ),
    ]
    with _server(page) as srv:
        cfg = _till(tmp_path, srv.url)
        r = _caja(cfg, "sync", "--once")
    assert "Traceback" not in r.stderr
    s = make_store(db, device_id=DEVICE, store_id=STORE)
    try:
        assert scalar(s, "SELECT COUNT(*) FROM user WHERE id = 'mallory'") == 0
        assert scalar(s, "SELECT role FROM user WHERE id = 'eve'") == "cashier"  # a cashier may add a cashier
        for who in ("mallory", "ana"):  # neither the made-up manager nor ana's PIN changed by a cashier
            with pytest.raises(DomainError):
                authenticate(s, who, "9999")
        assert authenticate(s, "marta", "9999").role == "manager"  # made by a manager of the store: taken
        assert verify(s).ok
    finally:
        s.close()
    _sell_one(db)
