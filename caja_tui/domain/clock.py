"""Hybrid logical clock: `(wall_ms << 16) | counter`.

It never goes backwards, even when the wall clock does (a Raspberry Pi without an RTC boots in 1970 or
at its last saved time until NTP answers). It only moves forward: to the wall clock when that is ahead,
else by one tick of the counter; the counter overflowing carries into the millisecond part.

A timestamp from elsewhere (a pulled event, a peer, the server's time) moves it at most MAX_FUTURE_MS
ahead of this till's own wall clock (PROTOCOL.md "Trust", Clocks): one device with a wrong clock, or a
hostile answer, can never drag every till of a shop into the future (or to 2^63 and an overflow).
"""

from __future__ import annotations

import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
MAX_FUTURE_MS = 5 * 60 * 1000


def pack(wall_ms: int, counter: int = 0) -> int:
    return (wall_ms << COUNTER_BITS) | counter


def wall_of(hlc: int) -> int:
    return hlc >> COUNTER_BITS


def counter_of(hlc: int) -> int:
    return hlc & COUNTER_MASK


def system_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """Not thread-safe by itself: the store calls it inside its write transaction."""

    def __init__(self, wall: Callable[[], int] = system_ms, last: int = 0) -> None:
        self._wall = wall
        self.last = last

    def tick(self) -> int:
        """A timestamp for a new local event, greater than every one given or observed before."""
        candidate = pack(self._wall())
        self.last = candidate if candidate > self.last else self.last + 1
        return self.last

    def observe(self, remote: int) -> bool:
        """Take in a timestamp from elsewhere (a pulled event, the server's time) so later ticks exceed it, but
        never more than MAX_FUTURE_MS ahead of the own wall clock. Returns False when it had to be bounded."""
        bound = pack(self._wall() + MAX_FUTURE_MS, COUNTER_MASK)
        within = remote <= bound
        if not within:
            remote = bound
        if remote > self.last:
            self.last = remote
        return within

    def follow(self, own: int) -> None:
        """Take in this device's own last timestamp (from its chain): unbounded, so that its own events stay
        in order even when the wall clock jumped back."""
        if own > self.last:
            self.last = own
