"""What a peer serves goes through the event check (issue 13 on top of issue 12's trust): a hostile peer on the
LAN (tests/hostile.py, answering with crafted events whose hashes are right) gets nothing into a till's read
models: another store's event, a forged copy, an unsigned event, an event signed by the wrong key, one with this
till's own device id. A genuine signed event from the same peer is taken."""

from __future__ import annotations

import json

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caja_tui.peers.gossip import PeerSync
from tests.conftest import make_store, scalar
from tests.hostile import HostileServer
from tests.protocol_client import Device, public_hex, seal, sign


def _json(obj) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, msgspec.json.encode(obj)


def test_a_hostile_peer_gets_nothing_but_genuine_signed_events_in(tmp_path):
    till = make_store(tmp_path / "b.db", device_id="B", store_id="shop")
    till.use_key(tmp_path / "b.key")
    genuine, liar, other = Device("shop", "T9"), Device("shop", "T8"), Device("elsewhere", "X1")
    genuine.make_key()
    liar.make_key()
    wrong_key = Device("shop", "T8")
    wrong_key.make_key()
    till.save_devices(  # what GET /v1/devices said: T9's and T8's keys
        [
            {"device_id": "T9", "public_key": public_hex(genuine.key), "from_seq": 1, "revoked_at": None},
            {"device_id": "T8", "public_key": public_hex(liar.key), "from_seq": 1, "revoked_at": None},
        ]
    )
    good = genuine.product_created(sku="GOOD-1")
    forged = {**genuine.product_created(sku="FORGED-1")}
    forged["payload"] = {**forged["payload"], "price": 1}  # the hash no longer covers the content
    unsigned = {k: v for k, v in genuine.product_created(sku="UNSIGNED-1").items() if k != "sig"}
    by_wrong_key = sign(wrong_key.key, {k: v for k, v in liar.product_created(sku="WRONGKEY-1").items() if k != "sig"})
    elsewhere = other.product_created(sku="OTHER-1")
    mine = Device("shop", "B")
    mine.key = Ed25519PrivateKey.from_private_bytes(
        till.key.seed
    )  # this till's own key and id: still never taken from a peer
    own = sign(mine.key, seal({**mine.product_created(sku="OWN-1")}))
    pages = {"T9": [good, forged, unsigned], "T8": [by_wrong_key], "X1": [elsewhere], "B": [own]}

    def heads(_q, _b):
        return _json(
            {
                "store_id": "shop",
                "device_id": "T9",
                "heads": {d: {"seq": len(p), "hash": "0" * 64} for d, p in pages.items()},
            }
        )

    def events(query, _b):
        device = dict(x.split("=") for x in query.split("&"))["device"]
        return _json({"events": pages.get(device, []), "more": False})

    with HostileServer({("GET", "/v1/peer/heads"): heads, ("GET", "/v1/peer/events"): events}) as peer:
        host, port = peer.url.removeprefix("http://").split(":")
        PeerSync(till, lambda: [(host, int(port))]).round()
    skus = {r[0] for r in till._conn.execute("SELECT sku FROM product")}
    assert skus == {"GOOD-1"}, skus
    assert scalar(till, "SELECT COUNT(*) FROM event WHERE store_id <> 'shop' OR device_id = 'B'") == 0
    state = json.loads((tmp_path / "b.db.peers.json").read_text())["peers"][0]
    assert state["device_id"] == "T9" and state["error"] == ""
    till.close()
