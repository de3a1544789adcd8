"""The receipt print queue (the `print_job` table): what host/printing.py prints, and what it answered.

Each change is its own short write transaction, taken after the sale has committed: a printer never holds
the lock a checkout waits for.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager


class PrintQueue:
    """Mixed into SqliteStore, which provides `_conn`, `write()` and `wall()`."""

    _conn: sqlite3.Connection
    wall: Callable[[], int]
    write: Callable[[], AbstractContextManager[None]]

    def add_print_job(self, text: str, *, sale_id: str | None = None, drawer: bool = False) -> int:
        """Queue a receipt; returns the job's id."""
        with self.write():
            cur = self._conn.execute(
                "INSERT INTO print_job (sale_id, text, drawer, created_at) VALUES (?, ?, ?, ?)",
                (sale_id, text, int(drawer), self.wall()),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]  # set after an INSERT

    def queued_print_jobs(self) -> list[tuple[int, str | None, int, str | None, int]]:
        """(id, sale_id, attempts, last_error, created_at) of the jobs still waiting, oldest first."""
        return self._conn.execute(
            "SELECT id, sale_id, attempts, last_error, created_at FROM print_job WHERE status = 'queued' ORDER BY id"
        ).fetchall()

    def print_jobs_to_send(self, limit: int) -> list[tuple[int, str, int]]:
        """(id, text, drawer) of the oldest `limit` jobs still waiting."""
        return self._conn.execute(
            "SELECT id, text, drawer FROM print_job WHERE status = 'queued' ORDER BY id LIMIT ?", (limit,)
        ).fetchall()

    def mark_print_job_printed(self, job_id: int, printed_at: int) -> None:
        with self.write():
            self._conn.execute(
                "UPDATE print_job SET status = 'printed', printed_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ?",
                (printed_at, job_id),
            )

    def mark_print_jobs_failed(self, job_ids: list[int], error: str) -> None:
        """One more attempt that failed, and why (kept short)."""
        with self.write():
            self._conn.executemany(
                "UPDATE print_job SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error[:300], j) for j in job_ids],
            )
