"""A msgpack pull answers from a page made ahead (server/pullahead.py) exactly what it would answer made at once."""

from __future__ import annotations

import gzip
import threading
import time
import uuid

import falcon.testing
import msgspec
import pytest
import requests

from caja_tui.server.pullahead import Ahead, Page
from tests.protocol_client import Client, Device


@pytest.mark.parametrize("n", [0, 1, 3, 15, 16, 200, 70_000])
@pytest.mark.parametrize("zipped", [False, True])
def test_a_page_is_the_body_respond_makes(n, zipped):
    events = [msgspec.Raw(msgspec.msgpack.encode({"i": i, "s": "x" * (i % 50)})) for i in range(n)]
    page = Page(events, 1 << 40, n > 3, zipped=zipped, min_zip=1024)
    body, gzipped = page.answer(1764270000000, zipped)
    want = msgspec.msgpack.encode({"events": events, "cursor": 1 << 40, "more": n > 3, "server_time_ms": 1764270000000})
    assert gzipped == (zipped and len(want) >= 1024)
    assert (gzip.decompress(body) if gzipped else body) == want


def _pull(c: Client, after: int, limit: int, *, zipped: bool = True) -> requests.Response:
    r = c.session.get(
        c.base + "/v1/events",
        params={"after": after, "limit": limit, "include_own": 0},
        headers={"Accept": "application/msgpack", "Accept-Encoding": "gzip" if zipped else "identity"},
        timeout=30,
    )
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"] == "application/msgpack"
    assert r.headers["Vary"] == "Accept-Encoding"
    assert ("gzip" == r.headers.get("Content-Encoding")) == (zipped and len(r.content) >= 1024), r.headers
    return r


@pytest.mark.parametrize("zipped", [True, False])
def test_pages_made_ahead_are_the_pages_asked_for_later(server, zipped):
    """Page after page, with new events pushed between them: every msgpack page (the next one made while the
    reader held this one) is the JSON page of the same cursor, which is always made when asked."""
    store = f"ahead-{uuid.uuid4().hex[:8]}"
    writers = {dev: (Client(server.url, server.enroll(store, dev), fmt="msgpack"), Device(store, dev)) for dev in "AB"}
    reader = Client(server.url, server.enroll(store, "R"), fmt="msgpack")
    as_json = Client(server.url, reader.session.headers["Authorization"].split()[1])
    for c, d in writers.values():
        assert {r["status"] for r in c.push([d.product_created(sku=f"S{i}") for i in range(40)])} == {"accepted"}
    cursor, pages, pushed, seen = 0, 0, 0, []
    while True:
        page = msgspec.msgpack.decode(_pull(reader, cursor, 7, zipped=zipped).content)
        want = as_json.pull(cursor, 7)
        assert {k: v for k, v in page.items() if k != "server_time_ms"} == {
            k: v for k, v in want.items() if k != "server_time_ms"
        }
        assert page["server_time_ms"] <= want["server_time_ms"]
        seen += page["events"]
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
        if pages < 8:  # while the next page is being made ahead, the store grows
            c, d = writers["AB"[pages % 2]]
            assert {r["status"] for r in c.push([d.product_created(sku=f"N{pages}")])} == {"accepted"}
            pushed += 1
    assert pushed == 7
    assert len(seen) == 80 + pushed
    assert len({e["event_id"] for e in seen}) == len(seen)
    assert [e["event_id"] for e in seen] == [e["event_id"] for e in as_json.pull_all(limit=1000)]


def test_a_msgpack_reader_among_pushers_misses_nothing(server):
    """Pushes at once while a msgpack reader pulls small pages all the while: each event once, none missed."""
    store = f"ahead-{uuid.uuid4().hex[:8]}"
    chains = {dev: Device(store, dev) for dev in ("T1", "T2", "T3")}
    tokens = {dev: server.enroll(store, dev) for dev in chains}
    events = {dev: [d.product_created(sku=f"{dev}-{i}") for i in range(150)] for dev, d in chains.items()}
    reader = Client(server.url, server.enroll(store, "R"), fmt="msgpack")
    errors: list[str] = []
    done = threading.Event()

    def push(dev: str) -> None:
        try:
            c = Client(server.url, tokens[dev], fmt="msgpack")
            for i in range(0, len(events[dev]), 10):
                assert {r["status"] for r in c.push(events[dev][i : i + 10])} == {"accepted"}
        except Exception as exc:  # noqa: BLE001 - reported by the test's thread
            errors.append(f"{dev}: {exc!r}")

    threads = [threading.Thread(target=push, args=(dev,)) for dev in chains]
    for t in threads:
        t.start()
    seen, cursor = [], 0
    watcher = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
    watcher.start()
    while True:
        finished = done.is_set()
        page = msgspec.msgpack.decode(_pull(reader, cursor, 13).content)
        seen += page["events"]
        assert page["cursor"] >= cursor
        cursor = page["cursor"]
        if finished and not page["more"]:
            break
    watcher.join()
    assert not errors, errors
    ids = [e["event_id"] for e in seen]
    assert len(ids) == len(set(ids)), "an event came twice"
    assert set(ids) == {e["event_id"] for evs in events.values() for e in evs}


