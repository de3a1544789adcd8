"""Relay (PROTOCOL.md "Relay"): events this till took from peers go to the server from whichever till reaches
it first. They wait with `sync_status = 'relay'`; the server takes another device's event when its origin's
signature checks, and answers `duplicate` for one already there (another till relayed it, or its own till
pushed it): exactly once, whatever the order."""

from __future__ import annotations

from typing import Any

from ..store import peers as peer_store
from ..sync.transport import Transport

BATCH = 1000


def relay_once(store: Any, transport: Transport) -> int:
    """Push every event waiting for relay, in batches; how many the server took or already had. A refusal is
    kept with the event (its origin till hears of it from its own push). TransportError: tried again later."""
    done = 0
    for _ in range(1_000_000):  # bounded: each round takes the waiting events out of the queue
        batch = peer_store.relay_batch(store, BATCH)
        if not batch:
            break
        answer = transport.push([wire for _rowid, wire in batch])
        by_id = {r.event_id: r for r in answer.results}
        marks: list[tuple[int, str | None]] = []
        for rowid, wire in batch:
            r = by_id.get(wire["event_id"])
            if r is None:
                continue
            marks.append((rowid, None if r.status != "rejected" else f"relay refused: {r.code}: {r.message or ''}"))
            done += r.status != "rejected"
        peer_store.mark_relayed(store, marks)
        if len(marks) < len(batch):  # an answer that skipped events: try again later, not in a loop
            break
    return done
