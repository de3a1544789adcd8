"""UUIDv7 identifiers (RFC 9562) from the standard library.

Python 3.11 has no `uuid.uuid7`; these ten lines replace a dependency (the domain layer imports only the
standard library and msgspec). Time-ordered ids keep the event table's unique index append-friendly.
"""

from __future__ import annotations

import os
import time


def uuid7(now_ms: int | None = None) -> str:
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
