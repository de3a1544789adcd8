"""The `cash.*` payloads (sync priority HIGH): a session opened, money moved in or out, a session closed (Z)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from .base import MAX_PRICE, MAX_QTY, Id, Minor, Payload, Priority, Text, event_type


@event_type("cash.session_opened", Priority.HIGH)
class CashSessionOpened(Payload, frozen=True, kw_only=True):
    session_id: Id
    opening_float: Minor

    def aggregate(self) -> str:
        return f"cash:{self.session_id}"


@event_type("cash.moved", Priority.HIGH)
class CashMoved(Payload, frozen=True, kw_only=True):
    session_id: Id
    movement_id: Id
    kind: Literal["in", "out"]
    amount: Annotated[int, Meta(ge=1, le=MAX_PRICE)]
    reason: Text = ""

    def aggregate(self) -> str:
        return f"cash:{self.session_id}"


@event_type("cash.session_closed", Priority.HIGH)
class CashSessionClosed(Payload, frozen=True, kw_only=True):
    session_id: Id
    counted: Minor
    expected: Annotated[int, Meta(ge=-MAX_PRICE * MAX_QTY, le=MAX_PRICE * MAX_QTY)]
    difference: Annotated[int, Meta(ge=-MAX_PRICE * MAX_QTY * 2, le=MAX_PRICE * MAX_QTY * 2)]
    # face value in minor units -> count
    denominations: Annotated[
        dict[Annotated[str, Meta(pattern="^[0-9]{1,12}$")], Annotated[int, Meta(ge=0, le=10**9)]], Meta(max_length=64)
    ] = {}
    z_number: Annotated[int, Meta(ge=0)] = 0  # sequential per device, never reset (0: closed before Z numbers)
    net_sales: Annotated[int, Meta(ge=-MAX_PRICE * MAX_QTY * 1000, le=MAX_PRICE * MAX_QTY * 1000)] = 0
    grand_total: Annotated[int, Meta(ge=-(2**62), le=2**62)] = 0  # perpetual: every Z's net sales so far

    def aggregate(self) -> str:
        return f"cash:{self.session_id}"
