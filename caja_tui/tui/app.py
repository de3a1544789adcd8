"""The Textual app: sign in, then the screens the function keys reach. Screens call use cases; none holds
business rules. This module also owns what every screen shares: the signed-in cashier, the manager approval,
calm error handling, the status line (its refresh is status.py's), the printer queue and the sync process beside the
till."""

from __future__ import annotations

import datetime
import gc
import logging
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding
from textual.scrollbar import ScrollBar, ScrollBarRender

from ..application import cash
from ..application.ports import UserView
from ..application.receipts import Shop, people_of, render_receipt, render_refund_receipt, shop_of
from ..application.settings import StoreSettings
from ..bootstrap import TillContext, context
from ..config import Config
from ..domain.errors import DomainError
from ..host.clockcheck import clock_problem
from ..i18n import N_, _, error_text
from ..store.errors import check_pages
from ..store.sqlite import SqliteStore, StoreError
from .base import translate_bindings
from .screens.dialogs import ManagerPinScreen, MenuScreen, OpenSessionScreen
from .screens.signin import SignInScreen
from .status import StatusLineMixin
from .store_settings import adopt_settings_of_file, current_settings

log = logging.getLogger("caja.tui")


class AsciiScrollBarRender(ScrollBarRender):
    """Scrollbars drawn with spaces and colour only: the Linux console's font has no eighth-block glyphs."""

    VERTICAL_BARS: ClassVar[list[str]] = [" "] * 8
    HORIZONTAL_BARS: ClassVar[list[str]] = [" "] * 8


ScrollBar.renderer = AsciiScrollBarRender  # Textual's documented way to replace the scrollbar's look

SCREENS = ("sales", "products", "stock", "cash", "sync", "audit", "reports", "customers", "settings")
STATUS_EVERY_S = 2.0


