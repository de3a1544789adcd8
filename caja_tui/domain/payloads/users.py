"""The `user.*` payloads (sync priority NORMAL), and the `pin.*` ones of wrong PINs on a till (LOW)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, Meta, UnsetType

from .base import Changes, Id, Name, Payload, Priority, Role, event_type


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
    base_hlc: Annotated[int, Meta(ge=0, le=2**63 - 1)]

    def aggregate(self) -> str:
        return f"user:{self.user_id}"


# --- wrong PINs on a till (sync priority LOW) ---------------------------------------------------------------
# A family of their own (`pin.*`), not `user.*`: they change no user, only what one till lets a user try, and
# the `user.*` family is clock-ordered and checked for rights by every receiver. Each event says the whole state
# it leaves (failures in a row, locked or not) for its user on the till that wrote it, so the read model is the
# newest event's state whatever order they arrive in. The actor of a wrong PIN is the user it was typed for.

Failures = Annotated[int, Meta(ge=0, le=1_000_000)]
PinPurpose = Literal["sign_in", "approval"]


class _PinPayload(Payload, frozen=True, kw_only=True):
    user_id: Id
    failures: Failures

    def aggregate(self) -> str:
        return f"pin:{self.user_id}"


@event_type("pin.failed", Priority.LOW)
class PinFailed(_PinPayload, frozen=True, kw_only=True):
    """A wrong PIN for `user_id` (a user this till may not know), the `failures`-th in a row on this till."""

    purpose: PinPurpose = "sign_in"


@event_type("pin.locked", Priority.LOW)
class PinLocked(_PinPayload, frozen=True, kw_only=True):
    """After `failures` wrong PINs in a row, this till takes no PIN of `user_id` until a manager lifts it."""


@event_type("pin.unlocked", Priority.LOW)
class PinUnlocked(_PinPayload, frozen=True, kw_only=True):
    """A manager (the actor) lifted the lockout of `user_id` on this till; the `failures` it cleared."""


@event_type("pin.accepted", Priority.LOW)
class PinAccepted(_PinPayload, frozen=True, kw_only=True):
    """The right PIN of `user_id` after `failures` wrong ones on this till: the count starts again. Written
    only after wrong ones (a sign-in writes nothing otherwise)."""


PIN_EVENTS = (PinFailed, PinLocked, PinUnlocked, PinAccepted)
