"""Server storage through Peewee: one code path for SQLite (one file, zero set-up) and PostgreSQL.

Ingest is idempotent (`event_id` unique within its store) and ordered: writers of one store are serialized (SQLite's single
writer; a transaction-level advisory lock per store on PostgreSQL), so `server_seq` becomes visible in order
and a pull cursor never skips an event.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import msgspec
from peewee import DatabaseError, IntegrityError, PostgresqlDatabase, SqliteDatabase, fn

from ..config import is_postgres, sqlite_file
from ..domain.chain import GENESIS
from ..protocol import Result
from ..protocol.check import Checked
from ..protocol.rows import wire_of_row
from . import devicekeys, serververify, tokens, userrights
from .ingest import FIELD_UPDATES, BatchState, Writes, by_device, decide_batch, type_label
from .models import DROPPED_INDEXES, MODELS, Conflict, Device, Event, Rejection, Stat, db
from .tokens import DeviceAuth

CONFLICT_RULES = ("manual", "last-write-wins")
PULL_COLUMNS = (
    "server_seq, event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload, sig"
)
_encode = msgspec.msgpack.Encoder().encode
# the ingest's tables that grow with pushes, and the columns its lookups filter on (keep_stats)
STATS_COLUMNS = {
    "event": ("store_id", "event_id", "device_id", "seq", "server_seq"),
    "rejection": ("store_id", "event_id", "device_id", "seq"),
    "field_write": ("store_id", "entity", "field", "device_id", "hlc"),
}
STATS_MIN_ROWS, STATS_EVERY_S = 1000, 1.0
STATS_LOCK = 0x6361_6A61_0000_0001  # "caja" 1: the session lock of the worker analyzing (keep_stats), above the stores' 32-bit keys
log = logging.getLogger("caja.server")
DELETION_TYPES = ("product.updated", "product.deleted", "product.restored")  # what reads or writes a deletion


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def open_database(url: str):
    """`postgresql://user:pass@host:port/db` or a SQLite path (`sqlite:///path` or a plain path)."""
    if is_postgres(url):
        u = urlparse(url)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        kw: dict[str, Any] = {
            "user": unquote(u.username) if u.username else None,
            "password": unquote(u.password) if u.password else None,
            "host": q.pop("host", None) or u.hostname,
            "port": u.port or q.pop("port", None),
        }
        kw.update(q)
        return PostgresqlDatabase(u.path.lstrip("/"), **{k: v for k, v in kw.items() if v is not None})
    database = SqliteDatabase(
        sqlite_file(url),
        pragmas={"journal_mode": "wal", "synchronous": 2, "busy_timeout": 15_000, "cache_size": -32_000},
        timeout=15,
    )
    # Unicode lower case (SQLite's LOWER folds ASCII only): the owner's catalogue search finds "Éclair" by "éclair"
    database.register_function(_py_lower, "py_lower", 1)
    return database


def _py_lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


class ServerStorage:
    def __init__(self, url: str, *, conflict_rule: str = "manual") -> None:
        if conflict_rule not in CONFLICT_RULES:
            raise ValueError(f"conflict rule must be one of {', '.join(CONFLICT_RULES)}")
        self.url = url
        self.database = open_database(url)
        self.is_pg = isinstance(self.database, PostgresqlDatabase)
        self.conflict_rule = conflict_rule
        self._stats_due: dict[str, float] = {}  # keep_stats: when each group of tables is looked at next
        db.initialize(self.database)

    def open(self, *, create: bool = True) -> ServerStorage:
        """Connect; with `create`, also create missing tables (done once, before the server's workers start:
        DDL in a worker would take table locks that deadlock with other workers' ingest)."""
        self.database.connect(reuse_if_open=True)
        if create:
            with self.database.atomic():
                self.database.create_tables(MODELS, safe=True)
                devicekeys.add_missing_columns(self.database)
                for index in DROPPED_INDEXES:  # after create_tables made the indexes that replace them
                    self.database.execute_sql(f"DROP INDEX IF EXISTS {index}")
                userrights.backfill(self)
        return self

    def close(self) -> None:
        if not self.database.is_closed():
            self.database.close()

    # --- devices ----------------------------------------------------------------------------------

    def enroll(self, store_id: str, device_id: str, *, rekey: bool = False) -> str:
        return tokens.enroll(store_id, device_id, now_ms(), rekey=rekey)

    def revoke(self, device_id: str, store_id: str | None = None) -> tokens.Revoked | None:
        """AmbiguousDevice when `device_id` is in several stores and `store_id` is not given (tokens.py)."""
        return tokens.revoke(device_id, store_id, now_ms())

    def authenticate(self, token: str) -> DeviceAuth | None:
        return tokens.authenticate(token)

    def enroll_metrics(self) -> str:
        return tokens.enroll_metrics(now_ms())

    def revoke_metrics(self) -> int:
        return tokens.revoke_metrics()

    def is_metrics_token(self, token: str) -> bool:
        return tokens.is_metrics_token(token)

    def devices(self) -> list[dict[str, Any]]:
        out = []
        last = {
            (r.store_id, r.device_id): r.last_seq
            for r in Event.select(Event.store_id, Event.device_id, fn.MAX(Event.seq).alias("last_seq")).group_by(
                Event.store_id, Event.device_id
            )
        }
        for d in Device.select().order_by(Device.store_id, Device.device_id):
            out.append(
                {
                    "store_id": d.store_id,
                    "device_id": d.device_id,
                    "revoked": d.revoked_at is not None,
                    "last_seen": d.last_seen,
                    "last_seq": last.get((d.store_id, d.device_id), 0),
                    "clock_skew_ms": d.clock_skew_ms,
                }
            )
        return out

    def device_me(self, auth: DeviceAuth) -> tuple[int, str]:
        """The highest seq the server holds of this device (stored or rejected) and that event's hash."""
        best = (0, GENESIS)
        for model in (Event, Rejection):
            row = (
                model.select(model.seq, model.hash)
                .where((model.store_id == auth.store_id) & (model.device_id == auth.device_id))
                .order_by(model.seq.desc())
                .limit(1)
                .first()
            )
            if row and row.seq > best[0]:
                best = (row.seq, row.hash)
        return best

    # --- ingest -----------------------------------------------------------------------------------

    def _lock_store(self, store_id: str) -> None:
        if self.is_pg:
            key = zlib.crc32(store_id.encode()) - 2**31
            self.database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))

    def keep_stats(self, tables: dict[str, tuple[str, ...]] = STATS_COLUMNS) -> None:
        """Keep PostgreSQL's picture of `tables` no older than their last doubling (a no-op on SQLite).

        Lookups such as a push's `store_id = ? AND event_id IN (...)` are planned from table statistics, which
        autovacuum refreshes only a minute or more after a table grew; a fresh database taking a chain's backlog
        has none at all, and the planner then reads the store's every event through the (store_id, server_seq)
        index for each push (1,200 events/s at 100,000 events, falling as the table grows; the owner's
        projector's `hq_sale` lookups the same). So, at most once a second per worker and outside any
        transaction, the tables changed by more than their analyzed size since (and 1,000 rows) are analyzed:
        `tables` maps each to the columns its lookups filter on (empty: all), by one worker at a time.
        """
        key = ",".join(tables)
        if not self.is_pg or time.monotonic() < self._stats_due.get(key, 0.0) or self.database.in_transaction():
            return
        self._stats_due[key] = time.monotonic() + STATS_EVERY_S
        try:
            self._analyze_stale(tables)
        except DatabaseError as exc:  # what was written stands: stale statistics only slow what comes next
            log.warning("tables could not be analyzed: %s: %s", exc.__class__.__name__, exc)

    def _analyze_stale(self, tables: dict[str, tuple[str, ...]]) -> None:
        stale = [
            r[0]
            for r in self._rows(
                "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.relname IN ({}) AND s.schemaname = current_schema() "
                "AND s.n_mod_since_analyze > GREATEST(?, c.reltuples)".format(",".join("?" * len(tables))),
                (*tables, STATS_MIN_ROWS),
            )
        ]
        if not stale or not self._rows("SELECT pg_try_advisory_lock(?)", (STATS_LOCK,))[0][0]:
            return
        try:
            for table in stale:
                columns = ", ".join(f'"{c}"' for c in tables[table])
                self.database.execute_sql(f"ANALYZE {table}" + (f" ({columns})" if columns else ""))
        finally:
            self.database.execute_sql("SELECT pg_advisory_unlock(%s)", (STATS_LOCK,))

    def ingest(self, auth: DeviceAuth, checked: Sequence[Checked], *, skew_ms: int | None = None) -> list[Result]:
        """Store a push batch in one transaction; one Result per event, in order (rules: ingest.py), each
        origin device's events (a relay carries others') decided against that device's log.

        The device's last-seen time and clock skew are updated in the same transaction.
        """
        groups = by_device(auth.device_id, checked)
        for attempt in range(3):
            try:
                with self.database.atomic(*(() if self.is_pg else ("IMMEDIATE",))):
                    self._lock_store(auth.store_id)
                    results: list[Result] = [None] * len(checked)  # type: ignore[list-item]
                    for device_id, idx in groups.items():
                        origin, part = DeviceAuth(auth.store_id, device_id), [checked[i] for i in idx]
                        decided, writes = decide_batch(self._load(origin, part, now_ms()), part)
                        self._write(origin, writes)
                        for i, r in zip(idx, decided, strict=True):
                            results[i] = r
                    self._touch(auth, skew_ms)
                self.keep_stats()
                return results
            except IntegrityError:
                # a concurrent writer stored the same event between our check and insert (only possible
                # without the lock, e.g. a lock timeout); the retry answers it as a duplicate
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # The hot path uses plain parameterised SQL: Peewee's query builder costs more than the database here.
    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.is_pg else text

    def _rows(self, text: str, params: Sequence[Any]) -> list[tuple]:
        return list(self.database.execute_sql(self._sql(text), params).fetchall())

    def _rows_in(self, text: str, params: Sequence[Any], keys: list, *, span: bool = False) -> Iterator[tuple]:
        """The rows of `text` whose `{keys}` placeholder is `keys`, asked 500 at a time; with `span`, the keys'
        range comes before them (`BETWEEN ? AND ?`, a range the index can seek, which IN alone may not)."""
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            yield from self._rows(
                text.format(keys=",".join("?" * len(chunk))),
                (*params, *((min(chunk), max(chunk)) if span else ()), *chunk),
            )

    def _many(self, text: str, rows: list[tuple]) -> None:
        if rows:
            cur = self.database.cursor()
            cur.executemany(self._sql(text), rows)

    def _touch(self, auth: DeviceAuth, skew_ms: int | None) -> None:
        self.database.execute_sql(
            self._sql(
                "UPDATE device SET last_seen = ?, clock_skew_ms = COALESCE(?, clock_skew_ms) "
                "WHERE store_id = ? AND device_id = ?"
            ),
            (now_ms(), skew_ms, auth.store_id, auth.device_id),
        )

    def touch(self, auth: DeviceAuth) -> None:
        with self.database.atomic():
            self._touch(auth, None)

    def _load(self, auth: DeviceAuth, checked: Sequence[Checked], now: int) -> BatchState:
        """What the batch's decision needs, in a few queries: the ids and seqs it touches, and for updates
        and deletions of products and users, the deletions and other devices' field writes they meet."""
        st = BatchState(auth.store_id, auth.device_id, now, self.conflict_rule)
        events = [c.event for c in checked if c.event is not None]
        ids = list({e.event_id for e in events})
        for event_id, hash_ in self._rows_in(
            "SELECT event_id, hash FROM event WHERE store_id = ? AND event_id IN ({keys})", (auth.store_id,), ids
        ):
            st.stored[event_id] = hash_
        for event_id, hash_, code, message in self._rows_in(
            "SELECT event_id, hash, code, message FROM rejection WHERE store_id = ? AND event_id IN ({keys})",
            (auth.store_id,),
            ids,
        ):
            st.rejected[event_id] = (hash_, code, message)
        mine = (auth.store_id, auth.device_id)
        seqs = sorted({s for e in events for s in (e.seq - 1, e.seq, e.seq + 1)})
        at_seq = "FROM {} WHERE store_id = ? AND device_id = ? AND seq BETWEEN ? AND ? AND seq IN ({{keys}})"
        for seq, event_id, hash_, prev in self._rows_in(
            "SELECT seq, event_id, hash, prev_hash " + at_seq.format("event"), mine, seqs, span=True
        ):
            st.at_seq[seq] = (event_id, hash_, prev)
        for seq, event_id, hash_ in self._rows_in(
            "SELECT seq, event_id, hash " + at_seq.format("rejection"), mine, seqs, span=True
        ):
            st.at_seq.setdefault(seq, (event_id, hash_, None))
        if any(e.type.startswith("user.") for e in events):
            st.users = userrights.load(self, auth.store_id)
        self._load_entities(
            st,
            [
                c.payload
                for c in checked
                if c.reject is None
                and c.event is not None
                and c.event.event_id not in st.stored
                and c.event.event_id not in st.rejected
            ],
        )
        return st

    def _load_entities(self, st: BatchState, sound: list[Any]) -> None:
        """The deletions and other devices' field writes the new, sound events of the batch may meet."""
        deletable = list({p.aggregate() for p in sound if p is not None and p.TYPE in DELETION_TYPES})
        for entity, event_id in self._rows_in(
            "SELECT entity, event_id FROM deletion WHERE store_id = ? AND entity IN ({keys})", (st.store_id,), deletable
        ):
            st.deleted[entity] = event_id
        lowest: dict[str, int] = {}  # entity -> the lowest base_hlc of the batch's updates of it
        for p in sound:
            if isinstance(p, FIELD_UPDATES):
                lowest[p.aggregate()] = min(lowest.get(p.aggregate(), p.base_hlc), p.base_hlc)
        for entity, field, event_id, hlc, base_hlc in self._rows_in(
            "SELECT entity, field, event_id, hlc, base_hlc FROM field_write WHERE store_id = ? AND device_id <> ? "
            "AND hlc > ? AND entity IN ({keys})",
            (st.store_id, st.device_id, min(lowest.values(), default=0)),
            list(lowest),
        ):
            if hlc > lowest[entity]:
                st.field_writes.setdefault((entity, field), []).append((hlc, base_hlc, event_id))

    def _write(self, auth: DeviceAuth, w: Writes) -> None:
        self._many(
            "INSERT INTO event (event_id, store_id, device_id, seq, type, hlc, created_at, actor, v, prev_hash, "
            "hash, payload, received_at, sig, wire) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            w.events,
        )
        self._many(
            "INSERT INTO rejection (event_id, store_id, device_id, seq, hash, code, message, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            w.rejections,
        )
        self._many(
            'INSERT INTO field_write (store_id, entity, "field", event_id, device_id, hlc, base_hlc) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            w.field_writes,
        )
        self._many(
            'INSERT INTO "conflict" (store_id, event_id, conflict_with, resolution, created_at) VALUES (?, ?, ?, ?, ?)',
            w.conflicts,
        )
        self._many(
            "DELETE FROM deletion WHERE store_id = ? AND entity = ?",
            [(auth.store_id, entity) for entity in w.deletions],
        )
        self._many(
            "INSERT INTO deletion (store_id, entity, event_id) VALUES (?, ?, ?)",
            [(auth.store_id, entity, event_id) for entity, event_id in w.deletions.items() if event_id],
        )
        self._many(
            "INSERT INTO stat (store_id, type, status, n) VALUES (?, ?, ?, ?) ON CONFLICT (store_id, type, "
            "status) DO UPDATE SET n = stat.n + excluded.n",
            [(auth.store_id, t, status, n) for (t, status), n in w.stats.items()],
        )
        userrights.save(self, auth.store_id, w.users)

    # --- pull -------------------------------------------------------------------------------------

    def pull(
        self, auth: DeviceAuth, after: int, limit: int, include_own: bool, *, encoded: bool = False
    ) -> tuple[list[Any], int, bool]:
        """The store's events after the cursor, in server_seq order: as plain data with the payload as stored
        (canonical JSON text), or with `encoded` as the msgpack of each wire event (`msgspec.Raw`), as made at
        ingest (built here for an event stored before that).

        Only events at or below the highest server_seq visible when the pull starts are returned, and
        writers of a store commit in server_seq order, so the cursor never passes an event not yet visible.
        """
        with self.database.atomic():
            top = self.top(auth.store_id)
            own = "" if include_own else " AND device_id <> ?"
            params: tuple = (auth.store_id, after, top) + (() if include_own else (auth.device_id,)) + (limit + 1,)
            where = (
                f"FROM event WHERE store_id = ? AND server_seq > ? AND server_seq <= ?{own} ORDER BY server_seq LIMIT ?"
            )
            rows = self._rows(("SELECT server_seq, wire " if encoded else f"SELECT {PULL_COLUMNS} ") + where, params)
            more = len(rows) > limit
            rows = rows[:limit]
            cursor = rows[-1][0] if more else max(after, top)
            if encoded:
                return self._encoded(auth.store_id, rows), cursor, more
        events = [wire_of_row(r, r[12], r[13]) for r in rows]  # payload: the stored canonical JSON text
        return events, cursor, more

    def top(self, store_id: str) -> int:
        """The highest server_seq of the store's visible events (0: none)."""
        return self._rows("SELECT MAX(server_seq) FROM event WHERE store_id = ?", (store_id,))[0][0] or 0

    def _encoded(self, store_id: str, rows: list[tuple]) -> list[msgspec.Raw]:
        """Each row's (server_seq, wire) as its msgpack; the wire form of events stored before it was kept is
        built from their columns."""
        missing = [seq for seq, wire in rows if wire is None]
        built = {
            r[0]: _encode(wire_of_row(r, msgspec.json.decode(r[12]), r[13]))
            for r in self._rows_in(
                f"SELECT {PULL_COLUMNS} FROM event WHERE store_id = ? AND server_seq IN ({{keys}})",
                (store_id,),
                missing,
            )
        }
        return [msgspec.Raw(bytes(wire) if wire is not None else built[seq]) for seq, wire in rows]

    # --- verification and metrics -----------------------------------------------------------------

    def verify(self, device_id: str | None = None) -> list[str]:
        """Every stored event's hash, links and signature (serververify.py); a list of problems (empty: all good)."""
        return serververify.verify(self, device_id)

    def stats(self) -> Iterable[tuple[str, str, str, int]]:
        """Event counts by store, type and result; the rows of types this server does not know (an older
        release counted junk types one by one) add up under "other"."""
        out: dict[tuple[str, str, str], int] = {}
        for s in Stat.select():
            key = (s.store_id, type_label(s.type), s.status)
            out[key] = out.get(key, 0) + s.n
        return [(*key, n) for key, n in sorted(out.items())]

    def counts(self) -> dict[str, int]:
        return {
            "events": Event.select().count(),
            "rejections": Rejection.select().count(),
            "conflicts": Conflict.select().count(),
            "devices": Device.select().count(),
        }
