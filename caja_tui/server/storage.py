"""Server storage through Peewee: one code path for SQLite (one file, zero set-up) and PostgreSQL.

Ingest is idempotent (unique `event_id`) and ordered: writers of one store are serialized (SQLite's single
writer; a transaction-level advisory lock per store on PostgreSQL), so `server_seq` becomes visible in order
and a pull cursor never skips an event.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import msgspec
from peewee import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    IntegerField,
    IntegrityError,
    Model,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
    fn,
)

from ..domain.chain import GENESIS, canonical, link
from ..domain.events import ProductUpdated, UserUpdated, decode_payload
from ..protocol import Result, WireEvent
from .validate import Candidate

db = DatabaseProxy()

CONFLICT_RULES = ("manual", "last-write-wins")


class Base(Model):
    class Meta:
        database = db


class Device(Base):
    store_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    token_hash = CharField(max_length=64, unique=True)
    created_at = BigIntegerField()
    revoked_at = BigIntegerField(null=True)
    last_seen = BigIntegerField(null=True)
    clock_skew_ms = BigIntegerField(null=True)

    class Meta:
        table_name = "device"
        primary_key = CompositeKey("store_id", "device_id")


class Event(Base):
    server_seq = BigAutoField()
    event_id = CharField(max_length=64, unique=True)
    store_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    seq = BigIntegerField()
    type = CharField(max_length=64)
    hlc = BigIntegerField()
    created_at = BigIntegerField()
    actor = CharField(max_length=64)
    v = IntegerField()
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64)
    payload = TextField()
    received_at = BigIntegerField()

    class Meta:
        table_name = "event"
        indexes = ((("store_id", "device_id", "seq"), True), (("store_id", "server_seq"), False))


class Rejection(Base):
    """A rejected event still occupies its seq, so no gap in a device's log is permanent."""

    id = AutoField()
    event_id = CharField(max_length=64)
    store_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    seq = BigIntegerField()
    hash = CharField(max_length=64)
    code = CharField(max_length=32)
    message = TextField()
    received_at = BigIntegerField()

    class Meta:
        table_name = "rejection"
        indexes = ((("store_id", "device_id", "seq"), True), (("event_id",), False))


class FieldWrite(Base):
    """Who last wrote which field of which product or user, for concurrent-update detection."""

    id = AutoField()
    store_id = CharField(max_length=64)
    entity = CharField(max_length=80)
    field = CharField(max_length=32)
    event_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    hlc = BigIntegerField()
    base_hlc = BigIntegerField()

    class Meta:
        table_name = "field_write"
        indexes = ((("store_id", "entity", "field", "hlc"), False),)


class Deletion(Base):
    store_id = CharField(max_length=64)
    entity = CharField(max_length=80)
    event_id = CharField(max_length=64)

    class Meta:
        table_name = "deletion"
        primary_key = CompositeKey("store_id", "entity")


class Conflict(Base):
    id = AutoField()
    store_id = CharField(max_length=64)
    event_id = CharField(max_length=64)
    conflict_with = CharField(max_length=64)
    resolution = CharField(max_length=32)
    created_at = BigIntegerField()

    class Meta:
        table_name = "conflict"


class Stat(Base):
    store_id = CharField(max_length=64)
    type = CharField(max_length=64)
    status = CharField(max_length=16)
    n = BigIntegerField(default=0)

    class Meta:
        table_name = "stat"
        primary_key = CompositeKey("store_id", "type", "status")


MODELS = (Device, Event, Rejection, FieldWrite, Deletion, Conflict, Stat)


@dataclass
class _BatchState:
    """What one push batch sees and adds: lookups done once, updated as the batch is decided in order."""

    stored: dict[str, tuple[str, str]]  # event_id -> (hash, store_id)
    rejected: dict[str, tuple[str, str, str, str]]  # event_id -> (hash, store_id, code, message)
    at_seq: dict[int, tuple[str, str, str | None]]  # seq -> (event_id, hash, prev_hash or None if rejected)
    new_events: list[tuple] = field(default_factory=list)
    new_rejections: list[tuple] = field(default_factory=list)


def _chunks(items: list, n: int = 500) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


