"""Who may do what: every event names its actor; privileged actions need an active manager. And who is who: a
PIN, checked at most as often as domain/pins.py allows, each wrong one written down as a `pin.*` event."""

from __future__ import annotations

from ..domain.errors import DomainError
from ..domain.payloads.users import PinAccepted, PinFailed, PinLocked, PinPurpose, PinUnlocked
from ..domain.pins import LOCK_AT, MINUTE_MS, recordable, refusal, verify_pin, wrong_pin
from .ports import Store, Tx, UserView

SYSTEM = "system"  # the installer at the command line (imports, demo data); never a person at the counter


def require_user(tx: Tx, actor: str) -> UserView:
    user = tx.user(actor)
    if user is None or not user.active:
        raise DomainError("NOT_SIGNED_IN", "'{actor}' is not an active user of this till; sign in first", actor=actor)
    return user


def require_manager(tx: Tx, actor: str) -> UserView:
    user = require_user(tx, actor)
    if user.role != "manager":
        raise DomainError("MANAGER_ONLY", "{name} is a cashier; this needs a manager's PIN", name=user.name)
    return user


def check_pin(store: Store, user_id: str, pin: str, *, purpose: PinPurpose = "sign_in") -> UserView:
    """The user whose PIN this is, or a refusal: the same one for a user this till does not know, a deactivated
    one and a wrong PIN. A try that must wait, or meets a lockout, is refused before its PIN is looked at.

    Wrong PINs are written in a transaction of their own, outside the till's emission limit (`bulk`, like an
    import): the limit must never let a wrong PIN go unrecorded, and a wrong PIN must not use up what the limit
    leaves for a manager's work. They cannot flood the log: a user is locked after LOCK_AT, and a till takes at
    most TILL_FAILURES_PER_MINUTE a minute."""
    now = store.wall()
    with store.read() as tx:
        user = tx.user(user_id)
        refused = refusal(tx.pin_state(user_id), now, tx.till_pin_failures(now - MINUTE_MS, now))
    if refused is not None:
        raise refused
    right = verify_pin(pin, user.pin_hash if user is not None else None)  # as long for a user nobody knows
    if right and user is not None and user.active:
        _right_pin(store, user_id)
        return user
    if not recordable(user_id):
        raise wrong_pin(0)
    with store.transaction(bulk=True) as tx:
        state = tx.pin_state(user_id)
        if state.locked:  # another process locked it meanwhile
            raise refusal(state, now, (0, 0)) or wrong_pin(state.failures)
        failures = state.failures + 1
        tx.emit(PinFailed(user_id=user_id, failures=failures, purpose=purpose), user_id)
        if failures >= LOCK_AT:
            tx.emit(PinLocked(user_id=user_id, failures=failures), user_id)
    raise wrong_pin(failures)


def _right_pin(store: Store, user_id: str) -> None:
    """After wrong PINs, the right one starts the count again (nothing is written otherwise)."""
    with store.read() as tx:
        if not tx.pin_state(user_id).failures:
            return
    with store.transaction(bulk=True) as tx:
        state = tx.pin_state(user_id)
        if state.locked:
            raise refusal(state, store.wall(), (0, 0)) or wrong_pin(state.failures)
        if state.failures:
            tx.emit(PinAccepted(user_id=user_id, failures=state.failures), user_id)


def unlock(store: Store, actor: str, user_id: str) -> int:
    """A manager (or the installer at the command line) lifts `user_id`'s lockout on this till and clears their
    wrong PINs; returns how many were cleared (0: there was nothing to lift, and nothing is written)."""
    with store.transaction() as tx:
        if actor != SYSTEM:
            require_manager(tx, actor)
        state = tx.pin_state(user_id)
        if not state.failures and not state.locked:
            return 0
        tx.emit(PinUnlocked(user_id=user_id, failures=state.failures), actor)
    return state.failures
