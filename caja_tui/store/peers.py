"""What the till's store holds for its peers on the LAN (PROTOCOL.md "Peers on the shop's LAN", "Relay").

- `heads`: the highest seq this till holds of each device of the store (the events it serves), found through
  the `(device_id, seq)` index one device at a time: cheap at a million events, asked every second or so.
- `events_after`: one device's events after a seq, in seq order, as wire data (payload as stored).
- The relay queue: events taken from a peer are stored with `sync_status = 'relay'`; whichever till reaches
  the server pushes them (the server answers `duplicate` for those another till relayed first).
- Paired keys: the keys of tills paired on the sync screen, for a shop that never reached the server.

This till's refused (and reverted) events are never served: they are not the store's.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from ..protocol.rows import wire_of_row

NOT_SERVED = "('failed', 'reverted')"
_DEVICES = (
    "WITH RECURSIVE d(id) AS (SELECT MIN(device_id) FROM event UNION ALL "
    "SELECT (SELECT MIN(device_id) FROM event WHERE device_id > d.id) FROM d WHERE d.id IS NOT NULL) "
    "SELECT id FROM d WHERE id IS NOT NULL"
)
_WIRE = "id, event_id, type, store_id, device_id, seq, hlc, created_at, actor, v, prev_hash, hash, payload, sig"


def heads(store: Any) -> dict[str, tuple[int, str]]:
    """device_id -> (highest seq served, its hash)."""
    conn = store._conn
    out: dict[str, tuple[int, str]] = {}
    for (device,) in conn.execute(_DEVICES).fetchall():
        row = conn.execute(
            f"SELECT seq, hash FROM event WHERE device_id = ? AND sync_status NOT IN {NOT_SERVED} "
            "ORDER BY seq DESC LIMIT 1",
            (device,),
        ).fetchone()
        if row is not None:
            out[device] = (row[0], row[1])
    return out


def events_after(store: Any, device_id: str, after_seq: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` events of `device_id` after `after_seq`, in seq order, and whether more follow."""
    rows = store._conn.execute(
        f"SELECT {_WIRE} FROM event WHERE device_id = ? AND seq > ? AND sync_status NOT IN {NOT_SERVED} "
        "ORDER BY seq LIMIT ?",
        (device_id, after_seq, limit + 1),
    ).fetchall()
    return [wire_of_row(r, msgspec.Raw(r[12].encode()), r[13]) for r in rows[:limit]], len(rows) > limit


def relay_batch(store: Any, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """Events taken from peers that no till has pushed to the server yet: (rowid, wire data)."""
    rows = store._conn.execute(
        f"SELECT {_WIRE} FROM event WHERE sync_status = 'relay' ORDER BY id LIMIT ?", (limit,)
    ).fetchall()
    return [(r[0], wire_of_row(r, msgspec.Raw(r[12].encode()), r[13])) for r in rows]


def mark_relayed(store: Any, done: list[tuple[int, str | None]]) -> None:
    """(rowid, refusal or None): relayed events are the server's now (a refusal is kept, for the record: the
    origin till hears of it from its own push)."""
    with store.write():
        store._conn.executemany(
            "UPDATE event SET sync_status = 'synced', sync_error = ? WHERE id = ? AND sync_status = 'relay'",
            [(error, rowid) for rowid, error in done],
        )


def count_relay(store: Any) -> int:
    return store._conn.execute("SELECT COUNT(*) FROM event WHERE sync_status = 'relay'").fetchone()[0]


def paired_keys(store: Any) -> dict[str, tuple[str, int]]:
    """device_id -> (public key, first signed seq) of the tills paired with this one on the sync screen."""
    return {d: (v[0], int(v[1])) for d, v in json.loads(store.meta("paired_keys") or "{}").items()}


def paired_addresses(store: Any) -> list[str]:
    """ "host:port" of the paired tills, as they were when paired (found again by mDNS if they move)."""
    return [v[2] for v in json.loads(store.meta("paired_keys") or "{}").values() if len(v) > 2 and v[2]]


def add_paired_key(store: Any, device_id: str, public_key: str, from_seq: int, address: str = "") -> None:
    keys = json.loads(store.meta("paired_keys") or "{}")
    keys[device_id] = [public_key, from_seq, address]
    store.set_meta("paired_keys", json.dumps(keys, sort_keys=True))


def peer_keys(store: Any) -> dict[str, str]:
    """The public keys a peer request may be signed with: the store's devices not revoked, and paired tills."""
    devices = json.loads(store.meta("devices") or "[]")
    keys = {d: k for d, (k, _f) in paired_keys(store).items()}
    for d in devices:
        if d.get("public_key"):
            if d.get("revoked_at"):
                keys.pop(d["device_id"], None)
            else:
                keys[d["device_id"]] = d["public_key"]
    return keys
