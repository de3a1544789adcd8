"""Products: create, update, delete; SKUs and barcodes unique among live products."""

from __future__ import annotations

from typing import Any, cast

from ..domain import rules
from ..domain.errors import DomainError
from ..domain.events import (
    PRODUCT_FIELDS,
    ProductChanges,
    ProductCreated,
    ProductDeleted,
    ProductUpdated,
    StockCounted,
)
from ..domain.ids import uuid7
from .ports import ProductView, Store, Tx


def _check_unique(tx: Tx, product_id: str | None, sku: str | None, barcodes: list[str]) -> None:
    used = tx.products_using([sku] if sku else [], barcodes)
    for code, owner in used.items():
        if owner != product_id:
            what = "sku" if code == sku else "barcodes"
            raise DomainError(
                "DUPLICATE_SKU" if what == "sku" else "DUPLICATE_BARCODE",
                f"{'SKU' if what == 'sku' else 'barcode'} '{code}' is already used by another product",
                field=what,
            )


def create_product(
    store: Store,
    actor: str,
    *,
    sku: str,
    name: str,
    price: int,
    tax_rate: int,
    barcodes: list[str] | tuple[str, ...] = (),
    category: str = "",
    stock: int | None = None,
    product_id: str | None = None,
) -> ProductView:
    fields = {
        "sku": sku.strip(),
        "name": name.strip(),
        "price": price,
        "tax_rate": tax_rate,
        "barcodes": [b.strip() for b in barcodes if b.strip()],
        "category": category.strip(),
    }
    rules.check_product_fields(fields)
    pid = product_id or uuid7()
    with store.transaction() as tx:
        _check_unique(tx, None, sku.strip(), cast(list[str], fields["barcodes"]))
        tx.emit(ProductCreated(product_id=pid, **cast(dict[str, Any], fields)), actor)
        if stock:
            tx.emit(StockCounted(product_id=pid, counted=stock, previous=0), actor)
        view = tx.product(pid)
    assert view is not None
    return view


def update_product(
    store: Store, actor: str, product_id: str, changes: dict[str, Any], base_hlc: int | None = None
) -> ProductView:
    """Change some fields. `base_hlc` is the product state the editor saw (defaults to the current one)."""
    unknown = set(changes) - set(PRODUCT_FIELDS)
    if unknown:
        raise DomainError("BAD_FIELD", "products have no field {fields}", fields=", ".join(sorted(unknown)))
    changes = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()}
    if "barcodes" in changes:
        changes["barcodes"] = [b.strip() for b in changes["barcodes"] if b.strip()]
    rules.check_product_fields(changes)
    with store.transaction() as tx:
        current = tx.product(product_id)
        if current is None or current.deleted:
            raise DomainError("NO_SUCH_PRODUCT", "that product does not exist or was deleted")
        changed = {k: v for k, v in changes.items() if getattr(current, k) != v}
        if changed:
            _check_unique(tx, product_id, changed.get("sku"), changed.get("barcodes", []))
            tx.emit(
                ProductUpdated(
                    product_id=product_id,
                    changes=ProductChanges(**changed),
                    base_hlc=current.updated_hlc if base_hlc is None else base_hlc,
                ),
                actor,
            )
        view = tx.product(product_id)
    assert view is not None
    return view


def delete_product(store: Store, actor: str, product_id: str) -> None:
    with store.transaction() as tx:
        current = tx.product(product_id)
        if current is None or current.deleted:
            raise DomainError("NO_SUCH_PRODUCT", "that product does not exist or was already deleted")
        tx.emit(ProductDeleted(product_id=product_id), actor)
