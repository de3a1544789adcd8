"""A request to the server on a thread of its own, so the engine that waits for it can stop waiting.

requests cannot interrupt a read blocked in another thread, and a process stopping (a till quitting, SIGTERM to
`caja sync`) must never wait for an answer that does not come: the engine waits in POLL_S steps, stops waiting
when it is told to stop (Stopped), and says `no answer` once a request has waited NO_ANSWER_S.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .transport import TransportError

if TYPE_CHECKING:
    from .engine import SyncEngine

POLL_S = 0.25
NO_ANSWER_S = 3.0  # a request unanswered this long: the prompt says the server is not answering


class Stopped(Exception):
    """The engine was asked to stop while it waited for the server."""


class Call:
    """One request to the server, made on a daemon thread of its own: the engine waits for it, and stops waiting
    when it is told to stop. A process that quits never waits for an answer (the thread dies with it)."""

    def __init__(self, engine: SyncEngine, fn: Callable[..., Any], *args: Any) -> None:
        self.started = time.monotonic()
        self._engine, self._done = engine, threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        engine._in_flight.add(self)
        threading.Thread(target=self._run, args=(fn, args), name="sync-call", daemon=True).start()

    def _run(self, fn: Callable[..., Any], args: tuple) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - raised again in the thread that waits for it
            self._error = exc
        finally:
            self._engine._in_flight.discard(self)
            self._done.set()

    def result(self) -> Any:
        engine = self._engine
        while not self._done.wait(POLL_S):
            if engine.stopping:
                raise Stopped
            if time.monotonic() - self.started >= NO_ANSWER_S and engine.metrics.connectivity != "no answer":
                engine._set_connectivity("no answer")  # true now, and saved for the screens and `caja status`
                engine.refresh_metrics(recount=False)
        error = self._error
        if engine.metrics.connectivity == "no answer" and not (
            isinstance(error, TransportError) and error.status is None
        ):
            engine._set_connectivity("online")  # it answered after all (a network error is `offline`: _failed)
        if error is not None:
            raise error
        return self._value

    def settle(self) -> None:
        """Wait for the answer (until the engine stops), whatever it is."""
        with contextlib.suppress(Exception):
            self.result()