@pytest.mark.parametrize("grows", [False, True])
def test_the_last_page_made_ahead_is_the_answer_only_while_nothing_came_after_it(server, grows):
    store = f"ahead-{uuid.uuid4().hex[:8]}"
    c, d = Client(server.url, server.enroll(store, "A"), fmt="msgpack"), Device(store, "A")
    reader = Client(server.url, server.enroll(store, "R"), fmt="msgpack")
    assert {r["status"] for r in c.push([d.product_created(sku=f"S{i}") for i in range(14)])} == {"accepted"}
    first = msgspec.msgpack.decode(_pull(reader, 0, 7).content)  # the second, last page is made meanwhile
    assert first["more"]
    time.sleep(0.3)  # made by now
    if grows:
        assert {r["status"] for r in c.push([d.product_created(sku="late")])} == {"accepted"}
    second = msgspec.msgpack.decode(_pull(reader, first["cursor"], 7).content)
    assert [e["payload"]["sku"] for e in second["events"]] == [f"S{i}" for i in range(7, 14)]
    assert second["more"] is grows
    rest = msgspec.msgpack.decode(_pull(reader, second["cursor"], 7).content)
    assert [e["payload"]["sku"] for e in rest["events"]] == (["late"] if grows else [])
    assert rest["more"] is False


@pytest.mark.parametrize("connection", ["", "close"])
def test_the_next_page_is_read_once_ahead_and_not_again(storage, connection):
    """The store is read once a page: the request after a page with `more` finds its page made (also the last),
    unless the connection closes after the answer (the next request may reach another worker)."""
    from caja_tui.server.app import Server, create_app
    from caja_tui.server.storage import DeviceAuth
    from tests.server.test_storage_contract import push

    d, reader = Device("s1", "A"), storage.enroll("s1", "R")
    push(storage, DeviceAuth("s1", "A"), [d.product_created(sku=f"S{i}") for i in range(14)])
    afters: list[tuple[int, str]] = []
    pull = storage.pull
    storage.pull = lambda auth, after, *a, **kw: (
        afters.append((after, threading.current_thread().name.split("_")[0])),
        pull(auth, after, *a, **kw),
    )[1]
    client = falcon.testing.TestClient(create_app(Server(lambda: storage, rate=0)))
    headers = {"Authorization": f"Bearer {reader}", "Accept": "application/msgpack", "Accept-Encoding": "gzip"}
    if connection:
        headers["Connection"] = connection
    cursor, skus = 0, []
    for more in (True, False):
        r = client.simulate_get("/v1/events", params={"after": cursor, "limit": 7}, headers=headers)
        page = msgspec.msgpack.decode(gzip.decompress(r.content))
        assert page["more"] is more
        cursor, skus = page["cursor"], skus + [e["payload"]["sku"] for e in page["events"]]
        time.sleep(0.5)  # the next page is made meanwhile
    assert skus == [f"S{i}" for i in range(14)]
    here = threading.current_thread().name.split("_")[0]
    assert afters == [(0, here), (7, here if connection == "close" else "caja-pull-ahead")]


def test_a_device_whose_pages_were_not_asked_for_here_gets_none_made_here_for_a_while():
    """Its requests reach other workers too (a proxy's pool of connections): pages made here would be wasted."""
    made: list[int] = []

    def make(after: int) -> Page:
        made.append(after)
        return Page([msgspec.Raw(b"\x01")], after + 1, True, zipped=False, min_zip=1024)

    ahead = Ahead()
    ahead.prepare(("s", "D", False, 10, 1, False), lambda: make(10))
    time.sleep(0.2)  # begun: a page not begun when asked for is made by the request
    assert ahead.take(("s", "D", False, 10, 1, False)).cursor == 11  # asked for here
    ahead.prepare(("s", "D", False, 11, 1, False), lambda: make(11))
    time.sleep(0.2)
    ahead.prepare(("s", "D", False, 30, 1, False), lambda: make(30))  # page 11 was asked for elsewhere
    ahead.prepare(("s", "E", False, 5, 1, False), lambda: make(5))  # another device is not concerned
    time.sleep(0.2)
    assert ahead.take(("s", "E", False, 5, 1, False)).cursor == 6
    ahead.prepare(("s", "D", False, 31, 1, False), lambda: make(31))
    assert ahead.take(("s", "D", False, 30, 1, False)) is None
    assert ahead.take(("s", "D", False, 31, 1, False)) is None
    assert made == [10, 11, 5]