@dataclass(frozen=True)
class DeviceAuth:
    store_id: str
    device_id: str


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_database(url: str):
    """`postgresql://user:pass@host:port/db` or a SQLite path (`sqlite:///path` or a plain path)."""
    if url.startswith(("postgresql://", "postgres://")):
        u = urlparse(url)
        q = {k: v[-1] for k, v in parse_qs(u.query).items()}
        kw: dict[str, Any] = {"user": unquote(u.username) if u.username else None,
                              "password": unquote(u.password) if u.password else None,
                              "host": q.pop("host", None) or u.hostname, "port": u.port or q.pop("port", None)}
        kw.update(q)
        return PostgresqlDatabase(u.path.lstrip("/"),
                                  **{k: v for k, v in kw.items() if v is not None})
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else url
    return SqliteDatabase(path, pragmas={"journal_mode": "wal", "synchronous": 2, "busy_timeout": 15_000,
                                         "cache_size": -32_000}, timeout=15)


class ServerStorage:
    def __init__(self, url: str, *, conflict_rule: str = "manual") -> None:
        if conflict_rule not in CONFLICT_RULES:
            raise ValueError(f"conflict rule must be one of {', '.join(CONFLICT_RULES)}")
        self.url = url
        self.database = open_database(url)
        self.is_pg = isinstance(self.database, PostgresqlDatabase)
        self.conflict_rule = conflict_rule
        db.initialize(self.database)

    def open(self, *, create: bool = True) -> ServerStorage:
        """Connect; with `create`, also create missing tables (done once, before the server's workers start:
        DDL in a worker would take table locks that deadlock with other workers' ingest)."""
        self.database.connect(reuse_if_open=True)
        if create:
            with self.database.atomic():
                self.database.create_tables(MODELS, safe=True)
        return self

    def close(self) -> None:
        if not self.database.is_closed():
            self.database.close()

    # --- devices ----------------------------------------------------------------------------------

    def enroll(self, store_id: str, device_id: str) -> str:
        """A new token for (store, device); an earlier token of that device stops working."""
        token = "caja_" + secrets.token_urlsafe(32)
        with self.database.atomic():
            Device.insert(store_id=store_id, device_id=device_id, token_hash=token_digest(token),
                          created_at=now_ms(), revoked_at=None).on_conflict(
                conflict_target=[Device.store_id, Device.device_id],
                update={Device.token_hash: token_digest(token), Device.revoked_at: None,
                        Device.created_at: now_ms()}).execute()
        return token

    def revoke(self, device_id: str, store_id: str | None = None) -> int:
        q = Device.update(revoked_at=now_ms()).where(Device.device_id == device_id)
        if store_id:
            q = q.where(Device.store_id == store_id)
        return q.execute()

    def authenticate(self, token: str) -> DeviceAuth | None:
        digest = token_digest(token)
        row = Device.get_or_none(Device.token_hash == digest)
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return DeviceAuth(row.store_id, row.device_id)

    def devices(self) -> list[dict[str, Any]]:
        out = []
        last = {(r.store_id, r.device_id): r.last_seq for r in
                Event.select(Event.store_id, Event.device_id, fn.MAX(Event.seq).alias("last_seq"))
                .group_by(Event.store_id, Event.device_id)}
        for d in Device.select().order_by(Device.store_id, Device.device_id):
            out.append({"store_id": d.store_id, "device_id": d.device_id, "revoked": d.revoked_at is not None,
                        "last_seen": d.last_seen, "last_seq": last.get((d.store_id, d.device_id), 0),
                        "clock_skew_ms": d.clock_skew_ms})
        return out

    def device_me(self, auth: DeviceAuth) -> tuple[int, str]:
        """The highest seq the server holds of this device (stored or rejected) and that event's hash."""
        best = (0, GENESIS)
        for model in (Event, Rejection):
            row = (model.select(model.seq, model.hash)
                   .where((model.store_id == auth.store_id) & (model.device_id == auth.device_id))
                   .order_by(model.seq.desc()).limit(1).first())
            if row and row.seq > best[0]:
                best = (row.seq, row.hash)
        return best

    # --- ingest -----------------------------------------------------------------------------------

    def _lock_store(self, store_id: str) -> None:
        if self.is_pg:
            key = zlib.crc32(store_id.encode()) - 2**31
            self.database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))

    def ingest(self, auth: DeviceAuth, candidates: Sequence[Candidate], *, skew_ms: int | None = None) -> list[Result]:
        """Store a push batch in one transaction; one Result per candidate, in order.

        The device's last-seen time and clock skew are updated in the same transaction.
        """
        for attempt in range(3):
            try:
                with self.database.atomic(*(() if self.is_pg else ("IMMEDIATE",))):
                    self._lock_store(auth.store_id)
                    results = self._ingest(auth, candidates, now_ms())
                    self._touch(auth, skew_ms)
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

    def _many(self, text: str, rows: list[tuple]) -> None:
        if rows:
            cur = self.database.cursor()
            cur.executemany(self._sql(text), rows)

    def _touch(self, auth: DeviceAuth, skew_ms: int | None) -> None:
        self.database.execute_sql(self._sql(
            "UPDATE device SET last_seen = ?, clock_skew_ms = COALESCE(?, clock_skew_ms) "
            "WHERE store_id = ? AND device_id = ?"), (now_ms(), skew_ms, auth.store_id, auth.device_id))

    def touch(self, auth: DeviceAuth) -> None:
        with self.database.atomic():
            self._touch(auth, None)

    def _ingest(self, auth: DeviceAuth, candidates: Sequence[Candidate], now: int) -> list[Result]:
        """Look up everything the batch touches in a few queries, decide in order, write in bulk."""
        wires = [c.wire for c in candidates if c.wire is not None]
        ids = list({w.event_id for w in wires})
        seqs = sorted({s for w in wires for s in (w.seq - 1, w.seq, w.seq + 1)})
        st = _BatchState(stored={}, rejected={}, at_seq={})
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for event_id, hash_, store in self._rows(
                    f"SELECT event_id, hash, store_id FROM event WHERE event_id IN ({marks})", chunk):
                st.stored[event_id] = (hash_, store)
            for event_id, hash_, store, code, message in self._rows(
                    f"SELECT event_id, hash, store_id, code, message FROM rejection WHERE event_id IN ({marks})", chunk):
                st.rejected[event_id] = (hash_, store, code, message)
        mine = (auth.store_id, auth.device_id)
        for chunk in _chunks(seqs):
            marks = ",".join("?" * len(chunk))
            span = (min(chunk), max(chunk))  # a range the index can seek; IN alone scans the device's events
            for seq, event_id, hash_, prev in self._rows(
                    "SELECT seq, event_id, hash, prev_hash FROM event WHERE store_id = ? AND device_id = ? "
                    f"AND seq BETWEEN ? AND ? AND seq IN ({marks})", (*mine, *span, *chunk)):
                st.at_seq[seq] = (event_id, hash_, prev)
            for seq, event_id, hash_ in self._rows(
                    "SELECT seq, event_id, hash FROM rejection WHERE store_id = ? AND device_id = ? "
                    f"AND seq BETWEEN ? AND ? AND seq IN ({marks})", (*mine, *span, *chunk)):
                st.at_seq.setdefault(seq, (event_id, hash_, None))
        results = [self._one(auth, c, now, st) for c in candidates]
        self._many("INSERT INTO event (event_id, store_id, device_id, seq, type, hlc, created_at, actor, v, prev_hash, "
                   "hash, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", st.new_events)
        self._many("INSERT INTO rejection (event_id, store_id, device_id, seq, hash, code, message, received_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", st.new_rejections)
        stats: dict[tuple[str, str], int] = {}
        for c, res in zip(candidates, results, strict=True):
            key = (c.wire.type if c.wire else "?", res.status)
            stats[key] = stats.get(key, 0) + 1
        self._many("INSERT INTO stat (store_id, type, status, n) VALUES (?, ?, ?, ?) ON CONFLICT (store_id, type, "
                   "status) DO UPDATE SET n = stat.n + excluded.n",
                   [(auth.store_id, t, status, n) for (t, status), n in stats.items()])
        return results

    def _reject(self, auth: DeviceAuth, w: WireEvent, code: str, message: str, now: int, st: _BatchState) -> Result:
        """Record the rejection: the event occupies its seq, and a retry of it gets the same answer.

        Not when the device's next event, already stored, shows this is not the event of that seq (a
        forgery or a stray): the genuine one may still come.
        """
        nxt = st.at_seq.get(w.seq + 1)
        if nxt is not None and nxt[2] is not None and nxt[2] != w.hash:
            return Result(event_id=w.event_id, status="rejected", code=code, message=message[:500])  # type: ignore[arg-type]
        st.new_rejections.append((w.event_id, auth.store_id, auth.device_id, w.seq, w.hash, code, message[:500], now))
        st.rejected[w.event_id] = (w.hash, auth.store_id, code, message[:500])
        st.at_seq[w.seq] = (w.event_id, w.hash, None)
        return Result(event_id=w.event_id, status="rejected", code=code, message=message[:500])  # type: ignore[arg-type]

    def _one(self, auth: DeviceAuth, c: Candidate, now: int, st: _BatchState) -> Result:
        w = c.wire
        if w is None:  # not even an envelope: nothing to record
            code, message = c.reject or ("INVALID", "invalid event")
            return Result(event_id=c.event_id, status="rejected", code=code, message=message)  # type: ignore[arg-type]
        # idempotency first: the same event again gets the same answer
        if w.event_id in st.stored:
            hash_, store = st.stored[w.event_id]
            if hash_ == w.hash and store == auth.store_id:
                return Result(event_id=w.event_id, status="duplicate")
            return Result(event_id=w.event_id, status="rejected", code="ID_REUSED",
                          message="this event_id is already stored with other content")
        if w.event_id in st.rejected:
            hash_, store, code, message = st.rejected[w.event_id]
            if hash_ == w.hash and store == auth.store_id:
                return Result(event_id=w.event_id, status="rejected", code=code, message=message)  # type: ignore[arg-type]
            return Result(event_id=w.event_id, status="rejected", code="ID_REUSED",
                          message="this event_id was already received with other content")
        if w.seq in st.at_seq:
            return Result(event_id=w.event_id, status="rejected", code="SEQ_REUSED",
                          message=f"seq {w.seq} of this device is already taken by another event")
        if c.reject is not None:
            return self._reject(auth, w, c.reject[0], c.reject[1], now, st)
        # the chain: link to the predecessor when it is here, and to the successor when it already is
        prev = GENESIS if w.seq == 1 else (st.at_seq[w.seq - 1][1] if w.seq - 1 in st.at_seq else None)
        if prev is not None and prev != w.prev_hash:
            return self._reject(auth, w, "BROKEN_CHAIN", f"prev_hash differs from the hash of seq {w.seq - 1}", now, st)
        nxt = st.at_seq.get(w.seq + 1)
        if nxt is not None and nxt[2] is not None and nxt[2] != w.hash:
            return self._reject(auth, w, "BROKEN_CHAIN", f"seq {w.seq + 1} does not link to this event's hash", now, st)
        result = self._detect_conflict(auth, c)
        st.new_events.append((w.event_id, auth.store_id, auth.device_id, w.seq, w.type, w.hlc, w.created_at, w.actor,
                              w.v, w.prev_hash, w.hash, c.canonical_payload.decode(), now))
        st.stored[w.event_id] = (w.hash, auth.store_id)
        st.at_seq[w.seq] = (w.event_id, w.hash, w.prev_hash)
        return result

    def _detect_conflict(self, auth: DeviceAuth, c: Candidate) -> Result:
        """Concurrent updates of one field: last-write-wins; an update of a deleted product: the rule."""
        w, p = c.wire, c.payload
        assert w is not None
        if isinstance(p, ProductUpdated | UserUpdated):
            entity = p.aggregate()
            fields = list(p.changes.fields())
            if isinstance(p, ProductUpdated):
                deletion = Deletion.get_or_none((Deletion.store_id == auth.store_id) & (Deletion.entity == entity))
                if deletion is not None:
                    self._record_conflict(auth, w.event_id, deletion.event_id, self.conflict_rule, w.created_at)
                    return Result(event_id=w.event_id, status="conflict", conflict_with=deletion.event_id,
                                  resolution=self.conflict_rule)  # type: ignore[arg-type]
            rival = (FieldWrite.select(FieldWrite.event_id)
                     .where((FieldWrite.store_id == auth.store_id) & (FieldWrite.entity == entity)
                            & (FieldWrite.field.in_(fields)) & (FieldWrite.hlc > p.base_hlc)
                            & (FieldWrite.base_hlc < w.hlc) & (FieldWrite.device_id != auth.device_id))
                     .order_by(FieldWrite.hlc.desc()).limit(1).first())
            FieldWrite.insert_many([{"store_id": auth.store_id, "entity": entity, "field": f, "event_id": w.event_id,
                                     "device_id": auth.device_id, "hlc": w.hlc, "base_hlc": p.base_hlc}
                                    for f in fields]).execute()
            if rival is not None:
                self._record_conflict(auth, w.event_id, rival.event_id, "last-write-wins", w.created_at)
                return Result(event_id=w.event_id, status="conflict", conflict_with=rival.event_id,
                              resolution="last-write-wins")
        elif w.type == "product.restored":
            self.database.execute_sql(self._sql("DELETE FROM deletion WHERE store_id = ? AND entity = ?"),
                                      (auth.store_id, f"product:{w.payload['product_id']}"))
        elif w.type == "product.deleted":
            Deletion.insert(store_id=auth.store_id, entity=f"product:{w.payload['product_id']}",
                            event_id=w.event_id).on_conflict_ignore().execute()
        return Result(event_id=w.event_id, status="accepted")

    def _record_conflict(self, auth: DeviceAuth, event_id: str, other: str, resolution: str, at: int) -> None:
        Conflict.insert(store_id=auth.store_id, event_id=event_id, conflict_with=other, resolution=resolution,
                        created_at=at).execute()

    # --- pull -------------------------------------------------------------------------------------

    def pull(self, auth: DeviceAuth, after: int, limit: int, include_own: bool) -> tuple[list[dict], int, bool]:
        """The store's events after the cursor, in server_seq order; payloads as stored (canonical JSON text).

        Only events at or below the highest server_seq visible when the pull starts are returned, and
        writers of a store commit in server_seq order, so the cursor never passes an event not yet visible.
        """
        with self.database.atomic():
            top = self._rows("SELECT MAX(server_seq) FROM event WHERE store_id = ?", (auth.store_id,))[0][0] or 0
            own = "" if include_own else " AND device_id <> ?"
            params: tuple = (auth.store_id, after, top) + (() if include_own else (auth.device_id,)) + (limit + 1,)
            rows = self._rows(
                "SELECT server_seq, event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, "
                f"hash, payload FROM event WHERE store_id = ? AND server_seq > ? AND server_seq <= ?{own} "
                "ORDER BY server_seq LIMIT ?", params)
        more = len(rows) > limit
        rows = rows[:limit]
        events = [{"event_id": r[1], "type": r[2], "store_id": r[3], "device_id": r[4], "seq": r[5], "hlc": r[6],
                   "created_at": r[7], "actor": r[8], "v": r[9], "prev_hash": r[10], "hash": r[11], "payload": r[12]}
                  for r in rows]
        cursor = rows[-1][0] if more else max(after, top)
        return events, cursor, more

    # --- verification and metrics -----------------------------------------------------------------

    def verify(self, device_id: str | None = None) -> list[str]:
        """Recompute every stored event's hash and check the links; a list of problems (empty: all good)."""
        problems: list[str] = []
        q = Event.select().order_by(Event.store_id, Event.device_id, Event.seq)
        if device_id:
            q = q.where(Event.device_id == device_id)
        rejected = {(r.store_id, r.device_id, r.seq): r.hash for r in Rejection.select()}
        last: dict[tuple[str, str], tuple[int, str]] = {}
        for e in q.iterator():
            env = {"event_id": e.event_id, "type": e.type, "store_id": e.store_id, "device_id": e.device_id,
                   "seq": e.seq, "hlc": e.hlc, "created_at": e.created_at, "actor": e.actor, "v": e.v,
                   "prev_hash": e.prev_hash}
            if link(e.prev_hash, canonical(env, e.payload.encode())) != e.hash:
                problems.append(f"{e.store_id}/{e.device_id} seq {e.seq}: hash does not match content")
            try:
                decode_payload(e.type, e.v, e.payload)
            except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
                problems.append(f"{e.store_id}/{e.device_id} seq {e.seq}: invalid {e.type} payload ({exc})")
            key = (e.store_id, e.device_id)
            prev_seq, prev_hash = last.get(key, (0, GENESIS))
            expected_prev = prev_hash if prev_seq == e.seq - 1 else rejected.get((*key, e.seq - 1))
            if e.seq == 1:
                expected_prev = GENESIS
            if expected_prev is not None and expected_prev != e.prev_hash:
                problems.append(f"{e.store_id}/{e.device_id} seq {e.seq}: broken chain")
            last[key] = (e.seq, e.hash)
        return problems

    def stats(self) -> Iterable[tuple[str, str, str, int]]:
        return [(s.store_id, s.type, s.status, s.n) for s in Stat.select()]

    def counts(self) -> dict[str, int]:
        return {"events": Event.select().count(), "rejections": Rejection.select().count(),
                "conflicts": Conflict.select().count(), "devices": Device.select().count()}
