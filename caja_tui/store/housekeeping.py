"""Small reads and chores for what runs around the till (the sync process, restore, the status line,
`caja archive`): event counts, a device's last hlc and receipt number, SQLite's data_version and the WAL."""

from __future__ import annotations

import sqlite3
from typing import Literal

_UNSYNCED = "SELECT 1 FROM event WHERE sync_status IN ('pending', 'syncing')"


class Housekeeping:
    """Mixed into SqliteStore, which provides `_conn`."""

    _conn: sqlite3.Connection

    def _one(self, sql: str, params: tuple[object, ...] = ()) -> int:
        return self._conn.execute(sql, params).fetchone()[0] or 0

    def count_events(self, device_id: str | None = None) -> int:
        """Events in the event table (archived ones aside), of every device or of one."""
        if device_id is None:
            return self._one("SELECT COUNT(*) FROM event")
        return self._one("SELECT COUNT(*) FROM event WHERE device_id = ?", (device_id,))

    def count_unsynced(self, limit: int | None = None) -> int:
        """This till's events not yet on the server, pending or being sent (an index range); with `limit`,
        counting stops there."""
        if limit is None:
            return self._one(f"SELECT COUNT(*) FROM ({_UNSYNCED})")
        return self._one(f"SELECT COUNT(*) FROM ({_UNSYNCED} LIMIT ?)", (limit,))

    def count_refused(self) -> int:
        """This till's events the server refused that nobody sent again nor reverted: while there are any, the
        till differs from its store."""
        return self._one("SELECT COUNT(*) FROM event WHERE sync_status = 'failed'")

    def count_not_synced(self) -> int:
        """Events the server has not confirmed (pending, being sent, failed): what `caja archive` keeps."""
        return self._one("SELECT COUNT(*) FROM event WHERE sync_status != 'synced'")

    def newest_event_time(self) -> int:
        """created_at (ms) of the event stored last; 0 when there is none."""
        row = self._conn.execute("SELECT created_at FROM event ORDER BY id DESC LIMIT 1").fetchone()
        return row[0] if row else 0

    def last_hlc_of(self, device_id: str) -> int:
        return self._one("SELECT COALESCE(MAX(hlc), 0) FROM event WHERE device_id = ?", (device_id,))

    def last_receipt_number_of(self, device_id: str) -> int:
        """The highest receipt number of the device's sales (123 for T01-000123); 0 before its first sale."""
        return self._one(
            "SELECT COALESCE(MAX(CAST(substr(receipt_no, instr(receipt_no, '-') + 1) AS INTEGER)), 0) FROM sale "
            "WHERE device_id = ?",
            (device_id,),
        )

    def data_version(self) -> int:
        """Changes when another connection commits to the file (PRAGMA data_version): a cheap 'anything new?'."""
        return self._one("PRAGMA data_version")

    def change_mark(self) -> tuple[int, int]:
        """Changes whenever the file may have: another connection committed (data_version) or this one wrote
        (total_changes). What a cache of a read model is keyed on."""
        return self.data_version(), self._conn.total_changes

    def checkpoint_wal(self, mode: Literal["PASSIVE", "TRUNCATE"] = "PASSIVE") -> None:
        """Move the write-ahead log into the database file (TRUNCATE also empties the log file)."""
        self._conn.execute(f"PRAGMA wal_checkpoint({mode})")

    def vacuum(self) -> None:
        self._conn.execute("VACUUM")
