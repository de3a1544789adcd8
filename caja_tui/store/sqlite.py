"""The till's store: Peewee on a SQLite file in WAL mode with synchronous=FULL.

One write transaction per use case (`BEGIN IMMEDIATE`): events are appended to the event table (which is
also the sync outbox) with their per-device seq, hlc and hash chain, and projected into the read models;
the commit makes all of it durable at once, or none of it.
"""

from __future__ import annotations

import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
from peewee import DatabaseError, OperationalError, SqliteDatabase

from ..domain.cart import Cart
from ..domain.clock import HybridClock, system_ms
from ..domain.events import Event, Payload, UserCreated, UserUpdated, priority_of
from ..domain.rights import Rights, fold_user, rights_refusal, stamp
from ..protocol import WireEvent
from ..protocol.check import STORED_COLUMNS, Checked, check_events
from . import migrations
from .audit import event_of_row
from .checkpoints import Checkpointer
from .errors import BrokenDatabase, StoreError, check_file, end_transaction, store_error
from .exports import ExportReads
from .housekeeping import Housekeeping
from .printqueue import PrintQueue
from .projections import Projector
from .reads import chunks
from .signing import DeviceKeys
from .tx import SQL_EVENT, SqliteTx

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed sale survives a power cut
    "busy_timeout": 10_000,
    "foreign_keys": 0,  # read models converge whatever order remote events arrive in
    "cache_size": -16_000,
    "temp_store": "memory",
    "wal_autocheckpoint": 0,  # never inside a commit: a thread of its own checkpoints (checkpoints.py)
}

_cart_decoder = msgspec.json.Decoder(Cart)


class RemoteApply(msgspec.Struct):
    new: int = 0
    duplicates: int = 0
    unknown: int = 0
    bad: list[str] = []
    not_allowed: list[str] = []  # user.* events granting a manager's rights from a non-manager (domain/rights.py)


