"""The push body at the server's edge: its shape, then each event through the protocol's event check.

The body is read as `{"events": [<raw event>, ...]}` first, each event kept as the bytes it came in, so that one
event's size (at most 64 KiB encoded), depth or shape is that event's own problem (`INVALID`), never the
batch's; only a body that is not that shape at all is a 400.

Each event is then decoded once, straight into a `WireEvent`, whose type holds the envelope's bounds: what a
sound till sends. Only an event that is not one is read again as plain data, for the check to say what is
wrong with it; both readings of the same bytes get the same answer from the check (tests/unit/test_push_read.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..protocol import MAX_BATCH, MAX_EVENT_BYTES, MSGPACK, NOT_DECODED, WireEvent
from ..protocol.check import Checked, Keys, check_event


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    events: list[msgspec.Raw]


_json_body = msgspec.json.Decoder(_Body)
_msgpack_body = msgspec.msgpack.Decoder(_Body)
_json_any = msgspec.json.Decoder()
_msgpack_any = msgspec.msgpack.Decoder()
_json_event = msgspec.json.Decoder(WireEvent)
_msgpack_event = msgspec.msgpack.Decoder(WireEvent)


def check(raw: Any, server_now_ms: int, keys: Keys | None = None) -> Checked:
    """Check one event of a push (plain data) at the server's time, against the keys of the store's devices.
    Never raises for anything a client sent."""
    return check_event(raw, now_ms=server_now_ms, keys=keys)


def split_events(body: bytes, media: str) -> list[msgspec.Raw]:
    """The raw events of a push body; raises ValueError on a wrong shape (a 400 for the whole request)."""
    try:
        doc = (_msgpack_body if media == MSGPACK else _json_body).decode(body)
    except NOT_DECODED as exc:
        raise ValueError(f'the body must be {{"events": [...]}}: {str(exc)[:200]}') from None
    if not 1 <= len(doc.events) <= MAX_BATCH:
        raise ValueError(f"a push holds 1 to {MAX_BATCH} events")
    return doc.events


class Unreadable(msgspec.Struct):
    """An event that could not even be read as data (too big, too deep, not msgpack/JSON): its own INVALID."""

    reason: str


def read_event(raw: msgspec.Raw, media: str) -> Any:
    """One event: a WireEvent when it is one, else plain data, or Unreadable: bounded in size (64 KiB encoded)
    and depth."""
    if len(raw) > MAX_EVENT_BYTES:
        return Unreadable(f"an event is at most {MAX_EVENT_BYTES} bytes encoded; this one is {len(raw)}")
    try:
        return (_msgpack_event if media == MSGPACK else _json_event).decode(raw)
    except NOT_DECODED:
        pass  # not an envelope within its bounds: the check's own reading of it says why
    try:
        return (_msgpack_any if media == MSGPACK else _json_any).decode(raw)
    except NOT_DECODED as exc:
        return Unreadable(f"not an event: {str(exc)[:200]}")


def unreadable(reason: str, event_id: str = "") -> Checked:
    return Checked(event_id=event_id, reject=("INVALID", reason))
