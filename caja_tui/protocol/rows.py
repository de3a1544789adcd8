"""An event read back from a store (the till's outbox, the server's pull) as the plain data of the wire."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def wire_of_row(r: Sequence[Any], payload: Any, sig: str | None = None) -> dict[str, Any]:
    """`r`: the store's own key of the row, then event_id, type, store_id, device_id, seq, hlc, created_at, actor,
    v, prev_hash, hash (the first eleven of check.STORED_COLUMNS); `payload` as the caller sends it; `sig` only
    on a signed event (an unsigned one goes without the key, as in version 1)."""
    wire = {
        "event_id": r[1],
        "type": r[2],
        "store_id": r[3],
        "device_id": r[4],
        "seq": r[5],
        "hlc": r[6],
        "created_at": r[7],
        "actor": r[8],
        "v": r[9],
        "prev_hash": r[10],
        "hash": r[11],
        "payload": payload,
    }
    if sig is not None:
        wire["sig"] = sig
    return wire
