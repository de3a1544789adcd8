"""Refund from a receipt: choose the lines and quantities, how the money goes back, a manager approves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from ...application import sales
from ...application.ports import SaleView
from ...domain.errors import DomainError
from ...i18n import N_, _, error_text
from ..base import CajaModal
from .dialogs import AskScreen, MenuScreen


class RefundScreen(CajaModal):
    BINDINGS = [
        Binding("enter", "qty", N_("Quantity")),
        Binding("a", "all", N_("All")),
        Binding("f5", "refund", N_("Refund")),
    ]

    def __init__(self, sale: SaleView, manager) -> None:
        """`manager`: who approved the refund (asked before the receipt was typed)."""
        super().__init__()
        self.sale, self.manager = sale, manager
        self.left = {ln.line_no: ln.qty - sale.refunded_qty.get(ln.line_no, 0) for ln in sale.lines}
        self.chosen: dict[int, int] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(_("Refund of {receipt}").format(receipt=self.sale.receipt_no))
            yield DataTable(id="lines", cursor_type="row")
            yield Label("", id="total", classes="big")
            yield Label(_("Enter: quantity  a: everything  F5: refund  Esc: cancel"), classes="hint")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        table = self.query_one("#lines", DataTable)
        table.add_column("#", width=2)
        table.add_column(_("Item"), width=24)
        table.add_column(_("Sold"), width=5)
        table.add_column(_("Left"), width=5)
        table.add_column(_("Refund"), width=6)
        self.draw()
        table.focus()
        if self.sale.voided:
            self.say(_("this sale was voided; there is nothing to refund"))

    def draw(self) -> None:
        table = self.query_one("#lines", DataTable)
        row = table.cursor_row
        table.clear()
        for ln in self.sale.lines:
            table.add_row(
                str(ln.line_no),
                ln.name[:24],
                str(ln.qty),
                str(self.left[ln.line_no]),
                str(self.chosen.get(ln.line_no, 0)),
            )
        table.move_cursor(row=max(0, row))
        by_line = {ln.line_no: ln for ln in self.sale.lines}
        estimate = sum(by_line[n].amount * q // by_line[n].qty for n, q in self.chosen.items())
        self.query_one("#total", Label).update(_("To refund about {amount}").format(amount=self.app.money(estimate)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_qty()

    def action_all(self) -> None:
        self.chosen = {n: q for n, q in self.left.items() if q > 0}
        self.draw()

    def action_qty(self) -> None:
        row = self.query_one("#lines", DataTable).cursor_row
        if not 0 <= row < len(self.sale.lines):
            return
        line_no = self.sale.lines[row].line_no

        def parse(text: str) -> int:
            qty = self.app.parse_int(text or "0", low=0)
            if qty > self.left[line_no]:
                raise DomainError("TOO_MANY", _("only {n} left to refund on this line").format(n=self.left[line_no]))
            return qty

        def set_qty(qty: int | None) -> None:
            if qty is not None:
                self.chosen[line_no] = qty
                self.chosen = {n: q for n, q in self.chosen.items() if q > 0}
                self.draw()

        self.app.push_screen(
            AskScreen(
                _("Quantity to refund on line {n}").format(n=line_no), parse=parse, default=str(self.left[line_no])
            ),
            set_qty,
        )

    def action_refund(self) -> None:
        if not self.chosen:
            self.say(_("choose what to refund first (Enter on a line, or a)"))
            return
        paid = [p.method for p in self.sale.payments]
        items = [("c", _("cash"), "cash"), ("k", _("card"), "card"), ("o", _("other"), "other")]
        # the way it was paid comes first (and Enter takes it): money goes back the way it came
        items.sort(key=lambda item: (item[2] not in paid, paid.index(item[2]) if item[2] in paid else 0))
        items[0] = (items[0][0], items[0][1] + " " + _("(as paid)"), items[0][2])
        self.app.push_screen(MenuScreen(_("Give the money back by"), items), self._method)

    def _method(self, method: str | None) -> None:
        if method is None:
            return
        try:
            done = sales.refund_sale(
                self.app.store,
                self.manager.id,
                self.sale.receipt_no,
                dict(self.chosen),
                method=method,
                reason="refund at the till",
            )
        except DomainError as exc:
            self.say(error_text(exc))
            return
        self.dismiss((done, self.manager))
