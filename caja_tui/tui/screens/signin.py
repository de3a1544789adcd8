"""Sign-in: choose a cashier, enter the PIN."""

from __future__ import annotations

from textual.widgets import Input

from ...i18n import _
from .dialogs import PinScreen


class SignInScreen(PinScreen):
    """Not dismissible: Escape clears the PIN."""

    def heading(self) -> str:
        return _("{shop} - sign in").format(shop=self.app.settings().shop_name)

    def accepted(self, user) -> None:
        self.app.signed_in(user)

    def action_cancel(self) -> None:
        self.query_one("#pin", Input).value = ""
