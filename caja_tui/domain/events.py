"""The event envelope and every event payload, as msgspec Structs.

Each payload type has a fixed tag (the envelope's `type`, e.g. "sale.created"), a sync priority and a
payload version. Tags are written here once and never derived from class names: renaming a class must not
change stored data. Old payload versions are upcast on read by the functions in `UPCASTERS`; stored events
are never rewritten (their hash covers them).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

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


class Payload(Struct, frozen=True, kw_only=True):
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


# --- products ------------------------------------------------------------------------------------


@event_type("product.created", Priority.NORMAL)
class ProductCreated(Payload, frozen=True, kw_only=True):
    product_id: Id
    sku: Code
    name: Name
    price: Price
    tax_rate: RateBP
    barcodes: list[Code] = []
    category: Text = ""

    def aggregate(self) -> str:
        return f"product:{self.product_id}"


class Changes(Struct, frozen=True, kw_only=True):
    """The fields an update changes; unchanged fields are UNSET and absent on the wire."""

    def fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET}


class ProductChanges(Changes, frozen=True, kw_only=True):
    """Only the fields that changed are present on the wire."""

    sku: Code | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    tax_rate: RateBP | UnsetType = UNSET
    barcodes: list[Code] | UnsetType = UNSET
    category: Text | UnsetType = UNSET


PRODUCT_FIELDS: tuple[str, ...] = ProductChanges.__struct_fields__


@event_type("product.updated", Priority.NORMAL)
class ProductUpdated(Payload, frozen=True, kw_only=True):
    product_id: Id
    changes: ProductChanges
    base_hlc: Annotated[int, Meta(ge=0)]

    def aggregate(self) -> str:
        return f"product:{self.product_id}"


@event_type("product.deleted", Priority.NORMAL)
class ProductDeleted(Payload, frozen=True, kw_only=True):
    product_id: Id

    def aggregate(self) -> str:
        return f"product:{self.product_id}"


@event_type("product.restored", Priority.NORMAL)
class ProductRestored(Payload, frozen=True, kw_only=True):
    """Undoes a delete (a manager's choice when another till updated a product this one deleted)."""

    product_id: Id

    def aggregate(self) -> str:
        return f"product:{self.product_id}"


# --- stock ---------------------------------------------------------------------------------------


@event_type("stock.adjusted", Priority.HIGH)
class StockAdjusted(Payload, frozen=True, kw_only=True):
    product_id: Id
    delta: Delta
    reason: AdjustReason
    note: Text = ""

    def aggregate(self) -> str:
        return f"stock:{self.product_id}"


@event_type("stock.counted", Priority.HIGH)
class StockCounted(Payload, frozen=True, kw_only=True):
    """An absolute count: stock is `counted` at this event's hlc, plus every delta after it."""

    product_id: Id
    counted: Delta
    previous: int = 0  # what the till believed before the count (informative, for the audit)

    def aggregate(self) -> str:
        return f"stock:{self.product_id}"


@event_type("stock.received", Priority.HIGH)
class StockReceived(Payload, frozen=True, kw_only=True):
    product_id: Id
    qty: Qty
    unit_cost: Price | None = None
    supplier: Text = ""
    reference: Text = ""

    def aggregate(self) -> str:
        return f"stock:{self.product_id}"


# --- sales ---------------------------------------------------------------------------------------


class SaleLine(Struct, frozen=True, kw_only=True):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    product_id: Id
    sku: Code
    name: Name
    qty: Qty
    unit_price: Price
    tax_rate: RateBP
    discount: Minor = 0  # the line's own discount
    sale_discount: Minor = 0  # this line's share of the sale-level discount
    amount: Minor  # qty * unit_price - discount - sale_discount (tax included when prices include it)
    tax: Minor  # this line's share of the tax of its rate


class Tender(Struct, frozen=True, kw_only=True):
    method: PaymentMethod
    amount: Annotated[int, Meta(ge=1, le=MAX_PRICE * MAX_QTY)]
    reference: Text = ""


@event_type("sale.created", Priority.CRITICAL)
class SaleCreated(Payload, frozen=True, kw_only=True):
    sale_id: Id
    receipt_no: Code
    session_id: Id
    lines: Annotated[list[SaleLine], Meta(min_length=1, max_length=MAX_LINES)]
    discount: Minor = 0  # sale-level discount (already spread over lines' sale_discount)
    subtotal: Minor  # sum of line amounts
    tax: Minor
    total: Minor  # what the customer pays
    payments: Annotated[list[Tender], Meta(min_length=1, max_length=20)]
    change: Minor = 0
    prices_include_tax: bool
    customer_id: Id | None = None

    def aggregate(self) -> str:
        return f"sale:{self.sale_id}"


class RefundLine(Struct, frozen=True, kw_only=True):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    product_id: Id
    qty: Qty
    amount: Minor  # money returned for these items, tax included
    tax: Minor


@event_type("sale.refunded", Priority.CRITICAL)
class SaleRefunded(Payload, frozen=True, kw_only=True):
    refund_id: Id
    sale_id: Id
    receipt_no: Code  # the original sale's receipt number
    session_id: Id | None = None  # the cash session the money left from (cash refunds)
    lines: Annotated[list[RefundLine], Meta(min_length=1, max_length=MAX_LINES)]
    total: Minor
    tax: Minor
    method: PaymentMethod
    restock: bool
    reason: Text = ""

    def aggregate(self) -> str:
        return f"sale:{self.sale_id}"


class VoidLine(Struct, frozen=True, kw_only=True):
    line_no: Annotated[int, Meta(ge=1, le=MAX_LINES)]
    product_id: Id
    qty: Qty


@event_type("sale.voided", Priority.CRITICAL)
class SaleVoided(Payload, frozen=True, kw_only=True):
    """Cancels a whole sale of the still-open session: money back by the same tenders, stock back."""

    sale_id: Id
    receipt_no: Code
    session_id: Id
    lines: Annotated[list[VoidLine], Meta(min_length=1, max_length=MAX_LINES)]  # the items going back on the shelf
    reason: Text = ""

    def aggregate(self) -> str:
        return f"sale:{self.sale_id}"


# --- cash ----------------------------------------------------------------------------------------


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
    denominations: dict[str, Annotated[int, Meta(ge=0)]] = {}  # face value in minor units -> count
    z_number: Annotated[int, Meta(ge=0)] = 0  # sequential per device, never reset (0: closed before Z numbers)
    net_sales: Annotated[int, Meta(ge=-MAX_PRICE * MAX_QTY * 1000, le=MAX_PRICE * MAX_QTY * 1000)] = 0
    grand_total: Annotated[int, Meta(ge=-(2**62), le=2**62)] = 0  # perpetual: every Z's net sales so far

    def aggregate(self) -> str:
        return f"cash:{self.session_id}"


# --- users ---------------------------------------------------------------------------------------


@event_type("user.created", Priority.NORMAL)
class UserCreated(Payload, frozen=True, kw_only=True):
    user_id: Id
    name: Name
    role: Role
    pin_hash: Annotated[str, Meta(min_length=1, max_length=300)]

    def aggregate(self) -> str:
        return f"user:{self.user_id}"


class UserChanges(Changes, frozen=True, kw_only=True):
    name: Name | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    pin_hash: Annotated[str, Meta(min_length=1, max_length=300)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


USER_FIELDS: tuple[str, ...] = UserChanges.__struct_fields__


@event_type("user.updated", Priority.NORMAL)
class UserUpdated(Payload, frozen=True, kw_only=True):
    user_id: Id
    changes: UserChanges
    base_hlc: Annotated[int, Meta(ge=0)]

    def aggregate(self) -> str:
        return f"user:{self.user_id}"


# --- customers ------------------------------------------------------------------------------------


@event_type("customer.created", Priority.NORMAL)
class CustomerCreated(Payload, frozen=True, kw_only=True):
    customer_id: Id
    name: Name
    tax_id: Annotated[str, Meta(max_length=32)] = ""
    phone: Annotated[str, Meta(max_length=32)] = ""
    email: Annotated[str, Meta(max_length=120)] = ""

    def aggregate(self) -> str:
        return f"customer:{self.customer_id}"


class CustomerChanges(Changes, frozen=True, kw_only=True):
    name: Name | UnsetType = UNSET
    tax_id: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    phone: Annotated[str, Meta(max_length=32)] | UnsetType = UNSET
    email: Annotated[str, Meta(max_length=120)] | UnsetType = UNSET


CUSTOMER_FIELDS: tuple[str, ...] = CustomerChanges.__struct_fields__


@event_type("customer.updated", Priority.NORMAL)
class CustomerUpdated(Payload, frozen=True, kw_only=True):
    customer_id: Id
    changes: CustomerChanges
    base_hlc: Annotated[int, Meta(ge=0)]

    def aggregate(self) -> str:
        return f"customer:{self.customer_id}"


# --- conflicts --------------------------------------------------------------------------------------


@event_type("conflict.resolved", Priority.NORMAL)
class ConflictResolved(Payload, frozen=True, kw_only=True):
    """A manager's decision on a conflict the server left to a person (`manual`)."""

    event_id: Id  # this till's event the server answered `conflict`
    conflict_with: Id
    outcome: Literal["keep", "apply"]  # keep the other till's change, or apply this till's after all
    note: Text = ""

    def aggregate(self) -> str:
        return f"conflict:{self.event_id}"


# --- the envelope --------------------------------------------------------------------------------


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
        {"sale": Priority.CRITICAL, "payment": Priority.CRITICAL, "stock": Priority.HIGH,
         "cash": Priority.HIGH, "product": Priority.NORMAL, "customer": Priority.NORMAL,
         "user": Priority.NORMAL}.get(family, Priority.LOW)
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
