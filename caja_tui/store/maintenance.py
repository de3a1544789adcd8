"""Rebuilding read models from the events, and verifying the file: seq gaps, hash chains, read models."""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import time
from pathlib import Path

import msgspec

from ..domain.chain import GENESIS
from ..domain.events import UnknownEventType, decode_payload
from ..protocol.check import STORED_COLUMNS, breaks_chain, signature_problem, stored_hash_ok
from .archive import archived_rows, unarchive_all
from .migrations import READ_MODEL_TABLES
from .projections import Projector

CHUNK = 20_000
REBUILD_CACHE_KIB = -96_000  # a rebuild's page cache (negative: KiB), given back when it ends


def _tables(conn: sqlite3.Connection) -> list[str]:
    """The read-model tables this file has (an older schema, mid-migration, lacks the newer ones)."""
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [t for t in READ_MODEL_TABLES if t in have]


def project_all(conn: sqlite3.Connection, *, clear: bool, types: tuple[str, ...] = ()) -> tuple[int, int]:
    """Apply every stored event to the read models, inside the caller's transaction.

    Returns (events applied, events of types this release does not know, which are kept but not projected).
    """
    indexes: list[str] = []
    tables = _tables(conn)
    if clear:
        for table in tables:
            conn.execute(f"DELETE FROM {table}")
        # bulk load: drop the read models' secondary indexes, fill the tables, derive stock and the barcode index
        # from the whole ledger (Projector.finish_bulk), build the indexes once
        marks = ",".join("?" * len(tables))
        for name, sql in conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            tables,
        ).fetchall():
            conn.execute(f"DROP INDEX {name}")
            indexes.append(sql)
    projector = Projector(conn, bulk=clear)
    applied = unknown = 0
    # archived events first (old, synced), then the live ones; projections converge in any order
    batch: list[tuple] = []
    for r in archived_rows(conn):
        if types and r[1] not in types:
            continue
        batch.append((r[0], r[1], r[3], r[5], r[6], r[7], r[8], r[11]))
        if len(batch) >= CHUNK:
            a, u = _project_rows(projector, batch)
            applied, unknown = applied + a, unknown + u
            batch = []
    if batch:
        a, u = _project_rows(projector, batch)
        applied, unknown = applied + a, unknown + u
    only = f" WHERE type IN ({','.join('?' * len(types))})" if types else ""
    cur = conn.execute(
        f"SELECT event_id, type, device_id, hlc, created_at, actor, v, payload FROM event{only} ORDER BY id", types
    )
    while rows := cur.fetchmany(CHUNK):
        a, u = _project_rows(projector, rows)
        applied, unknown = applied + a, unknown + u
    if clear:
        projector.finish_bulk()
    for sql in indexes:
        conn.execute(sql)
    return applied, unknown


def _project_rows(projector: Projector, rows) -> tuple[int, int]:
    """Apply (event_id, type, device_id, hlc, created_at, actor, v, payload) rows; (applied, unknown)."""
    unknown = 0
    for event_id, type_, device_id, hlc, created_at, actor, v, payload in rows:
        try:
            p = decode_payload(type_, v, payload)
        except UnknownEventType:
            unknown += 1
            continue
        projector.apply(event_id, type_, device_id, hlc, created_at, actor, p)
    projector.flush()
    return len(rows) - unknown, unknown


class RebuildResult(msgspec.Struct):
    events: int
    unknown: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


def rebuild(store) -> RebuildResult:
    """Drop every read model and build it again from the events, in one transaction."""
    t0 = time.perf_counter()
    conn = store._conn
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {REBUILD_CACHE_KIB}")  # what the tables take is written out once
    try:
        with store.write():
            events, unknown = project_all(conn, clear=True)
    finally:
        conn.execute(f"PRAGMA cache_size = {cache}")
    seconds = time.perf_counter() - t0
    store.checkpoint_wal("TRUNCATE")
    return RebuildResult(events=events, unknown=unknown, seconds=seconds)


