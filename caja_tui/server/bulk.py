"""Events copied in bulk straight into the server's tables, past ingest: only for a bench that needs a chain's
worth of history in minutes (bench/hq.py). The copies are of events already checked; nothing a client sends
ever comes this way."""

from __future__ import annotations

from typing import Any

EVENT_COLUMNS = (
    "event_id, store_id, device_id, seq, type, hlc, created_at, actor, v, prev_hash, hash, payload, received_at, sig"
)


def copy_events(storage: Any, store: str, rows: list[tuple], now_ms: int) -> None:
    """Insert `rows` (in EVENT_COLUMNS' order) of `store` in one transaction and mark its devices seen at `now_ms`."""
    with storage.database.atomic():
        storage._many(f"INSERT INTO event ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)
        storage.database.execute_sql(
            storage._sql("UPDATE device SET last_seen = ?, clock_skew_ms = 0 WHERE store_id = ?"), (now_ms, store)
        )
