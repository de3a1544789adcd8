"""The wire types of PROTOCOL.md, shared by the sync client and the server: one definition of every shape.

Bodies are JSON or msgpack with the same schema. The OpenAPI document is generated from these Structs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

MAX_BATCH = 1000
MAX_BODY = 8 * 1024 * 1024  # decoded bytes
MAX_PULL = 1000
DEFAULT_PULL = 500
MSGPACK = "application/msgpack"
JSON = "application/json"

Id = Annotated[str, Meta(min_length=1, max_length=64)]
Hex64 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Status = Literal["accepted", "duplicate", "conflict", "rejected"]
Resolution = Literal["last-write-wins", "merge", "manual"]
RejectCode = Literal["INVALID", "UNKNOWN_TYPE", "ID_REUSED", "SEQ_REUSED", "BAD_HASH", "BROKEN_CHAIN", "CLOCK_SKEW"]


class WireEvent(Struct, kw_only=True, forbid_unknown_fields=True):
    """One event on the wire; `payload` is validated against the domain Struct of its `type`."""

    event_id: Id
    type: Annotated[str, Meta(min_length=1, max_length=64)]
    store_id: Id
    device_id: Id
    seq: Annotated[int, Meta(ge=1, le=2**62)]
    hlc: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    created_at: Annotated[int, Meta(ge=0, le=2**62)]
    actor: Annotated[str, Meta(max_length=64)]
    v: Annotated[int, Meta(ge=1, le=1000)]
    prev_hash: Hex64
    hash: Hex64
    payload: dict[str, Any]


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
