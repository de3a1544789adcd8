"""The Textual app: sign in, open the session, sell. Screens call use cases; none holds business rules."""

from __future__ import annotations

from textual.app import App

from ..application import cash
from ..application.ports import UserView
from ..config import Config
from ..domain.errors import DomainError
from ..store.sqlite import SqliteStore
from .screens.dialogs import OpenSessionScreen
from .screens.sales import SalesScreen
from .screens.signin import SignInScreen
from .widgets import StatusLine


class CajaApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Caja"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, cfg: Config, store: SqliteStore, engine=None) -> None:
        super().__init__()
        self.cfg = cfg
        self.store = store
        self.engine = engine
        self.user: UserView | None = None
        self.exponent = cfg.till.currency_exponent
        self.prices_include_tax = cfg.till.prices_include_tax

    def on_mount(self) -> None:
        self.push_screen(SignInScreen())
        self.set_interval(2.0, self.refresh_status)

    def signed_in(self, user: UserView) -> None:
        self.user = user
        with self.store.read() as tx:
            session = tx.open_session()
        if session is None:
            self.push_screen(OpenSessionScreen(), self._opened)
        else:
            self.switch_screen(SalesScreen())

    def _opened(self, opening_float: int | None) -> None:
        if opening_float is None:
            return
        try:
            cash.open_session(self.store, self.user.id, opening_float)
        except DomainError as exc:
            self.notify(exc.message, severity="error")
            return
        self.switch_screen(SalesScreen())

    def notify_sync(self) -> None:
        if self.engine is not None:
            self.engine.notify()

    def refresh_status(self) -> None:
        try:
            status = self.screen.query_one("#status", StatusLine)
        except Exception:  # noqa: BLE001 - a screen without the status line (sign-in)
            return
        unsynced = self.store.count("SELECT COUNT(*) FROM event WHERE sync_status IN ('pending', 'syncing')")
        with self.store.read() as tx:
            session = tx.open_session()
        m = self.engine.metrics if self.engine is not None else None
        status.show(cashier=self.user.name if self.user else "-",
                    session="session open" if session else "no session",
                    connectivity=m.connectivity if m else "offline only", unsynced=unsynced,
                    clock_warning=bool(m and m.clock_warning))


def run_tui(cfg: Config) -> int:
    from ..bootstrap import open_store

    with open_store(cfg) as store:
        CajaApp(cfg, store).run()
    return 0
