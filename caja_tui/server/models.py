"""The server's tables as Peewee models: one definition for SQLite and PostgreSQL.

`db` is bound to a database by `ServerStorage` (storage.py); nothing connects at import time.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BlobField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    IntegerField,
    Model,
    TextField,
)

db = DatabaseProxy()


class Base(Model):
    class Meta:
        database = db


class Device(Base):
    store_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    token_hash = CharField(max_length=64, unique=True)
    created_at = BigIntegerField()
    revoked_at = BigIntegerField(null=True)
    last_seen = BigIntegerField(null=True)
    clock_skew_ms = BigIntegerField(null=True)
    public_key = CharField(max_length=64, null=True)  # version 2: its Ed25519 key (PUT /v1/devices/me/key)
    key_from_seq = BigIntegerField(null=True)  # the first seq it signs

    class Meta:
        table_name = "device"
        primary_key = CompositeKey("store_id", "device_id")


class Event(Base):
    """An event_id is unique within its store (the (store_id, event_id) index), not across stores: a store's
    answer about an id never depends on another store's events."""

    server_seq = BigAutoField()
    event_id = CharField(max_length=64)
    store_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    seq = BigIntegerField()
    type = CharField(max_length=64)
    hlc = BigIntegerField()
    created_at = BigIntegerField()
    actor = CharField(max_length=64)
    v = IntegerField()
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64)
    payload = TextField()
    received_at = BigIntegerField()
    sig = CharField(max_length=128, null=True)  # version 2: the device's signature of the hash
    # the event as a pull sends it (msgpack of the wire event, made once at ingest; NULL for events stored before)
    wire = BlobField(null=True)

    class Meta:
        table_name = "event"
        indexes = (
            (("store_id", "event_id"), True),
            (("store_id", "device_id", "seq"), True),
            (("store_id", "server_seq"), False),
        )


class Rejection(Base):
    """A rejected event still occupies its seq, so no gap in a device's log is permanent."""

    id = AutoField()
    event_id = CharField(max_length=64)
    store_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    seq = BigIntegerField()
    hash = CharField(max_length=64)
    code = CharField(max_length=32)
    message = TextField()
    received_at = BigIntegerField()

    class Meta:
        table_name = "rejection"
        indexes = ((("store_id", "device_id", "seq"), True), (("event_id",), False))


class FieldWrite(Base):
    """Who last wrote which field of which product or user, for concurrent-update detection."""

    id = AutoField()
    store_id = CharField(max_length=64)
    entity = CharField(max_length=80)
    field = CharField(max_length=32)
    event_id = CharField(max_length=64)
    device_id = CharField(max_length=64)
    hlc = BigIntegerField()
    base_hlc = BigIntegerField()

    class Meta:
        table_name = "field_write"
        indexes = ((("store_id", "entity", "field", "hlc"), False),)


class Deletion(Base):
    store_id = CharField(max_length=64)
    entity = CharField(max_length=80)
    event_id = CharField(max_length=64)

    class Meta:
        table_name = "deletion"
        primary_key = CompositeKey("store_id", "entity")


class Conflict(Base):
    id = AutoField()
    store_id = CharField(max_length=64)
    event_id = CharField(max_length=64)
    conflict_with = CharField(max_length=64)
    resolution = CharField(max_length=32)
    created_at = BigIntegerField()

    class Meta:
        table_name = "conflict"


class Stat(Base):
    store_id = CharField(max_length=64)
    type = CharField(max_length=64)
    status = CharField(max_length=16)
    n = BigIntegerField(default=0)

    class Meta:
        table_name = "stat"
        primary_key = CompositeKey("store_id", "type", "status")


class MetricsToken(Base):
    """The token that may read `/metrics` from off the machine (`caja serve enroll --metrics`): only its hash."""

    name = CharField(max_length=32, primary_key=True)  # "metrics": one per server, a new one replaces it
    token_hash = CharField(max_length=64)
    created_at = BigIntegerField()

    class Meta:
        table_name = "metrics_token"


class UserRight(Base):
    """The server's own view of each store's users, as far as rights go (domain/rights.py): who is a manager."""

    store_id = CharField(max_length=64)
    user_id = CharField(max_length=64)
    role = CharField(max_length=16, null=True)
    active = IntegerField(default=0)
    role_ts = CharField(max_length=96, default="")
    active_ts = CharField(max_length=96, default="")

    class Meta:
        table_name = "user_right"
        primary_key = CompositeKey("store_id", "user_id")


MODELS = (Device, Event, Rejection, FieldWrite, Deletion, Conflict, Stat, UserRight, MetricsToken)

# what an older database has and this one must not: the index that made an event_id unique across stores
DROPPED_INDEXES = ("event_event_id",)
