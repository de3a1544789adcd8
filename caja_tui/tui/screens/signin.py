"""Sign-in: choose a cashier, enter the PIN."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, OptionList

from ...application import users
from ...domain.errors import DomainError


class SignInScreen(Screen):
    BINDINGS = [("escape", "clear", "Clear")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Caja - sign in")
            yield OptionList(id="people")
            yield Input(placeholder="PIN", password=True, id="pin")
            yield Label("", id="message", classes="error")

    def on_mount(self) -> None:
        with self.app.store.read() as tx:
            self.people = tx.users()
        people = self.query_one("#people", OptionList)
        for u in self.people:
            people.add_option(f"{u.name} ({u.role})")
        people.highlighted = 0 if self.people else None
        self.query_one("#pin", Input).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#pin", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        index = self.query_one("#people", OptionList).highlighted
        if index is None or not self.people:
            return
        try:
            user = users.authenticate(self.app.store, self.people[index].id, event.value)
        except DomainError as exc:
            self.query_one("#message", Label).update(exc.message)
            event.input.value = ""
            return
        event.input.value = ""
        self.app.signed_in(user)

    def action_clear(self) -> None:
        self.query_one("#pin", Input).value = ""
