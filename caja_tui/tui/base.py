"""What every full screen shares: the status line on top, the key bar at the bottom, the function keys that
move between screens, translated key labels, and calm error messages."""

from __future__ import annotations

import dataclasses
import logging

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Label

from ..domain.errors import DomainError
from ..i18n import N_, _, error_text
from .widgets import KeyBar, StatusLine

log = logging.getLogger("caja.tui")

# The screens the function keys reach from anywhere (F5 and F8 belong to each screen).
NAV = [
    Binding("f1", "app.goto('sales')", N_("Sale")),
    Binding("f2", "app.goto('products')", N_("Products")),
    Binding("f3", "app.goto('stock')", N_("Stock")),
    Binding("f4", "app.goto('cash')", N_("Cash")),
    Binding("f6", "app.goto('sync')", N_("Sync")),
    Binding("f7", "app.goto('audit')", N_("Audit")),
    Binding("f9", "app.goto('reports')", N_("Reports")),
    Binding("f10", "app.goto('customers')", N_("Customers")),
    Binding("f11", "app.goto('settings')", N_("Settings")),
    Binding("f12", "app.sign_out", N_("Sign out")),
]
MANAGER_KEYS = {"app.goto('settings')"}  # shown in the key bar to a manager only (the store's settings)


def translate_bindings(node) -> None:
    """Key labels in the chosen language (the class lists them in English, the source language)."""
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [dataclasses.replace(b, description=_(b.description)) for b in bindings]


class CajaScreen(Screen):
    """A full screen: status line, body (`compose_body`), key bar."""

    NAME = ""
    BINDINGS = NAV

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield from self.compose_body()
        yield KeyBar(id="keys")

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.show_keys()
        self.app.refresh_status()

    def show_keys(self) -> None:
        keys = []
        for key, binding in self._bindings:
            if not binding.show or binding.action == f"app.goto('{self.NAME}')":
                continue
            if self.check_action(binding.action, ()) is False:  # only what applies now (e.g. no "Open" while open)
                continue
            if binding.action in MANAGER_KEYS and getattr(self.app.user, "role", None) != "manager":
                continue  # a cashier may still look (F11), a change asks for a manager's PIN: the bar has no room
            keys.append((key, binding.description))
        order = {
            k: i for i, k in enumerate(("f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12"))
        }
        keys.sort(key=lambda kv: order.get(kv[0], 99))
        self.query_one("#keys", KeyBar).show(keys)

    def action_key(self, key: str) -> None:
        self.app.simulate_key(key)

    # --- messages ------------------------------------------------------------------------------------------

    def say(self, text: str, *, error: bool = False) -> None:
        """A one-line message on the screen (and in the log when it is an error)."""
        try:
            label = self.query_one("#message")
        except Exception:  # noqa: BLE001 - a screen without a message line: a toast instead
            self.app.notify(text, severity="error" if error else "information")
            return
        label.update(text)
        label.set_class(error, "error")
        if error:
            log.info("shown to the cashier: %s", text)

    def fail(self, exc: DomainError) -> None:
        self.say(error_text(exc), error=True)


class CajaModal(ModalScreen):
    """A dialog: Escape cancels; key labels translated."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def say(self, text: str, *, error: bool = True) -> None:
        self.query_one("#message", Label).update(text)

    def fail(self, exc: DomainError) -> None:
        self.say(error_text(exc))
