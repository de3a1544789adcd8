"""What every event payload is made of: the bounds and constrained types of its fields, the sync priorities,
the `Payload` base class and the `event_type` decorator that gives each payload its fixed tag."""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, ClassVar, Literal

from msgspec import UNSET, Meta, Struct

MAX_PRICE = 9_999_999_999  # minor units of one item
MAX_QTY = 100_000  # items on one line
MAX_LINES = 500  # lines in one sale
MAX_TEXT = 200

Minor = Annotated[int, Meta(ge=0, le=MAX_PRICE * MAX_QTY)]
Price = Annotated[int, Meta(ge=0, le=MAX_PRICE)]
Qty = Annotated[int, Meta(ge=1, le=MAX_QTY)]
Delta = Annotated[int, Meta(ge=-MAX_QTY * 100, le=MAX_QTY * 100)]
RateBP = Annotated[int, Meta(ge=0, le=10_000)]
Id = Annotated[str, Meta(min_length=1, max_length=64)]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Name = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT)]
Code = Annotated[str, Meta(min_length=1, max_length=64)]
Hex64 = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
PaymentMethod = Literal["cash", "card", "other"]
Role = Literal["cashier", "manager"]
AdjustReason = Literal["damaged", "lost", "theft", "expired", "supplier_return", "found", "correction", "other"]
ADJUST_REASONS: tuple[str, ...] = AdjustReason.__args__  # type: ignore[attr-defined]


class Priority(IntEnum):
    CRITICAL = 100
    HIGH = 50
    NORMAL = 25
    LOW = 10


class Payload(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    TYPE: ClassVar[str]
    PRIORITY: ClassVar[Priority]
    VERSION: ClassVar[int] = 1

    def aggregate(self) -> str:
        """The aggregate this event belongs to; events of one aggregate sync in seq order."""
        raise NotImplementedError


PAYLOAD_TYPES: dict[str, type[Payload]] = {}


def event_type(tag: str, priority: Priority, version: int = 1):
    def register(cls: type[Payload]) -> type[Payload]:
        if tag in PAYLOAD_TYPES:
            raise ValueError(f"event type {tag!r} registered twice")
        cls.TYPE, cls.PRIORITY, cls.VERSION = tag, priority, version
        PAYLOAD_TYPES[tag] = cls
        return cls

    return register


class Changes(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The fields an update changes; unchanged fields are UNSET and absent on the wire."""

    def fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}
