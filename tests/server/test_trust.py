"""PROTOCOL.md version 2, "Trust", on the server's side: over real HTTP to a real gunicorn `caja serve`, on
SQLite and on PostgreSQL. Each case was reproduced against the server before version 2 (issue 12)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caja_tui.domain.clock import pack
from tests.protocol_client import Client, Device, public_hex, seal, sign


@pytest.fixture
def shop(server):
    store = "st-" + uuid.uuid4().hex[:8]
    return store, {d: server.enroll(store, d) for d in ("T1", "T2")}


def _codes(results):
    return [(r["status"], r.get("code")) for r in results]


def test_a_forged_copy_never_blocks_the_genuine_event(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    p = d.product_created()
    sale = d.sale_created(p["payload"]["product_id"])
    forged = {**sale, "payload": {**sale["payload"], "total": 1}}  # the genuine hash, another total
    c = Client(server.url, tokens["T1"])
    assert _codes(c.push([p, forged])) == [("accepted", None), ("rejected", "BAD_HASH")]
    assert _codes(c.push([sale])) == [("accepted", None)]  # BAD_HASH was not recorded under the claimed hash
    pulled = [e for e in c.pull_all(include_own=True) if e["event_id"] == sale["event_id"]]
    assert pulled and pulled[0]["payload"]["total"] == sale["payload"]["total"]
    v = server.caja("verify", "--device", "T1")
    assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr


def test_a_clock_skewed_update_is_not_recorded_and_is_taken_once_the_clock_is_right(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    p = d.product_created()
    c = Client(server.url, tokens["T1"])
    assert _codes(c.push([p])) == [("accepted", None)]
    d.hlc = pack(int(time.time() * 1000) + 5 * 60_000 + 2_000)  # two seconds past the bound
    update = d.product_updated(p["payload"]["product_id"], {"price": 2000}, p["hlc"])
    assert _codes(c.push([update])) == [("rejected", "CLOCK_SKEW")]
    time.sleep(3)  # the server's clock catches up with the event's: the till sends the same event again
    assert _codes(c.push([update])) == [("accepted", None)]


def test_a_stock_count_is_clock_ordered_too(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    d.hlc = pack(int(time.time() * 1000) + 86_400_000)  # a day ahead
    count = d.event("stock.counted", {"product_id": "p1", "counted": 5, "previous": 0})
    sale = d.sale_created("p1")  # a fact: accepted whatever the clock
    assert _codes(Client(server.url, tokens["T1"]).push([count, sale])) == [
        ("rejected", "CLOCK_SKEW"),
        ("accepted", None),
    ]


def test_an_unknown_type_is_not_recorded(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    newer = d.event("loyalty.points_added", {"customer_id": "c1", "points": 5})
    c = Client(server.url, tokens["T1"])
    assert _codes(c.push([newer])) == [("rejected", "UNKNOWN_TYPE")]
    assert _codes(c.push([newer])) == [("rejected", "UNKNOWN_TYPE")]  # still not known, never ID_REUSED
    assert c.me()["last_seq"] == 0  # the seq is not taken: an upgraded server can still store it


def _post(server, token, body: bytes) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return requests.post(server.url + "/v1/events", data=body, headers=headers, timeout=30)


def test_json_nested_thousands_deep_is_a_400_not_a_500(server, shop):
    _, tokens = shop
    deep = b'{"events": [' + b"[" * 5000 + b"]" * 5000 + b"]}"
    r = _post(server, tokens["T1"], deep)
    assert r.status_code == 400, r.text[:200]


@pytest.mark.parametrize(
    "change",
    [
        {"base_hlc": 2**63},  # beyond 63 bits
        {"base_hlc": -1},
    ],
)
def test_integers_out_of_range_are_invalid_not_a_500(server, shop, change):
    store, tokens = shop
    d = Device(store, "T1")
    p = d.product_created()
    bad = d.event("product.updated", {"product_id": p["payload"]["product_id"], "changes": {"price": 5}, **change})
    assert _codes(Client(server.url, tokens["T1"]).push([p, bad])) == [("accepted", None), ("rejected", "INVALID")]


@pytest.mark.parametrize("field", ["event_id", "type", "actor"])
def test_a_nul_in_a_string_is_invalid_not_a_500(server, shop, field):
    store, tokens = shop
    d = Device(store, "T1")
    e = d.product_created()
    e[field] = e[field][:3] + "\x00" + e[field][3:]
    seal(e)
    assert _codes(Client(server.url, tokens["T1"]).push([e])) == [("rejected", "INVALID")]


def test_payload_fields_are_known_and_an_event_is_at_most_64_kib(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    stuffed = d.product_created()
    stuffed["payload"]["junk"] = "x" * 1000  # a field the type does not have
    seal(stuffed)
    d2 = Device(store, "T2")
    huge = d2.product_created(name="x" * 70_000)
    c1, c2 = Client(server.url, tokens["T1"]), Client(server.url, tokens["T2"])
    assert _codes(c1.push([stuffed])) == [("rejected", "INVALID")]
    assert _codes(c2.push([huge])) == [("rejected", "INVALID")]
    assert json.dumps(c2.pull_all()).find("junk") == -1  # nothing of it is passed on to the other tills


# --- device keys, signatures and relay (PROTOCOL.md "Trust", "Relay") --------------------------------------


def _keyed(server, shop, device_id: str = "T1") -> tuple[Device, Client]:
    """A device of the shop with its key registered, signing from seq 1."""
    store, tokens = shop
    d, c = Device(store, device_id), Client(server.url, tokens[device_id])
    r = c.register_key(d.make_key(), 1)
    assert r.status_code == 200, r.text
    return d, c


def test_a_key_is_registered_once_idempotently_and_replaced_only_after_rekey(server, shop):
    store, tokens = shop
    d, c = _keyed(server, shop)
    key = public_hex(d.key)
    again = c.register_key(key, 1)
    assert again.status_code == 200 and again.json()["public_key"] == key  # the same key again: 200
    other = Device(store, "T1").make_key()
    assert c.register_key(other, 5).status_code == 409  # another key while one is registered
    assert c.register_key("zz", 1).status_code == 400
    token = server.caja("enroll", "--store", store, "--device", "T1", "--rekey").stdout.split()[-1]
    c = Client(server.url, token)
    r = c.register_key(other, 5)
    assert r.status_code == 200 and (r.json()["public_key"], r.json()["from_seq"]) == (other, 5)


def test_a_signed_push_is_accepted_and_a_wrong_or_missing_sig_is_bad_sig_never_recorded(server, shop):
    d, c = _keyed(server, shop)
    p = d.product_created()
    sale = d.sale_created(p["payload"]["product_id"])
    wrong = sign(Ed25519PrivateKey.generate(), sale)  # signed by another key
    missing = {k: v for k, v in sale.items() if k != "sig"}
    assert _codes(c.push([p, wrong, missing])) == [
        ("accepted", None),
        ("rejected", "BAD_SIG"),
        ("rejected", "BAD_SIG"),
    ]
    assert _codes(c.push([sale])) == [("accepted", None)]  # the genuine one, after the forgeries
    pulled = {e["event_id"]: e for e in c.pull_all(include_own=True)}
    assert pulled[sale["event_id"]]["sig"] == sale["sig"]  # pulls return sig
    v = server.caja("verify", "--device", "T1")
    assert v.returncode == 0, v.stdout + v.stderr


def test_a_relay_of_another_devices_signed_events_is_accepted_once(server, shop):
    store, tokens = shop
    d1, c1 = _keyed(server, shop, "T1")
    _keyed(server, shop, "T2")
    c2 = Client(server.url, tokens["T2"])
    p = d1.product_created()
    sale = d1.sale_created(p["payload"]["product_id"])
    assert _codes(c2.push([p])) == [("accepted", None)]  # T2 relays T1's event
    assert _codes(c1.push([p, sale])) == [("duplicate", None), ("accepted", None)]  # the origin pushes it too
    assert _codes(c2.push([sale])) == [("duplicate", None)]
    forged = {**sale, "sig": "0" * 128}
    assert _codes(c2.push([forged])) == [("duplicate", None)]  # already stored: the same content, nothing new
    theirs = [e for e in c2.pull_all() if e["device_id"] == "T1"]
    assert [e["event_id"] for e in theirs] == [p["event_id"], sale["event_id"]]  # stored exactly once each


def test_a_relay_with_a_wrong_sig_is_bad_sig_and_the_genuine_one_still_arrives(server, shop):
    store, tokens = shop
    d1, c1 = _keyed(server, shop, "T1")
    c2 = Client(server.url, tokens["T2"])
    p = d1.product_created()
    assert _codes(c2.push([{**p, "sig": "1" * 128}])) == [("rejected", "BAD_SIG")]
    assert _codes(c1.push([p])) == [("accepted", None)]


def test_unsigned_events_of_another_device_are_a_403(server, shop):
    store, tokens = shop
    c2 = Client(server.url, tokens["T2"])
    unkeyed = Device(store, "T1").product_created()  # T1 has no key: nothing can vouch for it
    assert c2.push_raw({"events": [unkeyed]}).status_code == 403
    d1, c1 = _keyed(server, shop, "T1")
    p = d1.product_created()
    unsigned = {k: v for k, v in p.items() if k != "sig"}
    assert c2.push_raw({"events": [Device(store, "T2").product_created(), unsigned]}).status_code == 403
    assert c1.pull_all(include_own=True) == []  # nothing stored


def test_devices_lists_the_stores_devices_and_keys_only(server, shop):
    store, tokens = shop
    d1, c1 = _keyed(server, shop, "T1")
    other = "st-" + uuid.uuid4().hex[:8]
    server.enroll(other, "T9")
    listed = {x["device_id"]: x for x in c1.devices()}
    assert set(listed) == {"T1", "T2"}
    assert (listed["T1"]["public_key"], listed["T1"]["from_seq"]) == (public_hex(d1.key), 1)
    assert listed["T2"]["public_key"] is None and listed["T2"]["revoked_at"] is None
    assert server.caja("revoke", "--device", "T2", "--store", store).returncode == 0
    assert {x["device_id"]: x for x in c1.devices()}["T2"]["revoked_at"] is not None


def _user(d: Device, actor: str, user_id: str, role: str = "manager") -> dict:
    pin = "scrypt$16384$8$1$00$00"  # the server never reads a PIN hash; any text stands for one
    return d.event("user.created", {"user_id": user_id, "name": user_id, "role": role, "pin_hash": pin}, actor=actor)


def test_only_a_manager_of_the_store_makes_a_manager(server, shop):
    """Events that grant rights: a manager is made (or promoted, or given a new PIN) only by an active manager in
    the server's own view of the store's users; the store's first manager aside. Not recorded: sent again once
    its actor has become a manager, it is taken."""
    store, tokens = shop
    t1, t2 = Device(store, "T1"), Device(store, "T2")
    c1, c2 = Client(server.url, tokens["T1"]), Client(server.url, tokens["T2"])
    first = _user(t1, "system", "ana")  # the store's first manager, made by `caja init`
    cashier = _user(t1, "ana", "luis", role="cashier")
    assert _codes(c1.push([first, cashier])) == [("accepted", None), ("accepted", None)]
    # a stolen cashier's till token: another system-made manager, a cashier's manager, a cashier promoting himself
    second_first = _user(t2, "system", "mallory")
    by_cashier = _user(t2, "luis", "eve")
    self_promotion = t2.event(
        "user.updated", {"user_id": "luis", "changes": {"role": "manager"}, "base_hlc": 0}, actor="luis"
    )
    takeover = t2.event("user.updated", {"user_id": "ana", "changes": {"pin_hash": "x"}, "base_hlc": 0}, actor="luis")
    rename = t2.event("user.updated", {"user_id": "ana", "changes": {"name": "Ana M."}, "base_hlc": 0}, actor="luis")
    answers = c2.push([second_first, by_cashier, self_promotion, takeover, rename])
    assert _codes(answers) == [("rejected", "NOT_ALLOWED")] * 4 + [("accepted", None)]
    assert "manager" in answers[0]["message"]
    pulled = {e["event_id"] for e in c1.pull_all()}
    assert pulled == {rename["event_id"]}  # nothing refused reached the store's other tills
    # a manager promotes luis; luis's manager, sent again, is taken now (the refusal was not recorded)
    promotion = t1.event(
        "user.updated", {"user_id": "luis", "changes": {"role": "manager"}, "base_hlc": 0}, actor="ana"
    )
    assert _codes(c1.push([promotion])) == [("accepted", None)]
    assert _codes(c2.push([by_cashier])) == [("accepted", None)]
    # demoted (deactivated), ana can no longer make a manager
    gone = t1.event("user.updated", {"user_id": "ana", "changes": {"active": False}, "base_hlc": 0}, actor="luis")
    assert _codes(c1.push([gone, _user(t1, "ana", "zoe")])) == [("accepted", None), ("rejected", "NOT_ALLOWED")]
