"""Cash: open the session with a float, pay in and out, X report, close with a count by denomination and
see expected against counted on the Z report."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Static

from ...application import cash, reports
from ...domain.errors import DomainError
from ...i18n import N_, _, error_text
from ..base import CajaModal, CajaScreen
from ..widgets import Entry
from .dialogs import AskScreen, OpenSessionScreen, TextScreen


class CountScreen(CajaModal):
    """Count the drawer by face value (or type one total when the currency has no list); returns
    (counted, {face: n})."""

    BINDINGS = [Binding("f5", "done", N_("Close the session"))]

    def __init__(self, faces: tuple[int, ...]) -> None:
        super().__init__()
        self.faces = faces

    def compose(self) -> ComposeResult:
        fmt = self.app.money
        with Vertical(classes="dialog wide"):
            yield Label(_("Count the cash in the drawer"))
            with Grid(id="count-grid"):
                for face in self.faces:
                    yield Label(fmt(face), classes="face")
                    yield Entry(placeholder="0", id=f"n-{face}", classes="count")
                if not self.faces:
                    yield Label(_("Counted total"), classes="face")
                    yield Entry(placeholder="0", id="n-total", classes="count")
            yield Label("", id="counted", classes="big")
            yield Label(_("Enter: next   F5: close the session   Esc: cancel"), classes="hint")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        self.query(Input).first().focus()
        self._update()

    def _counts(self) -> tuple[int, dict[str, int]]:
        if not self.faces:
            text = self.query_one("#n-total", Input).value
            return (self.app.money.parse(text) if text.strip() else 0), {}
        counts = {}
        for face in self.faces:
            text = self.query_one(f"#n-{face}", Input).value.strip()
            if text:
                counts[str(face)] = self.app.parse_int(text, low=0)
        return sum(int(f) * n for f, n in counts.items()), counts

    def _update(self) -> bool:
        try:
            total, _counts = self._counts()
        except DomainError as exc:
            self.say(error_text(exc))
            return False
        self.say("")
        self.query_one("#counted", Label).update(_("Counted {amount}").format(amount=self.app.money(total)))
        return True

    def on_input_changed(self, event: Input.Changed) -> None:
        self._update()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        i = inputs.index(event.input)
        if i + 1 < len(inputs):
            inputs[i + 1].focus()
        else:
            self.action_done()

    def action_done(self) -> None:
        if self._update():
            self.dismiss(self._counts())


class CashScreen(CajaScreen):
    NAME = "cash"
    BINDINGS = [
        Binding("f5", "open", N_("Open session")),
        Binding("f8", "close", N_("Close (Z)")),
        Binding("i", "pay_in", N_("Pay in")),
        Binding("o", "pay_out", N_("Pay out")),
        Binding("x", "x_report", N_("X report")),
        Binding("z", "last_z", N_("Last Z")),
    ]

    def compose_body(self) -> ComposeResult:
        with Vertical(id="cash-body"):
            yield Static("", id="summary", markup=False)
            yield Label("", id="message")

    SESSION_ACTIONS = ("close", "pay_in", "pay_out", "x_report")
    _is_open: bool | None = None  # whether a session is open, as last shown (None: not looked yet)

    def on_screen_resume(self) -> None:
        self.show_summary()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that apply: F5 opens a session when none is open; closing, paying in or out and the X
        report when one is."""
        is_open = self._is_open
        if is_open is None:
            return True
        if action == "open":
            return not is_open
        if action in self.SESSION_ACTIONS:
            return is_open
        return True

    def show_summary(self) -> None:
        fmt = self.app.money
        s = cash.current_summary(self.app.store)
        if (s is not None) != self._is_open:
            self._is_open = s is not None
            if self.is_mounted:
                self.show_keys()
        if s is None:
            with self.app.store.read() as tx:
                last_z, grand = tx.last_z()
            text = _("No cash session is open. F5 opens one with the float in the drawer.")
            if last_z:
                text += "\n\n" + _("Last Z report: #{z}   grand total {amount}").format(z=last_z, amount=fmt(grand))
            self.query_one("#summary", Static).update(text)
            return
        rows = [
            (_("Opening float"), s.opening_float),
            (_("Sales ({n})").format(n=s.sales_count), s.sales_total),
            (_("  cash taken"), s.cash_taken),
            (_("  change given"), -s.change_given),
            (_("  card"), s.card_total),
            (_("  other"), s.other_total),
            (_("Refunds"), -s.refunds_total),
            (_("  in cash"), -s.cash_refunded),
            (_("Paid in"), s.paid_in),
            (_("Paid out"), -s.paid_out),
            (_("Cash expected in the drawer"), s.expected),
        ]
        blind = self.app.user is not None and self.app.user.role != "manager"
        if blind:  # a blind count: a cashier counts the drawer without knowing what it should hold
            rows = rows[:2] + rows[4:6]
        lines = [f"{label:<34}{fmt(v):>16}" for label, v in rows]
        if blind:
            lines.append(_("(the cash figures are a manager's: the drawer is counted blind)"))
        if s.voids_count:
            lines.append(_("{n} sales voided").format(n=s.voids_count))
        self.query_one("#summary", Static).update(_("Cash session open") + "\n\n" + "\n".join(lines))

    def action_open(self) -> None:
        self.app.push_screen(OpenSessionScreen(self.app.money.parse), self._opened)

    def _opened(self, amount: int | None) -> None:
        if amount is not None and self.app.guard(
            lambda: cash.open_session(self.app.store, self.app.user.id, amount), self
        ):
            self.say(_("session open with {amount}").format(amount=self.app.money(amount)))
            self.app.after_write()
            self.show_summary()

    def _move(self, kind: str, actor: str) -> None:
        question = _("Pay in: amount") if kind == "in" else _("Pay out: amount")

        def ask_reason(amount: int | None) -> None:
            if amount is None:
                return
            self.app.push_screen(
                AskScreen(_("Reason (e.g. change from the bank, supplier)")),
                lambda reason: reason is not None and self._moved(kind, actor, amount, reason),
            )

        self.app.push_screen(AskScreen(question, parse=self.app.money.parse), ask_reason)

    def _moved(self, kind: str, actor: str, amount: int, reason: str) -> None:
        if self.app.guard(lambda: cash.move_cash(self.app.store, actor, kind, amount, reason), self):
            self.say(
                (_("paid in {amount}") if kind == "in" else _("paid out {amount}")).format(
                    amount=self.app.money(amount)
                )
            )
            self.app.after_write()
            self.show_summary()

    def action_pay_in(self) -> None:
        self._move("in", self.app.user.id)

    def action_pay_out(self) -> None:
        self.app.with_manager(_("pay cash out"), lambda manager: self._move("out", manager.id))

    def _text(self, r) -> str:
        return reports.render(r, "text", language=self.app.cfg.till.language)

    def _report_args(self) -> dict:
        return {
            "currency": self.app.cfg.till.currency,
            "exponent": self.app.cfg.till.currency_exponent,
            "tz": self.app.tz,
        }

    def action_x_report(self) -> None:
        r = self.app.guard(lambda: reports.x_report(self.app.store, **self._report_args()), self)
        if r is not None:
            self.app.push_screen(TextScreen(self._text(r), title=_("X report")))

    def action_last_z(self) -> None:
        r = self.app.guard(lambda: reports.z_report(self.app.store, **self._report_args()), self)
        if r is not None:
            self.app.push_screen(TextScreen(self._text(r), title=_("Z report")))

    def action_close(self) -> None:
        with self.app.store.read() as tx:
            if tx.open_session() is None:
                self.say(_("no cash session is open"), error=True)
                return

        def approved(manager) -> None:
            faces = cash.denominations_for(self.app.cfg.till.currency, self.app.cfg.till.currency_exponent)
            self.app.push_screen(CountScreen(faces), lambda counted: counted and self._close(manager, *counted))

        self.app.with_manager(_("close the cash session"), approved)

    def _close(self, manager, counted: int, denominations: dict[str, int]) -> None:
        done = self.app.guard(
            lambda: cash.close_session(
                self.app.store, manager.id, counted=counted, denominations=denominations or None
            ),
            self,
        )
        if done is None:
            return
        closed, _summary = done
        self.app.after_write()
        self.show_summary()
        r = reports.z_report(self.app.store, closed.z_number, **self._report_args())
        fmt = self.app.money
        head = _("Expected {expected}   counted {counted}   difference {diff}").format(
            expected=fmt(closed.expected or 0), counted=fmt(closed.counted or 0), diff=fmt(closed.difference or 0)
        )
        self.app.push_screen(
            TextScreen(head + "\n\n" + self._text(r), title=_("Z report #{z}").format(z=closed.z_number))
        )
