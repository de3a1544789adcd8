"""PROTOCOL.md over real HTTP to a real gunicorn `caja serve`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import gzip
import json
import time
import uuid

import msgspec
import pytest
import requests

from tests.protocol_client import Client, Device
from tests.server_proc import ServerProcess


def _store():
    return "st-" + uuid.uuid4().hex[:8]


@pytest.fixture
def shop(server):
    """A fresh store with two enrolled tills on the module's server."""
    store = _store()
    return store, {d: server.enroll(store, d) for d in ("T1", "T2")}


def test_health_needs_no_token_and_tells_the_time(server):
    r = requests.get(server.url + "/v1/health", timeout=5)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok" and abs(body["server_time_ms"] - time.time() * 1000) < 5000


@pytest.mark.parametrize("fmt,gz", [("json", False), ("msgpack", False), ("json", True), ("msgpack", True)])
def test_push_and_pull_in_every_encoding(server, shop, fmt, gz):
    store, tokens = shop
    t1 = Client(server.url, tokens["T1"], fmt=fmt, gzip_body=gz)
    t2 = Client(server.url, tokens["T2"], fmt=fmt, gzip_body=gz)
    d1 = Device(store, "T1")
    p = d1.product_created(name="Café con leche ñ")  # non-ASCII goes through the hash as raw UTF-8
    events = [p, d1.sale_created(p["payload"]["product_id"], qty=2)]
    assert [r["status"] for r in t1.push(events)] == ["accepted", "accepted"]
    assert [r["status"] for r in t1.push(events)] == ["duplicate", "duplicate"]
    pulled = t2.pull_all()
    assert [e["event_id"] for e in pulled] == [e["event_id"] for e in events]
    assert pulled[0] == events[0]  # byte-for-byte the same event, hash and all
    assert t1.pull_all() == []  # a till does not get its own events back...
    assert len(t1.pull_all(include_own=True)) == 2  # ...unless it is being restored


def test_responses_are_gzipped_when_asked_and_worth_it(server, shop):
    store, tokens = shop
    t1, t2 = Client(server.url, tokens["T1"]), Client(server.url, tokens["T2"])
    d = Device(store, "T1")
    t1.push([d.product_created(sku=f"S{i}") for i in range(30)])
    r = requests.get(
        server.url + "/v1/events",
        headers={"Authorization": f"Bearer {tokens['T2']}", "Accept-Encoding": "gzip"},
        stream=True,
        timeout=10,
    )
    assert r.headers.get("Content-Encoding") == "gzip"
    assert len(json.loads(gzip.decompress(r.raw.read()))["events"]) == 30
    assert len(t2.pull_all()) == 30


