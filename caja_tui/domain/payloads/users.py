"""The `user.*` payloads (sync priority NORMAL)."""

from __future__ import annotations

from typing import Annotated

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
