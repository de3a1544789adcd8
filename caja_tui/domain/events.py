"""The event envelope, the registry of every payload type, and decoding (with upcasting).

The payload Structs live in `domain/payloads/`, one module a family (products, stock, sales, cash, users,
customers, conflicts; `base.py` holds their bounds and constrained types). This module loads every family, so
importing any name from here, as the code base does (`from caja_tui.domain.events import SaleCreated`), finds
it registered. Each payload type has a fixed tag (the envelope's `type`, e.g. "sale.created"), a sync priority
and a payload version. Tags are written once, in `@event_type(...)`, and never derived from class names:
renaming a class or moving it to another module must not change stored data. Old payload versions are upcast
on read by the functions in `UPCASTERS`; stored events are never rewritten (their hash covers them).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

# every family: importing its module registers its tags
from .payloads.base import (
    ADJUST_REASONS,
    MAX_LINES,
    MAX_PRICE,
    MAX_QTY,
    MAX_TEXT,
    PAYLOAD_TYPES,
    AdjustReason,
    Changes,
    Code,
    Delta,
    Hex64,
    Id,
    Minor,
    Name,
    Payload,
    PaymentMethod,
    Price,
    Priority,
    Qty,
    RateBP,
    Role,
    Text,
    event_type,
)
from .payloads.cash import CashMoved, CashSessionClosed, CashSessionOpened
from .payloads.conflicts import ConflictResolved
from .payloads.customers import CUSTOMER_FIELDS, CustomerChanges, CustomerCreated, CustomerUpdated
from .payloads.products import (
    PRODUCT_FIELDS,
    ProductChanges,
    ProductCreated,
    ProductDeleted,
    ProductRestored,
    ProductUpdated,
)
from .payloads.sales import RefundLine, SaleCreated, SaleLine, SaleRefunded, SaleVoided, Tender, VoidLine
from .payloads.settings import SETTINGS_AGGREGATE, SETTINGS_FIELDS, ConfigUpdated, SettingsChanges
from .payloads.stock import StockAdjusted, StockCounted, StockReceived
from .payloads.users import USER_FIELDS, UserChanges, UserCreated, UserUpdated

__all__ = [
    "ADJUST_REASONS",
    "CUSTOMER_FIELDS",
    "MAX_LINES",
    "MAX_PRICE",
    "MAX_QTY",
    "MAX_TEXT",
    "PAYLOAD_TYPES",
    "PRODUCT_FIELDS",
    "SETTINGS_AGGREGATE",
    "SETTINGS_FIELDS",
    "UPCASTERS",
    "USER_FIELDS",
    "AdjustReason",
    "CashMoved",
    "CashSessionClosed",
    "CashSessionOpened",
    "Changes",
    "Code",
    "ConfigUpdated",
    "ConflictResolved",
    "CustomerChanges",
    "CustomerCreated",
    "CustomerUpdated",
    "Delta",
    "Event",
    "Hex64",
    "Id",
    "Minor",
    "Name",
    "Payload",
    "PaymentMethod",
    "Price",
    "Priority",
    "ProductChanges",
    "ProductCreated",
    "ProductDeleted",
    "ProductRestored",
    "ProductUpdated",
    "Qty",
    "RateBP",
    "RefundLine",
    "Role",
    "SaleCreated",
    "SettingsChanges",
    "SaleLine",
    "SaleRefunded",
    "SaleVoided",
    "StockAdjusted",
    "StockCounted",
    "StockReceived",
    "Tender",
    "Text",
    "UnknownEventType",
    "UserChanges",
    "UserCreated",
    "UserUpdated",
    "VoidLine",
    "decode_payload",
    "event_type",
    "priority_of",
]


class Event(Struct, frozen=True, kw_only=True):
    """One immutable fact, as stored on the till and sent on the wire (PROTOCOL.md)."""

    event_id: Id
    type: Code
    store_id: Id
    device_id: Id
    seq: Annotated[int, Meta(ge=1)]
    hlc: Annotated[int, Meta(ge=0)]
    created_at: int
    actor: Annotated[str, Meta(max_length=64)]
    v: Annotated[int, Meta(ge=1)]
    prev_hash: Hex64
    hash: Hex64
    payload: Payload

    @property
    def priority(self) -> int:
        return int(self.payload.PRIORITY)


def priority_of(type_: str) -> int:
    cls = PAYLOAD_TYPES.get(type_)
    if cls is not None:
        return int(cls.PRIORITY)
    family = type_.split(".", 1)[0]
    return int(
        {
            "sale": Priority.CRITICAL,
            "payment": Priority.CRITICAL,
            "stock": Priority.HIGH,
            "cash": Priority.HIGH,
            "product": Priority.NORMAL,
            "customer": Priority.NORMAL,
            "user": Priority.NORMAL,
        }.get(family, Priority.LOW)
    )


# --- decoding, with upcasting ---------------------------------------------------------------------

# (type, from_version) -> function turning that version's plain payload into the next version's.
UPCASTERS: dict[tuple[str, int], Any] = {}


class UnknownEventType(ValueError):
    pass


_json_decoders: dict[str, msgspec.json.Decoder] = {}


def decode_payload(type_: str, v: int, data: bytes | str | dict) -> Payload:
    """Decode a stored or received payload into its current Struct, upcasting old versions."""
    cls = PAYLOAD_TYPES.get(type_)
    if cls is None:
        raise UnknownEventType(type_)
    if v == cls.VERSION and not isinstance(data, dict):
        dec = _json_decoders.get(type_)
        if dec is None:
            dec = _json_decoders[type_] = msgspec.json.Decoder(cls)
        return dec.decode(data)
    plain = msgspec.json.decode(data) if not isinstance(data, dict) else data
    while v < cls.VERSION:
        upcast = UPCASTERS.get((type_, v))
        if upcast is None:
            raise ValueError(f"no upcaster for {type_} v{v}")
        plain, v = upcast(plain), v + 1
    if v > cls.VERSION:
        raise ValueError(f"{type_} v{v} is newer than this release understands (v{cls.VERSION})")
    return msgspec.convert(plain, cls)
