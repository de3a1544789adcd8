"""Inventory: stock per product, a low-stock filter, adjust with a reason, count, receive goods."""

from __future__ import annotations

from textual.binding import Binding

from ...application import stock
from ...application.ports import ProductView
from ...domain import rules
from ...domain.errors import DomainError
from ...domain.events import ADJUST_REASONS
from ...i18n import N_, _
from ..widgets import shorten
from .dialogs import AskScreen, MenuScreen
from .products import SHOWN, ListScreen

REASON_LABELS = {
    "damaged": N_("damaged"),
    "lost": N_("lost"),
    "theft": N_("theft"),
    "expired": N_("expired"),
    "supplier_return": N_("returned to the supplier"),
    "found": N_("found"),
    "correction": N_("correction"),
    "other": N_("other"),
}


class StockScreen(ListScreen):
    NAME = "stock"
    BINDINGS = [Binding("f5", "low", N_("Low stock")), Binding("f8", "count", N_("Count"))]
    COLUMNS = [(N_("SKU"), 12), (N_("Name"), 34), (N_("Qty"), 8), (N_("Low"), 8)]
    PLACEHOLDER = N_("search; Enter: adjust, count or receive the highlighted product")

    def on_mount(self) -> None:
        self.low_only = False

    def fetch(self, text: str) -> list[ProductView]:
        self.low = self.app.settings().low_stock  # the store's level now (a change pulled shows at the next reload)
        with self.app.store.read() as tx:
            return tx.search_products(text, limit=SHOWN, max_stock=self.low if self.low_only else None)

    def cells(self, p: ProductView) -> list[str]:
        low = p.stock <= self.low
        return [p.sku[:12], shorten(p.name, self.widths[1]), str(p.stock), _("LOW") if low else ""]

    def action_low(self) -> None:
        self.low_only = not self.low_only
        self.reload()
        self.say(
            _("showing products with {n} or fewer in stock").format(n=self.low)
            if self.low_only
            else _("showing all products")
        )

    def open(self, p: ProductView) -> None:
        items = [
            ("a", _("Adjust (damaged, lost, ...)"), "adjust"),
            ("c", _("Count: set what is on the shelf"), "count"),
            ("r", _("Receive goods"), "receive"),
        ]
        self.app.push_screen(
            MenuScreen(f"{p.name[:40]}: {p.stock}", items), lambda what: what and getattr(self, f"do_{what}")(p)
        )

    def action_count(self) -> None:
        if self.current() is not None:
            self.do_count(self.current())

    def _done(self, p: ProductView, new_stock) -> None:
        if new_stock is not None:
            self.reload()
            self.say(_("{name}: {n} in stock").format(name=p.name[:30], n=new_stock))
            self.app.after_write()

    def do_count(self, p: ProductView) -> None:
        self.app.push_screen(
            AskScreen(
                _("Counted on the shelf: {name}").format(name=p.name[:30]),
                parse=lambda t: self.app.parse_int(t, low=0),
                placeholder=_("now {n}").format(n=p.stock),
            ),
            lambda n: (
                n is not None
                and self._done(
                    p, self.app.guard(lambda: stock.count_stock(self.app.store, self.app.user.id, p.id, n), self)
                )
            ),
        )

    def do_receive(self, p: ProductView) -> None:
        self.app.push_screen(
            AskScreen(_("Received: {name} (quantity)").format(name=p.name[:30]), parse=self.app.parse_int),
            lambda n: (
                n is not None
                and self._done(
                    p, self.app.guard(lambda: stock.receive_stock(self.app.store, self.app.user.id, p.id, n), self)
                )
            ),
        )

    def do_adjust(self, p: ProductView) -> None:
        items = [(str(i), _(REASON_LABELS[r]), r) for i, r in enumerate(ADJUST_REASONS, 1)]

        def reason_chosen(reason: str | None) -> None:
            if reason is not None:
                self.app.push_screen(
                    self._amount_dialog(p, reason), lambda delta: delta is not None and self._adjust(p, reason, delta)
                )

        self.app.push_screen(MenuScreen(_("Why does the stock change?"), items), reason_chosen)

    def _amount_dialog(self, p: ProductView, reason: str) -> AskScreen:
        """How many, signed by the reason (a loss takes away whatever sign is typed); shows "24 -> 22"."""
        sign = rules.adjustment_sign(reason)
        question = {
            -1: _("How many to take away ({reason})?"),
            1: _("How many to add ({reason})?"),
            0: _("Change in stock ({reason}), e.g. -2 or 3"),
        }[sign].format(reason=_(REASON_LABELS[reason]))

        def parse(text: str) -> int:
            n = self.app.parse_int(text.replace("+", ""), low=-1_000_000)
            return -abs(n) if sign < 0 else abs(n) if sign > 0 else n

        def preview(text: str) -> str:
            try:
                delta = parse(text)
            except DomainError:
                return _("in stock now: {n}").format(n=p.stock)
            return f"{p.stock} -> {p.stock + delta}"

        return AskScreen(f"{p.name}\n{question}", parse=parse, preview=preview)

    def _adjust(self, p: ProductView, reason: str, delta: int) -> None:
        def write(actor_id: str) -> None:
            self._done(
                p, self.app.guard(lambda: stock.adjust_stock(self.app.store, actor_id, p.id, delta, reason), self)
            )

        if delta < 0:  # taking stock away (a loss, a theft) needs a manager
            self.app.with_manager(
                _("take {n} of {name} out of stock").format(n=-delta, name=p.name[:30]),
                lambda manager: write(manager.id),
            )
        else:
            write(self.app.user.id)
