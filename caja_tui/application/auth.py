"""Who may do what: every event names its actor; privileged actions need an active manager."""

from __future__ import annotations

from ..domain.errors import DomainError
from .ports import Tx, UserView

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