class SqliteStore(ExportReads, PrintQueue, Housekeeping, DeviceKeys):
    """The till's database. Its reads for export, the print queue and the processes around the till live in
    the mixins (store/exports.py, printqueue.py, housekeeping.py); a use case's reads in SqliteTx (tx.py)."""

    def __init__(
        self,
        path: str | Path,
        *,
        store_id: str,
        device_id: str,
        receipt_prefix: str | None = None,
        wall: Callable[[], int] = system_ms,
        emit_limit_per_minute: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.store_id = store_id
        self.device_id = device_id
        self.receipt_prefix = receipt_prefix or device_id
        self.clock = HybridClock(wall)
        self.wall = wall
        self.emit_limit_per_minute = emit_limit_per_minute
        self.recent_emits: deque[int] = deque()  # when this process wrote its recent non-sale events
        self.db = SqliteDatabase(None)
        self.db.init(str(self.path), pragmas={k: v for k, v in PRAGMAS.items() if k != "journal_mode"}, timeout=10)
        self.checkpoints = Checkpointer(self.path)

    # --- lifecycle --------------------------------------------------------------------------------

    def open(self, *, create: bool = True) -> SqliteStore:
        """Open (with `create`: make) the database. An existing file that is empty, damaged, not SQLite or another
        program's is refused, saying what to do: never taken as a new till nor changed (journal mode set after)."""
        if not self.path.exists():
            if not create:
                raise StoreError(f"no database at {self.path}; run `caja init` to create it")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        else:
            check_file(self.path)
        try:
            self.db.connect(reuse_if_open=True)
            if (problem := migrations.foreign(self._conn)) is not None:
                raise BrokenDatabase(self.path, problem)
            self._conn.execute(f"PRAGMA journal_mode = {PRAGMAS['journal_mode']}")
            self.migrate()
            self._check_identity()
            if self.path.with_suffix(".key").exists():  # a till with a key (TillPaths.key): whoever writes, signs
                self.use_key(self.path.with_suffix(".key"))
        except (sqlite3.DatabaseError, DatabaseError) as exc:
            self.db.close()
            raise store_error(exc, self.path) or BrokenDatabase(self.path, f"cannot be used ({exc})") from None
        except (StoreError, migrations.NewerSchema) as exc:
            self.db.close()
            raise exc if isinstance(exc, StoreError) else StoreError(str(exc)) from None
        return self

    def close(self) -> None:
        self.checkpoints.close()
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (Peewee keeps one a thread). Only store/ uses it."""
        return self.db.connection()

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, waiting for the write lock in fine steps (see _immediate).

        `durable=False` (the draft cart alone, see transaction): this commit is not synced to disk. In WAL mode
        synchronous=NORMAL appends it to the WAL without an fsync, and the next durable commit, of any connection,
        syncs the WAL and this commit with it. A power cut may lose it (and the others since the last synced
        commit; the kernel writes them out within about 30 s), never a durable commit made before it. No commit
        runs a checkpoint (that syncs twice more): a thread of its own does, once the till is quiet (checkpoints.py).
        Inside an open transaction it is part of that one.
        """
        conn = self._conn
        light = not durable and not conn.in_transaction
        if light:  # the safety level cannot change inside a transaction: set for this one, put back after
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with self._immediate(conn):
                yield
        finally:
            if light:
                conn.execute(f"PRAGMA synchronous = {PRAGMAS['synchronous']}")
        if not light and not conn.in_transaction:
            self.checkpoints.wrote()  # committed: the log goes into the file once the till is quiet

    @contextmanager
    def _immediate(self, conn: sqlite3.Connection) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT (or rollback on any exception), the lock tried every 0.3 ms.

        SQLite's own busy handler sleeps 1, 2, 5, 10 ms and more between tries; a checkout waiting behind
        the sync service's short transactions would lose those milliseconds. Here the lock is tried every
        0.3 ms (only while someone else holds it), for up to the busy timeout. A full disk or a damaged file
        is a StoreError saying what to do, the connection left usable (errors.store_error, end_transaction).
        """
        deadline = time.monotonic() + PRAGMAS["busy_timeout"] / 1000
        ctx = self.db.atomic("IMMEDIATE")
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    ctx.__enter__()
                    break
                except (OperationalError, sqlite3.OperationalError) as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise store_error(exc, self.path) or exc from None
                    if time.monotonic() > deadline:
                        raise StoreError(
                            f"{self.path} stayed busy for {PRAGMAS['busy_timeout'] // 1000} s (another "
                            "program is writing to it); nothing was saved, try again"
                        ) from None
                    time.sleep(0.0003)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {PRAGMAS['busy_timeout']}")
        try:
            yield
        except BaseException as exc:
            failed: BaseException | None = end_transaction(self.db, ctx, conn, exc)
        else:
            failed = end_transaction(self.db, ctx, conn, None)
        if failed is not None:
            raise store_error(failed, self.path) or failed

    def schema_version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, upto: int | None = None) -> list[int]:
        """Run the migrations this file lacks, each in its own transaction with its version; returns the versions
        applied. When one of them asks for a rebuild, they all run in one transaction and the rebuild comes after
        the last: projections write the newest schema's read models (migration 11 reshaped the stock ledger)."""
        todo = [m for m in migrations.pending(self.schema_version()) if upto is None or m.version <= upto]
        groups = [todo] if any(m.rebuild for m in todo) else [[m] for m in todo]
        applied: list[int] = []
        for group in groups:
            with self.write():
                current = self.schema_version()  # another process may have got there first
                applied += self._run_migrations([m for m in group if m.version > current])
        return applied

    def _run_migrations(self, group: list[migrations.Migration]) -> list[int]:
        """Inside the caller's transaction: the group's SQL and steps, then its rebuild or projections, then the
        version of its last migration."""
        from .maintenance import project_all  # a migration may ask for a rebuild

        for m in group:
            for stmt in (s.strip() for s in m.sql.split(";\n")):
                if stmt:
                    self._conn.execute(stmt)
            if m.step is not None:
                m.step(self._conn)
        if any(m.rebuild for m in group):
            project_all(self._conn, clear=True)
        else:
            for m in group:
                if m.project_types:
                    project_all(self._conn, clear=False, types=m.project_types)
        if group:
            self._conn.execute(f"PRAGMA user_version = {group[-1].version}")
        return [m.version for m in group]

    def _check_identity(self) -> None:
        with self.write():
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                self._conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("store_id", self.store_id), ("device_id", self.device_id)],
                )
                return
        self.clock.observe(int(meta.get("max_hlc", 0)))
        if (meta.get("store_id"), meta.get("device_id")) != (self.store_id, self.device_id):
            raise StoreError(
                f"{self.path} belongs to store '{meta.get('store_id')}' device '{meta.get('device_id')}', "
                f"but the config says store '{self.store_id}' device '{self.device_id}'; "
                "fix [till] store_id/device_id or point db at the right file"
            )

    # --- transactions -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[SqliteTx]:
        """A write transaction: BEGIN IMMEDIATE ... COMMIT (fsync), or rollback on any exception.

        `bulk` (imports by the installer) is exempt from the emission limit. The draft cart (tx.save_draft,
        clear_draft) is written at the end: in this commit if the transaction wrote anything else (a sale and the
        draft it clears are one commit), else in a commit of its own that is not synced (write(durable=False)).
        So a scan costs no fsync and a completed sale one: a power cut may lose the last scans, never a sale.
        """
        drafts_alone = False
        with self.write():
            tx = SqliteTx(self, writable=True, bulk=bulk)
            changes = self._conn.total_changes  # rows this connection has written, to tell if the use case did
            try:
                yield tx
                tx.finish()
                drafts_alone = bool(tx.draft_writes) and self._conn.total_changes == changes
                if not drafts_alone:
                    for sql, params in tx.draft_writes:
                        self._conn.execute(sql, params)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"the database refused the write ({exc}); nothing was saved") from None
        if drafts_alone:  # the transaction above wrote nothing: its commit was no fsync either
            with self.write(durable=False):
                for sql, params in tx.draft_writes:
                    self._conn.execute(sql, params)

    @contextmanager
    def read(self) -> Iterator[SqliteTx]:
        """A consistent read snapshot."""
        with self.db.atomic("DEFERRED"):
            yield SqliteTx(self, writable=False)

    def apply_remote(
        self,
        events: Sequence[Event | WireEvent],
        *,
        cursor: int | None = None,
        status: str = "synced",
        restoring: bool = False,
        keys: dict[str, tuple[str, int]] | None = None,
        checked: list[Checked] | None = None,
    ) -> RemoteApply:
        """Store events pulled from the server (or a peer) and project them, in one transaction with the cursor.

        Each event goes through the protocol's event check first (PROTOCOL.md "Trust"): one of another store, one
        with this till's own device id (except while `restoring` it), one whose hash does not match its
        content, or one of a device with a known key (`known_keys`) whose signature does not check is refused (counted in `bad`) and the rest of the page goes on. Events already here (same
        event_id) are skipped, so applying a page twice changes nothing. An event of a type this release does not
        know is kept, not projected (a newer till's event; a rebuild after upgrading projects it). A `user.*`
        event that grants a manager's rights from an actor who is not a manager in this till's view of the
        store's users is refused (`not_allowed`, domain/rights.py), like the server refuses it.

        `checked`: check_remote's answers for these events (same `restoring` and `keys`), when the caller ran the
        check ahead (peers/gossip.py checks a page while the one before it is applied).
        """
        result = RemoteApply()
        sound: list[tuple[Any, Payload | None, bytes]] = []
        # checked before the lock is taken, the transaction stays short; signatures on every core (check_events)
        checks = self.check_remote(events, restoring=restoring, keys=keys) if checked is None else checked
        for e, c in zip(events, checks, strict=True):
            if c.reject is not None:
                result.bad.append(c.event_id)
                continue
            sound.append((e, c.payload, c.payload_json))
        with self.write():
            known = self._known_events([e.event_id for e, _, _ in sound])
            rows = []
            projector, clock, priorities = Projector(self._conn), self.clock, _Priorities()
            rights: dict[str, Rights] | None = None  # read when the page holds a user.* event, then kept current
            for e, payload, payload_json in sound:
                if e.event_id in known:
                    result.duplicates += 1
                    continue
                if isinstance(payload, UserCreated | UserUpdated):
                    rights = SqliteTx(self, writable=False).rights(as_stored=True) if rights is None else rights
                    if rights_refusal(payload, e.actor, rights) is not None:
                        result.not_allowed.append(e.event_id)
                        continue
                    fold_user(rights, payload, stamp(e.hlc, e.device_id))
                known.add(e.event_id)
                rows.append(_row_of_remote(e, payload, payload_json, status, priorities[e.type]))
                result.new += 1
                if payload is None:
                    result.unknown += 1
                else:
                    projector.apply(e.event_id, e.type, e.device_id, e.hlc, e.created_at, e.actor, payload)
                if e.hlc > clock.last:  # else observing it changes nothing
                    clock.observe(e.hlc)
            self._conn.executemany(SQL_EVENT, rows)
            projector.flush()
            self._save_max_hlc()
            if cursor is not None:
                self._set_meta("pull_cursor", str(cursor))
        return result

    def check_remote(
        self,
        events: Sequence[Event | WireEvent],
        *,
        restoring: bool = False,
        keys: dict[str, tuple[str, int]] | None = None,
    ) -> list[Checked]:
        """The protocol's event check of events for apply_remote, in their order; reads nothing but the known keys
        (when `keys` is None), so it may run on another thread. `keys`: the keys to check signatures with (default:
        every known key); a caller that has checked a device's events as a signed chain (peers/gossip.py) leaves
        that device out."""
        own, keys = None if restoring else self.device_id, self.known_keys() if keys is None else keys
        return check_events(events, keep_unknown=True, store_id=self.store_id, not_device=own, keys=keys)

    def _known_events(self, ids: list[str]) -> set[str]:
        """Which of these events this till holds, in its log or its archive's index."""
        known: set[str] = set()
        for chunk in chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            known.update(
                r[0]
                for r in self._conn.execute(
                    f"SELECT event_id FROM event WHERE event_id IN ({marks}) UNION ALL "
                    f"SELECT event_id FROM archived_event WHERE event_id IN ({marks})",
                    chunk + chunk,
                )
            )
        return known

    def _save_max_hlc(self) -> None:
        """Remembered so this till's next events come after everything it has seen, in any process."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('max_hlc', ?) ON CONFLICT(key) DO UPDATE SET "
            "value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (str(self.clock.last),),
        )

    def observe_time(self, server_time_ms: int) -> None:
        """The server's clock moves this till's hybrid logical clock forward (a Pi without RTC boots behind)."""
        from ..domain.clock import pack

        if pack(server_time_ms) > self.clock.last:
            self.clock.observe(pack(server_time_ms))
            with self.write():
                self._save_max_hlc()

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.write():
            self._set_meta(key, value)

    def _set_meta(self, key: str, value: str) -> None:
        """Inside the caller's write transaction."""
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def resume_chain(self, last_seq: int, last_hash: str, last_hlc: int, last_receipt: int) -> None:
        """After a restore: continue this device's seq, hash chain and receipt numbers where the server has them."""
        with self.write():
            self._conn.execute(
                "INSERT INTO device_state (device_id, last_seq, last_hash, last_hlc, last_receipt) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash, "
                "last_hlc = excluded.last_hlc, last_receipt = excluded.last_receipt",
                (self.device_id, last_seq, last_hash, last_hlc, last_receipt),
            )

    # --- convenience reads ------------------------------------------------------------------------

    def load_draft(self, slot: str = "current") -> Cart | None:
        row = self._conn.execute("SELECT cart FROM draft_cart WHERE slot = ?", (slot,)).fetchone()
        return _cart_decoder.decode(row[0]) if row else None

    def iter_events(self, batch: int = 5000) -> Iterator[Event]:
        cur = self._conn.execute(f"SELECT {STORED_COLUMNS} FROM event ORDER BY id")
        while rows := cur.fetchmany(batch):
            yield from map(event_of_row, rows)


class _Priorities(dict[str, int]):
    """priority_of each event type, worked out once a page."""

    def __missing__(self, type_: str) -> int:
        self[type_] = priority = priority_of(type_)
        return priority


def _row_of_remote(
    e: Event | WireEvent, payload: Payload | None, payload_json: bytes, status: str, priority: int
) -> tuple:
    """A checked remote event as a row of tx.SQL_EVENT (its signature, if any, kept as it came)."""
    aggregate = payload.aggregate() if payload is not None else f"unknown:{e.type}"
    return (
        *(e.event_id, e.type, e.store_id, e.device_id, e.seq, e.hlc, e.created_at, e.actor, e.v, e.prev_hash, e.hash),
        *(payload_json.decode(), priority, aggregate, status, getattr(e, "sig", None)),
    )
