"""The till's store: Peewee on a SQLite file in WAL mode with synchronous=FULL.

One write transaction per use case (`BEGIN IMMEDIATE`): events are appended to the event table (which is
also the sync outbox) with their per-device seq, hlc and hash chain, and projected into the read models;
the commit makes all of it durable at once, or none of it.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
from peewee import OperationalError, SqliteDatabase

from ..application.ports import CashSummary, PaymentView, ProductView, SaleView, SessionView, UserView
from ..domain import rules
from ..domain.cart import Cart
from ..domain.chain import GENESIS, canonical, canonical_payload, link
from ..domain.clock import HybridClock, system_ms
from ..domain.events import Event, Payload, Priority, SaleLine, UnknownEventType, decode_payload, priority_of
from ..domain.ids import uuid7
from ..protocol import WireEvent
from . import migrations
from .projections import Projector

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: a committed sale survives a power cut
    "busy_timeout": 10_000,
    "foreign_keys": 0,  # read models converge whatever order remote events arrive in
    "cache_size": -16_000,
    "temp_store": "memory",
}

SQL_EVENT = ("INSERT INTO event (event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, "
             "hash, payload, priority, aggregate, sync_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")

_cart_decoder = msgspec.json.Decoder(Cart)


class StoreError(Exception):
    """The database cannot do what was asked; the message says what to do."""


class RemoteApply(msgspec.Struct):
    new: int = 0
    duplicates: int = 0
    unknown: int = 0
    bad: list[str] = []


class EmitLimitExceeded(StoreError):
    """The till tried to write more non-sale events than its limit allows (a runaway loop somewhere)."""


class DeviceState(msgspec.Struct):
    last_seq: int
    last_hash: str
    last_hlc: int
    last_receipt: int


class SqliteStore:
    def __init__(self, path: str | Path, *, store_id: str, device_id: str, receipt_prefix: str | None = None,
                 wall: Callable[[], int] = system_ms, emit_limit_per_minute: int | None = None) -> None:
        self.path = Path(path)
        self.store_id = store_id
        self.device_id = device_id
        self.receipt_prefix = receipt_prefix or device_id
        self.clock = HybridClock(wall)
        self.wall = wall
        self.emit_limit_per_minute = emit_limit_per_minute
        self.recent_emits: deque[int] = deque()  # when this process wrote its recent non-sale events
        self.db = SqliteDatabase(None)
        self.db.init(str(self.path), pragmas=PRAGMAS, timeout=10)

    # --- lifecycle --------------------------------------------------------------------------------

    def open(self, *, create: bool = True) -> SqliteStore:
        if not self.path.exists():
            if not create:
                raise StoreError(f"no database at {self.path}; run `caja init` to create it")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db.connect(reuse_if_open=True)
            self.migrate()
            self._check_identity()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise StoreError(f"{self.path} is not a usable Caja database ({exc})") from None
        except (StoreError, migrations.NewerSchema) as exc:
            self.db.close()
            raise StoreError(str(exc)) from None
        return self

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.connection()

    @contextmanager
    def write(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, waiting for the write lock in fine steps.

        SQLite's own busy handler sleeps 1, 2, 5, 10 ms and more between tries; a checkout waiting behind
        the sync service's short transactions would lose those milliseconds. Here the lock is tried every
        0.3 ms (only while someone else holds it), for up to the busy timeout.
        """
        conn = self.conn
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
                        raise
                    if time.monotonic() > deadline:
                        raise StoreError(f"{self.path} stayed busy for {PRAGMAS['busy_timeout'] // 1000} s (another "
                                         "program is writing to it); nothing was saved, try again") from None
                    time.sleep(0.0003)
        finally:
            conn.execute(f"PRAGMA busy_timeout = {PRAGMAS['busy_timeout']}")
        try:
            yield
        except BaseException:
            ctx.__exit__(*sys.exc_info())
            raise
        ctx.__exit__(None, None, None)

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self, upto: int | None = None) -> list[int]:
        """Run the migrations this file lacks; returns the versions applied."""
        from .maintenance import project_all  # a migration may ask for a rebuild

        applied = []
        for m in migrations.pending(self.schema_version()):
            if upto is not None and m.version > upto:
                break
            with self.write():
                if self.schema_version() >= m.version:  # another process got there first
                    continue
                for stmt in (s.strip() for s in m.sql.split(";\n")):
                    if stmt:
                        self.conn.execute(stmt)
                if m.rebuild:
                    project_all(self.conn, clear=True)
                elif m.project_types:
                    project_all(self.conn, clear=False, types=m.project_types)
                self.conn.execute(f"PRAGMA user_version = {m.version}")
            applied.append(m.version)
        return applied

    def _check_identity(self) -> None:
        with self.write():
            meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                self.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                      [("store_id", self.store_id), ("device_id", self.device_id)])
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

        `bulk` (imports by the installer) is exempt from the emission limit.
        """
        with self.write():
            tx = SqliteTx(self, writable=True, bulk=bulk)
            try:
                yield tx
                tx.finish()
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"the database refused the write ({exc}); nothing was saved") from None

    @contextmanager
    def read(self) -> Iterator[SqliteTx]:
        """A consistent read snapshot."""
        with self.db.atomic("DEFERRED"):
            yield SqliteTx(self, writable=False)

    def apply_remote(self, events: Sequence[Event | WireEvent], *, cursor: int | None = None,
                     status: str = "synced") -> RemoteApply:
        """Store events pulled from the server and project them, in one transaction with the pull cursor.

        Events already here (same event_id) are skipped, so applying a page twice changes nothing. An event
        whose hash does not match its content is refused (counted in `bad`). An event of a type this release
        does not know is kept, not projected (a newer till's event; a rebuild after upgrading projects it).
        """
        result = RemoteApply()
        checked: list[tuple[Any, Payload | None, bytes]] = []
        for e in events:  # checked before the lock is taken: the transaction stays short
            if isinstance(e, Event):
                payload, payload_json = e.payload, canonical_payload(e.payload)
            else:
                payload_json = canonical_payload(e.payload)
                try:
                    payload = decode_payload(e.type, e.v, e.payload)
                except UnknownEventType:
                    payload = None
                except (msgspec.ValidationError, ValueError, TypeError):
                    result.bad.append(e.event_id)
                    continue
            env = {"event_id": e.event_id, "type": e.type, "store_id": e.store_id, "device_id": e.device_id,
                   "seq": e.seq, "hlc": e.hlc, "created_at": e.created_at, "actor": e.actor, "v": e.v,
                   "prev_hash": e.prev_hash}
            if link(e.prev_hash, canonical(env, payload_json)) != e.hash:
                result.bad.append(e.event_id)
                continue
            checked.append((e, payload, payload_json))
        with self.write():
            known: set[str] = set()
            ids = [e.event_id for e, _, _ in checked]
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                known.update(r[0] for r in self.conn.execute(
                    f"SELECT event_id FROM event WHERE event_id IN ({marks}) UNION ALL "
                    f"SELECT event_id FROM archived_event WHERE event_id IN ({marks})", chunk + chunk))
            rows = []
            projector = Projector(self.conn)
            for e, payload, payload_json in checked:
                if e.event_id in known:
                    result.duplicates += 1
                    continue
                known.add(e.event_id)
                rows.append((e.event_id, e.type, e.store_id, e.device_id, e.seq, e.hlc, e.created_at, e.actor, e.v,
                             e.prev_hash, e.hash, payload_json.decode(), priority_of(e.type),
                             payload.aggregate() if payload is not None else f"unknown:{e.type}", status))
                result.new += 1
                if payload is None:
                    result.unknown += 1
                else:
                    projector.apply(e.event_id, e.type, e.device_id, e.hlc, e.created_at, e.actor, payload)
                self.clock.observe(e.hlc)
            self.conn.executemany(SQL_EVENT, rows)
            projector.flush()
            self._save_max_hlc()
            if cursor is not None:
                self.conn.execute("INSERT INTO meta (key, value) VALUES ('pull_cursor', ?) "
                                  "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(cursor),))
        return result

    def _save_max_hlc(self) -> None:
        """Remembered so this till's next events come after everything it has seen, in any process."""
        self.conn.execute("INSERT INTO meta (key, value) VALUES ('max_hlc', ?) ON CONFLICT(key) DO UPDATE SET "
                          "value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                          (str(self.clock.last),))

    def observe_time(self, server_time_ms: int) -> None:
        """The server's clock moves this till's hybrid logical clock forward (a Pi without RTC boots behind)."""
        from ..domain.clock import pack

        if pack(server_time_ms) > self.clock.last:
            self.clock.observe(pack(server_time_ms))
            with self.write():
                self._save_max_hlc()

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.write():
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                              "value = excluded.value", (key, value))

    def resume_chain(self, last_seq: int, last_hash: str, last_hlc: int, last_receipt: int) -> None:
        """After a restore: continue this device's seq, hash chain and receipt numbers where the server has them."""
        with self.write():
            self.conn.execute(
                "INSERT INTO device_state (device_id, last_seq, last_hash, last_hlc, last_receipt) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(device_id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash, "
                "last_hlc = excluded.last_hlc, last_receipt = excluded.last_receipt",
                (self.device_id, last_seq, last_hash, last_hlc, last_receipt))

    # --- convenience reads ------------------------------------------------------------------------

    def load_draft(self, slot: str = "current") -> Cart | None:
        row = self.conn.execute("SELECT cart FROM draft_cart WHERE slot = ?", (slot,)).fetchone()
        return _cart_decoder.decode(row[0]) if row else None

    def iter_events(self, batch: int = 5000) -> Iterator[Event]:
        cur = self.conn.execute(
            "SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload "
            "FROM event ORDER BY id")
        while rows := cur.fetchmany(batch):
            for r in rows:
                yield Event(event_id=r[0], type=r[1], store_id=r[2], device_id=r[3], seq=r[4], hlc=r[5],
                            created_at=r[6], actor=r[7], v=r[8], prev_hash=r[9], hash=r[10],
                            payload=decode_payload(r[1], r[8], r[11]))

    def count(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, params).fetchone()[0] or 0


class SqliteTx:
    """What a use case sees inside one transaction (see application.ports.Tx)."""

    def __init__(self, store: SqliteStore, *, writable: bool, bulk: bool = False) -> None:
        self.store = store
        self.bulk = bulk
        self._limited = 0
        self.conn = store.conn
        self.writable = writable
        self.projector = Projector(self.conn)
        self.rows: list[tuple[Any, ...]] = []
        self._state: DeviceState | None = None
        self.emitted: list[Event] = []

    # --- writing ----------------------------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        if self._state is None:
            row = self.conn.execute("SELECT last_seq, last_hash, last_hlc, last_receipt FROM device_state "
                                    "WHERE device_id = ?", (self.store.device_id,)).fetchone()
            self._state = DeviceState(*row) if row else DeviceState(0, GENESIS, 0, 0)
            seen = self.conn.execute("SELECT value FROM meta WHERE key = 'max_hlc'").fetchone()
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
                "only if the work is real)")
        self._limited += 1

    def emit(self, payload: Payload, actor: str) -> Event:
        if not self.writable:
            raise RuntimeError("emit() in a read-only transaction")
        self._check_emit_limit(payload)
        store, st = self.store, self.state
        store.clock.observe(st.last_hlc)
        hlc = store.clock.tick()
        created_at = store.wall()
        env = {"event_id": uuid7(created_at), "type": payload.TYPE, "store_id": store.store_id,
               "device_id": store.device_id, "seq": st.last_seq + 1, "hlc": hlc, "created_at": created_at,
               "actor": actor, "v": payload.VERSION, "prev_hash": st.last_hash}
        payload_json = canonical_payload(payload)
        digest = link(st.last_hash, canonical(env, payload_json))
        self.rows.append((env["event_id"], payload.TYPE, store.store_id, store.device_id, env["seq"], hlc,
                          created_at, actor, payload.VERSION, st.last_hash, digest, payload_json.decode(),
                          int(payload.PRIORITY), payload.aggregate(), "pending"))
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
            self.conn.executemany(SQL_EVENT, rows)
        self.projector.flush()

    def finish(self) -> None:
        self.flush()
        if self._limited:
            self.store.recent_emits.extend([self.store.wall()] * self._limited)
        if self._state is not None:
            st = self._state
            self.conn.execute(
                "INSERT INTO device_state (device_id, last_seq, last_hash, last_hlc, last_receipt) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET last_seq = excluded.last_seq, "
                "last_hash = excluded.last_hash, last_hlc = excluded.last_hlc, "
                "last_receipt = excluded.last_receipt",
                (self.store.device_id, st.last_seq, st.last_hash, st.last_hlc, st.last_receipt))

    def save_draft(self, cart: Cart, slot: str = "current") -> None:
        self.conn.execute("INSERT INTO draft_cart (slot, cart, updated_at) VALUES (?, ?, ?) "
                          "ON CONFLICT(slot) DO UPDATE SET cart = excluded.cart, updated_at = excluded.updated_at",
                          (slot, msgspec.json.encode(cart).decode(), self.store.wall()))

    def clear_draft(self, slot: str = "current") -> None:
        self.conn.execute("DELETE FROM draft_cart WHERE slot = ?", (slot,))

    # --- reading (sees what this transaction emitted) ---------------------------------------------

    def _q(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        if self.rows or self.projector.dirty:
            self.flush()
        return self.conn.execute(sql, params)

    _PRODUCT_COLS = ("SELECT p.id, p.sku, p.name, p.price, p.tax_rate, COALESCE(p.barcodes, '[]'), "
                     "COALESCE(p.category, ''), COALESCE(s.qty, 0), p.updated_hlc, p.deleted IS NOT NULL "
                     "FROM product p LEFT JOIN stock s ON s.product_id = p.id ")
    _LIVE = "p.created_hlc > 0 AND p.deleted IS NULL"

    @staticmethod
    def _product_view(r: Sequence[Any]) -> ProductView:
        return ProductView(id=r[0], sku=r[1], name=r[2], price=r[3], tax_rate=r[4],
                           barcodes=msgspec.json.decode(r[5]), category=r[6], stock=r[7], updated_hlc=r[8],
                           deleted=bool(r[9]))

    def product(self, product_id: str) -> ProductView | None:
        r = self._q(self._PRODUCT_COLS + "WHERE p.id = ? AND p.created_hlc > 0", (product_id,)).fetchone()
        return self._product_view(r) if r else None

    def product_by_code(self, code: str) -> ProductView | None:
        """A scanned or typed code: a barcode first (what scanners send), then a SKU."""
        r = self._q(self._PRODUCT_COLS + f"JOIN barcode b ON b.product_id = p.id WHERE b.code = ? AND {self._LIVE} "
                    "ORDER BY p.updated_hlc DESC LIMIT 1", (code,)).fetchone()
        if r is None:
            r = self._q(self._PRODUCT_COLS + f"WHERE p.sku = ? AND {self._LIVE} ORDER BY p.updated_hlc DESC "
                        "LIMIT 1", (code,)).fetchone()
        return self._product_view(r) if r else None

    def search_products(self, text: str, limit: int = 50, offset: int = 0) -> list[ProductView]:
        like = f"%{text.strip()}%"
        rows = self._q(self._PRODUCT_COLS + f"WHERE {self._LIVE} AND (p.name LIKE ? OR p.sku LIKE ? OR "
                       "p.category LIKE ?) ORDER BY p.name COLLATE NOCASE LIMIT ? OFFSET ?",
                       (like, like, like, limit, offset)).fetchall()
        return [self._product_view(r) for r in rows]

    def products_using(self, skus: Sequence[str], barcodes: Sequence[str]) -> dict[str, str]:
        """Which of these SKUs and barcodes live products already use: {sku or barcode: product_id}."""
        used: dict[str, str] = {}
        for chunk in _chunks(list(skus), 500):
            marks = ",".join("?" * len(chunk))
            for code, pid in self._q(f"SELECT p.sku, p.id FROM product p WHERE p.sku IN ({marks}) AND {self._LIVE}",
                                     chunk):
                used[code] = pid
        for chunk in _chunks(list(barcodes), 500):
            marks = ",".join("?" * len(chunk))
            for code, pid in self._q(f"SELECT b.code, p.id FROM barcode b JOIN product p ON p.id = b.product_id "
                                     f"WHERE b.code IN ({marks}) AND {self._LIVE}", chunk):
                used[code] = pid
        return used

    def product_ids_by_sku(self) -> dict[str, str]:
        return dict(self._q(f"SELECT p.sku, p.id FROM product p WHERE {self._LIVE}").fetchall())

    def count_products(self) -> int:
        return self._q(f"SELECT COUNT(*) FROM product p WHERE {self._LIVE}").fetchone()[0]

    def stock_of(self, product_id: str) -> int:
        r = self._q("SELECT qty FROM stock WHERE product_id = ?", (product_id,)).fetchone()
        return r[0] if r else 0

    _SESSION_COLS = ("SELECT id, device_id, opening_float, opened_at, opened_by, closed_at, counted, expected, "
                     "difference, z_number, net_sales, grand_total FROM cash_session ")

    @staticmethod
    def _session_view(r: Sequence[Any]) -> SessionView:
        return SessionView(id=r[0], device_id=r[1], opening_float=r[2], opened_at=r[3], opened_by=r[4],
                           closed_at=r[5], counted=r[6], expected=r[7], difference=r[8], z_number=r[9],
                           net_sales=r[10], grand_total=r[11])

    def report_data(self, *, session_id: str | None = None, start_ms: int | None = None,
                    end_ms: int | None = None):
        """The rows a report folds: a session's (by session id), or a time range's (by created_at)."""
        from ..application import reports as r

        if session_id is not None:
            sale_where, refund_where, params = "s.session_id = ?", "f.session_id = ?", (session_id,)
        else:
            sale_where, refund_where, params = ("s.created_at >= ? AND s.created_at < ?",
                                                "f.created_at >= ? AND f.created_at < ?", (start_ms, end_ms))
        sales = [r.SaleRow(*row[:8], voided=bool(row[8])) for row in self._q(
            "SELECT s.id, s.receipt_no, s.created_at, s.actor, s.total, s.discount, s.change, s.prices_include_tax, "
            f"v.sale_id IS NOT NULL FROM sale s LEFT JOIN sale_void v ON v.sale_id = s.id WHERE {sale_where}",
            params)]
        lines = [r.LineRow(*row) for row in self._q(
            "SELECT l.sale_id, l.product_id, l.sku, l.name, l.qty, l.amount, l.tax, l.tax_rate, l.discount "
            f"FROM sale_line l JOIN sale s ON s.id = l.sale_id WHERE {sale_where}", params)]
        payments = [r.PaymentRow(*row) for row in self._q(
            f"SELECT p.sale_id, p.method, p.amount FROM sale_payment p JOIN sale s ON s.id = p.sale_id "
            f"WHERE {sale_where}", params)]
        refunds = [r.RefundRow(*row) for row in self._q(
            f"SELECT f.id, f.sale_id, f.created_at, f.actor, f.total, f.method FROM refund f WHERE {refund_where}",
            params)]
        refund_lines = [r.RefundLineRow(*row) for row in self._q(
            "SELECT rl.refund_id, rl.product_id, rl.qty, rl.amount, rl.tax, COALESCE(sl.tax_rate, 0) "
            "FROM refund_line rl JOIN refund f ON f.id = rl.refund_id "
            "LEFT JOIN sale_line sl ON sl.sale_id = rl.sale_id AND sl.line_no = rl.line_no "
            f"WHERE {refund_where}", params)]
        paid_in = paid_out = 0
        if session_id is not None:
            moves = dict(self._q("SELECT kind, SUM(amount) FROM cash_movement WHERE session_id = ? GROUP BY kind",
                                 (session_id,)).fetchall())
            paid_in, paid_out = moves.get("in", 0), moves.get("out", 0)
        return r.ReportData(sales=sales, lines=lines, payments=payments, refunds=refunds, refund_lines=refund_lines,
                            paid_in=paid_in, paid_out=paid_out)

    def last_z(self) -> tuple[int, int]:
        """This till's last Z number and perpetual grand total (0, 0 before its first Z)."""
        r = self._q("SELECT z_number, grand_total FROM cash_session WHERE device_id = ? AND z_number IS NOT NULL "
                    "ORDER BY z_number DESC LIMIT 1", (self.store.device_id,)).fetchone()
        return (r[0], r[1] or 0) if r else (0, 0)

    def sessions(self, limit: int = 50) -> list[SessionView]:
        rows = self._q(self._SESSION_COLS + "WHERE device_id = ? ORDER BY opened_at DESC LIMIT ?",
                       (self.store.device_id, limit)).fetchall()
        return [self._session_view(r) for r in rows]

    def session_by_z(self, z_number: int) -> SessionView | None:
        r = self._q(self._SESSION_COLS + "WHERE device_id = ? AND z_number = ?",
                    (self.store.device_id, z_number)).fetchone()
        return self._session_view(r) if r else None

    def open_session(self) -> SessionView | None:
        r = self._q(self._SESSION_COLS + "WHERE device_id = ? AND opened_at IS NOT NULL AND closed_at IS NULL "
                    "ORDER BY opened_at DESC LIMIT 1", (self.store.device_id,)).fetchone()
        return self._session_view(r) if r else None

    def session(self, session_id: str) -> SessionView | None:
        r = self._q(self._SESSION_COLS + "WHERE id = ?", (session_id,)).fetchone()
        return self._session_view(r) if r else None

    def cash_summary(self, session_id: str) -> CashSummary:
        session = self.session(session_id)
        opening = session.opening_float if session else 0
        not_voided = "AND s.id NOT IN (SELECT sale_id FROM sale_void)"
        count, total, change = self._q("SELECT COUNT(*), COALESCE(SUM(total), 0), COALESCE(SUM(change), 0) "
                                       f"FROM sale s WHERE s.session_id = ? {not_voided}", (session_id,)).fetchone()
        voids = self._q("SELECT COUNT(*) FROM sale_void WHERE session_id = ?", (session_id,)).fetchone()[0]
        by_method = dict(self._q("SELECT p.method, SUM(p.amount) FROM sale_payment p JOIN sale s ON s.id = p.sale_id "
                                 f"WHERE s.session_id = ? {not_voided} GROUP BY p.method", (session_id,)).fetchall())
        refunds = dict(self._q("SELECT method, SUM(total) FROM refund WHERE session_id = ? GROUP BY method",
                               (session_id,)).fetchall())
        moves = dict(self._q("SELECT kind, SUM(amount) FROM cash_movement WHERE session_id = ? GROUP BY kind",
                             (session_id,)).fetchall())
        cash_taken = by_method.get("cash", 0)
        paid_in, paid_out = moves.get("in", 0), moves.get("out", 0)
        return CashSummary(
            session_id=session_id, opening_float=opening, sales_count=count, voids_count=voids, sales_total=total,
            cash_taken=cash_taken, change_given=change, cash_refunded=refunds.get("cash", 0), paid_in=paid_in,
            paid_out=paid_out, card_total=by_method.get("card", 0), other_total=by_method.get("other", 0),
            refunds_total=sum(refunds.values()),
            expected=rules.expected_cash(opening, cash_taken, change, refunds.get("cash", 0), paid_in, paid_out))

    def sale(self, sale_id: str) -> SaleView | None:
        return self._sale("id = ?", sale_id)

    def sale_by_receipt(self, receipt_no: str) -> SaleView | None:
        return self._sale("receipt_no = ?", receipt_no.strip().upper())

    def _sale(self, where: str, value: str) -> SaleView | None:
        r = self._q("SELECT id, receipt_no, event_id, device_id, session_id, created_at, actor, subtotal, discount, "
                    f"tax, total, paid, change, prices_include_tax, customer_id FROM sale WHERE {where}",
                    (value,)).fetchone()
        if r is None:
            return None
        sale_id = r[0]
        lines = [SaleLine(line_no=x[0], product_id=x[1], sku=x[2], name=x[3], qty=x[4], unit_price=x[5],
                          tax_rate=x[6], discount=x[7], sale_discount=x[8], amount=x[9], tax=x[10])
                 for x in self._q("SELECT line_no, product_id, sku, name, qty, unit_price, tax_rate, discount, "
                                  "sale_discount, amount, tax FROM sale_line WHERE sale_id = ? ORDER BY line_no",
                                  (sale_id,))]
        payments = [PaymentView(method=x[0], amount=x[1], reference=x[2])
                    for x in self._q("SELECT method, amount, reference FROM sale_payment WHERE sale_id = ? "
                                     "ORDER BY idx", (sale_id,))]
        rq, ra, rt = {}, {}, {}
        for line_no, q, a, t in self._q("SELECT line_no, SUM(qty), SUM(amount), SUM(tax) FROM refund_line "
                                        "WHERE sale_id = ? GROUP BY line_no", (sale_id,)):
            rq[line_no], ra[line_no], rt[line_no] = q, a, t
        voided = self._q("SELECT 1 FROM sale_void WHERE sale_id = ?", (sale_id,)).fetchone() is not None
        digest = self._q("SELECT hash FROM event WHERE event_id = ?", (r[2],)).fetchone()
        if digest is None:  # an archived sale
            from .archive import archived_hash

            digest = (archived_hash(self.conn, r[2]),)
        return SaleView(id=sale_id, voided=voided, event_hash=digest[0] or "", receipt_no=r[1], event_id=r[2], device_id=r[3], session_id=r[4],
                        created_at=r[5], actor=r[6], subtotal=r[7], discount=r[8], tax=r[9], total=r[10], paid=r[11],
                        change=r[12], prices_include_tax=bool(r[13]), customer_id=r[14], lines=lines,
                        payments=payments, refunded_qty=rq, refunded_amount=ra, refunded_tax=rt)

    _USER_COLS = "SELECT id, name, role, pin_hash, active, updated_hlc FROM user "

    @staticmethod
    def _user_view(r: Sequence[Any]) -> UserView:
        return UserView(id=r[0], name=r[1], role=r[2], pin_hash=r[3], active=bool(r[4]), updated_hlc=r[5])

    def user(self, user_id: str) -> UserView | None:
        r = self._q(self._USER_COLS + "WHERE id = ? AND created_hlc > 0", (user_id,)).fetchone()
        return self._user_view(r) if r else None

    def users(self, *, active_only: bool = True) -> list[UserView]:
        cond = "AND active = 1" if active_only else ""
        rows = self._q(self._USER_COLS + f"WHERE created_hlc > 0 {cond} ORDER BY name COLLATE NOCASE").fetchall()
        return [self._user_view(r) for r in rows]

    _CUSTOMER_COLS = "SELECT id, name, COALESCE(tax_id, ''), COALESCE(phone, ''), COALESCE(email, ''), updated_hlc FROM customer "

    @staticmethod
    def _customer(r: Sequence[Any]) -> dict[str, Any]:
        return dict(zip(("id", "name", "tax_id", "phone", "email", "updated_hlc"), r, strict=True))

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        r = self._q(self._CUSTOMER_COLS + "WHERE id = ? AND created_hlc > 0", (customer_id,)).fetchone()
        return self._customer(r) if r else None

    def find_customers(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        like = f"%{text.strip()}%"
        return [self._customer(r) for r in self._q(
            self._CUSTOMER_COLS + "WHERE created_hlc > 0 AND (name LIKE ? OR tax_id LIKE ? OR phone LIKE ? OR email LIKE ?) "
            "ORDER BY name COLLATE NOCASE LIMIT ?", (like, like, like, like, limit))]

    def sales_of_customer(self, customer_id: str, limit: int = 200) -> list[tuple[str, int, int]]:
        """(receipt_no, created_at, total) of a customer's sales, newest first."""
        return self._q("SELECT receipt_no, created_at, total FROM sale WHERE customer_id = ? ORDER BY created_at DESC "
                       "LIMIT ?", (customer_id, limit)).fetchall()

    def count_users(self) -> int:
        return self._q("SELECT COUNT(*) FROM user WHERE created_hlc > 0").fetchone()[0]

    def sync_conflict(self, event_id: str) -> dict[str, Any] | None:
        r = self._q("SELECT event_id, conflict_with, resolution, type, aggregate, resolved_at FROM sync_conflict "
                    "WHERE event_id = ?", (event_id,)).fetchone()
        return None if r is None else dict(zip(("event_id", "conflict_with", "resolution", "type", "aggregate",
                                                "resolved_at"), r, strict=True))

    def mark_conflict_resolved(self, event_id: str, actor: str, outcome: str) -> None:
        self.conn.execute("UPDATE sync_conflict SET resolved_at = ?, resolved_by = ?, outcome = ? WHERE event_id = ?",
                          (self.store.wall(), actor, outcome, event_id))

    def local_event(self, event_id: str) -> Event | None:
        r = self._q("SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, "
                    "payload FROM event WHERE event_id = ?", (event_id,)).fetchone()
        if r is None:
            return None
        return Event(event_id=r[0], type=r[1], store_id=r[2], device_id=r[3], seq=r[4], hlc=r[5], created_at=r[6],
                     actor=r[7], v=r[8], prev_hash=r[9], hash=r[10], payload=decode_payload(r[1], r[8], r[11]))


def _chunks(items: list[str], n: int) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
