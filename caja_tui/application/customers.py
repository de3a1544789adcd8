"""Customers: create and edit (name, tax id, phone, email), attach one to a sale, find a customer's sales."""

from __future__ import annotations

import re

from ..domain.errors import DomainError
from ..domain.events import CustomerChanges, CustomerCreated, CustomerUpdated
from ..domain.ids import uuid7
from .ports import Store

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^[+]?[0-9 ()-]{5,32}$")
TAX_ID = re.compile(r"^[A-Za-z0-9&Ññ-]{0,32}$")


def _check(fields: dict) -> dict:
    clean = {k: v.strip() for k, v in fields.items()}
    if "name" in clean and not clean["name"]:
        raise DomainError("BAD_NAME", "a customer needs a name", field="name")
    if "name" in clean and len(clean["name"]) > 200:
        raise DomainError("BAD_NAME", "a name is at most 200 characters", field="name")
    if clean.get("email") and not EMAIL.match(clean["email"]):
        raise DomainError("BAD_EMAIL", "'{email}' is not an email address", email=clean["email"], field="email")
    if clean.get("phone") and not PHONE.match(clean["phone"]):
        raise DomainError("BAD_PHONE", "a phone number has 5 to 32 digits, spaces, ( ) - or a leading +", field="phone")
    if clean.get("tax_id") and not TAX_ID.match(clean["tax_id"]):
        raise DomainError("BAD_TAX_ID", "a tax id is up to 32 letters and digits", field="tax_id")
    return clean


def create_customer(store: Store, actor: str, *, name: str, tax_id: str = "", phone: str = "", email: str = "") -> str:
    fields = _check({"name": name, "tax_id": tax_id, "phone": phone, "email": email})
    cid = uuid7()
    with store.transaction() as tx:
        tx.emit(CustomerCreated(customer_id=cid, **fields), actor)
    return cid


def update_customer(store: Store, actor: str, customer_id: str, **changes: str) -> None:
    unknown = set(changes) - {"name", "tax_id", "phone", "email"}
    if unknown:
        raise DomainError("BAD_FIELD", "customers have no field {fields}", fields=", ".join(sorted(unknown)))
    fields = _check(changes)
    with store.transaction() as tx:
        current = tx.customer(customer_id)
        if current is None:
            raise DomainError("NO_SUCH_CUSTOMER", "that customer does not exist")
        changed = {k: v for k, v in fields.items() if current[k] != v}
        if changed:
            tx.emit(
                CustomerUpdated(
                    customer_id=customer_id, changes=CustomerChanges(**changed), base_hlc=current["updated_hlc"]
                ),
                actor,
            )