class CajaApp(StatusLineMixin, App):
    CSS_PATH = "app.tcss"
    TITLE = "Caja"
    # The Linux console has 8 colours and no true colour: the look comes from app.tcss, not from a theme's
    # gradients; the palette is kept off the screen in kiosk mode unless a manager approves.
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), show=False, priority=True),
        Binding("ctrl+z", "suspend_process", N_("Suspend"), show=False, priority=True),
    ]

    def __init__(
        self,
        ctx: TillContext | Config,
        store: SqliteStore,
        *,
        kiosk: bool = False,
        sync_proc=None,
        clock: Callable[[], float] = time.time,
        clock_check: Callable[[int, int], str | None] = clock_problem,
    ) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx if isinstance(ctx, TillContext) else context(ctx)
        self.cfg = self.ctx.cfg
        self.store = store
        self.kiosk = kiosk
        self.sync_proc = sync_proc
        self.clock = clock
        self.clock_check = clock_check
        self.user: UserView | None = None
        self.money = self.ctx.money
        self._settings: StoreSettings | None = None
        self._settings_mark: tuple[int, int] | None = None  # the store's change mark when they were read
        self.tz = self.ctx.tz
        self.throughput: deque[float] = deque(maxlen=120)  # events a minute, one per status refresh (status.py)
        self.notice = ""
        self._unsynced: int | str = 0
        self._refused = 0  # this till's events the server refused, while nobody sent them again nor reverted them
        self._ticks = 0
        self._seen_version: int | None = None  # PRAGMA data_version when the figures were last read
        self._approved_exit = False
        self.animation_level = "none"  # no animations: calm on a slow console, and ~0% CPU when idle

    def settings(self) -> StoreSettings:
        """The store's settings as they are now (application/settings.py): read again only when the file changed
        (this till wrote, or another process committed, such as the sync process with a pulled `config.updated`).
        Asked at a sale's start, by receipts and by screens, never on a scan."""
        mark = self.store.change_mark()
        if self._settings is None or mark != self._settings_mark:
            self._settings = current_settings(self.cfg, self.store)
            self._settings_mark = mark
        return self._settings

    @property
    def prices_include_tax(self) -> bool:
        """Whether prices include tax, for a sale starting now (the sales screen keeps it for its sale)."""
        return self.settings().prices_include_tax

    def shop(self) -> Shop:
        """What a receipt shows of the shop: the store's settings, this till's money format and language."""
        return shop_of(self.cfg, self.settings())

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock(), self.tz)

    # --- start, sign in, sign out -------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(SignInScreen())
        self.set_interval(STATUS_EVERY_S, self.refresh_status)

    def signed_in(self, user: UserView) -> None:
        self.user = user
        log.info("signed in: %s", user.id)
        with self.store.read() as tx:
            session = tx.open_session()
        if session is None:
            self.push_screen(OpenSessionScreen(self.money.parse), self._opened)
        else:
            self.goto("sales")

    def _opened(self, opening_float: int | None) -> None:
        if opening_float is not None:
            if self.guard(lambda: cash.open_session(self.store, self.user.id, opening_float)) is None:
                return
            self.after_write()
        self.goto("sales")  # without a session the cashier can still look around; paying asks for one

    def _settle_memory(self) -> None:
        """What is alive after a screen switch lives on: keep it out of the garbage collector's full passes
        (each costs ~20-30 ms with Textual's objects, a visible hitch on a scan). Unfreezing first lets the
        screen just left be collected, so switching screens all day leaks nothing."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    def action_goto(self, name: str) -> None:
        self.goto(name)

    def goto(self, name: str) -> None:
        if name not in SCREENS or self.user is None:
            return
        from .screens import load_screen

        current = self.screen
        if getattr(current, "NAME", None) == name:
            return
        screen = load_screen(name)
        # One full screen at a time under the dialogs: switch, never stack.
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(screen)
        self.call_after_refresh(self._settle_memory)

    def _confirm_leaving(self, question: str, then: Callable[[], Any]) -> None:
        """With a sale in progress, ask first (it is kept either way: the next sign-in finds it)."""
        draft = self.store.load_draft()
        if draft is None or not draft.lines:
            then()
            return
        items = [("y", _("Yes (the sale in progress is kept)"), "yes"), ("n", _("No, back to the sale"), "no")]
        self.push_screen(MenuScreen(question, items), lambda answer: answer == "yes" and then())

    def action_sign_out(self) -> None:
        self._confirm_leaving(_("A sale is in progress. Sign out?"), self._sign_out)

    def _sign_out(self) -> None:
        log.info("signed out: %s", self.user.id if self.user else "-")
        self.user = None
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(SignInScreen())

    # --- kiosk: leaving needs a manager ---------------------------------------------------------------------

    async def action_quit(self) -> None:
        if self.kiosk and not self._approved_exit:
            self.with_manager(_("leave kiosk mode"), lambda _m: self._approved_quit())
            return
        self._confirm_leaving(_("A sale is in progress. Quit the till?"), self.exit)

    def _approved_quit(self) -> None:
        self._approved_exit = True
        self.exit()

    def action_suspend_process(self) -> None:
        if self.kiosk:
            self.with_manager(_("suspend the till"), lambda _m: super(CajaApp, self).action_suspend_process())
        else:
            super().action_suspend_process()

    def action_command_palette(self) -> None:
        if self.kiosk:
            self.with_manager(_("open the command palette"), lambda _m: super(CajaApp, self).action_command_palette())
        else:
            super().action_command_palette()

    def get_system_commands(self, screen):
        """The command palette without Textual's theme switcher: the till's colours are the 8 the Linux
        console has (app.tcss), and a theme could pick others."""
        for command in super().get_system_commands(screen):
            if command.title != "Theme":
                yield command

    # --- what screens share ------------------------------------------------------------------------------

    def with_manager(self, why: str, then: Callable[[UserView], Any]) -> None:
        """Run `then(manager)` now if a manager is signed in, else after a manager enters their PIN."""
        if self.user is not None and self.user.role == "manager":
            user = self.user
            self.guard(lambda: then(user))
            return

        def approved(manager: UserView | None) -> None:
            if manager is not None:
                log.info("manager %s approved: %s", manager.id, why)
                self.guard(lambda: then(manager))

        self.push_screen(ManagerPinScreen(why), approved)

    def guard(self, action: Callable[[], Any], screen=None) -> Any:
        """Run a use case; a refusal becomes a calm message on the screen (and in the log), never a traceback."""
        try:
            return action()
        except DomainError as exc:
            target = screen or self.screen_with_message()
            if hasattr(target, "fail"):
                target.fail(exc)
            else:
                self.notify(error_text(exc), severity="error")
            log.info("refused: %s (%s)", exc.message, exc.code)
        except StoreError as exc:  # a full disk, a damaged file: the gist on the message line, all of it in a toast
            target = screen or self.screen_with_message()
            if hasattr(target, "say"):
                target.say(str(exc).split(";")[0], error=True)
            self.notify(str(exc), severity="error", timeout=30)
            log.warning("store: %s", exc)
        return None

    def screen_with_message(self):
        for screen in reversed(self.screen_stack):
            if hasattr(screen, "fail"):
                return screen
        return self.screen

    def parse_int(self, text: str, low: int = 1, high: int = 1_000_000) -> int:
        text = text.strip()
        if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
            raise DomainError("BAD_NUMBER", _("type a whole number from {low} to {high}").format(low=low, high=high))
        return int(text)

    def ensure_sync_process(self) -> None:
        """Start `caja sync` beside the till if it does not run yet (a till just paired, in a shop with no
        server: its sync process is what serves and takes the other tills' events)."""
        if self.sync_proc is None or self.sync_proc.poll() is not None:
            self.sync_proc = self.ctx.start_sync_process()

    def after_write(self) -> None:
        """Something was written: the status line shows it at once (the sync process sees it by itself)."""
        self.refresh_status(changed=True)

    def receipt_text(self, receipt_no: str, width: int | None = None) -> str:
        with self.store.read() as tx:
            sale = tx.sale_by_receipt(receipt_no)
        return "" if sale is None else self._render_receipt(sale, width)

    def refund_text(self, done, approved_by: str, width: int = 42) -> str:
        """The slip of a refund just written (`done`: the use case's CompletedRefund)."""
        with self.store.read() as tx:
            sale = tx.sale(done.sale_id)
        if sale is None:
            return ""
        event = done.event
        return render_refund_receipt(
            sale,
            event.payload,
            self.shop(),
            at_ms=event.created_at,
            event_hash=event.hash,
            approved_by=approved_by,
            width=width,
            tz=self.tz,
        )

    def _render_receipt(self, sale, width: int | None = None) -> str:
        with self.store.read() as tx:
            cashier, customer = people_of(tx, sale)
        return render_receipt(
            sale,
            self.shop(),
            width=width or self.cfg.till.receipt_width,
            tz=self.tz,
            cashier=cashier or sale.actor,
            customer=customer,
        )

    def name_of(self, user_id: str) -> str:
        with self.store.read() as tx:
            user = tx.user(user_id)
        return user.name if user else user_id

    def print_receipt(self, sale_id: str) -> None:
        """Queue the receipt for the printer and print in a worker thread: a slow or absent printer never
        holds up the counter. The screen says when it waits in the queue."""
        if self.ctx.printer.kind == "none":
            return
        from ..host.printing import enqueue

        with self.store.read() as tx:
            sale = tx.sale(sale_id)
        if sale is None:
            return
        enqueue(
            self.store,
            self._render_receipt(sale),
            sale_id=sale.id,
            drawer=any(p.method == "cash" for p in sale.payments),
        )
        self.run_worker(self._print_pending, thread=True, group="printer")

    _printing = threading.Lock()  # one printing thread at a time: a receipt is never printed twice

    def side_store(self) -> SqliteStore:
        """A connection of its own to this till's database, for a worker thread (see TillContext.side_store)."""
        return self.ctx.side_store(self.store)

    def _print_pending(self) -> None:
        from ..host.printing import print_pending

        try:
            with self._printing, self.side_store() as store:
                _printed, error = print_pending(store, self.ctx.printer)
        except Exception as exc:  # noqa: BLE001 - the printer is best effort; the sale is already safe
            error = str(exc)
        self.notice = _("receipt waits in the print queue") if error else ""
        if error:
            log.warning("printer: %s", error)
        self.call_from_thread(self.refresh_status)

    # --- crashes: a calm line and the log, never a traceback on the cashier's screen ----------------------

    def _fatal_error(self) -> None:
        log.error("the till stopped on an unexpected error:\n%s", traceback.format_exc())
        self._close_messages_no_wait()


def run_tui(ctx: TillContext, *, kiosk: bool = False, checked: Callable[[], None] | None = None) -> int:
    """Run the till. In kiosk mode a crash restarts it into sign-in (the draft cart is in the database).
    `checked`: the damage check of the first start, run beside the import of this module (cli/till.py); called,
    it raises what it found."""
    from ..host.logs import to_till_file
    from ..i18n import set_language

    set_language(ctx.cfg.till.language)
    log_path = ctx.paths.tui_log
    to_till_file(log_path)  # rotated: years on an SD card
    sync_proc = ctx.start_sync_process()
    try:
        while True:
            with ctx.open_store() as store:
                if checked is None:
                    check_pages(store)  # a damaged file is refused before anyone sells on it
                else:
                    checked()  # the same check, run while this module loaded
                    checked = None  # a restart (kiosk) checks again
                adopt_settings_of_file(ctx, store)  # an older TOML's shop name, header...: the store's, once
                app = CajaApp(ctx, store, kiosk=kiosk, sync_proc=sync_proc)
                app.run()
            code = app.return_code or 0
            if code == 0:
                return 0
            print(
                _("Caja stopped on an unexpected error; the details are in {log}.").format(log=log_path),
                file=sys.stderr,
            )
            if not kiosk:
                return code
            print(_("Restarting the till (the sale in progress is kept)..."), file=sys.stderr)
            time.sleep(1)
    finally:
        stop_sync_child(sync_proc)


QUIT_WAIT_S = 1.0


def stop_sync_child(proc: subprocess.Popen | None) -> None:
    """Quitting never waits on the network: SIGTERM stops the child's engine at once (a request in flight is left
    to its own thread, sync/engine.py); after a second at most it is killed, and what it had in flight is sent
    again by the next engine (the server answers `duplicate`)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=QUIT_WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
