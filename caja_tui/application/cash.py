"""The cash drawer: open a session with a float, pay in and out, close with the counted cash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, cast

from ..domain import rules
from ..domain.errors import DomainError
from ..domain.events import MAX_PRICE, CashMoved, CashSessionClosed, CashSessionOpened
from ..domain.ids import uuid7
from .auth import require_manager, require_user
from .ports import CashSummary, SessionView, Store

# Face values in minor units (notes, then coins) for counting the drawer; others count with a total.
_DENOMINATIONS = {
    "MXN": (100000, 50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50),
    "EUR": (50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1),
    "USD": (10000, 5000, 2000, 1000, 500, 100, 25, 10, 5, 1),
}


def denominations_for(currency: str, exponent: int) -> tuple[int, ...]:
    """The notes and coins a drawer holds, largest first (empty when we do not know the currency)."""
    return _DENOMINATIONS.get(currency, ()) if exponent == 2 else ()


def _check_money(amount: int, *, low: int, what: str) -> None:
    if not isinstance(amount, int) or not low <= amount <= MAX_PRICE:
        raise DomainError(
            "BAD_AMOUNT",
            "{what} must be between {low} and {MAX_PRICE} minor units",
            what=what,
            low=low,
            MAX_PRICE=MAX_PRICE,
            field="amount",
        )


def open_session(store: Store, actor: str, opening_float: int) -> SessionView:
    _check_money(opening_float, low=0, what="the opening float")
    with store.transaction() as tx:
        require_user(tx, actor)
        if tx.open_session() is not None:
            raise DomainError("SESSION_OPEN", "a cash session is already open on this till")
        sid = uuid7()
        tx.emit(CashSessionOpened(session_id=sid, opening_float=opening_float), actor)
        session = tx.open_session()
    assert session is not None
    return session


def move_cash(store: Store, actor: str, kind: str, amount: int, reason: str = "") -> CashSummary:
    """Pay in (any user) or pay out (a manager) cash that is not a sale."""
    if kind not in ("in", "out"):
        raise DomainError("BAD_KIND", "a cash movement is 'in' or 'out'")
    _check_money(amount, low=1, what="the amount")
    with store.transaction() as tx:
        (require_manager if kind == "out" else require_user)(tx, actor)
        session = tx.open_session()
        if session is None:
            raise DomainError("NO_SESSION", "open the cash session first")
        tx.emit(
            CashMoved(
                session_id=session.id,
                movement_id=uuid7(),
                kind=cast(Literal["in", "out"], kind),
                amount=amount,
                reason=reason.strip(),
            ),
            actor,
        )
        return tx.cash_summary(session.id)


def current_summary(store: Store) -> CashSummary | None:
    """The X report's figures for the open session (None when no session is open)."""
    with store.read() as tx:
        session = tx.open_session()
        return tx.cash_summary(session.id) if session else None


def close_session(
    store: Store, actor: str, *, counted: int | None = None, denominations: Mapping[str, int] | None = None
) -> tuple[SessionView, CashSummary]:
    """Close with the counted cash (a total, or a count by face value). Needs a manager."""
    if denominations:
        counted_total = rules.denominations_total(denominations)
        if counted is not None and counted != counted_total:
            raise DomainError("COUNT_MISMATCH", "the counted total does not match the count by denomination")
        counted = counted_total
    if counted is None:
        raise DomainError("NO_COUNT", "count the cash in the drawer to close the session")
    _check_money(counted, low=0, what="the counted cash")
    with store.transaction() as tx:
        require_manager(tx, actor)
        session = tx.open_session()
        if session is None:
            raise DomainError("NO_SESSION", "no cash session is open")
        summary = tx.cash_summary(session.id)
        last_z, last_grand = tx.last_z()
        net = summary.sales_total - summary.refunds_total
        tx.emit(
            CashSessionClosed(
                session_id=session.id,
                counted=counted,
                expected=summary.expected,
                difference=counted - summary.expected,
                denominations=dict(denominations or {}),
                z_number=last_z + 1,
                net_sales=net,
                grand_total=last_grand + net,
            ),
            actor,
        )
        closed = tx.session(session.id)
    assert closed is not None
    return closed, summary
