"""The server's tokens: one per enrolled device (bound to its store and device), and the metrics token that
reads `/metrics` from off the machine. Only their SHA-256 is stored; a token is shown once, when it is made.

Like devicekeys.py, these work on the models once `ServerStorage` has bound them to a database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from . import devicekeys
from .models import Device, MetricsToken, db

METRICS = "metrics"  # the metrics token's row: one per server, a new one replaces it


@dataclass(frozen=True)
class DeviceAuth:
    store_id: str
    device_id: str


@dataclass(frozen=True)
class Revoked:
    store_id: str
    device_id: str
    already: bool  # it was revoked before: nothing changed


class AmbiguousDevice(Exception):
    """`revoke --device D` without `--store` when D is enrolled in several stores."""

    def __init__(self, device_id: str, stores: list[str]) -> None:
        super().__init__(f"{device_id} is in stores {', '.join(stores)}: say which with --store")
        self.stores = stores


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enroll(store_id: str, device_id: str, now: int, *, rekey: bool = False) -> str:
    """A new token for (store, device); an earlier token of that device stops working. `rekey`: its
    registered key is forgotten too, so the device can register a new one."""
    token = "caja_" + secrets.token_urlsafe(32)
    digest = token_digest(token)
    with db.atomic():
        Device.insert(
            store_id=store_id, device_id=device_id, token_hash=digest, created_at=now, revoked_at=None
        ).on_conflict(
            conflict_target=[Device.store_id, Device.device_id],
            update={Device.token_hash: digest, Device.revoked_at: None, Device.created_at: now},
        ).execute()
        if rekey:
            devicekeys.clear(store_id, device_id)
    return token


def revoke(device_id: str, store_id: str | None, now: int) -> Revoked | None:
    """End the token of `device_id` (of `store_id`, or of the one store it is enrolled in); None when there is no
    such device. AmbiguousDevice, and nothing revoked, when the id is in several stores and no store was named."""
    q = Device.select(Device.store_id, Device.revoked_at).where(Device.device_id == device_id)
    if store_id:
        q = q.where(Device.store_id == store_id)
    with db.atomic():
        rows = list(q.order_by(Device.store_id))
        if len(rows) > 1:
            raise AmbiguousDevice(device_id, [r.store_id for r in rows])
        if not rows:
            return None
        row = rows[0]
        if row.revoked_at is None:
            Device.update(revoked_at=now).where(
                (Device.store_id == row.store_id) & (Device.device_id == device_id)
            ).execute()
    return Revoked(row.store_id, device_id, already=row.revoked_at is not None)


def authenticate(token: str) -> DeviceAuth | None:
    digest = token_digest(token)
    row = Device.get_or_none(Device.token_hash == digest)
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return DeviceAuth(row.store_id, row.device_id)


def enroll_metrics(now: int) -> str:
    """A new metrics token; the one before stops working."""
    token = "caja_metrics_" + secrets.token_urlsafe(32)
    digest = token_digest(token)
    with db.atomic():
        MetricsToken.insert(name=METRICS, token_hash=digest, created_at=now).on_conflict(
            conflict_target=[MetricsToken.name], update={MetricsToken.token_hash: digest, MetricsToken.created_at: now}
        ).execute()
    return token


def revoke_metrics() -> int:
    with db.atomic():
        return MetricsToken.delete().where(MetricsToken.name == METRICS).execute()


def is_metrics_token(token: str) -> bool:
    row = MetricsToken.get_or_none(MetricsToken.name == METRICS)
    return row is not None and hmac.compare_digest(row.token_hash, token_digest(token))
