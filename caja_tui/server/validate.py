"""Per-event checks that need no database: shape, type, payload, hash, clock skew."""

from __future__ import annotations

from typing import Any

import msgspec

from ..domain.chain import canonical_of, link
from ..domain.clock import wall_of
from ..domain.events import PAYLOAD_TYPES, Payload, decode_payload
from ..protocol import WireEvent

CLOCK_SKEW_MS = 5 * 60 * 1000
LWW_FAMILIES = ("product.", "customer.", "config.", "user.")


class Candidate(msgspec.Struct, kw_only=True):
    event_id: str
    wire: WireEvent | None = None
    payload: Payload | None = None
    reject: tuple[str, str] | None = None  # (code, message)
    canonical_payload: bytes = b""


def check(raw: Any, server_now_ms: int) -> Candidate:
    """Validate one decoded event (plain data). Never raises for anything a client sent."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    cand = Candidate(event_id=event_id if isinstance(event_id, str) else "")
    if not isinstance(raw, dict):
        cand.reject = ("INVALID", "an event must be an object")
        return cand
    try:
        wire = msgspec.convert(raw, WireEvent)
    except msgspec.ValidationError as exc:
        cand.reject = ("INVALID", f"envelope: {exc}")
        return cand
    cand.wire = wire
    cls = PAYLOAD_TYPES.get(wire.type)
    if cls is None:
        cand.reject = ("UNKNOWN_TYPE", f"unknown event type '{wire.type}'")
        return cand
    try:
        cand.payload = decode_payload(wire.type, wire.v, wire.payload)
    except (msgspec.ValidationError, ValueError, TypeError) as exc:
        cand.reject = ("INVALID", f"payload: {exc}")
        return cand
    try:
        body = canonical_of(raw)
    except (TypeError, msgspec.EncodeError) as exc:  # e.g. msgpack bytes or a float in a field
        cand.reject = ("INVALID", f"not canonical plain data: {exc}")
        return cand
    if link(wire.prev_hash, body) != wire.hash:
        cand.reject = ("BAD_HASH", "hash does not match the event's content")
        return cand
    if wire.type.startswith(LWW_FAMILIES) and wall_of(wire.hlc) > server_now_ms + CLOCK_SKEW_MS:
        cand.reject = ("CLOCK_SKEW", "hlc is more than 5 minutes ahead of the server's time; fix the till's clock")
        return cand
    cand.canonical_payload = msgspec.json.encode(wire.payload, order="sorted")
    return cand


def parse_events_lenient(body: Any) -> list[Any]:
    """The `events` list of a push body, before per-event validation; raises ValueError on a wrong shape."""
    if not isinstance(body, dict) or set(body) - {"events"} or not isinstance(body.get("events"), list):
        raise ValueError('the body must be {"events": [...]}')
    events = body["events"]
    if not 1 <= len(events) <= 1000:
        raise ValueError("a push holds 1 to 1000 events")
    return events
