"""A transaction's queries of the events themselves: the audit log, one local event, the events the server
refused, and the sync conflicts it reported."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..domain.events import Event, decode_payload
from ..protocol.check import STORED_COLUMNS
from .reads import Reads


def event_of_row(r: Sequence[Any]) -> Event:
    """A stored event (a row of STORED_COLUMNS) as the domain's Event, its payload decoded."""
    return Event(
        event_id=r[0],
        type=r[1],
        store_id=r[2],
        device_id=r[3],
        seq=r[4],
        hlc=r[5],
        created_at=r[6],
        actor=r[7],
        v=r[8],
        prev_hash=r[9],
        hash=r[10],
        payload=decode_payload(r[1], r[8], r[11]),
    )


class AuditQueries(Reads):
    def sync_conflict(self, event_id: str) -> dict[str, Any] | None:
        r = self._q(
            "SELECT event_id, conflict_with, resolution, type, aggregate, resolved_at FROM sync_conflict "
            "WHERE event_id = ?",
            (event_id,),
        ).fetchone()
        return (
            None
            if r is None
            else dict(
                zip(("event_id", "conflict_with", "resolution", "type", "aggregate", "resolved_at"), r, strict=True)
            )
        )

    def refused_event(self, event_id: str) -> Event | None:
        """One of this till's events that the server refused (and nobody sent again nor reverted)."""
        r = self._q(
            f"SELECT {STORED_COLUMNS} FROM event WHERE event_id = ? AND sync_status = 'failed'", (event_id,)
        ).fetchone()
        return None if r is None else event_of_row(r)

    def store_events_of(self, aggregate: str) -> list[Event]:
        """The events of one product, customer or user that are the store's: all but this till's refused ones."""
        return [
            event_of_row(r)
            for r in self._q(
                f"SELECT {STORED_COLUMNS} FROM event WHERE aggregate = ? AND sync_status NOT IN ('failed', "
                "'reverted') ORDER BY id",
                (aggregate,),
            )
        ]

    def mark_reverted(self, event_id: str) -> None:
        """A refused event undone by a compensating one: no longer waiting for a manager (never sent)."""
        self._conn.execute(
            "UPDATE event SET sync_status = 'reverted' WHERE event_id = ? AND sync_status = 'failed'", (event_id,)
        )

    def mark_conflict_resolved(self, event_id: str, actor: str, outcome: str) -> None:
        self._conn.execute(
            "UPDATE sync_conflict SET resolved_at = ?, resolved_by = ?, outcome = ? WHERE event_id = ?",
            (self.store.wall(), actor, outcome, event_id),
        )

    def failed_events(self, limit: int = 100) -> list[tuple[int, str, str, str]]:
        """(seq, type, reason, event_id) of this till's events the server refused, oldest first."""
        return self._q(
            "SELECT seq, type, COALESCE(sync_error, ''), event_id FROM event WHERE sync_status = 'failed' "
            "ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()

    def event_types(self) -> list[str]:
        return [r[0] for r in self._q("SELECT DISTINCT type FROM event ORDER BY type")]

    def event_log(
        self,
        *,
        type_prefix: str = "",
        types: Sequence[str] | None = None,
        actor: str = "",
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[tuple[Any, ...]]:
        """The audit log, newest first (in the order this till stored the events: the rowid, so the newest
        page comes at once from a million events): (created_at, device_id, seq, type, actor, sync_status,
        hash, payload)."""
        where, args = ["1=1"], []
        if type_prefix:
            where.append("type LIKE ?")
            args.append(type_prefix.replace("%", "") + "%")
        if types is not None:  # these types only (an empty list: none)
            where.append(f"type IN ({','.join('?' * len(types))})" if types else "0")
            args.extend(types)
        if actor:
            where.append("actor = ?")
            args.append(actor)
        if start_ms is not None:
            where.append("created_at >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("created_at < ?")
            args.append(end_ms)
        return self._q(
            f"SELECT created_at, device_id, seq, type, actor, sync_status, hash, payload FROM event "
            f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()

    def local_event(self, event_id: str) -> Event | None:
        r = self._q(f"SELECT {STORED_COLUMNS} FROM event WHERE event_id = ?", (event_id,)).fetchone()
        return None if r is None else event_of_row(r)
