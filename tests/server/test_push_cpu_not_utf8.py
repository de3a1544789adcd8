"""A pushed event holding a string that is not UTF-8 (an id, a payload key or value) is that event's own INVALID, as
validate.py says of any event that cannot be read: msgspec raises UnicodeDecodeError for it, not DecodeError, and
the push answered 400 for the whole batch."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from caja_tui.protocol import JSON, MSGPACK
from caja_tui.server.validate import Unreadable, read_event, split_events
from tests.protocol_client import Client, Device

MARK = "zzzz"  # a string of the event, replaced by bytes that are not UTF-8


def _spoiled(event: dict, where: str) -> dict:
    if where == "event_id":
        return {**event, "event_id": MARK}
    if where == "payload key":
        return {**event, "payload": {**event["payload"], MARK: 1}}
    return {**event, "payload": {**event["payload"], "name": MARK}}


def _body(events: list[dict], media: str) -> bytes:
    body = msgspec.msgpack.encode({"events": events}) if media == MSGPACK else msgspec.json.encode({"events": events})
    return body.replace(MARK.encode(), b"\xff\xfe\xfd\xfc")


@pytest.mark.parametrize("media", [MSGPACK, JSON])
@pytest.mark.parametrize("where", ["event_id", "payload key", "payload value"])
def test_a_string_that_is_not_utf8_is_that_events_invalid(media, where):
    d = Device("s1", "A")
    good, bad = d.product_created(), _spoiled(d.product_created(), where)
    raws = split_events(_body([good, bad], media), media)
    first, second = (read_event(raw, media) for raw in raws)
    assert not isinstance(first, Unreadable)
    assert isinstance(second, Unreadable) and second.reason.startswith("not an event: ")


@pytest.mark.parametrize("fmt", ["msgpack", "json"])
def test_the_rest_of_the_push_is_stored(server, fmt):
    store = f"u8-{uuid.uuid4().hex[:8]}"
    c = Client(server.url, server.enroll(store, "A"), fmt=fmt)
    d = Device(store, "A")
    events = [d.product_created(), _spoiled(d.product_created(), "payload value"), d.product_created()]
    media = MSGPACK if fmt == "msgpack" else JSON
    r = c.session.post(
        server.url + "/v1/events",
        data=_body(events, media),
        headers={"Content-Type": media, "Accept": JSON},
        timeout=30,
    )
    assert r.status_code == 200, r.text[:300]
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["code"] == "INVALID"
