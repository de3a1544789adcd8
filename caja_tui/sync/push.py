"""Pushing the outbox: batches in priority order, the next one on its way while the server stores the one before.

A batch is read and marked 'syncing' (the till's work), sent, and its answers recorded (the till's work again);
the server's storing of it takes about as long as all of that. So while one batch is at the server, the next is
read, marked and sent: two at most in flight. Order still holds where it matters: an event is taken only once
every earlier unsent event of its aggregate is in the same batch (outbox.next_batch), so an event whose
predecessor is still in flight waits for a later batch; and the server takes a device's events in any order
(each is checked against its neighbours' hashes as they arrive, PROTOCOL.md). A batch that gets no answer goes
back to pending, and so does the one behind it: the server answers a resent event `duplicate`.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from ..store.outbox import OutboxEvent
from .calls import Call, Stopped
from .transport import TransportError

if TYPE_CHECKING:
    from .engine import SyncEngine

IN_FLIGHT = 2


class Flight(NamedTuple):
    batch: list[OutboxEvent]
    call: Call


class Totals:
    def __init__(self) -> None:
        self.pushed = self.rejected = self.conflicts = 0


def push_pending(engine: SyncEngine, backlog_batch: int) -> tuple[int, int, int]:
    """Push until nothing is pending: (events pushed, rejected, answered `conflict`)."""
    totals = Totals()
    flights: deque[Flight] = deque()
    try:
        while True:
            flight = _launch(engine, backlog_batch)
            if flight is not None:
                flights.append(flight)
            if not flights:
                break
            if len(flights) == IN_FLIGHT or flight is None:
                _land(engine, flights.popleft(), totals)
    except BaseException:
        for f in flights:  # sent, answer unknown: sent again later (the server dedups)
            with contextlib.suppress(Exception):
                engine.outbox.release(f.batch)
        raise
    return totals.pushed, totals.rejected, totals.conflicts


def _launch(engine: SyncEngine, backlog_batch: int) -> Flight | None:
    assert engine.transport is not None
    waiting = engine.outbox.pending_count()
    if not waiting:
        return None
    batch = engine.outbox.next_batch(backlog_batch if waiting > engine.batch_size else engine.batch_size)
    if not batch:
        return None  # what waits follows events still in flight
    engine.outbox.mark_syncing(batch)
    return Flight(batch, Call(engine, engine.transport.push, [e.wire for e in batch]))


def _land(engine: SyncEngine, flight: Flight, totals: Totals) -> None:
    try:
        resp = flight.call.result()
    except (TransportError, Stopped):
        engine.outbox.release(flight.batch)
        raise
    batch = flight.batch
    engine._server_time(resp.server_time_ms)
    result = engine.outbox.record_results(batch, resp.results)
    totals.pushed += len(batch)
    totals.rejected += result.get("rejected", 0)
    totals.conflicts += result.get("conflict", 0)
    for r in resp.results:
        if r.status == "rejected":
            engine.log("event_rejected", event_id=r.event_id, code=r.code, message=r.message)
        elif r.status == "conflict":
            engine.log("event_conflict", event_id=r.event_id, conflict_with=r.conflict_with, resolution=r.resolution)
    engine._count_traffic(len(batch))
    engine.metrics.pushed += len(batch)
