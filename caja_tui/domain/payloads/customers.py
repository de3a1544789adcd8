"""The `customer.*` payloads (sync priority NORMAL)."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import Changes, Id, Name, Payload, Priority, event_type


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
    base_hlc: Annotated[int, Meta(ge=0, le=2**63 - 1)]

    def aggregate(self) -> str:
        return f"customer:{self.customer_id}"
