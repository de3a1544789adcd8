"""What the use cases need from a store, and the read-model views it hands back.

The SQLite store (caja_tui.store.sqlite, its transactions in caja_tui.store.tx) implements these; use cases
depend only on this module. tests/unit/fakes.py implements them in memory, to test the use cases alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from msgspec import Struct

from ..domain.cart import Cart
from ..domain.events import Event, Payload, SaleLine
from ..domain.pins import PinState
from ..domain.rights import Rights

if TYPE_CHECKING:
    from .reports import ReportData


class ProductView(Struct, frozen=True, kw_only=True):
    id: str
    sku: str
    name: str
    price: int
    tax_rate: int
    barcodes: list[str]
    category: str
    stock: int
    updated_hlc: int
    deleted: bool = False


class UserView(Struct, frozen=True, kw_only=True):
    id: str
    name: str
    role: str
    pin_hash: str
    active: bool
    updated_hlc: int


class SessionView(Struct, frozen=True, kw_only=True):
    id: str
    device_id: str
    opening_float: int
    opened_at: int
    opened_by: str
    closed_at: int | None = None
    counted: int | None = None
    expected: int | None = None
    difference: int | None = None
    z_number: int | None = None
    net_sales: int | None = None
    grand_total: int | None = None


class CashSummary(Struct, frozen=True, kw_only=True):
    session_id: str
    opening_float: int
    sales_count: int  # sales not voided
    voids_count: int
    sales_total: int
    cash_taken: int  # cash tendered on sales
    change_given: int
    cash_refunded: int
    paid_in: int
    paid_out: int
    card_total: int
    other_total: int
    refunds_total: int
    expected: int


class PaymentView(Struct, frozen=True, kw_only=True):
    method: str
    amount: int
    reference: str = ""


class SaleView(Struct, frozen=True, kw_only=True):
    id: str
    receipt_no: str
    event_id: str
    device_id: str
    session_id: str
    created_at: int
    actor: str
    subtotal: int
    discount: int
    tax: int
    total: int
    paid: int
    change: int
    prices_include_tax: bool
    customer_id: str | None
    lines: list[SaleLine]
    payments: list[PaymentView]
    voided: bool
    event_hash: str
    refunded_qty: dict[int, int]
    refunded_amount: dict[int, int]
    refunded_tax: dict[int, int]


class StoredSetting(Struct, frozen=True, kw_only=True):
    """A store setting as the last `config.updated` that set it left it (store/settings.py)."""

    value: Any
    actor: str
    at: int  # that event's created_at (ms)
    hlc: int
    device_id: str


class Tx(Protocol):
    """One write transaction: everything emitted commits together, or nothing does.

    Every method a use case calls on a transaction (the store's read transaction is the same type; `emit`
    refuses there). The screens' lists (search_products, sessions, users, find_customers, sales_of_customer,
    failed_events, event_types, event_log) are queries of the SQLite transaction no use case needs."""

    def emit(self, payload: Payload, actor: str) -> Event: ...
    def next_receipt_no(self) -> str: ...
    def save_draft(self, cart: Cart, slot: str = "current") -> None: ...
    def clear_draft(self, slot: str = "current") -> None: ...
    def drafts(self, prefix: str) -> list[tuple[str, Cart, int]]: ...
    def mark_conflict_resolved(self, event_id: str, actor: str, outcome: str) -> None: ...

    # reads inside the transaction see what was emitted before them
    def product(self, product_id: str) -> ProductView | None: ...
    def product_by_code(self, code: str) -> ProductView | None: ...
    def products_using(self, skus: Sequence[str], barcodes: Sequence[str]) -> dict[str, str]: ...
    def count_products(self) -> int: ...
    def stock_of(self, product_id: str) -> int: ...
    def open_session(self) -> SessionView | None: ...
    def session(self, session_id: str) -> SessionView | None: ...
    def session_by_z(self, z_number: int) -> SessionView | None: ...
    def last_z(self) -> tuple[int, int]: ...
    def cash_summary(self, session_id: str) -> CashSummary: ...
    def report_data(
        self, *, session_id: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> ReportData: ...
    def sale(self, sale_id: str) -> SaleView | None: ...
    def sale_by_receipt(self, receipt_no: str) -> SaleView | None: ...
    def user(self, user_id: str) -> UserView | None: ...
    def count_users(self) -> int: ...
    def rights(self) -> dict[str, Rights]: ...
    def pin_state(self, user_id: str) -> PinState: ...
    def till_pin_failures(self, since_ms: int, until_ms: int) -> tuple[int, int]: ...
    def customer(self, customer_id: str) -> dict[str, Any] | None: ...
    def sync_conflict(self, event_id: str) -> dict[str, Any] | None: ...
    def local_event(self, event_id: str) -> Event | None: ...
    def refused_event(self, event_id: str) -> Event | None: ...
    def store_events_of(self, aggregate: str) -> list[Event]: ...
    def settings(self) -> dict[str, StoredSetting]: ...
    def mark_reverted(self, event_id: str) -> None: ...


class Store(Protocol):
    """What the use cases call on the store itself: a transaction, a read snapshot, who this till is and its
    wall clock."""

    store_id: str
    device_id: str

    def wall(self) -> int: ...  # the till's wall clock (ms), what its events' created_at are read from
    def transaction(self, *, bulk: bool = False) -> AbstractContextManager[Tx]: ...
    def read(self) -> AbstractContextManager[Tx]: ...


class ExportSource(Protocol):
    """The rows `caja export` writes out, oldest first, read as they are written (never a whole table in memory)."""

    def products_for_export(self) -> Iterable[tuple[str, str, str, int, int, int, str]]: ...
    def stock_levels(self) -> Iterable[tuple[str, str, int]]: ...
    def sales_for_export(self, lo: int, hi: int) -> Iterable[tuple[Any, ...]]: ...
    def sale_lines_for_export(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]: ...
    def sale_payments(self, sale_id: str) -> Iterable[tuple[str, int]]: ...
    def events_for_export(self, lo: int, hi: int) -> Iterator[tuple[Any, ...]]: ...
