"""Customers: find, create, edit, and a customer's sales; and the picker the sales screen uses."""

from __future__ import annotations

import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ...application import customers
from ...i18n import N_, _
from ..base import CajaModal
from ..widgets import Entry
from .dialogs import TextScreen
from .form import Field, FormScreen
from .products import SHOWN, ListScreen


def customer_fields(c: dict | None) -> list[Field]:
    return [Field(name=k, label=label, value=(c or {}).get(k, "")) for k, label in
            (("name", _("Name")), ("tax_id", _("Tax id")), ("phone", _("Phone")), ("email", _("Email")))]


class CustomersScreen(ListScreen):
    NAME = "customers"
    BINDINGS = [Binding("f5", "new", N_("New")), Binding("f8", "sales", N_("Their sales"))]
    COLUMNS = [(N_("Name"), 26), (N_("Tax id"), 14), (N_("Phone"), 14), (N_("Email"), 20)]
    PLACEHOLDER = N_("find by name, tax id, phone or email; Enter edits")

    def fetch(self, text: str) -> list[dict]:
        with self.app.store.read() as tx:
            return tx.find_customers(text, limit=SHOWN)

    def cells(self, c: dict) -> list[str]:
        return [c["name"][:26], c["tax_id"][:14], c["phone"][:14], c["email"][:20]]

    def action_new(self) -> None:
        def save(values):
            return customers.create_customer(self.app.store, self.app.user.id, **values)

        self.app.push_screen(FormScreen(_("New customer"), customer_fields(None), save), self._saved)

    def open(self, c: dict) -> None:
        def save(values):
            customers.update_customer(self.app.store, self.app.user.id, c["id"], **values)
            return c["id"]

        self.app.push_screen(FormScreen(_("Edit {name}").format(name=c["name"][:30]), customer_fields(c), save),
                             self._saved)

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
        lines = [f"{datetime.datetime.fromtimestamp(at / 1000, self.app.tz):%Y-%m-%d %H:%M}  {receipt:<14} "
                 f"{self.app.money(total):>14}" for receipt, at, total in rows]
        self.app.push_screen(TextScreen("\n".join(lines) or _("No sales yet."),
                                        title=_("Sales of {name}").format(name=c["name"][:30])))


class CustomerPickScreen(CajaModal):
    """Returns a customer id, '' to take the customer off the sale, or None (Esc)."""

    BINDINGS = [Binding("f5", "new", N_("New customer")), Binding("f8", "none", N_("No customer"))]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Customer on this sale"))
            yield Entry(placeholder=_("find by name, tax id, phone or email"), id="find")
            yield OptionList(id="results")
            yield Label(_("Enter: choose  F5: new  F8: no customer  Esc: back"), classes="hint")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        self.found: list[dict] = []
        self.search("")
        self.query_one("#find", Input).focus()

    def search(self, text: str) -> None:
        with self.app.store.read() as tx:
            self.found = tx.find_customers(text, limit=20)
        box = self.query_one("#results", OptionList)
        box.clear_options()
        for c in self.found:
            box.add_option(Option(f"{c['name'][:30]:<30} {c['tax_id'][:14]:<14} {c['phone'][:14]}"))
        box.highlighted = 0 if self.found else None

    def on_input_changed(self, event: Input.Changed) -> None:
        self.search(event.value)

    def on_key(self, event) -> None:
        box = self.query_one("#results", OptionList)
        if event.key in ("down", "up") and self.found:
            event.stop()
            box.action_cursor_down() if event.key == "down" else box.action_cursor_up()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        index = self.query_one("#results", OptionList).highlighted
        if index is not None and self.found:
            self.dismiss(self.found[index]["id"])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[event.option_index]["id"])

    def action_none(self) -> None:
        self.dismiss("")

    def action_new(self) -> None:
        def save(values):
            return customers.create_customer(self.app.store, self.app.user.id, **values)

        self.app.push_screen(FormScreen(_("New customer"), customer_fields(None), save),
                             lambda cid: cid is not None and self.dismiss(cid))
