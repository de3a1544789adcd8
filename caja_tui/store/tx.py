"""What a use case sees inside one write (or read) transaction of the till's store.

`emit` appends an event to this transaction's rows with its per-device seq, hlc and hash chain and applies it
to the read models at once (the projector); the reads of `Queries` flush those first, so they see what was
emitted before them. `finish` writes the rows and the device's chain state; the store's `transaction()`
commits it all, or nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ..domain.cart import Cart
from ..domain.chain import GENESIS, canonical, canonical_payload, link
from ..domain.events import Event, Payload, Priority
from ..domain.ids import uuid7
from .errors import EmitLimitExceeded
from .projections import Projector
from .queries import Queries

if TYPE_CHECKING:
    from .sqlite import SqliteStore

SQL_EVENT = (
    "INSERT INTO event (event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, "
    "hash, payload, priority, aggregate, sync_status, sig) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class DeviceState(msgspec.Struct):
    last_seq: int
    last_hash: str
    last_hlc: int
    last_receipt: int


class SqliteTx(Queries):
    """What a use case sees inside one transaction (see application.ports.Tx)."""

    def __init__(self, store: SqliteStore, *, writable: bool, bulk: bool = False) -> None:
        self.store = store
        self.bulk = bulk
        self._limited = 0
        self._conn = store._conn
        self.writable = writable
        self.projector = Projector(self._conn)
        self.rows: list[tuple[Any, ...]] = []
        self._state: DeviceState | None = None
        self.emitted: list[Event] = []
        self.draft_writes: list[tuple[str, tuple[Any, ...]]] = []  # save_draft, clear_draft: SQL run at the end

    # --- writing ----------------------------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        if self._state is None:
            row = self._conn.execute(
                "SELECT last_seq, last_hash, last_hlc, last_receipt FROM device_state WHERE device_id = ?",
                (self.store.device_id,),
            ).fetchone()
            self._state = DeviceState(*row) if row else DeviceState(0, GENESIS, 0, 0)
            seen = self._conn.execute("SELECT value FROM meta WHERE key = 'max_hlc'").fetchone()
            if seen:  # what another process (the sync service) has seen from the server and other tills
                self.store.clock.observe(int(seen[0]))
        return self._state

    def _check_emit_limit(self, payload: Payload) -> None:
        """At most N non-sale events a minute from this process (bulk imports exempt); a sale is never refused."""
        limit = self.store.emit_limit_per_minute
        if not limit or self.bulk or payload.PRIORITY >= Priority.CRITICAL:
            return
        now = self.store.wall()
        recent = self.store.recent_emits
        while recent and recent[0] <= now - 60_000:
            recent.popleft()
        if len(recent) + self._limited >= limit:
            raise EmitLimitExceeded(
                f"this till has written {limit} non-sale events in the last minute, its limit; nothing was saved. "
                "Wait a minute; if it keeps happening, something is looping (raise [sync] emit_limit_per_minute "
                "only if the work is real)"
            )
        self._limited += 1

    def emit(self, payload: Payload, actor: str) -> Event:
        if not self.writable:
            raise RuntimeError("emit() in a read-only transaction")
        self._check_emit_limit(payload)
        store, st = self.store, self.state
        store.clock.follow(st.last_hlc)
        hlc = store.clock.tick()
        created_at = store.wall()
        env = {
            "event_id": uuid7(created_at),
            "type": payload.TYPE,
            "store_id": store.store_id,
            "device_id": store.device_id,
            "seq": st.last_seq + 1,
            "hlc": hlc,
            "created_at": created_at,
            "actor": actor,
            "v": payload.VERSION,
            "prev_hash": st.last_hash,
        }
        payload_json = canonical_payload(payload)
        digest = link(st.last_hash, canonical(env, payload_json))
        self.rows.append(
            (
                env["event_id"],
                payload.TYPE,
                store.store_id,
                store.device_id,
                env["seq"],
                hlc,
                created_at,
                actor,
                payload.VERSION,
                st.last_hash,
                digest,
                payload_json.decode(),
                int(payload.PRIORITY),
                payload.aggregate(),
                "pending",
                store.key.sign(digest) if store.key is not None else None,  # signed in the sale's transaction
            )
        )
        self.projector.apply(env["event_id"], payload.TYPE, store.device_id, hlc, created_at, actor, payload)
        st.last_seq, st.last_hash, st.last_hlc = env["seq"], digest, hlc
        event = Event(**env, hash=digest, payload=payload)
        self.emitted.append(event)
        return event

    def next_receipt_no(self) -> str:
        self.state.last_receipt += 1
        return f"{self.store.receipt_prefix}-{self.state.last_receipt:06d}"

    def flush(self) -> None:
        if self.rows:
            rows, self.rows = self.rows, []
            self._conn.executemany(SQL_EVENT, rows)
        self.projector.flush()

    def finish(self) -> None:
        self.flush()
        if self._limited:
            self.store.recent_emits.extend([self.store.wall()] * self._limited)
        if self._state is not None:
            st = self._state
            self._conn.execute(
                "INSERT INTO device_state (device_id, last_seq, last_hash, last_hlc, last_receipt) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET last_seq = excluded.last_seq, "
                "last_hash = excluded.last_hash, last_hlc = excluded.last_hlc, "
                "last_receipt = excluded.last_receipt",
                (self.store.device_id, st.last_seq, st.last_hash, st.last_hlc, st.last_receipt),
            )

    def save_draft(self, cart: Cart, slot: str = "current") -> None:
        """Keep `cart` as the draft of `slot`, written when the transaction ends (`draft_writes`, see
        SqliteStore.transaction; a read in this transaction does not see it yet): in the transaction's durable
        commit if it wrote anything else, else in a commit of its own that is not synced to disk (a scan costs
        no fsync; a power cut may lose the last scans)."""
        self.draft_writes.append(
            (
                "INSERT INTO draft_cart (slot, cart, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(slot) DO UPDATE SET cart = excluded.cart, updated_at = excluded.updated_at",
                (slot, msgspec.json.encode(cart).decode(), self.store.wall()),
            )
        )

    def clear_draft(self, slot: str = "current") -> None:
        """Drop the draft of `slot` when the transaction ends (like save_draft)."""
        self.draft_writes.append(("DELETE FROM draft_cart WHERE slot = ?", (slot,)))

    # --- reading (sees what this transaction emitted) ---------------------------------------------

    def _q(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        if self.rows or self.projector.dirty:
            self.flush()
        return self._conn.execute(sql, params)