def test_missing_unknown_and_revoked_tokens_get_401(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    for token in (None, "caja_not-a-real-token"):
        r = Client(server.url, token).push_raw({"events": [d.product_created()]})
        assert r.status_code == 401 and r.json()["error"] == "UNAUTHORIZED"
    token = server.enroll(store, "T9")
    assert server.caja("revoke", "--device", "T9", "--store", store).returncode == 0
    assert Client(server.url, token).push_raw({"events": [Device(store, "T9").product_created()]}).status_code == 401


def test_a_token_writes_only_its_own_store_and_device(server, shop):
    store, tokens = shop
    c = Client(server.url, tokens["T1"])
    for other in (Device(store, "T2"), Device("someone-else", "T1")):
        r = c.push_raw({"events": [Device(store, "T1").product_created(), other.product_created()]})
        assert r.status_code == 403 and "nothing was stored" in r.json()["message"]
    assert Client(server.url, tokens["T2"]).pull_all() == []


def test_a_token_reads_only_its_own_store(server, shop):
    store, tokens = shop
    Client(server.url, tokens["T1"]).push([Device(store, "T1").product_created()])
    stranger = server.enroll(_store(), "T1")
    assert Client(server.url, stranger).pull_all(include_own=True) == []


@pytest.mark.parametrize(
    "body,expect",
    [
        (b"not json", "BAD_BODY"),
        (b'{"events": "nope"}', "BAD_BODY"),
        (b'{"events": []}', "BAD_BODY"),
        (b'{"evnts": [{}]}', "BAD_BODY"),
        (b"[1, 2, 3]", "BAD_BODY"),
    ],
)
def test_undecodable_or_misshapen_bodies_get_400(server, shop, body, expect):
    r = requests.post(
        server.url + "/v1/events",
        data=body,
        timeout=10,
        headers={"Authorization": f"Bearer {shop[1]['T1']}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"] == expect


@pytest.mark.parametrize(
    "body",
    [
        b'{"public_key": "\xff\xfe", "from_seq": 1}',  # a string that is not UTF-8
        b'{"public_key": ' + b"[" * 100_000 + b"]" * 100_000 + b', "from_seq": 1}',  # nested too deep
        b"not json",
    ],
    ids=["not-utf8", "too-deep", "not-json"],
)
def test_a_key_registration_that_cannot_be_read_gets_400(server, shop, body):
    r = requests.put(
        server.url + "/v1/devices/me/key",
        data=body,
        timeout=10,
        headers={"Authorization": f"Bearer {shop[1]['T1']}", "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"] == "BAD_BODY"


def test_per_event_problems_are_per_event_results(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    good = d.product_created()
    bad = d.event("product.created", {"product_id": "x"})
    results = Client(server.url, tokens["T1"]).push([good, bad, {"no": "envelope"}, 7])
    assert [(r["status"], r.get("code")) for r in results] == [
        ("accepted", None),
        ("rejected", "INVALID"),
        ("rejected", "INVALID"),
        ("rejected", "INVALID"),
    ]


def test_over_1000_events_is_400_and_over_8_mib_is_413_before_decoding(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    c = Client(server.url, tokens["T1"])
    assert c.push_raw({"events": [d.product_created(sku=f"S{i}") for i in range(1001)]}).status_code == 400
    headers = {"Authorization": f"Bearer {tokens['T1']}", "Content-Type": "application/json"}
    big = b'{"events": [' + b" " * (9 * 1024 * 1024) + b"]}"
    r = requests.post(server.url + "/v1/events", data=big, headers=headers, timeout=30)
    assert r.status_code == 413
    bomb = gzip.compress(b'{"events": [' + b" " * (20 * 1024 * 1024) + b"]}")
    r = requests.post(server.url + "/v1/events", data=bomb, timeout=30, headers={**headers, "Content-Encoding": "gzip"})
    assert r.status_code == 413 and len(bomb) < 1024 * 1024


def test_devices_me_tells_a_restored_till_where_to_resume(server, shop):
    store, tokens = shop
    c = Client(server.url, tokens["T1"])
    assert c.me()["last_seq"] == 0
    d = Device(store, "T1")
    c.push([d.product_created() for _ in range(3)])
    me = c.me()
    assert (me["store_id"], me["device_id"], me["last_seq"], me["last_hash"]) == (store, "T1", 3, d.last_hash)
    resumed = Device(store, "T1", seq=me["last_seq"], last_hash=me["last_hash"])
    assert c.push([resumed.product_created()])[0]["status"] == "accepted"


def test_openapi_document_is_generated_from_the_wire_types(server):
    doc = requests.get(server.url + "/v1/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/health", "/v1/events", "/v1/devices/me", "/metrics"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]
    assert set(schemas["WireEvent"]["required"]) >= {"event_id", "type", "seq", "hlc", "prev_hash", "hash", "payload"}
    assert sorted(schemas["Result"]["properties"]["status"]["enum"]) == [
        "accepted",
        "conflict",
        "duplicate",
        "rejected",
    ]


def test_metrics_count_results_and_devices(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    Client(server.url, tokens["T1"]).push([d.product_created(), d.event("nope.nope", {})])
    text = requests.get(server.url + "/metrics", timeout=5).text
    assert f'caja_events_total{{store="{store}",type="product.created",status="accepted"}} 1' in text
    assert f'caja_device_last_seen_seconds{{store="{store}",device="T1"}}' in text
    assert "caja_push_seconds_bucket" in text


def test_admin_commands_list_devices_and_verify(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    Client(server.url, tokens["T1"]).push([d.product_created(), d.product_created(sku="B")])
    listing = json.loads(server.caja("devices", "--json").stdout)
    row = next(r for r in listing if r["store_id"] == store and r["device_id"] == "T1")
    assert row["last_seq"] == 2 and row["last_seen"] and row["clock_skew_ms"] is not None
    v = server.caja("verify", "--device", "T1")
    assert v.returncode == 0 and v.stdout.startswith("ok:")


def test_access_log_is_json_lines(server, shop):
    Client(server.url, shop[1]["T1"]).pull()
    lines = [json.loads(line) for line in server.log.read_text().splitlines()]
    mine = [x for x in lines if x.get("store") == shop[0]]
    assert mine and mine[-1]["kind"] == "access" and mine[-1]["path"] == "/v1/events" and mine[-1]["status"] == 200


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    srv = ServerProcess(str(tmp_path / "s.db"), workers=1, rate=1, burst=3).start()
    try:
        token = srv.enroll("s1", "T1")
        c = Client(srv.url, token)
        codes = [c.session.get(srv.url + "/v1/devices/me", timeout=5) for _ in range(6)]
        limited = [r for r in codes if r.status_code == 429]
        assert limited and int(limited[0].headers["Retry-After"]) >= 1
        assert limited[0].json()["error"] == "RATE_LIMITED"
        assert requests.get(srv.url + "/v1/health", timeout=5).status_code == 200  # health is never limited
    finally:
        srv.stop()


def test_storage_down_is_503_not_500(tmp_path):
    db = tmp_path / "s.db"
    srv = ServerProcess(str(db), workers=1).start()
    try:
        token = srv.enroll("s1", "T1")
        c = Client(srv.url, token)
        assert c.push_raw({"events": [Device("s1", "T1").product_created()]}).status_code == 200
        import sqlite3

        lock = sqlite3.connect(db, timeout=1)
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the write lock past the busy timeout
        try:
            data, headers = c._encode({"events": [Device("s1", "T1", seq=1, last_hash="0" * 64).product_created()]})
            r = c.session.post(srv.url + "/v1/events", data=data, headers=headers, timeout=60)  # no retry here
        finally:
            lock.rollback()
            lock.close()
        assert r.status_code == 503 and r.headers["Retry-After"]
    finally:
        srv.stop()


def test_msgpack_bodies_with_binary_or_float_values_are_rejected_not_crashing(server, shop):
    store, tokens = shop
    d = Device(store, "T1")
    e = d.product_created()
    e["payload"]["name"] = b"\x00bytes"
    body = msgspec.msgpack.encode({"events": [e]})
    r = requests.post(
        server.url + "/v1/events",
        data=body,
        timeout=10,
        headers={"Authorization": f"Bearer {tokens['T1']}", "Content-Type": "application/msgpack"},
    )
    assert r.status_code == 200
    assert msgspec.msgpack.decode(r.content)["results"][0]["code"] == "INVALID"


def test_the_readme_curl_example_works_as_written(server):
    """The event in the README is accepted by a real server, and its hash is what the shell line computes."""
    import hashlib
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    body = re.search(r"<<'END'\n(.*?)\nEND", readme, re.S).group(1)
    canon = re.search(r"CANON='(.*?)'", readme).group(1)
    event = json.loads(body)["events"][0]
    assert hashlib.sha256(bytes(32) + canon.encode("utf-8")).hexdigest() == event["hash"]
    token = server.enroll(event["store_id"], event["device_id"])
    r = requests.post(
        server.url + "/v1/events",
        data=body.encode("utf-8"),
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "accepted"
    again = requests.post(
        server.url + "/v1/events",
        data=body.encode("utf-8"),
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert again.json()["results"][0]["status"] == "duplicate"
