"""Pairing two tills that never reached a server (peers/pairing.py), then gossip between them: real SQLite
tills, a real peer server on 127.0.0.1, real HTTP."""

from __future__ import annotations

import pytest

from caja_tui.application import products, users
from caja_tui.peers.gossip import PeerSync
from caja_tui.peers.pairing import PairingError, new_offer, pair_with
from caja_tui.peers.serve import PeerApp, PeerServer
from caja_tui.store import peers as peer_store
from tests.conftest import make_store, scalar


def _till(path, device):
    s = make_store(path, device_id=device, store_id="shop")
    s.use_key(path.with_suffix(".key"))  # as `caja init` makes it
    return s


@pytest.fixture
def two_tills(tmp_path):
    a = _till(tmp_path / "a.db", "A")
    b = _till(tmp_path / "b.db", "B")
    served = make_store(tmp_path / "a.db", device_id="A", store_id="shop")  # the sync process's connection
    server = PeerServer(PeerApp(served), "127.0.0.1", 0).start()
    yield a, b, server
    server.stop()
    for s in (a, b, served):
        s.close()


def test_paired_tills_take_each_others_events_and_a_stranger_gets_nothing(two_tills, tmp_path):
    a, b, server = two_tills
    users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    p = products.create_product(a, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0)
    gossip = PeerSync(b, lambda: [("127.0.0.1", server.port)])
    assert gossip.round() == 0  # not paired: A does not answer B
    assert "not a till of this store whose key" in gossip.peers[f"127.0.0.1:{server.port}"]["error"]

    with pytest.raises(PairingError, match="no pairing code"):
        pair_with(b, "127.0.0.1", server.port, "123456", 7870)
    code = new_offer(a)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(PairingError, match="wrong pairing code"):
        pair_with(b, "127.0.0.1", server.port, wrong, 7870)
    assert pair_with(b, "127.0.0.1", server.port, f"{code[:3]}-{code[3:]}", 7870) == "A"
    assert set(peer_store.paired_keys(a)) == {"B"} and set(peer_store.paired_keys(b)) == {"A"}
    assert peer_store.paired_addresses(a) == ["127.0.0.1:7870"]
    with pytest.raises(PairingError, match="no pairing code"):  # one use
        pair_with(b, "127.0.0.1", server.port, code, 7870)

    assert gossip.round() >= 2  # the user and the product, signed by A, checked, projected
    assert scalar(b, "SELECT name FROM product WHERE id = ?", (p.id,)) == "Pan"
    assert scalar(b, "SELECT COUNT(*) FROM event WHERE sync_status = 'relay'") >= 2  # for the server, one day

    c = _till(tmp_path / "c.db", "C")  # a stranger on the LAN, with a key of its own
    stranger = PeerSync(c, lambda: [("127.0.0.1", server.port)])
    assert stranger.round() == 0 and scalar(c, "SELECT COUNT(*) FROM product") == 0
    c.close()


def test_pairing_tries_are_limited(two_tills):
    a, b, server = two_tills
    code = new_offer(a)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(PairingError, match="wrong pairing code"):
            pair_with(b, "127.0.0.1", server.port, wrong, 7870)
    with pytest.raises(PairingError, match="no pairing code"):  # the right code no longer helps
        pair_with(b, "127.0.0.1", server.port, code, 7870)
