"""The wire types of PROTOCOL.md, shared by the sync client and the server: one definition of every shape.

Bodies are JSON or msgpack with the same schema. The OpenAPI document is generated from these Structs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

MAX_BATCH = 1000
MAX_BODY = 8 * 1024 * 1024  # decoded bytes
MAX_PULL = 1000
DEFAULT_PULL = 500
MSGPACK = "application/msgpack"
JSON = "application/json"

# PROTOCOL.md "Trust": the envelope's bounds live in its type. Strings hold no NUL (PostgreSQL refuses it) and are
# bounded; integers fit in 63 bits; an hlc's wall part is not before 2020 (no till sells in the past).
MIN_WALL_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
MAX_INT = 2**63 - 1
MAX_EVENT_BYTES = 64 * 1024  # one event, encoded
# What msgspec raises for bytes that are not a body of these types: a wrong shape or value (DecodeError and its
# ValidationError), a string that is not UTF-8 (UnicodeDecodeError) and nesting too deep (RecursionError). Whoever
# decodes what another machine sent catches all three: an answer or a request, never a crash or a 500.
NOT_DECODED = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
NoNul = r"^[^\x00]*$"
Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=NoNul)]
TypeTag = Annotated[str, Meta(min_length=3, max_length=64, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")]
Hex64 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Status = Literal["accepted", "duplicate", "conflict", "rejected"]
Resolution = Literal["last-write-wins", "merge", "manual"]
RejectCode = Literal[
    "INVALID",
    "UNKNOWN_TYPE",
    "ID_REUSED",
    "SEQ_REUSED",
    "BAD_HASH",
    "BROKEN_CHAIN",
    "CLOCK_SKEW",
    "BAD_SIG",
    "NOT_ALLOWED",
]
Sig = Annotated[str, Meta(pattern="^[0-9a-f]{128}$")]


class WireEvent(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One event on the wire; `payload` is validated against the domain Struct of its `type`."""

    event_id: Id
    type: TypeTag
    store_id: Id
    device_id: Id
    seq: Annotated[int, Meta(ge=1, le=2**62)]
    hlc: Annotated[int, Meta(ge=MIN_WALL_MS << 16, le=MAX_INT)]
    created_at: Annotated[int, Meta(ge=0, le=2**62)]
    actor: Annotated[str, Meta(max_length=64, pattern=NoNul)]
    v: Annotated[int, Meta(ge=1, le=1000)]
    prev_hash: Hex64
    hash: Hex64
    payload: dict[str, Any]
    sig: Sig | None = None  # version 2: the Ed25519 signature of bytes.fromhex(hash); not part of canonical(e)


class PushRequest(Struct, kw_only=True):
    events: Annotated[list[WireEvent], Meta(min_length=1, max_length=MAX_BATCH)]


class Result(Struct, kw_only=True, omit_defaults=True):
    event_id: str
    status: Status
    code: RejectCode | None = None
    message: str | None = None
    conflict_with: str | None = None
    resolution: Resolution | None = None


class PushResponse(Struct, kw_only=True):
    results: list[Result]
    server_time_ms: int


class PullResponse(Struct, kw_only=True):
    events: list[WireEvent]
    cursor: int
    more: bool
    server_time_ms: int


class Health(Struct, kw_only=True):
    status: Literal["ok"]
    version: str
    server_time_ms: int


class DeviceMe(Struct, kw_only=True):
    store_id: str
    device_id: str
    last_seq: int
    last_hash: str
    server_time_ms: int


class ErrorBody(Struct, kw_only=True):
    error: str
    message: str
    server_time_ms: int


class KeyRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    """`PUT /v1/devices/me/key`: the device's public key, and the first seq it signs."""

    public_key: Hex64
    from_seq: Annotated[int, Meta(ge=1, le=2**62)]


class KeyResponse(Struct, kw_only=True):
    public_key: str
    from_seq: int
    server_time_ms: int


class DeviceKeyInfo(Struct, kw_only=True):
    """One device of the store, as `GET /v1/devices` lists it: what a till or peer needs to verify its events."""

    device_id: str
    public_key: str | None
    from_seq: int | None
    revoked_at: int | None


class DevicesResponse(Struct, kw_only=True):
    devices: list[DeviceKeyInfo]
    server_time_ms: int
