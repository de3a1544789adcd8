"""The outbox over the event table: which of this till's events go next, and what the server answered.

Order: priority (sales first), then seq; never an event ahead of an earlier unsent event of its own
aggregate (a refund never before its sale). A rejected event is marked failed and never blocks the rest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import msgspec

from ..protocol.rows import wire_of_row
from .sqlite import SqliteStore

COLS = (
    "id, event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload, aggregate, sig"
)


class OutboxEvent(msgspec.Struct, frozen=True):
    rowid: int
    wire: dict[str, Any]  # the event as plain data, payload as its canonical JSON (msgspec.Raw)
    aggregate: str


class Outbox:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    @property
    def _conn(self):
        return self.store._conn

    def recover(self) -> int:
        """Events left 'syncing' by a process that died mid-push go back to pending (the server dedups)."""
        with self.store.write():
            return self._conn.execute("UPDATE event SET sync_status = 'pending' WHERE sync_status = 'syncing'").rowcount

    def next_batch(self, limit: int) -> list[OutboxEvent]:
        rows = self._conn.execute(
            f"SELECT {COLS} FROM event WHERE sync_status = 'pending' ORDER BY priority DESC, seq LIMIT ?",
            (limit + limit // 4 + 1,),  # a few more than asked for, in case some must wait
        ).fetchall()
        if not rows:
            return []
        unsent = self._unsent({r[13] for r in rows})
        picked = self._pick(rows, unsent, limit)
        if picked:
            return picked
        # every candidate follows an earlier unsent event of its aggregate that the query did not reach: those go
        # first (unless they are in flight), so a backlog never stalls behind them
        firsts = [seqs[0][0] for seqs in unsent.values() if seqs and seqs[0][1] == "pending"]
        rows = self._conn.execute(
            f"SELECT {COLS} FROM event WHERE device_id = ? AND seq IN (SELECT value FROM json_each(?)) "
            "AND sync_status = 'pending' ORDER BY priority DESC, seq",
            (self.store.device_id, msgspec.json.encode(firsts).decode()),
        ).fetchall()
        return self._pick(rows, unsent, limit)

    def _unsent(self, aggregates: set[str]) -> dict[str, list[tuple[int, str]]]:
        """Every unsent (seq, status) of `aggregates`, by seq (only this till's events are ever unsent), in one
        statement: a statement per aggregate cost ~60 us an event of a backlog's push (a sale is an aggregate of
        its own)."""
        unsent: dict[str, list[tuple[int, str]]] = {agg: [] for agg in aggregates}
        for agg, seq, status in self._conn.execute(
            "SELECT aggregate, seq, sync_status FROM event INDEXED BY event_aggregate_pending "
            "WHERE aggregate IN (SELECT value FROM json_each(?)) AND sync_status IN ('pending', 'syncing') "
            "ORDER BY aggregate, seq",
            (msgspec.json.encode(list(aggregates)).decode(),),
        ):
            unsent[agg].append((seq, status))
        return unsent

    @staticmethod
    def _pick(rows: list, unsent: dict[str, list[tuple[int, str]]], limit: int) -> list[OutboxEvent]:
        """Up to `limit` of `rows` in their order, each only after every earlier unsent event of its aggregate
        (picked before it in this batch)."""
        picked: list[OutboxEvent] = []
        taken: set[int] = set()
        waiting = list(rows)
        progress = True
        while waiting and progress and len(picked) < limit:
            progress, rest = False, []
            for r in waiting:
                if len(picked) < limit and all(s in taken for s, _ in unsent[r[13]] if s < r[5]):
                    picked.append(OutboxEvent(r[0], wire_of_row(r, msgspec.Raw(r[12].encode()), r[14]), r[13]))
                    taken.add(r[5])
                    progress = True
                else:
                    rest.append(r)
            waiting = rest
        return picked

    def mark_syncing(self, batch: Sequence[OutboxEvent]) -> None:
        with self.store.write():
            self._conn.executemany(
                "UPDATE event SET sync_status = 'syncing', sync_attempts = sync_attempts + 1 WHERE id = ?",
                [(e.rowid,) for e in batch],
            )

    def release(self, batch: Sequence[OutboxEvent]) -> None:
        """The push did not get an answer: back to pending, to be sent again."""
        with self.store.write():
            self._conn.executemany(
                "UPDATE event SET sync_status = 'pending' WHERE id = ? AND sync_status = 'syncing'",
                [(e.rowid,) for e in batch],
            )

    def record_results(self, batch: Sequence[OutboxEvent], results: Sequence[Any]) -> dict[str, int]:
        """Apply the server's per-event answers in one transaction; returns counts by status."""
        counts: dict[str, int] = {}
        now = int(time.time() * 1000)
        by_id = {e.wire["event_id"]: e for e in batch}
        synced, failed, conflicts = [], [], []
        for res in results:
            e = by_id.get(res.event_id)
            if e is None:
                continue
            counts[res.status] = counts.get(res.status, 0) + 1
            if res.status in ("accepted", "duplicate"):
                synced.append((e.rowid,))
            elif res.status == "conflict":
                synced.append((e.rowid,))
                conflicts.append(
                    (
                        res.event_id,
                        res.conflict_with or "",
                        res.resolution or "last-write-wins",
                        e.wire["type"],
                        e.aggregate,
                        now,
                    )
                )
            else:
                failed.append((f"{res.code}: {res.message or ''}"[:500], e.rowid))
        with self.store.write():
            self._conn.executemany("UPDATE event SET sync_status = 'synced', sync_error = NULL WHERE id = ?", synced)
            self._conn.executemany("UPDATE event SET sync_status = 'failed', sync_error = ? WHERE id = ?", failed)
            self._conn.executemany(
                "INSERT OR IGNORE INTO sync_conflict (event_id, conflict_with, resolution, type, aggregate, detected_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                conflicts,
            )
        return counts

    # --- refusals that heal, and a manager's "send it again" ------------------------------------------

    def retry_failed(self, *, codes: Sequence[str] | None = None, hlc_up_to: int | None = None) -> int:
        """Put refused events back in the queue: all of them (a manager's decision, `caja sync --retry-failed`),
        or those refused with one of `codes` (e.g. UNKNOWN_TYPE once the server was upgraded), optionally only
        those whose hlc is at most `hlc_up_to` (CLOCK_SKEW once the server's clock has caught up). Returns how
        many; the server answers `duplicate` for any it had stored after all."""
        where, params = "sync_status = 'failed'", []
        if codes is not None:
            where += " AND (" + " OR ".join("sync_error LIKE ?" for _ in codes) + ")"
            params += [f"{c}:%" for c in codes]
        if hlc_up_to is not None:
            where += " AND hlc <= ?"
            params.append(hlc_up_to)
        with self.store.write():
            cur = self._conn.execute(
                f"UPDATE event SET sync_status = 'pending', sync_error = NULL WHERE {where}", params
            )
        return cur.rowcount

    def failed_with(self, code: str) -> int:
        """How many of this till's events are refused with `code` (an index lookup, then a short scan)."""
        return self._conn.execute(
            "SELECT COUNT(*) FROM event WHERE sync_status = 'failed' AND sync_error LIKE ?", (f"{code}:%",)
        ).fetchone()[0]

    # --- what the owner sees ------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Only this till's own events are ever pending (pulled events arrive synced): an index lookup."""
        return self._conn.execute("SELECT COUNT(*) FROM event WHERE sync_status = 'pending'").fetchone()[0]

    def counts(self) -> dict[str, int]:
        out = dict(
            self._conn.execute(
                "SELECT sync_status, COUNT(*) FROM event WHERE store_id = ? AND device_id = ? GROUP BY sync_status",
                (self.store.store_id, self.store.device_id),
            ).fetchall()
        )
        out["conflicts_open"] = self._conn.execute(
            "SELECT COUNT(*) FROM sync_conflict WHERE resolution = 'manual' AND resolved_at IS NULL"
        ).fetchone()[0]
        out["conflicts"] = self._conn.execute("SELECT COUNT(*) FROM sync_conflict").fetchone()[0]
        return out

    def oldest_pending_ms(self) -> int | None:
        rows = [
            self._conn.execute("SELECT MIN(created_at) FROM event WHERE sync_status = ?", (st,)).fetchone()[0]
            for st in ("pending", "syncing")
        ]
        return min((r for r in rows if r is not None), default=None)

    def failed(self, limit: int = 100) -> list[tuple[int, str, str, str]]:
        return self._conn.execute(
            "SELECT seq, type, event_id, sync_error FROM event WHERE sync_status = 'failed' "
            "AND device_id = ? ORDER BY seq LIMIT ?",
            (self.store.device_id, limit),
        ).fetchall()

    # --- for `caja bench` (it times the outbox's query on a large queue) ------------------------------

    def pending_head(self, limit: int = 50) -> list[tuple[Any, ...]]:
        """The next `limit` pending events by priority, then seq: the query `next_batch` starts with, as wire
        columns (event_id ... payload)."""
        return self._conn.execute(
            "SELECT event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload "
            "FROM event WHERE sync_status = 'pending' ORDER BY priority DESC, seq LIMIT ?",
            (limit,),
        ).fetchall()

    def mark_head_synced(self, limit: int = 50) -> None:
        """As if the server had taken the next `limit` pending events (no transaction of its own)."""
        self._conn.execute(
            "UPDATE event SET sync_status = 'synced' WHERE id IN (SELECT id FROM event "
            "WHERE sync_status = 'pending' ORDER BY priority DESC, seq LIMIT ?)",
            (limit,),
        )

    def mark_all_synced(self) -> None:
        """As if the server had everything (no transaction of its own)."""
        self._conn.execute("UPDATE event SET sync_status = 'synced'")

    def conflicts(self, *, open_only: bool = False) -> list[tuple]:
        cond = "WHERE resolution = 'manual' AND resolved_at IS NULL" if open_only else ""
        return self._conn.execute(
            f"SELECT event_id, conflict_with, resolution, type, aggregate, detected_at, "
            f"resolved_at, resolved_by, outcome FROM sync_conflict {cond} "
            "ORDER BY detected_at"
        ).fetchall()
