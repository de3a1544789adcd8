"""Hybrid logical clock: `(wall_ms << 16) | counter`.

It never goes backwards, even when the wall clock does (a Raspberry Pi without an RTC boots in 1970 or
at its last saved time until NTP answers). It only moves forward: to the wall clock when that is ahead,
else by one tick of the counter; the counter overflowing carries into the millisecond part.
"""

from __future__ import annotations

import time
from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1


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

    def observe(self, remote: int) -> None:
        """Take in a timestamp from elsewhere (a pulled event, the server's time) so later ticks exceed it."""
        if remote > self.last:
            self.last = remote
