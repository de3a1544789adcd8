"""A msgpack pull's page, and the next page of a long pull made ready while the till reads this one.

A till catching up a history asks for page after page, each from the cursor of the one before, and reads each
(inflates and decodes it) before it asks for the next: alone, the server and the till would take turns. So once a
page with `more` is answered, a thread of the worker's own reads and deflates the next one, and the till's next
request takes it (or waits for it to finish). The answer is the one the request would get made then: a page with
`more` holds only events at or below the highest `server_seq` visible when it was read, writers commit in
`server_seq` order and nothing is ever taken out of the event table, so no later read can answer otherwise; only
`server_time_ms`, the body's last entry, is written when the answer goes. A page without `more` (the last of
the pull) is answered only while the store's highest `server_seq` is still its cursor, and none without events
is kept. A page not asked for in time, or once KEEP newer ones wait, is dropped; one not begun when asked for
(the thread busy with other tills' pages) is made by the request itself, as without this. Pages are made ahead
only for a connection that stays open (a proxy's new connection may reach another worker), and not for a device
whose page made here was asked for elsewhere within KEEP_S.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec

GZIP_LEVEL = 1  # as every other answer (http.respond)
KEEP = 16  # pages made or being made ahead, per worker (one per till catching up at once); the oldest goes first
KEEP_S = 60.0  # a page not asked for within this is dropped
KEEP_BYTES = 4 * 1024 * 1024  # a bigger page is not kept (events near their 64 KiB bound): made when asked
WAIT_S = 30.0  # a request waits this long for a page being made, then makes it itself

Key = tuple[str, str, bool, int, int, bool]  # store, device, include_own, after, limit, gzip


class Page:
    """The msgpack answer of a pull without its last three entries (`cursor`, `more`, `server_time_ms`): the map's
    header and its `events`, already deflated (gzip, level 1) when `zipped` and at least `min_zip` bytes."""

    def __init__(self, events: list[msgspec.Raw], cursor: int, more: bool, *, zipped: bool, min_zip: int) -> None:
        self.n, self.cursor, self.more = len(events), cursor, more
        # msgspec writes a dict's entries in order, each as its key then its value: the map of four entries is this
        # head (a map of one, its header byte made that of four) followed by the other three (`_tail`)
        one = msgspec.msgpack.encode({"events": events})
        self.min_zip = min_zip
        self._deflater: Any = None
        self._deflated = self.head = b""
        if zipped and len(one) >= min_zip:  # kept deflated only
            self._deflater = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            self._deflated = self._deflater.compress(b"\x84") + self._deflater.compress(memoryview(one)[1:])
        else:
            self.head = b"\x84" + memoryview(one)[1:]

    @property
    def size(self) -> int:
        return len(self.head) + len(self._deflated)

    def answer(self, server_time_ms: int, zipped: bool) -> tuple[bytes, bool]:
        """The whole body and whether it is gzip: the same body, and compressed on the same rule, as
        `http.respond` gives for `{"events", "cursor", "more", "server_time_ms"}`. Once only."""
        tail = msgspec.msgpack.encode({"cursor": self.cursor, "more": self.more, "server_time_ms": server_time_ms})[1:]
        if self._deflater is not None:
            deflater, self._deflater = self._deflater, None
            return self._deflated + deflater.compress(tail) + deflater.flush(), True
        body = self.head + tail
        if zipped and len(body) >= self.min_zip:
            deflater = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            return deflater.compress(body) + deflater.flush(), True
        return body, False


class Ahead:
    """The pages being made ready in one worker process: at most KEEP, each for KEEP_S, on one thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # made at first use: after gunicorn forked the worker
        self._waiting: OrderedDict[Key, tuple[float, Future]] = OrderedDict()
        self._missed: dict[tuple, float] = {}  # (store, device) -> until when its pages are not made ahead here

    def prepare(self, key: Key, make: Callable[[], Page]) -> None:
        """Start making the page of `key` on the worker's thread, unless it is already waiting, or a page made
        here for the same device was not asked for here within KEEP_S (its requests reach other workers too)."""
        now, device = time.monotonic(), key[:2]
        with self._lock:
            if key in self._waiting:
                return
            stale = [k for k, (until, _) in self._waiting.items() if until < now or k[:2] == device]
            for k in stale:
                self._waiting.pop(k)[1].cancel()
                if k[:2] == device:
                    self._missed[device] = now + KEEP_S
            for d in [d for d, until in self._missed.items() if until < now]:
                del self._missed[d]
            if device in self._missed:
                return
            while len(self._waiting) >= KEEP:
                self._waiting.popitem(last=False)[1][1].cancel()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="caja-pull-ahead")
            self._waiting[key] = (now + KEEP_S, self._pool.submit(_kept, make))

    def take(self, key: Key) -> Page | None:
        """The page of `key` made ahead (waiting for it if it is being made), or None: then the caller makes it.
        A page without `more` is the answer only while no event came after its cursor (the caller checks)."""
        with self._lock:
            item = self._waiting.pop(key, None)
        if item is None:
            return None
        until, future = item
        if until < time.monotonic() or future.cancel():  # not begun (other pages before it): made now, sooner
            return None
        try:
            page = future.result(timeout=WAIT_S)
        except Exception:  # noqa: BLE001 - cancelled, timed out or failed: the request makes it, and says what fails
            return None
        return page


def _kept(make: Callable[[], Page]) -> Page | None:
    page = make()
    return page if page.n and page.size <= KEEP_BYTES else None
