"""Customers: find, create, edit, and a customer's sales; and the picker the sales screen uses."""

from __future__ import annotations

import datetime

from textual.binding import Binding

from ...application import customers
from ...i18n import N_, _
from ..widgets import shorten
from .dialogs import PickScreen, TextScreen
from .form import Field, FormScreen
from .products import SHOWN, ListScreen


def customer_fields(c: dict | None) -> list[Field]:
    return [
        Field(name=k, label=label, value=(c or {}).get(k, ""))
        for k, label in (("name", _("Name")), ("tax_id", _("Tax id")), ("phone", _("Phone")), ("email", _("Email")))
    ]


class CustomersScreen(ListScreen):
    NAME = "customers"
    BINDINGS = [Binding("f5", "new", N_("New")), Binding("f8", "sales", N_("Their sales"))]
    COLUMNS = [(N_("Name"), 26), (N_("Tax id"), 14), (N_("Phone"), 14), (N_("Email"), 20)]
    FLEX = 0
    PLACEHOLDER = N_("find by name, tax id, phone or email; Enter edits")

    def fetch(self, text: str) -> list[dict]:
        with self.app.store.read() as tx:
            return tx.find_customers(text, limit=SHOWN)

    def cells(self, c: dict) -> list[str]:
        return [shorten(c["name"], self.widths[0]), c["tax_id"][:14], c["phone"][:14], c["email"][:20]]

    def action_new(self) -> None:
        def save(values):
            return customers.create_customer(self.app.store, self.app.user.id, **values)

        self.app.push_screen(FormScreen(_("New customer"), customer_fields(None), save), self._saved)

    def open(self, c: dict) -> None:
        def save(values):
            customers.update_customer(self.app.store, self.app.user.id, c["id"], **values)
            return c["id"]

        self.app.push_screen(
            FormScreen(_("Edit {name}").format(name=c["name"][:30]), customer_fields(c), save), self._saved
        )

    def _saved(self, customer_id: str | None) -> None:
        if customer_id is not None:
            self.reload()
            self.say(_("customer saved"))
            self.app.after_write()

    def action_sales(self) -> None:
        c = self.current()
        if c is None:
            return
        with self.app.store.read() as tx:
            rows = tx.sales_of_customer(c["id"])
        lines = [
            f"{datetime.datetime.fromtimestamp(at / 1000, self.app.tz):%Y-%m-%d %H:%M}  {receipt:<14} "
            f"{self.app.money(total):>14}"
            for receipt, at, total in rows
        ]
        self.app.push_screen(
            TextScreen("\n".join(lines) or _("No sales yet."), title=_("Sales of {name}").format(name=c["name"][:30]))
        )


class CustomerPickScreen(PickScreen):
    """Returns a customer id, '' to take the customer off the sale, or None (Esc)."""

    TITLE = N_("Customer on this sale")
    HINT = N_("Enter: choose  F5: new  F8: no customer  Esc: back")
    BINDINGS = [Binding("f5", "new", N_("New customer")), Binding("f8", "none", N_("No customer"))]

    def __init__(self) -> None:
        super().__init__(placeholder=_("find by name, tax id, phone or email"))

    def fetch(self, text: str) -> list[dict]:
        with self.app.store.read() as tx:
            return tx.find_customers(text, limit=20)

    def row(self, c: dict) -> str:
        return f"{c['name'][:30]:<30} {c['tax_id'][:14]:<14} {c['phone'][:14]}"

    def picked(self, c: dict) -> str:
        return c["id"]

    def action_none(self) -> None:
        self.dismiss("")

    def action_new(self) -> None:
        def save(values):
            return customers.create_customer(self.app.store, self.app.user.id, **values)

        self.app.push_screen(
            FormScreen(_("New customer"), customer_fields(None), save),
            lambda cid: cid is not None and self.dismiss(cid),
        )
