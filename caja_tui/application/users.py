"""Users: cashiers and managers, each with a PIN kept as a salted hash."""

from __future__ import annotations

import re
from typing import cast

from ..domain.errors import DomainError
from ..domain.events import Role, UserChanges, UserCreated, UserUpdated
from ..domain.payloads.users import PinPurpose
from ..domain.pins import MIN_DIGITS, check_pin_format, hash_pin
from ..domain.rights import NOT_ALLOWED, rights_refusal
from .auth import SYSTEM, check_pin, require_manager, unlock
from .ports import Store, Tx, UserView

__all__ = ["ROLES", "authenticate", "create_user", "unlock", "update_user"]

ROLES = ("cashier", "manager")


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")[:32] or "user"


def create_user(
    store: Store,
    actor: str,
    *,
    name: str,
    role: str,
    pin: str,
    user_id: str | None = None,
    manager_digits: int = MIN_DIGITS,
) -> UserView:
    """Add a user. The very first user of a till may be created by the system (and must be a manager).
    `manager_digits`: the fewest digits of a manager's PIN ([till] manager_pin_digits)."""
    name = name.strip()
    if not name:
        raise DomainError("BAD_NAME", "a user needs a name", field="name")
    if role not in ROLES:
        raise DomainError("BAD_ROLE", "role must be cashier or manager", field="role")
    check_pin_format(pin, manager_digits if role == "manager" else MIN_DIGITS)
    pin_hash = hash_pin(pin)  # before the transaction: ~50 ms the till's other writers need not wait
    with store.transaction() as tx:
        if tx.count_users() == 0:
            if role != "manager":
                raise DomainError("FIRST_USER_MANAGER", "the first user of a till must be a manager")
        elif actor != SYSTEM:  # the installer at the command line may add users; at the till, a manager
            require_manager(tx, actor)
        uid = user_id or _slug(name)
        base, n = uid, 1
        while tx.user(uid) is not None:
            n += 1
            uid = f"{base}-{n}"
        _emit_checked(tx, UserCreated(user_id=uid, name=name, role=cast(Role, role), pin_hash=pin_hash), actor)
        user = tx.user(uid)
    assert user is not None
    return user


def update_user(
    store: Store,
    actor: str,
    user_id: str,
    *,
    name: str | None = None,
    role: str | None = None,
    pin: str | None = None,
    active: bool | None = None,
    manager_digits: int = MIN_DIGITS,
) -> UserView:
    """Change a user's name, role, PIN or whether they may sign in. Made a manager where managers' PINs are
    longer (`manager_digits`), a user needs a new PIN with it: their hash does not tell how long the old one is."""
    changes: dict = {}
    if name is not None:
        if not name.strip():
            raise DomainError("BAD_NAME", "a user needs a name", field="name")
        changes["name"] = name.strip()
    if role is not None:
        if role not in ROLES:
            raise DomainError("BAD_ROLE", "role must be cashier or manager", field="role")
        changes["role"] = role
    if pin is not None:
        changes["pin_hash"] = hash_pin(pin)  # before the transaction: ~50 ms the till's other writers need not wait
    if active is not None:
        changes["active"] = active
    with store.transaction() as tx:
        if actor != SYSTEM:  # the installer at the command line; at the till, a manager
            require_manager(tx, actor)
        user = tx.user(user_id)
        if user is None:
            raise DomainError("NO_SUCH_USER", "there is no user '{user_id}'", user_id=user_id)
        if pin is not None and (role or user.role) == "manager":
            check_pin_format(pin, manager_digits)
        elif pin is None and role == "manager" and user.role != "manager" and manager_digits > MIN_DIGITS:
            raise DomainError(
                "PIN_TOO_SHORT",
                "a manager's PIN is at least {digits} digits on this till: give a new PIN with the promotion",
                field="pin",
                digits=manager_digits,
            )
        if changes:
            payload = UserUpdated(user_id=user_id, changes=UserChanges(**changes), base_hlc=user.updated_hlc)
            _emit_checked(tx, payload, actor)
        user = tx.user(user_id)
    assert user is not None
    return user


def _emit_checked(tx: Tx, payload: UserCreated | UserUpdated, actor: str) -> None:
    """The rule every receiver applies (domain/rights.py), applied before the event exists: a manager's rights
    are given only by an active manager (the store's first manager aside), also at the command line."""
    refusal = rights_refusal(payload, actor, tx.rights())
    if refusal is not None:
        raise DomainError(NOT_ALLOWED, refusal)
    tx.emit(payload, actor)


def authenticate(store: Store, user_id: str, pin: str, *, purpose: PinPurpose = "sign_in") -> UserView:
    """Check a PIN, to sign in or (`purpose="approval"`) to approve as a manager. Wrong PIN and unknown user get
    the same answer; wrong PINs in a row make the next try wait, then lock the user on this till
    (application/auth.py `check_pin`)."""
    return check_pin(store, user_id, pin, purpose=purpose)
