"""Sign-in: choose a cashier, enter the PIN."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList

from ...application import users
from ...domain.errors import DomainError
from ...i18n import _
from ..base import CajaModal
from ..widgets import Entry


class SignInScreen(CajaModal):
    """Not dismissible: Escape clears the PIN."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("{shop} - sign in").format(shop=self.app.cfg.till.shop_name))
            yield OptionList(id="people")
            yield Entry(placeholder=_("PIN"), password=True, id="pin")
            yield Label("", id="message", classes="error")
            yield Label(_("arrows: choose   Enter: sign in"), classes="hint")

    def on_mount(self) -> None:
        with self.app.store.read() as tx:
            self.people = tx.users()
        people = self.query_one("#people", OptionList)
        for u in self.people:
            people.add_option(f"{u.name} ({_(u.role)})")
        people.highlighted = 0 if self.people else None
        if not self.people:
            self.say(_("This till has no users yet: run `caja init` to create the first manager."))
        self.query_one("#pin", Input).focus()

    def on_key(self, event) -> None:
        if event.key in ("up", "down") and self.people:
            event.stop()
            box = self.query_one("#people", OptionList)
            box.action_cursor_down() if event.key == "down" else box.action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#pin", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        index = self.query_one("#people", OptionList).highlighted
        pin, event.input.value = event.value, ""
        if index is None or not self.people:
            return
        try:
            user = users.authenticate(self.app.store, self.people[index].id, pin)
        except DomainError as exc:
            self.say(exc.message)
            return
        self.app.signed_in(user)

    def action_cancel(self) -> None:
        self.query_one("#pin", Input).value = ""
