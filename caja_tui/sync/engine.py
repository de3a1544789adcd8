"""The sync engine: push the outbox in prioritised batches, pull the other tills' events, retry with backoff.

It runs as a worker thread of the line-mode till and as the headless `caja sync` process (the service, or the
screens' child), against the same SQLite file as the till; the sale path never waits for it. One engine per
database: `run` holds the lock beside the database (host/locks.py) or does not run. Each request waits on a
thread of its own, so a stopping engine (a till quitting) never waits for an answer that does not come.
Everything it knows survives a restart: what was sent is in the event table's `sync_status`, the pull cursor
is committed with the events it covers, and its figures are kept in the `meta` table for `caja status`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import backoff
import msgspec

from ..domain.clock import COUNTER_MASK, pack, system_ms
from ..host.locks import engine_lock
from ..host.logs import log_event
from ..protocol.check import CLOCK_SKEW_MS
from ..store.errors import StoreError
from ..store.outbox import Outbox
from ..store.sqlite import SqliteStore
from . import push
from .calls import NO_ANSWER_S, POLL_S, Call, Stopped
from .metrics import Figures, SyncMetrics, count_outbox, saved, status  # noqa: F401 - status: re-exported
from .transport import Transport, TransportError

CLOCK_WARNING_MS = 2 * 60 * 1000
PULL_PAGE = 200  # small pages: each is applied in one short transaction, never delaying a checkout
BACKLOG_BATCH = 1000
APPLY_CHUNK = 50  # events applied per transaction
APPLY_PAUSE_S = 0.003


class SyncEngine:
    def __init__(
        self,
        store: SqliteStore,
        transport: Transport | None,
        *,
        batch_size: int = 50,
        batch_seconds: float = 5.0,
        log: logging.Logger | None = None,
        on_metrics: Callable[[SyncMetrics], None] | None = None,
        wall: Callable[[], int] = system_ms,
    ) -> None:
        self.store = store
        self.wall = wall
        self.transport = transport
        self.outbox = Outbox(store)
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.logger = log or logging.getLogger("caja.sync")  # JSON lines where the wiring sends them (host/logs)
        self._log_ids = {"device": store.device_id, "store": store.store_id}
        self.on_metrics = on_metrics
        # what was saved is kept, but not the connectivity: that is learnt again from this engine's own answers
        self.metrics = SyncMetrics(
            **{**saved(store), "connectivity": "connecting" if transport else "unknown", "pid": None}
        )
        self._in_flight: set[Call] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.figures = Figures()  # error rate and traffic, for the metrics
        self._delays = self._new_delays()
        self._last_pull = 0.0
        self._data_version: int | None = None
        # the last look at the outbox was for a wake-up (count again); the store stopped the last round (locked)
        self._woken = self._interrupted = False
        self._server_ms: tuple[int, float] | None = None  # the server's time at its last answer, and when
        self._counted_at = 0.0
        self.last_exc: TransportError | None = None
        self._run_stop: threading.Event | None = None  # the stop event `run` was given

    def log(self, event: str, **fields: Any) -> None:
        """One line of the structured sync log: the event, this till's device and store, then the fields."""
        log_event(self.logger, event=event, **self._log_ids, **fields)

    # --- control ----------------------------------------------------------------------------------

    def notify(self) -> None:
        """New events were written: push soon (the till calls this after a use case)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop soon: a request in flight is left to its thread, never waited for (see Call)."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set() or (self._run_stop is not None and self._run_stop.is_set())

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)`, a request to the server, waited for until it answers or the engine stops (Stopped)."""
        return Call(self, fn, *args).result()

    def unanswered_s(self) -> float:
        """How long the oldest request in flight has waited for its answer (0: none waits)."""
        started = [c.started for c in list(self._in_flight)]
        return time.monotonic() - min(started) if started else 0.0

    def connectivity_now(self) -> str:
        """The connectivity as it is now: `no answer` while a request has waited NO_ANSWER_S or more (the engine's
        thread says so too, within POLL_S, in the saved figures)."""
        if self.transport is not None and self.unanswered_s() >= NO_ANSWER_S:
            return "no answer"
        return self.metrics.connectivity

    @staticmethod
    def _new_delays():
        gen = backoff.expo(base=2, factor=1, max_value=60)  # 1 s, 2 s, 4 s ... 60 s
        next(gen)
        return gen

    # --- one round --------------------------------------------------------------------------------

    def sync_once(self) -> bool:
        """Push everything pending, then pull until the server has no more. True if it all went through."""
        if self.transport is None:
            self._set_connectivity("unknown")
            self.refresh_metrics()
            return False
        t0 = time.perf_counter()
        self.log("sync_start", pending=self.outbox.pending_count())  # counted now: what this round will push
        self.last_exc = None
        try:
            if self._interrupted:  # a batch the stopped round left 'syncing' goes back to pending (the server dedups)
                self.outbox.recover()
                self._interrupted = False
            self._heal()
            self.register_key()
            pushed, rejected, conflicts = self.push_pending()
            self.refresh_devices()
            pulled = self.pull_all()
        except TransportError as exc:
            self.last_exc = exc
            self._failed(exc)
            return False
        except Stopped:  # the till is quitting: what was in flight is sent again by the next engine
            self.log("sync_stopped")
            return False
        except StoreError as exc:  # the file stayed locked past the busy timeout (a long `caja rebuild`): try again
            self._interrupted = True
            self.log("sync_error", error=str(exc), status=None, probe=False)
            return False
        ms = (time.perf_counter() - t0) * 1000
        self._succeeded(ms, moved=bool(pushed or pulled))
        self.log("sync_success", pushed=pushed, pulled=pulled, rejected=rejected, conflicts=conflicts, ms=round(ms, 1))
        return rejected == 0

    def push_pending(self) -> tuple[int, int, int]:
        """Push everything pending (push.py: two batches in flight at most): (pushed, rejected, conflicts)."""
        return push.push_pending(self, BACKLOG_BATCH)

    def pull_all(self, *, include_own: bool = False, page: int = PULL_PAGE, gentle: bool = True) -> int:
        """Pull until the server has no more. `gentle`: short transactions with pauses, for a till that is
        selling at the same time (a restore, with nobody selling, goes flat out)."""
        assert self.transport is not None
        cursor = int(self.store.meta("pull_cursor", "0") or 0)
        pulled = 0
        # the next page is fetched while this one is applied: the network and the disk work at once
        ahead = Call(self, self.transport.pull, cursor, page, include_own)
        try:
            for _ in range(10_000_000):
                resp = ahead.result()
                if resp.more:
                    ahead = Call(self, self.transport.pull, resp.cursor, page, include_own)
                self._server_time(resp.server_time_ms)
                if resp.events or resp.cursor != cursor:
                    pulled += self._apply_page(resp.events, resp.cursor, gentle, restoring=include_own)
                    self._count_traffic(len(resp.events))
                cursor = resp.cursor
                if not resp.more:
                    break
        except Exception:
            ahead.settle()  # one request at a time: the next round never overlaps a read-ahead still in flight
            raise
        self._last_pull = time.monotonic()
        self.metrics.pulled += pulled
        return pulled

    def _apply_page(self, events: list, cursor: int, gentle: bool, *, restoring: bool = False) -> int:
        """Apply a pulled page in short transactions, so a checkout never waits long for the write lock.

        The cursor is committed with the last chunk, so it is never saved ahead of the events it covers; a
        crash between chunks pulls the page again and the events already here are skipped.
        """
        new = 0
        size = APPLY_CHUNK if gentle else max(1, len(events))
        chunks = [events[i : i + size] for i in range(0, len(events), size)] or [[]]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            applied = self.store.apply_remote(chunk, cursor=cursor if last else None, restoring=restoring)
            if applied.bad:  # refused by the event check: another store's, this till's own id, a wrong hash
                self.log("pull_refused", reason="failed the event check", event_ids=applied.bad[:20])
            if applied.not_allowed:  # a manager made by someone who is not one here: a forged or stray grant
                self.log(
                    "pull_refused", reason="NOT_ALLOWED: grants a manager's rights", event_ids=applied.not_allowed[:20]
                )
            new += applied.new
            if gentle:
                # the sync process, not a checkout, pays for moving the WAL into the database file
                self.store.checkpoint_wal("PASSIVE")
                if not last:
                    time.sleep(APPLY_PAUSE_S)  # let a waiting checkout take the lock first
        return new

    # --- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, *, pull_every_s: float = 15.0) -> bool:
        """Until stopped: push when a batch is due, pull regularly, back off while the server is away. Only while
        holding the database's sync lock (taken here unless this process holds it): False, having done nothing,
        when another process's engine holds it."""
        with engine_lock(self.store.path) as held:
            if not held:
                self.log("sync_elsewhere", reason="another process syncs this database (it holds the lock)")
                return False
            self._run_stop = stop
            self.metrics.pid = os.getpid()  # whose figures these are (the screens wait for their own child's)
            try:
                self._loop(stop or self._stop, pull_every_s)
            finally:
                self._run_stop = None
        return True

    def _loop(self, stop: threading.Event, pull_every_s: float) -> None:
        self.outbox.recover()
        self.refresh_metrics()
        while not stop.is_set() and not self._stop.is_set():
            if self.transport is None:
                self._sleep(stop, 5.0)
                self._wake.clear()  # answered by the count below: the next sleep sleeps
                self.refresh_metrics()
                continue
            if self.metrics.connectivity == "offline":
                try:
                    self.call(self.transport.health)
                except TransportError as exc:
                    self._failed(exc, probe=True)
                    self._sleep(stop, self._next_delay(exc))
                    continue
                except Stopped:
                    break
                self._set_connectivity("online")
            if self._due(pull_every_s) and not self.sync_once() and self.last_exc is not None:
                self._sleep(stop, self._next_delay(self.last_exc))
                continue
            if time.monotonic() - self._counted_at >= 5 or self._woken:
                self.refresh_metrics(recount=self._woken or self.metrics.pending > 0)
            self._sleep(stop, POLL_S)

    def _due(self, pull_every_s: float) -> bool:
        """A batch (`batch_size` events, or the oldest waited `batch_seconds`) or a pull is due. A wake-up (notify,
        another commit: data_version) is cleared here before the outbox is read: with nothing pending, sleep again."""
        seen, self._data_version = self._data_version, self.store.data_version()
        self._woken = seen not in (None, self._data_version) or self._wake.is_set()
        self._wake.clear()
        waiting = self.outbox.pending_count()
        if waiting >= self.batch_size:
            return True
        oldest = self.outbox.oldest_pending_ms()
        if waiting and oldest is not None and system_ms() - oldest >= self.batch_seconds * 1000:
            return True
        return time.monotonic() - self._last_pull >= pull_every_s

    def _sleep(self, stop: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stop.is_set() and not self._stop.is_set():
            if self._wake.wait(min(POLL_S, max(0.0, deadline - time.monotonic()))):
                if self.metrics.connectivity != "offline":
                    return
                self._wake.clear()

    # --- bookkeeping ------------------------------------------------------------------------------

    def _next_delay(self, exc: TransportError | None) -> float:
        if exc is not None and exc.retry_after:
            delay = float(exc.retry_after)
        else:
            delay = backoff.full_jitter(next(self._delays))
            delay = max(delay, 0.2)
        if exc is not None and exc.permanent:
            delay = 60.0
        self.metrics.next_retry_at = system_ms() + int(delay * 1000)
        return delay

    def _failed(self, exc: TransportError, *, probe: bool = False) -> None:
        self.figures.attempt(False)
        self.metrics.errors += 1
        self.metrics.last_error = str(exc)
        if exc.status is None or exc.status >= 500:
            self._set_connectivity("offline")
        self.log("sync_error", error=str(exc), status=exc.status, probe=probe)
        self.refresh_metrics()

    def _succeeded(self, ms: float, *, moved: bool = True) -> None:
        self.figures.attempt(True)
        self._delays = self._new_delays()
        m = self.metrics
        m.syncs += 1
        m.last_sync_at = system_ms()
        m.last_sync_ms = round(ms, 1)
        m.avg_sync_ms = round(ms if m.avg_sync_ms is None else m.avg_sync_ms * 0.8 + ms * 0.2, 1)
        m.next_retry_at = None
        m.last_error = (
            None  # the error was true until this answer; `caja status` shows the last one only while it holds
        )
        self._set_connectivity("online")
        self.refresh_metrics(recount=moved)

    def _set_connectivity(self, state: str) -> None:
        if state != self.metrics.connectivity:
            self.log("connectivity", state=state)
        self.metrics.connectivity = state

    def _heal(self) -> None:
        """Refusals that heal by themselves go back in the queue (PROTOCOL.md: the server records neither):
        UNKNOWN_TYPE once the server runs another version (it was upgraded), CLOCK_SKEW once the server's clock
        has caught up with the event's."""
        assert self.transport is not None
        if self.outbox.failed_with("UNKNOWN_TYPE"):
            version = self.call(self.transport.health).version
            seen = self.store.meta("server_version_at_refusal")
            if seen is None:
                self.store.set_meta("server_version_at_refusal", version)
            elif seen != version:
                n = self.outbox.retry_failed(codes=["UNKNOWN_TYPE"])
                self.store.set_meta("server_version_at_refusal", version)
                self.log("retry_refused", reason="the server was upgraded", code="UNKNOWN_TYPE", events=n)
        if self._server_ms is not None and self.outbox.failed_with("CLOCK_SKEW"):
            server_now = self._server_ms[0] + int((time.monotonic() - self._server_ms[1]) * 1000)
            up_to = pack(server_now + CLOCK_SKEW_MS - 1_000, COUNTER_MASK)
            n = self.outbox.retry_failed(codes=["CLOCK_SKEW"], hlc_up_to=up_to)
            if n:
                self.log("retry_refused", reason="the server's clock caught up", code="CLOCK_SKEW", events=n)

    def register_key(self) -> None:
        """Register this till's key once, before its first signed push (from the first seq it signs).

        A server without the endpoint (404, version 1) is left alone; another key already registered for this
        device (409) stops the round: an operator re-enrols the till (`caja serve enroll ... --rekey`)."""
        assert self.transport is not None
        store = self.store
        if store.key is None or store.key_registered():
            return
        try:
            self.call(self.transport.register_key, store.key.public_hex, store.key_from_seq)
        except TransportError as exc:
            if exc.status == 404:
                return
            if exc.status == 409:
                self.log("key_refused", message=str(exc))
            raise
        store.mark_key_registered()
        self.log("key_registered", from_seq=store.key_from_seq)

    def refresh_devices(self) -> None:
        """Keep the store's devices and keys (`GET /v1/devices`) in the till's database: what a pull checks
        signatures against, also when the server is away. A version-1 server (404) has none."""
        assert self.transport is not None
        try:
            devices = self.call(self.transport.devices).devices
        except TransportError as exc:
            if exc.status == 404:
                return
            raise
        self.store.save_devices([msgspec.structs.asdict(d) for d in devices])

    def _server_time(self, server_ms: int) -> None:
        self._server_ms = (server_ms, time.monotonic())
        skew = self.wall() - server_ms
        self.metrics.clock_skew_ms = skew
        warn = abs(skew) > CLOCK_WARNING_MS
        if warn and not self.metrics.clock_warning:
            self.log("clock_warning", skew_ms=skew)
        self.metrics.clock_warning = warn
        self.store.observe_time(server_ms)

    def _count_traffic(self, events: int) -> None:
        t = self.transport
        self.figures.moved(events, (t.bytes_sent + t.bytes_received) if t else 0)

    def refresh_metrics(self, *, recount: bool = True) -> SyncMetrics:
        """The figures, saved for `caja status`. `recount`: the outbox counted again (pending, synced, failed,
        conflicts: a scan of this till's events, 0.1 s at a million), which the loop skips when nothing changed."""
        self._counted_at = time.monotonic()
        m = count_outbox(self.outbox, self.metrics) if recount else self.metrics
        self.figures.fill(m)
        if m.connectivity == "unknown" and self.transport is None:
            m.connectivity = "offline-only"
        self.figures.save(self.store, m)
        if self.on_metrics:
            self.on_metrics(msgspec.structs.replace(m))
        return m
