"""An in-memory store for unit tests of the use cases: the ports of application/ports.py over dicts.

Small but honest. `emit` stamps an event the way the SQLite store does (seq, hybrid clock, the real hash
chain), appends it, and applies it at once to in-memory read models, so a read later in the same
transaction sees it. A transaction that raises leaves nothing behind (the state is put back as it was).
Pricing, refunds and the drawer's expected cash come from the real domain code, the drawer's summary from
the store's own `cash_summary_of` (over the fake's sums). It projects the events of
products, stock, sales, cash sessions, users and wrong PINs; any other type is refused loudly, not ignored.

What it does not do: convergence of events from other tills (one device, events in order), archives,
sync, reports. Those are tested against real SQLite files in tests/integration.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from msgspec import UNSET
from msgspec.structs import replace

from caja_tui.application.ports import CashSummary, PaymentView, ProductView, SaleView, SessionView, UserView
from caja_tui.domain import events as ev
from caja_tui.domain.cart import Cart
from caja_tui.domain.chain import GENESIS, canonical, canonical_payload, link
from caja_tui.domain.clock import HybridClock
from caja_tui.domain.errors import DomainError
from caja_tui.domain.ids import uuid7
from caja_tui.domain.payloads.users import PinAccepted, PinFailed, PinLocked, PinUnlocked
from caja_tui.domain.pins import PinState
from caja_tui.domain.rights import Rights
from caja_tui.store.cash import cash_summary_of


@dataclass
class _Sale:
    created: ev.SaleCreated
    event: ev.Event


@dataclass
class _State:
    """Everything a transaction may change; copied when it starts, put back if it fails."""

    events: list[ev.Event] = field(default_factory=list)
    last_hash: str = GENESIS
    last_receipt: int = 0
    products: dict[str, ProductView] = field(default_factory=dict)
    stock: dict[str, int] = field(default_factory=dict)
    users: dict[str, UserView] = field(default_factory=dict)
    sessions: dict[str, SessionView] = field(default_factory=dict)
    sales: dict[str, _Sale] = field(default_factory=dict)
    voids: dict[str, str | None] = field(default_factory=dict)  # sale_id -> the session it was voided in
    refunds: list[ev.SaleRefunded] = field(default_factory=list)
    moves: list[ev.CashMoved] = field(default_factory=list)
    drafts: dict[str, tuple[bytes, int]] = field(default_factory=dict)  # slot -> (the cart as JSON, when)
    pins: dict[str, PinState] = field(default_factory=dict)  # user_id -> wrong PINs in a row on this till


class FakeStore:
    """The `Store` port in memory. `now` is the till's wall clock (ms); tests move it with `later()`."""

    def __init__(self, *, store_id: str = "s1", device_id: str = "T01", now: int = 1_700_000_000_000) -> None:
        self.store_id = store_id
        self.device_id = device_id
        self.now = now
        self.clock = HybridClock(lambda: self.now)
        self.state = _State()

    def wall(self) -> int:
        return self.now

    @contextmanager
    def transaction(self, *, bulk: bool = False) -> Iterator[FakeTx]:
        before = copy.deepcopy(self.state)
        try:
            yield FakeTx(self, writable=True)
        except BaseException:
            self.state = before  # nothing of a failed use case stays, as after a rollback
            raise

    @contextmanager
    def read(self) -> Iterator[FakeTx]:
        yield FakeTx(self, writable=False)

    # --- for the tests ----------------------------------------------------------------------------

    @property
    def events(self) -> list[ev.Event]:
        return self.state.events

    def later(self, ms: int) -> None:
        self.now += ms

    def given_user(self, user_id: str, name: str, role: str = "cashier", *, active: bool = True) -> UserView:
        """A user as if created long ago (PINs are hashed slowly on purpose; the use cases only read users)."""
        user = UserView(id=user_id, name=name, role=role, pin_hash="-", active=active, updated_hlc=0)
        self.state.users[user_id] = user
        return user


