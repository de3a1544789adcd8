"""The projector thread of a server worker: it folds every store's new events into the owner's read models
after pushes, giving way to them: it starts once pushes to this worker have paused for QUIET_S (or MAX_WAIT_S
after the first unfolded push, whichever first), and while pushes keep coming it rests after each batch as long
as the batch took, so a burst of pushes keeps most of the CPU and SQLite's write lock.

On PostgreSQL one worker's projector folds at a time (a session advisory lock; the others wait their turn, then
find little left): two folding the same batches at once only had the second find them folded, its work lost.
Between batches it keeps the read models' planner statistics fresh (storage.keep_stats): on a fresh database
the planner, knowing no rows, read a store's every `hq_sale` row for each batch's lookup of its sales.

It starts at the first push, in the worker (never at import or before gunicorn forks), and is a daemon: what a
stopping worker leaves is folded by the next catch-up (another push, a page load, `caja serve rebuild`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .projector import catch_up_all

QUIET_S = 1.0
MAX_WAIT_S = 30.0
log = logging.getLogger("caja.server.hq")
HQ_LOCK = 0x6361_6A61_0000_0002  # "caja" 2: held by the worker whose projector is folding (PostgreSQL)
# the read models the fold looks up or upserts into, whose statistics are kept fresh while it folds (all columns)
HQ_STATS: dict[str, tuple[str, ...]] = {
    t: () for t in ("hq_sale", "hq_stock_move", "hq_product", "hq_product_day", "hq_method_day", "hq_sales_hour")
}


class Projecting:
    def __init__(self, storage: Callable[[], Any], quiet_s: float = QUIET_S, max_wait_s: float = MAX_WAIT_S) -> None:
        self._storage = storage
        self._quiet, self._max_wait = quiet_s, max_wait_s
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_push = 0.0

    def wake(self) -> None:
        self._last_push = time.monotonic()
        self._wake.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="hq-projector", daemon=True)
                    self._thread.start()

    def _busy(self) -> bool:
        return time.monotonic() - self._last_push < self._quiet

    def _give_way(self, spent: float) -> None:
        if self._busy():
            time.sleep(spent)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            first = time.monotonic()
            while self._busy() and time.monotonic() - first < self._max_wait:
                time.sleep(self._quiet / 4)
            self._wake.clear()  # pushes from here on wake the next round
            try:
                self._round(self._storage())
            except Exception as exc:  # noqa: BLE001 - a failed fold is retried at the next push or page
                log.warning("the owner's read models could not catch up: %s: %s", exc.__class__.__name__, exc)

    def _round(self, storage: Any) -> None:
        """Catch every store up, one worker's projector at a time on PostgreSQL (a second one folding the same
        batches at once only finds them folded: its work is lost), keeping the read models' statistics fresh."""
        pg = getattr(storage, "is_pg", False)
        if pg:
            storage.database.execute_sql("SELECT pg_advisory_lock(%s)", (HQ_LOCK,))
        try:
            self._keep(storage)

            def between(spent: float) -> None:
                self._keep(storage)
                self._give_way(spent)

            catch_up_all(storage, pause=between)
        finally:
            if pg:
                storage.database.execute_sql("SELECT pg_advisory_unlock(%s)", (HQ_LOCK,))

    @staticmethod
    def _keep(storage: Any) -> None:
        keep = getattr(storage, "keep_stats", None)
        if keep is not None:
            keep(HQ_STATS)
