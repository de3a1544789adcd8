"""Sync figures a till can read without the network code: the outbox counts and the sync process's last
figures (saved in the database's meta table). The screens and `caja status` use this; only the sync process
imports the engine and its HTTP client."""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from typing import Any

import msgspec

from ..domain.clock import system_ms
from ..store.outbox import Outbox
from ..store.sqlite import SqliteStore

# The figures the sync process keeps for the others to read (only written when they change).
SAVED = (
    "last_sync_at",
    "last_sync_ms",
    "avg_sync_ms",
    "syncs",
    "errors",
    "last_error",
    "connectivity",
    "clock_skew_ms",
    "clock_warning",
    "next_retry_at",
    "error_rate",
    "events_per_min",
    "bytes_per_s",
    "pid",
)


class SyncMetrics(msgspec.Struct, kw_only=True):
    pending: int = 0
    synced: int = 0
    failed: int = 0
    conflicts: int = 0
    conflicts_open: int = 0
    oldest_pending_age_s: float | None = None
    connectivity: str = "unknown"  # online, offline, unknown (no server configured: offline-only)
    last_sync_at: int | None = None  # ms
    last_sync_ms: float | None = None
    avg_sync_ms: float | None = None
    syncs: int = 0
    errors: int = 0
    error_rate: float = 0.0  # errors / attempts over the last 50 attempts
    last_error: str | None = None
    next_retry_at: int | None = None  # ms
    events_per_min: float = 0.0  # events pushed and pulled in the last minute
    bytes_per_s: float = 0.0  # on the wire, over the last minute
    pushed: int = 0
    pulled: int = 0
    clock_skew_ms: int | None = None
    clock_warning: bool = False
    pid: int | None = None  # the process whose engine saved these figures


class Figures:
    """What the engine counts as it goes: its last 50 attempts (the error rate) and the last minute's traffic
    (events a minute, bytes a second); and what it last saved for `caja status`."""

    def __init__(self) -> None:
        self.attempts: deque[bool] = deque(maxlen=50)
        self.traffic: deque[tuple[float, int, int]] = deque()  # (monotonic time, events, bytes on the wire so far)
        self.saved = ""

    def attempt(self, ok: bool) -> None:
        self.attempts.append(ok)

    def moved(self, events: int, total_bytes: int) -> None:
        now = time.monotonic()
        self.traffic.append((now, events, total_bytes))
        while self.traffic and self.traffic[0][0] < now - 60:
            self.traffic.popleft()

    def fill(self, m: SyncMetrics) -> None:
        m.error_rate = round(self.attempts.count(False) / len(self.attempts), 3) if self.attempts else 0.0
        now = time.monotonic()
        window = [x for x in self.traffic if x[0] >= now - 60]
        m.events_per_min = float(sum(x[1] for x in window))
        if len(window) >= 2:
            span = max(1.0, window[-1][0] - window[0][0])
            m.bytes_per_s = round((window[-1][2] - window[0][2]) / span, 1)

    def save(self, store: SqliteStore, m: SyncMetrics) -> None:
        """Keep the figures for `caja status`, only when they changed (no write, no fsync while idle)."""
        state = json.dumps({k: getattr(m, k) for k in SAVED})
        if state == self.saved:
            return
        self.saved = state
        try:
            store.set_meta("sync_state", state)
        except Exception as exc:  # noqa: BLE001 - figures are best effort; never stop syncing for them
            print(f"caja sync: could not save figures: {exc}", file=sys.stderr)


def saved(store: SqliteStore) -> dict[str, Any]:
    """The sync process's last saved figures ({} when it never ran)."""
    raw = store.meta("sync_state")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if k in SAVED}


def count_outbox(outbox: Outbox, m: SyncMetrics) -> SyncMetrics:
    """Fill `m` with the outbox as it is now: pending, synced, failed, conflicts, the oldest pending's age."""
    counts = outbox.counts()
    m.pending = counts.get("pending", 0) + counts.get("syncing", 0)
    m.synced = counts.get("synced", 0)
    m.failed = counts.get("failed", 0)
    m.conflicts = counts.get("conflicts", 0)
    m.conflicts_open = counts.get("conflicts_open", 0)
    oldest = outbox.oldest_pending_ms()
    m.oldest_pending_age_s = None if oldest is None else round(max(0, system_ms() - oldest) / 1000, 1)
    return m


def status(store: SqliteStore) -> SyncMetrics:
    """What `caja status` and the sync screen show: the outbox now, and the sync process's last figures."""
    return count_outbox(Outbox(store), SyncMetrics(**saved(store)))


QUICK_LIMIT = 10_000


def unsynced(store: SqliteStore, *, limit: int | None = None) -> int:
    """The status line's count: this till's events not yet on the server (an index range). With `limit`,
    counting stops there (a till offline for weeks has a long range: the exact count is taken elsewhere)."""
    return store.count_unsynced(limit)
