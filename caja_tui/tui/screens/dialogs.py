"""Modal dialogs: open the cash session, take payment. They return their result with dismiss()."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ...domain import money
from ...domain.errors import DomainError
from ...domain.events import Tender


class OpenSessionScreen(ModalScreen[int | None]):
    BINDINGS = [("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Open the cash session: opening float")
            yield Input(placeholder="0.00", id="float")
            yield Label("", id="message", classes="error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(money.parse_money(event.value or "0", self.app.exponent))
        except DomainError as exc:
            self.query_one("#message", Label).update(exc.message)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PaymentScreen(ModalScreen[list[Tender] | None]):
    """Enter = cash for the amount typed (or exact); c / k / o + Enter = cash, card, other. Mixed tenders add up."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total
        self.tenders: list[Tender] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("", id="due")
            yield Input(placeholder="amount, or c 100 / k / o 50 (card k, other o)", id="amount")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        self._refresh()

    def _paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    def _refresh(self) -> None:
        fmt = lambda v: money.format_money(v, self.app.exponent)  # noqa: E731
        self.query_one("#due", Label).update(f"TOTAL {fmt(self.total)}   paid {fmt(self._paid())}   "
                                             f"due {fmt(max(0, self.total - self._paid()))}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip().lower()
        method = {"c": "cash", "k": "card", "o": "other"}.get(text[:1], "cash")
        amount_text = text[1:].strip() if text[:1] in ("c", "k", "o") else text
        due = max(0, self.total - self._paid())
        try:
            amount = money.parse_money(amount_text, self.app.exponent) if amount_text else due
        except DomainError as exc:
            self.query_one("#message", Label).update(exc.message)
            return
        event.input.value = ""
        if amount > 0:
            self.tenders.append(Tender(method=method, amount=amount))
        if self._paid() >= self.total:
            self.dismiss(self.tenders)
        else:
            self._refresh()

    def action_cancel(self) -> None:
        self.dismiss(None)
