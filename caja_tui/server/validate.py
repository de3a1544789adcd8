"""The push body at the server's edge: its shape, then each event through the protocol's event check."""

from __future__ import annotations

from typing import Any

from ..protocol.check import Checked, check_event


def check(raw: Any, server_now_ms: int) -> Checked:
    """Check one event of a push (plain data) at the server's time. Never raises for anything a client sent."""
    return check_event(raw, now_ms=server_now_ms)


def parse_events_lenient(body: Any) -> list[Any]:
    """The `events` list of a push body, before per-event validation; raises ValueError on a wrong shape."""
    if not isinstance(body, dict) or set(body) - {"events"} or not isinstance(body.get("events"), list):
        raise ValueError('the body must be {"events": [...]}')
    events = body["events"]
    if not 1 <= len(events) <= 1000:
        raise ValueError("a push holds 1 to 1000 events")
    return events