class FakeTx:
    """The `Tx` port in memory: reads see what this transaction emitted before them."""

    def __init__(self, store: FakeStore, *, writable: bool) -> None:
        self.store = store
        self.writable = writable

    @property
    def _s(self) -> _State:
        return self.store.state

    # --- writing ----------------------------------------------------------------------------------

    def emit(self, payload: ev.Payload, actor: str) -> ev.Event:
        if not self.writable:
            raise RuntimeError("emit() in a read-only transaction")
        store, s = self.store, self._s
        hlc = store.clock.tick()
        env = {
            "event_id": uuid7(store.now),
            "type": payload.TYPE,
            "store_id": store.store_id,
            "device_id": store.device_id,
            "seq": len(s.events) + 1,
            "hlc": hlc,
            "created_at": store.now,
            "actor": actor,
            "v": payload.VERSION,
            "prev_hash": s.last_hash,
        }
        digest = link(s.last_hash, canonical(env, canonical_payload(payload)))
        event = ev.Event(**env, hash=digest, payload=payload)
        s.events.append(event)
        s.last_hash = digest
        _project(s, event)
        return event

    def next_receipt_no(self) -> str:
        self._s.last_receipt += 1
        return f"{self.store.device_id}-{self._s.last_receipt:06d}"

    def save_draft(self, cart: Cart, slot: str = "current") -> None:
        self._s.drafts[slot] = (msgspec.json.encode(cart), self.store.now)  # a copy, as the database keeps

    def clear_draft(self, slot: str = "current") -> None:
        self._s.drafts.pop(slot, None)

    def drafts(self, prefix: str) -> list[tuple[str, Cart, int]]:
        found = [(at, slot, raw) for slot, (raw, at) in self._s.drafts.items() if slot.startswith(prefix)]
        return [(slot, msgspec.json.decode(raw, type=Cart), at) for at, slot, raw in sorted(found)]

    def mark_conflict_resolved(self, event_id: str, actor: str, outcome: str) -> None:
        raise NotImplementedError("the fake store keeps no sync conflicts")

    # --- products and stock -----------------------------------------------------------------------

    def product(self, product_id: str) -> ProductView | None:
        p = self._s.products.get(product_id)
        return None if p is None else replace(p, stock=self._s.stock.get(product_id, 0))

    def _live(self) -> list[ProductView]:
        return [p for p in self._s.products.values() if not p.deleted]

    def product_by_code(self, code: str) -> ProductView | None:
        """A barcode first (what scanners send), then a SKU; the most recently changed product wins."""
        for matches in ([p for p in self._live() if code in p.barcodes], [p for p in self._live() if p.sku == code]):
            if matches:
                return self.product(max(matches, key=lambda p: p.updated_hlc).id)
        return None

    def products_using(self, skus: Sequence[str], barcodes: Sequence[str]) -> dict[str, str]:
        used = {p.sku: p.id for p in self._live() if p.sku in skus}
        used.update({b: p.id for p in self._live() for b in p.barcodes if b in barcodes})
        return used

    def count_products(self) -> int:
        return len(self._live())

    def stock_of(self, product_id: str) -> int:
        return self._s.stock.get(product_id, 0)

    # --- cash sessions ----------------------------------------------------------------------------

    def open_session(self) -> SessionView | None:
        mine = [x for x in self._s.sessions.values() if x.device_id == self.store.device_id and x.closed_at is None]
        return max(mine, key=lambda x: x.opened_at, default=None)

    def session(self, session_id: str) -> SessionView | None:
        return self._s.sessions.get(session_id)

    def session_by_z(self, z_number: int) -> SessionView | None:
        return next(
            (x for x in self._s.sessions.values() if x.device_id == self.store.device_id and x.z_number == z_number),
            None,
        )

    def last_z(self) -> tuple[int, int]:
        closed = [x for x in self._s.sessions.values() if x.device_id == self.store.device_id and x.z_number]
        last = max(closed, key=lambda x: x.z_number or 0, default=None)
        return (0, 0) if last is None else (last.z_number or 0, last.grand_total or 0)

    def cash_summary(self, session_id: str) -> CashSummary:
        s = self._s
        session = s.sessions.get(session_id)
        opening = session.opening_float if session else 0
        sold = [
            x.created
            for x in s.sales.values()
            if x.created.session_id == session_id and x.created.sale_id not in s.voids
        ]
        by_method: dict[str, int] = {}
        for sale in sold:
            for t in sale.payments:
                by_method[t.method] = by_method.get(t.method, 0) + t.amount
        refunds: dict[str, int] = {}
        for r in s.refunds:
            if r.session_id == session_id:
                refunds[r.method] = refunds.get(r.method, 0) + r.total
        paid_in = sum(m.amount for m in s.moves if m.session_id == session_id and m.kind == "in")
        paid_out = sum(m.amount for m in s.moves if m.session_id == session_id and m.kind == "out")
        return cash_summary_of(
            session_id,
            opening,
            count=len(sold),
            voids=sum(1 for v in s.voids.values() if v == session_id),
            total=sum(x.total for x in sold),
            change=sum(x.change for x in sold),
            by_method=by_method,
            refunds=refunds,
            paid_in=paid_in,
            paid_out=paid_out,
        )

    def report_data(
        self, *, session_id: str | None = None, start_ms: int | None = None, end_ms: int | None = None
    ) -> Any:
        raise NotImplementedError("reports are tested on SQLite (tests/integration/test_reports.py)")

    # --- sales ------------------------------------------------------------------------------------

    def sale(self, sale_id: str) -> SaleView | None:
        found = self._s.sales.get(sale_id)
        return None if found is None else self._sale_view(found)

    def sale_by_receipt(self, receipt_no: str) -> SaleView | None:
        wanted = receipt_no.strip().upper()
        return next((self._sale_view(x) for x in self._s.sales.values() if x.created.receipt_no == wanted), None)

    def _sale_view(self, found: _Sale) -> SaleView:
        c, e = found.created, found.event
        rq: dict[int, int] = {}
        ra: dict[int, int] = {}
        rt: dict[int, int] = {}
        for r in self._s.refunds:
            if r.sale_id == c.sale_id:
                for ln in r.lines:
                    rq[ln.line_no] = rq.get(ln.line_no, 0) + ln.qty
                    ra[ln.line_no] = ra.get(ln.line_no, 0) + ln.amount
                    rt[ln.line_no] = rt.get(ln.line_no, 0) + ln.tax
        return SaleView(
            id=c.sale_id,
            receipt_no=c.receipt_no,
            event_id=e.event_id,
            device_id=e.device_id,
            session_id=c.session_id,
            created_at=e.created_at,
            actor=e.actor,
            subtotal=c.subtotal,
            discount=c.discount,
            tax=c.tax,
            total=c.total,
            paid=sum(t.amount for t in c.payments),
            change=c.change,
            prices_include_tax=c.prices_include_tax,
            customer_id=c.customer_id,
            lines=list(c.lines),
            payments=[PaymentView(method=t.method, amount=t.amount, reference=t.reference) for t in c.payments],
            voided=c.sale_id in self._s.voids,
            event_hash=e.hash,
            refunded_qty=rq,
            refunded_amount=ra,
            refunded_tax=rt,
        )

    # --- users and the rest -----------------------------------------------------------------------

    def user(self, user_id: str) -> UserView | None:
        return self._s.users.get(user_id)

    def count_users(self) -> int:
        return len(self._s.users)

    def rights(self) -> dict[str, Rights]:
        return {u.id: Rights(u.role, u.active, "", "") for u in self._s.users.values()}

    def pin_state(self, user_id: str) -> PinState:
        return self._s.pins.get(user_id, PinState())

    def till_pin_failures(self, since_ms: int, until_ms: int) -> tuple[int, int]:
        times = [e.created_at for e in self._s.events if e.type == "pin.failed" and since_ms < e.created_at <= until_ms]
        return len(times), min(times, default=0)

    def customer(self, customer_id: str) -> dict[str, Any] | None:
        return None  # the fake keeps no customers: a sale naming one is refused

    def sync_conflict(self, event_id: str) -> dict[str, Any] | None:
        return None

    def local_event(self, event_id: str) -> ev.Event | None:
        return next((e for e in self._s.events if e.event_id == event_id), None)


