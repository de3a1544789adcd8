"""The push's edge reads each event once, straight into a WireEvent (server/validate.py); an event that is not
one is read again as plain data. Whatever the bytes, the check's answer is the one it gives the plain data."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from caja_tui.protocol import JSON, MSGPACK, WireEvent
from caja_tui.protocol.check import check_event
from caja_tui.protocol.keys import DeviceKey
from caja_tui.server.validate import Unreadable, check, read_event, split_events
from tests.unit.test_event_check import ENVELOPE, chains

NOW = 1_764_270_000_000
KEY = DeviceKey(bytes(range(32)))
# values of the wrong type, out of bounds, with NUL, or of a shape no field has
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.just("a\x00b"),
    st.just("f" * 64),
    st.just("f" * 128),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(-(2**63), 2**63 - 1), max_size=2),
)
FIELDS = [*ENVELOPE, "type", "v", "payload", "sig", "unknown_field"]


def _encode(event: Any, media: str) -> bytes:
    body = {"events": [event]}
    return msgspec.msgpack.encode(body) if media == MSGPACK else msgspec.json.encode(body)


def _answers(event: Any, media: str, keys: dict) -> tuple[Any, Any]:
    """The check's answer to the event as the edge reads it, and to the same bytes read as plain data."""
    [raw] = split_events(_encode(event, media), media)
    read = read_event(raw, media)
    assert not isinstance(read, Unreadable)
    plain = (msgspec.msgpack if media == MSGPACK else msgspec.json).decode(raw)
    return check(read, NOW, keys), check_event(plain, now_ms=NOW, keys=keys)


def _sign(e: dict) -> dict:
    return {**e, "sig": KEY.sign(e["hash"])}


@settings(max_examples=150)
@given(chains(max_size=3), st.sampled_from([MSGPACK, JSON]), st.booleans(), st.data())
def test_an_event_gets_the_same_answer_read_typed_or_as_plain_data(chain, media, signed, data):
    e = data.draw(st.sampled_from(chain))
    keys = {e["device_id"]: (KEY.public_hex, 1)} if signed else {}
    event = _sign(e) if signed else e
    if data.draw(st.booleans()):  # a sound event, or one field replaced by anything
        field = data.draw(st.sampled_from(FIELDS))
        event = {**event, field: data.draw(ODD)}
    fast, plain = _answers(event, media, keys)
    assert fast == plain
    if fast.reject is None:
        assert isinstance(read_event(split_events(_encode(event, media), media)[0], media), WireEvent)


@given(chains(max_size=1), st.sampled_from([MSGPACK, JSON]))
def test_a_missing_field_or_a_stray_signature_gets_the_same_answer_both_ways(chain, media):
    e = _sign(chain[0])
    keys = {e["device_id"]: (KEY.public_hex, 1)}
    for event in [*({k: v for k, v in e.items() if k != f} for f in e), {**e, "sig": "0" * 128}, [e], "e"]:
        fast, plain = _answers(event, media, keys)
        assert fast == plain
