"""Moving the write-ahead log into the database file, away from the sale.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold (1,000 pages): that sale then
waits for the log's and the database's fsyncs and for the copy, 3 syncs where a sale needs 1, on an SD card
40-150 ms (issue 14: pi_checkout_p99_ms). So the till's connections never checkpoint (`wal_autocheckpoint` 0),
and one thread of the process does it on a connection of its own once the database has been quiet for IDLE_S
(between customers), or at once when the log has grown past BIG_WAL_BYTES (a long import, a busy hour), still
beside the sale, never inside it. PASSIVE: it never waits for a lock and never blocks a writer; what it could not
copy is copied next time. The sync process checkpoints too, after each pulled page (sync/engine.py).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path

IDLE_S = 1.0
BIG_WAL_BYTES = 16 * 1024 * 1024


class Checkpointer:
    def __init__(self, path: Path, idle_s: float = IDLE_S, big: int = BIG_WAL_BYTES) -> None:
        self.path, self.wal = path, Path(f"{path}-wal")
        self.idle_s, self.big = idle_s, big
        self._wake = threading.Event()
        self._stop = threading.Event()  # close(): the thread leaves at once, never after a sleep
        self._last = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.done = 0  # checkpoints run (for the tests and the bench)

    def wrote(self) -> None:
        """A durable commit was made: checkpoint once the database is quiet."""
        self._last = time.monotonic()
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(target=self._run, name="caja-checkpoint", daemon=True)
                    self._thread.start()
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _quiet_or_big(self) -> bool:
        """Wait until nothing was committed for idle_s, or the log is big; False when stopped meanwhile."""
        while not self._stop.is_set():
            left = self._last + self.idle_s - time.monotonic()
            if left <= 0 or self._wal_bytes() >= self.big:
                return True
            self._stop.wait(min(left, 0.25))
        return False

    def _wal_bytes(self) -> int:
        try:
            return os.stat(self.wal).st_size
        except OSError:
            return 0

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if not self._quiet_or_big():
                    return
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    self.done += 1
                except sqlite3.Error:  # busy, a file gone (a test's): tried again after the next write
                    pass
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