def _move_stock(s: _State, product_id: str, delta: int) -> None:
    s.stock[product_id] = s.stock.get(product_id, 0) + delta


def _project(s: _State, e: ev.Event) -> None:
    """The read models of one event (this till's own, in order: last writer wins is simply 'the latest')."""
    match e.payload:
        case ev.ProductCreated() as p:
            s.products[p.product_id] = ProductView(
                id=p.product_id,
                sku=p.sku,
                name=p.name,
                price=p.price,
                tax_rate=p.tax_rate,
                barcodes=list(p.barcodes),
                category=p.category,
                stock=0,
                updated_hlc=e.hlc,
            )
        case ev.ProductUpdated() as p:
            changed = {k: v for k in ev.PRODUCT_FIELDS if (v := getattr(p.changes, k)) is not UNSET}
            s.products[p.product_id] = replace(s.products[p.product_id], **changed, updated_hlc=e.hlc)
        case ev.ProductDeleted() as p:
            s.products[p.product_id] = replace(s.products[p.product_id], deleted=True, updated_hlc=e.hlc)
        case ev.StockAdjusted() as p:
            _move_stock(s, p.product_id, p.delta)
        case ev.StockReceived() as p:
            _move_stock(s, p.product_id, p.qty)
        case ev.StockCounted() as p:
            s.stock[p.product_id] = p.counted
        case ev.SaleCreated() as p:
            s.sales[p.sale_id] = _Sale(created=p, event=e)
            for ln in p.lines:
                _move_stock(s, ln.product_id, -ln.qty)
        case ev.SaleRefunded() as p:
            s.refunds.append(p)
            for rl in p.lines if p.restock else ():
                _move_stock(s, rl.product_id, rl.qty)
        case ev.SaleVoided() as p:
            s.voids[p.sale_id] = p.session_id
            for vl in p.lines:
                _move_stock(s, vl.product_id, vl.qty)
        case ev.CashSessionOpened() as p:
            s.sessions[p.session_id] = SessionView(
                id=p.session_id,
                device_id=e.device_id,
                opening_float=p.opening_float,
                opened_at=e.created_at,
                opened_by=e.actor,
            )
        case ev.CashMoved() as p:
            s.moves.append(p)
        case ev.CashSessionClosed() as p:
            s.sessions[p.session_id] = replace(
                s.sessions[p.session_id],
                closed_at=e.created_at,
                counted=p.counted,
                expected=p.expected,
                difference=p.difference,
                z_number=p.z_number,
                net_sales=p.net_sales,
                grand_total=p.grand_total,
            )
        case ev.UserCreated() as p:
            s.users[p.user_id] = UserView(
                id=p.user_id, name=p.name, role=p.role, pin_hash=p.pin_hash, active=True, updated_hlc=e.hlc
            )
        case PinFailed() | PinLocked() as p:
            s.pins[p.user_id] = PinState(p.failures, isinstance(p, PinLocked), e.created_at)
        case PinUnlocked() | PinAccepted() as p:
            s.pins[p.user_id] = PinState()
        case _:
            raise NotImplementedError(f"the fake store does not project {e.type}; test that use case on SQLite")


@contextmanager
def refused(code: str) -> Iterator[None]:
    """`with refused("NO_SESSION"):` the use case inside refuses, with that code."""
    with pytest.raises(DomainError) as info:
        yield
    assert info.value.code == code, info.value


# --- a till to test on --------------------------------------------------------------------------------

FLOAT = 50_000  # 500.00 in the drawer when the session opens


def a_till(*, session: bool = True) -> FakeStore:
    """A till with a manager (ana), a cashier (luis) and, unless told otherwise, an open cash session."""
    from caja_tui.application import cash

    store = FakeStore()
    store.given_user("ana", "Ana", "manager")
    store.given_user("luis", "Luis", "cashier")
    if session:
        cash.open_session(store, "luis", FLOAT)
    return store


def a_product(
    store: FakeStore,
    sku: str = "PAN-1",
    *,
    price: int = 250,
    stock: int = 10,
    tax_rate: int = 1600,
    barcodes: Sequence[str] = (),
) -> ProductView:
    from caja_tui.application import products

    return products.create_product(
        store,
        "ana",
        sku=sku,
        name=f"Product {sku}",
        price=price,
        tax_rate=tax_rate,
        barcodes=list(barcodes),
        stock=stock,
    )