def read_model_digests(conn: sqlite3.Connection) -> dict[str, tuple[str, int]]:
    """A digest and row count per read-model table, independent of the order rows were written in."""
    out = {}
    for table in _tables(conn):
        info = list(conn.execute(f"PRAGMA table_info({table})"))
        # a rowid alias (an INTEGER PRIMARY KEY alone) numbers rows in arrival order: not part of the state
        alias = [r[1] for r in info if r[5] and r[2].upper() == "INTEGER"] if sum(r[5] > 0 for r in info) == 1 else []
        cols = [r[1] for r in info if r[1] not in alias]
        pk = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5] and r[1] in cols]
        h = hashlib.sha256()
        n = 0
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(pk or cols)}"):
            h.update(repr(row).encode())
            n += 1
        out[table] = (h.hexdigest(), n)
    return out


class VerifyReport(msgspec.Struct):
    events: int = 0
    devices: int = 0
    problems: list[str] = []
    notes: list[str] = []

    @property
    def ok(self) -> bool:
        return not self.problems


def check_chains(
    conn: sqlite3.Connection,
    own_device: str,
    report: VerifyReport,
    *,
    limit: int = 20,
    own_key: tuple[str, int] | None = None,
) -> None:
    """Seq gaps and hash links, per device, recomputing each hash from the stored event; with `own_key` (this
    till's public key and first signed seq), the signatures of this till's own events too."""
    devices = [r[0] for r in conn.execute("SELECT DISTINCT device_id FROM event ORDER BY device_id")]
    report.devices = len(devices)
    for device in devices:
        expected_seq, prev = 1, GENESIS
        cur = conn.execute(f"SELECT {STORED_COLUMNS}, sig FROM event WHERE device_id = ? ORDER BY seq", (device,))
        key = own_key if device == own_device else None
        while rows := cur.fetchmany(CHUNK):
            for r in rows:
                report.events += 1
                seq = r[4]
                if seq != expected_seq:
                    msg = f"device {device}: events {expected_seq}..{seq - 1} are missing"
                    (report.problems if device == own_device else report.notes).append(
                        msg if device == own_device else msg + " (not received yet)"
                    )
                    prev = None  # the link across a gap cannot be checked
                if breaks_chain(r[9], prev):
                    report.problems.append(
                        f"device {device} seq {seq}: prev_hash does not match the hash of seq {seq - 1} (broken chain)"
                    )
                if not stored_hash_ok(r):
                    report.problems.append(
                        f"device {device} seq {seq}: hash does not match the event's content (the event was altered)"
                    )
                bad_sig = signature_problem(device, seq, r[10], r[12], key)
                if bad_sig is not None:
                    report.problems.append(f"device {device} seq {seq}: {bad_sig[1]}")
                prev, expected_seq = r[10], seq + 1
                if len(report.problems) >= limit:
                    report.problems.append("... stopping after the first problems")
                    return


def verify(store) -> VerifyReport:
    """Check seq gaps and the hash chain, then rebuild a copy of the file and compare its read models."""
    report = VerifyReport()
    with tempfile.TemporaryDirectory(prefix="caja-verify-", dir=_tmp_dir(store.path)) as tmp:
        copy_path = Path(tmp) / "copy.db"
        copy = sqlite3.connect(copy_path, isolation_level=None)
        try:
            store._conn.backup(copy)  # one consistent snapshot; the till keeps selling meanwhile
            copy.execute("PRAGMA journal_mode=OFF")
            copy.execute("PRAGMA synchronous=OFF")
            unarchive_all(copy)  # the archive is part of the history: check it like the rest
            integrity = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                report.problems.append(f"SQLite integrity check: {integrity}")
            own_key = (store.key.public_hex, store.key_from_seq) if store.key is not None else None
            check_chains(copy, store.device_id, report, own_key=own_key)
            live = read_model_digests(copy)
            copy.execute("BEGIN")
            _, unknown = project_all(copy, clear=True)
            rebuilt = read_model_digests(copy)
            copy.execute("ROLLBACK")
            if unknown:
                report.notes.append(f"{unknown} events of types this release does not know were not projected")
            for table in live:
                if live[table] != rebuilt[table]:
                    report.problems.append(
                        f"read model '{table}' differs from a rebuild from the events "
                        f"({live[table][1]} rows live, {rebuilt[table][1]} rebuilt); run `caja rebuild`"
                    )
        finally:
            copy.close()
    return report


def _tmp_dir(db_path: Path) -> str | None:
    """Prefer the database's own folder (same disk, enough room); fall back to the system's."""
    parent = db_path.parent
    return str(parent) if parent.exists() and _writable(parent) else None


def _writable(p: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=p):
            return True
    except OSError:
        return False
