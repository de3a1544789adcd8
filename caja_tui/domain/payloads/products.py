"""The `product.*` payloads (sync priority NORMAL)."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from .base import Changes, Code, Id, Name, Payload, Price, Priority, RateBP, Text, event_type


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
    base_hlc: Annotated[int, Meta(ge=0, le=2**63 - 1)]

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
