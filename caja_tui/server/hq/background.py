"""The projector thread of a server worker: it folds every store's new events into the owner's read models
after pushes, giving way to them: it starts once pushes to this worker have paused for QUIET_S (or MAX_WAIT_S
after the first unfolded push, whichever first), and while pushes keep coming it rests after each batch as long
as the batch took, so a burst of pushes keeps most of the CPU and SQLite's write lock.

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
                catch_up_all(self._storage(), pause=self._give_way)
            except Exception as exc:  # noqa: BLE001 - a failed fold is retried at the next push or page
                log.warning("the owner's read models could not catch up: %s: %s", exc.__class__.__name__, exc)
