"""Device keys on the server (PROTOCOL.md "Trust"): a device registers its public key once; a push is checked
against the keys of its store's devices; `GET /v1/devices` lists them for tills and peers.

A registered key stays until an operator re-enrols the device with `--rekey`. A revoked device's key no longer
vouches for anything new: its events can no longer be pushed or relayed (they stay stored and verifiable).
"""

from __future__ import annotations

from typing import Any

from peewee import PostgresqlDatabase

from ..protocol import DeviceKeyInfo
from .models import Device, db

# columns an older database lacks, added when `caja serve` starts (SQLite and PostgreSQL alike): version 2's keys
# and signatures, then each event's pre-encoded wire form (its pull answer; NULL for the events stored before)
ADDED_COLUMNS = (
    ("device", "public_key", "VARCHAR(64)"),
    ("device", "key_from_seq", "BIGINT"),
    ("event", "sig", "VARCHAR(128)"),
    ("event", "wire", "BLOB"),
)


def add_missing_columns(database: Any) -> None:
    is_pg = isinstance(database, PostgresqlDatabase)
    for table, column, sql_type in ADDED_COLUMNS:
        if column not in {c.name for c in database.get_columns(table)}:
            sql_type = "BYTEA" if is_pg and sql_type == "BLOB" else sql_type
            database.execute_sql(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")


def register(store_id: str, device_id: str, public_key: str, from_seq: int) -> tuple[str, int]:
    """Register the device's key unless it has one; the key (and first seq) registered now or before."""
    mine = (Device.store_id == store_id) & (Device.device_id == device_id)
    with db.atomic():
        Device.update(public_key=public_key, key_from_seq=from_seq).where(mine & Device.public_key.is_null()).execute()
        row = Device.get(mine)
    return row.public_key, row.key_from_seq


def clear(store_id: str, device_id: str) -> int:
    """`caja serve enroll --rekey`: forget the device's key, so it can register a new one."""
    return (
        Device.update(public_key=None, key_from_seq=None)
        .where((Device.store_id == store_id) & (Device.device_id == device_id))
        .execute()
    )


def store_devices(store_id: str) -> list[DeviceKeyInfo]:
    with db.atomic():
        rows = list(Device.select().where(Device.store_id == store_id).order_by(Device.device_id))
    return [
        DeviceKeyInfo(device_id=d.device_id, public_key=d.public_key, from_seq=d.key_from_seq, revoked_at=d.revoked_at)
        for d in rows
    ]


def active_keys(store_id: str) -> dict[str, tuple[str, int]]:
    """The keys a push of this store is checked against: its devices with a key that are not revoked."""
    rows = Device.select(Device.device_id, Device.public_key, Device.key_from_seq).where(
        (Device.store_id == store_id) & Device.public_key.is_null(False) & Device.revoked_at.is_null()
    )
    with db.atomic():
        return {device_id: (public_key, from_seq) for device_id, public_key, from_seq in rows.tuples()}
