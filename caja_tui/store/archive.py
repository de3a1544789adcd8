"""`caja archive`: old, synced events move into compressed chunks; nothing of the history is lost.

Only events the server has (`synced`) and older than the cut-off are archived; pending, failed and
conflict events never are. Each chunk holds up to 5,000 events of one device, as zlib-compressed msgpack
rows, moved in one transaction with their deletion from the event table. `archived_event` keeps every
archived event_id (a pulled duplicate is still recognised, an old receipt still finds its hash).
Rebuild reads the chunks and then the live events; verify puts them back into its scratch copy and checks
the whole chain as before.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from typing import Any

import msgspec

COLUMNS = (
    "event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload, "
    "priority, aggregate, sync_status, sync_attempts, sync_error, sig"
)
N_COLUMNS = COLUMNS.count(",") + 1
CHUNK = 5000


class ArchiveResult(msgspec.Struct):
    events: int
    chunks: int
    raw_bytes: int  # the archived rows, as they were
    packed_bytes: int  # what they take now
    seconds: float

    @property
    def ratio(self) -> float:
        return self.raw_bytes / self.packed_bytes if self.packed_bytes else 0.0


def archive(store, older_than_days: int = 90, *, chunk: int = CHUNK) -> ArchiveResult:
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = store.wall() - older_than_days * 86_400_000
    t0 = time.perf_counter()
    events = chunks = raw = packed = 0
    conn = store._conn
    devices = [r[0] for r in conn.execute("SELECT DISTINCT device_id FROM event")]
    for device in devices:
        while True:
            with store.write():
                rows = conn.execute(
                    f"SELECT id, {COLUMNS} FROM event WHERE device_id = ? AND sync_status = 'synced' "
                    "AND created_at < ? ORDER BY seq LIMIT ?",
                    (device, cutoff, chunk),
                ).fetchall()
                if not rows:
                    break
                body = msgspec.msgpack.encode([r[1:] for r in rows])
                data = zlib.compress(body, 6)
                size = sum(len(str(v)) if v is not None else 0 for r in rows for v in r[1:])
                cur = conn.execute(
                    "INSERT INTO event_archive (device_id, first_seq, last_seq, count, raw_bytes, data, "
                    "archived_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (device, rows[0][5], rows[-1][5], len(rows), size, data, store.wall()),
                )
                conn.executemany(
                    "INSERT INTO archived_event (event_id, chunk) VALUES (?, ?)", [(r[1], cur.lastrowid) for r in rows]
                )
                conn.executemany("DELETE FROM event WHERE id = ?", [(r[0],) for r in rows])
            events += len(rows)
            chunks += 1
            raw += size
            packed += len(data)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return ArchiveResult(
        events=events, chunks=chunks, raw_bytes=raw, packed_bytes=packed, seconds=time.perf_counter() - t0
    )


def archived_rows(conn) -> Iterator[tuple[Any, ...]]:
    """Every archived event, as a row in COLUMNS order, one chunk in memory at a time."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'event_archive'").fetchone():
        return
    for (data,) in conn.execute("SELECT data FROM event_archive ORDER BY id"):
        # a chunk archived before signatures holds rows without sig
        yield from (
            tuple(r) if len(r) == N_COLUMNS else (*r, None) for r in msgspec.msgpack.decode(zlib.decompress(data))
        )


def archived_hash(conn, event_id: str) -> str | None:
    row = conn.execute(
        "SELECT e.data FROM archived_event a JOIN event_archive e ON e.id = a.chunk WHERE a.event_id = ?", (event_id,)
    ).fetchone()
    if row is None:
        return None
    for r in msgspec.msgpack.decode(zlib.decompress(row[0])):
        if r[0] == event_id:
            return r[10]
    return None


def unarchive_all(conn) -> int:
    """Put every archived event back into the event table (used on verify's scratch copy only)."""
    n = 0
    rows: list[tuple] = []
    for r in archived_rows(conn):
        rows.append(r)
        if len(rows) >= CHUNK:
            conn.executemany(f"INSERT INTO event ({COLUMNS}) VALUES ({','.join('?' * N_COLUMNS)})", rows)
            n += len(rows)
            rows = []
    if rows:
        conn.executemany(f"INSERT INTO event ({COLUMNS}) VALUES ({','.join('?' * N_COLUMNS)})", rows)
        n += len(rows)
    if n:
        conn.execute("DELETE FROM event_archive")
        conn.execute("DELETE FROM archived_event")
    return n
