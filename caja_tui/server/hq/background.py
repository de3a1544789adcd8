"""The projector thread of a server worker: woken after each accepted push, it waits a moment (so a burst of
pushes is folded in a few batches), then folds every store's new events into the owner's read models.

It starts at the first wake-up, in the worker (never at import or before gunicorn forks), and is a daemon: a
worker that stops leaves the rest to the next catch-up (a page load, another push, `caja serve rebuild`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .projector import catch_up_all

DEBOUNCE_S = 1.0
log = logging.getLogger("caja.server.hq")


class Projecting:
    def __init__(self, storage: Callable[[], Any], debounce_s: float = DEBOUNCE_S) -> None:
        self._storage = storage
        self._debounce = debounce_s
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="hq-projector", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._wake.wait(self._debounce)  # more pushes in this moment join the same catch-up
            self._wake.clear()
            try:
                catch_up_all(self._storage())
            except Exception as exc:  # noqa: BLE001 - a failed fold is retried at the next push or page
                log.warning("the owner's read models could not catch up: %s: %s", exc.__class__.__name__, exc)
