"""PROTOCOL.md version 2, "Trust", on the server's side: over real HTTP to a real gunicorn `caja serve`, on
SQLite and on PostgreSQL. Each case was reproduced against the server before version 2 (issue 12)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from caja_tui.domain.clock import pack
from tests.protocol_client import Client, Device, seal


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
