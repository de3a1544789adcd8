"""The server as a device of each store ("HQ"): how an owner's edit becomes an event the tills pull.

An owner's change (a product's price or name, a store's settings) is an event of the device `HQ` of that store,
with its own seq, hash chain and Ed25519 signature, made here and stored through the same check and ingest
rules as a till's push (protocol/check.py, ingest.py): the tills pull it, check it against HQ's key (listed by
`GET /v1/devices` like any device's) and settle it by the same conflict rules as a manager's edit on a till.

The key is one file, 0600, made by `caja serve` before its workers start (`<db>.hq.key` beside a SQLite
database, `$XDG_DATA_HOME/caja/hq.key` for PostgreSQL, or `--hq-key`); the same key signs for every store.
Servers sharing one PostgreSQL database share the file. No token is ever given to HQ: it pushes nothing over
HTTP, and nobody can push as it (its token's hash is of a secret thrown away).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from ...config import HQ_DEVICE, data_dir, is_postgres, sqlite_file
from ...domain.chain import GENESIS, canonical_payload, event_hash
from ...domain.clock import pack
from ...domain.events import Payload
from ...domain.ids import uuid7
from ...protocol import Result
from ...protocol.check import check_events
from ...protocol.keys import DeviceKey
from ..models import Device
from ..tokens import DeviceAuth, token_digest

HQ = HQ_DEVICE


class HqKeyError(Exception):
    """The HQ key cannot sign for this store (another server's key is registered for it)."""


def default_key_path(db: str) -> Path:
    """Beside a SQLite database; in the data folder for a PostgreSQL one."""
    if is_postgres(db):
        return data_dir() / "hq.key"
    return Path(sqlite_file(db) + ".hq.key")


def load_key(path: Path) -> DeviceKey:
    return DeviceKey.load_or_create(path)


def _ensure_device(storage: Any, store_id: str, key: DeviceKey, now: int) -> None:
    row = Device.get_or_none((Device.store_id == store_id) & (Device.device_id == HQ))
    if row is None:
        Device.insert(
            store_id=store_id,
            device_id=HQ,
            token_hash=token_digest(secrets.token_urlsafe(32)),  # a token nobody holds
            created_at=now,
            public_key=key.public_hex,
            key_from_seq=1,
        ).execute()
    elif row.public_key != key.public_hex:
        raise HqKeyError(
            f"store {store_id} knows another HQ key than this server's: servers sharing a database must share "
            "their HQ key file (copy it from the first server); if the key is lost, `caja serve hq-rekey` makes "
            "the stores take this one"
        )


def _head(storage: Any, store_id: str) -> tuple[int, str, int]:
    """HQ's last seq in the store (stored or refused), its hash and the highest hlc HQ wrote there."""
    seq, hash_ = 0, GENESIS
    for table in ("event", "rejection"):
        got = storage._rows(
            f"SELECT seq, hash FROM {table} WHERE store_id = ? AND device_id = ? ORDER BY seq DESC LIMIT 1",
            (store_id, HQ),
        )
        if got and got[0][0] > seq:
            seq, hash_ = got[0]
    top = storage._rows("SELECT MAX(hlc) FROM event WHERE store_id = ? AND device_id = ?", (store_id, HQ))
    return seq, hash_, top[0][0] or 0


def emit(
    storage: Any, key: DeviceKey, store_id: str, actor: str, payloads: Sequence[Payload], *, after: int = 0
) -> list[Result]:
    """Store the payloads as HQ's next events in `store_id`, signed; one Result each (accepted, conflict or
    rejected, as a push gets). Serialised per store with the store's ingest lock, so two workers never take
    the same seq. `after`: an hlc the events must come after (the newest write the server holds of what they
    change, beyond the version the owner saw, `base_hlc`)."""
    from ..storage import now_ms

    db = storage.database
    with db.atomic(*(() if storage.is_pg else ("IMMEDIATE",))):
        storage._lock_store(store_id)
        now = now_ms()
        _ensure_device(storage, store_id, key, now)
        seq, prev, last_hlc = _head(storage, store_id)
        events = []
        for p in payloads:
            seq += 1
            # after everything HQ wrote and after the version the owner saw: the edit is newer than both
            hlc = max(pack(now), last_hlc + 1, getattr(p, "base_hlc", 0) + 1, after + 1)
            last_hlc = hlc
            payload_json = canonical_payload(p)
            e: dict[str, Any] = {
                "event_id": uuid7(now),
                "type": p.TYPE,
                "store_id": store_id,
                "device_id": HQ,
                "seq": seq,
                "hlc": hlc,
                "created_at": now,
                "actor": actor,
                "v": p.VERSION,
                "prev_hash": prev,
                "payload": msgspec.json.decode(payload_json),
            }
            e["hash"] = event_hash(
                e["event_id"], e["type"], store_id, HQ, seq, hlc, now, actor, e["v"], prev, payload_json
            )
            e["sig"] = key.sign(e["hash"])
            prev = e["hash"]
            events.append(e)
        checked = check_events(events, now_ms=now, store_id=store_id, keys={HQ: (key.public_hex, 1)})
        return storage.ingest(DeviceAuth(store_id, HQ), checked)


def rekey(storage: Any, key: DeviceKey) -> list[str]:
    """Every store's HQ device takes `key` from its next seq on (a lost or replaced key file); the stores."""
    done = []
    with storage.database.atomic():
        for (store_id,) in storage._rows("SELECT store_id FROM device WHERE device_id = ?", (HQ,)):
            seq, _, _ = _head(storage, store_id)
            Device.update(public_key=key.public_hex, key_from_seq=seq + 1).where(
                (Device.store_id == store_id) & (Device.device_id == HQ)
            ).execute()
            done.append(store_id)
    return done


def other_key(storage: Any, key: DeviceKey) -> list[str]:
    """The stores whose HQ device has another key than `key` (what `caja serve` warns about at start)."""
    return [
        s
        for (s,) in storage._rows(
            "SELECT store_id FROM device WHERE device_id = ? AND public_key <> ?", (HQ, key.public_hex)
        )
    ]
