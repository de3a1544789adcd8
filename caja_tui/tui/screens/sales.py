"""The sales screen: one input line always focused (scanner, SKU, 3*SKU), the cart, the totals."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label

from ...application import sales
from ...domain import money, rules
from ...domain.cart import Cart
from ...domain.errors import DomainError
from ..widgets import StatusLine
from .dialogs import PaymentScreen


class SalesScreen(Screen):
    BINDINGS = [
        ("f5", "pay", "Pay"),
        ("f8", "remove_line", "Remove line"),
        ("escape", "clear_entry", "Clear"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Input(placeholder="scan a barcode, type a SKU or 3*SKU, Enter", id="entry")
        with Horizontal(id="main"):
            yield DataTable(id="cart", cursor_type="row", zebra_stripes=False)
            with Vertical(id="totals"):
                yield Label("", id="total", classes="big")
                yield Label("", id="tax")
                yield Label("", id="message", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cart", DataTable)
        table.add_columns("#", "Qty", "Item", "Amount")
        self.cart = self.app.store.load_draft() or Cart()
        self.refresh_cart()
        self.query_one("#entry", Input).focus()

    def _fmt(self, value: int) -> str:
        return money.format_money(value, self.app.exponent)

    def refresh_cart(self) -> None:
        table = self.query_one("#cart", DataTable)
        table.clear()
        for i, ln in enumerate(self.cart.lines, 1):
            table.add_row(str(i), str(ln.qty), ln.name[:40], self._fmt(ln.qty * ln.unit_price - ln.discount))
        if self.cart.lines:
            p = rules.price_sale(self.cart.lines, self.cart.discount, self.app.prices_include_tax)
            self.query_one("#total", Label).update(f"TOTAL {self._fmt(p.total)}")
            self.query_one("#tax", Label).update(f"tax {self._fmt(p.tax)}")
        else:
            self.query_one("#total", Label).update("TOTAL 0")
            self.query_one("#tax", Label).update("")
        self.app.refresh_status()

    def say(self, text: str) -> None:
        self.query_one("#message", Label).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        entry = event.value.strip()
        event.input.value = ""
        if not entry:
            return
        try:
            found = sales.scan(self.app.store, self.cart, entry)
        except DomainError as exc:
            self.say(exc.message)
            return
        self.say("" if found else f"no product '{entry}'")
        self.refresh_cart()
        self.app.notify_sync()

    def action_clear_entry(self) -> None:
        self.query_one("#entry", Input).value = ""

    def action_remove_line(self) -> None:
        if not self.cart.lines:
            return
        row = self.query_one("#cart", DataTable).cursor_row
        index = row if 0 <= row < len(self.cart.lines) else len(self.cart.lines) - 1
        self.cart.remove(index)
        sales.save_cart(self.app.store, self.cart)
        self.refresh_cart()

    def action_pay(self) -> None:
        if not self.cart.lines:
            self.say("the cart is empty")
            return
        total = rules.price_sale(self.cart.lines, self.cart.discount, self.app.prices_include_tax).total
        self.app.push_screen(PaymentScreen(total), self._paid)

    def _paid(self, tenders) -> None:
        if not tenders:
            return
        try:
            done = sales.complete_sale(self.app.store, self.app.user.id, self.cart, tenders,
                                       prices_include_tax=self.app.prices_include_tax)
        except DomainError as exc:
            self.say(exc.message)
            return
        self.cart = Cart()
        self.refresh_cart()
        change = f"  CHANGE {self._fmt(done.change)}" if done.change else ""
        self.say(f"{done.receipt_no} paid{change}")
        self.app.notify_sync()
        self.query_one("#entry", Input).focus()

