"""A LAN partition and its healing (issue 13), with real peer servers on 127.0.0.1 and real SQLite tills: each
side goes on selling and editing; once the LAN heals, gossip alone makes every till's read models equal. A
manager made by a manager whose own promotion arrives later (another device, sorted after) is taken a round
later, not lost."""

from __future__ import annotations

import pytest

from caja_tui.application import cash, products, stock, users
from caja_tui.peers.gossip import PeerSync
from caja_tui.peers.serve import PeerApp, PeerServer
from caja_tui.store.maintenance import read_model_digests
from tests.conftest import db, make_store, scalar
from tests.e2e.test_sync import sell

NAMES = ("A1", "C1", "Z1")


@pytest.fixture
def shop(tmp_path):
    tills, served, servers = {}, [], {}
    for d in NAMES:
        s = make_store(tmp_path / f"{d}.db", device_id=d, store_id="shop")
        s.use_key(tmp_path / f"{d}.key")
        tills[d] = s
    devices = [
        {"device_id": d, "public_key": s.key.public_hex, "from_seq": 1, "revoked_at": None} for d, s in tills.items()
    ]
    for d, s in tills.items():
        s.save_devices(devices)  # as GET /v1/devices gave them, once, before the internet went
        other = make_store(tmp_path / f"{d}.db", device_id=d, store_id="shop")
        served.append(other)
        servers[d] = PeerServer(PeerApp(other), "127.0.0.1", 0).start()
    yield tills, servers
    for srv in servers.values():
        srv.stop()
    for s in [*tills.values(), *served]:
        s.close()


def _gossip(tills, servers, links: dict[str, list[str]], rounds: int = 2) -> None:
    syncs = {d: PeerSync(tills[d], lambda d=d: [("127.0.0.1", servers[o].port) for o in links[d]]) for d in links}
    for _ in range(rounds):
        for g in syncs.values():
            g.round()


def test_a_partition_heals_by_gossip_alone(shop):
    tills, servers = shop
    a, c, z = tills["A1"], tills["C1"], tills["Z1"]
    users.create_user(z, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(z, "ana", name="Luis", role="cashier", pin="0000", user_id="luis")
    p = products.create_product(z, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0, stock=20)
    everyone = {d: [o for o in NAMES if o != d] for d in NAMES}
    _gossip(tills, servers, everyone)
    assert all(scalar(s, "SELECT COUNT(*) FROM product") == 1 for s in tills.values())

    # the LAN splits: {A1, Z1} | {C1}; both sides sell and edit
    for s in tills.values():
        cash.open_session(s, "luis", 0)
    users.create_user(z, "ana", name="Bob", role="manager", pin="5555", user_id="bob")
    products.update_product(z, "ana", p.id, {"price": 1100})
    _gossip(tills, servers, {"A1": ["Z1"], "Z1": ["A1"]})
    users.create_user(a, "bob", name="Eve", role="manager", pin="6666", user_id="eve")  # by bob, from Z1
    sell(a, "luis", "PAN")
    products.update_product(c, "ana", p.id, {"price": 1300, "name": "Pan grande"})
    stock.count_stock(c, "ana", p.id, 15)
    sell(c, "luis", "PAN")
    _gossip(tills, servers, {"A1": ["Z1"], "Z1": ["A1"]})

    # healed; C1 hears of A1's events first (bob's manager, made by bob, before Z1's event that made bob)
    _gossip(tills, servers, {"C1": ["A1"]}, rounds=1)
    assert scalar(c, "SELECT COUNT(*) FROM user WHERE id = 'eve'") == 0  # not yet: bob is no manager here yet
    _gossip(tills, servers, everyone, rounds=3)
    digests = [read_model_digests(db(s)) for s in tills.values()]
    assert digests[0] == digests[1] == digests[2]
    assert scalar(c, "SELECT role FROM user WHERE id = 'eve'") == "manager"
    assert scalar(a, "SELECT COUNT(*) FROM sale") == 2
    assert scalar(z, "SELECT COUNT(*) FROM event WHERE sync_status = 'relay'") > 0  # waiting for the server
