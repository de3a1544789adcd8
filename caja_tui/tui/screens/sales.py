"""The sales screen (home): one input line always focused, the cart, big totals; F5 pays, F8 opens the actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Input, Static

from ...application import sales
from ...application.ports import ProductView
from ...domain import rules
from ...domain.cart import Cart
from ...i18n import N_, _
from ...store.errors import DiskFull
from ..base import CajaScreen
from ..widgets import CartView, Entry, Line, shorten
from .dialogs import PaymentScreen, PickScreen
from .sale_actions import SaleActions


class ProductSearchScreen(PickScreen):
    TITLE = N_("Find a product (name, SKU, category)")

    def fetch(self, text: str) -> list[ProductView]:
        with self.app.store.read() as tx:
            return tx.search_products(text, limit=30)

    def row(self, p: ProductView) -> str:
        return f"{p.name[:34]:<34} {p.sku[:12]:<12} {self.app.money(p.price):>12}"


class SalesScreen(SaleActions, CajaScreen):
    NAME = "sales"
    BINDINGS = [
        Binding("f5", "pay", N_("Pay")),
        Binding("f8", "actions", N_("Actions")),
        Binding("escape", "clear_entry", N_("Clear"), show=False),
        Binding("up", "cursor(-1)", N_("Line up"), show=False),
        Binding("down", "cursor(1)", N_("Line down"), show=False),
    ]

    def compose_body(self) -> ComposeResult:
        yield Entry(placeholder=_("scan, type a SKU, 3*SKU, or words to search; Enter"), id="entry")
        with Horizontal(id="main"):
            with ContentSwitcher(initial="cart", id="left"):
                yield CartView(("#", _("Qty"), _("Item"), _("Amount")), id="cart")
                with VerticalScroll(id="receipt"):
                    yield Static("", id="receipt-text", markup=False)
            with Vertical(id="totals"):
                yield Line(id="subtotal")
                yield Line(id="tax")
                yield Line(id="discount")
                yield Line(id="total", classes="big")
                yield Line(id="change", classes="big")
                yield Line(id="customer")
                yield Line(id="parked")
                yield Line(id="message")

    def on_mount(self) -> None:
        self._row_cache: dict[tuple, tuple[str, str, str]] = {}  # a cart line's state -> its shown cells
        self._customer_cache: tuple[str | None, str] = (None, "")  # customer id -> the line naming them
        self._shown_receipt = ""  # the receipt on screen: what a refund is most likely of
        self.cart = self.app.store.load_draft() or self._new_cart()
        self.include = self.app.prices_include_tax  # the tax mode of this sale (a change applies from the next)
        self._removed: tuple[int, object] | None = None  # the line F8 r took off, for F8 u
        self.refresh_cart()
        self.show_parked()
        if self.cart.lines:
            me = self.app.user.id if self.app.user else None
            if self.cart.cashier and self.cart.cashier != me:  # another cashier's unfinished sale: say whose
                self.say(
                    _("this sale was started by {name}: finish it, or F8 k puts it on hold").format(
                        name=self.app.name_of(self.cart.cashier)
                    )
                )
            else:
                self.say(_("the sale in progress was restored"))

    def _new_cart(self) -> Cart:
        return Cart(cashier=self.app.user.id if self.app.user else None)

    def on_screen_resume(self) -> None:
        self.query_one("#entry", Input).focus()

    # --- the cart -----------------------------------------------------------------------------------------

    def _rows(self) -> list[tuple[str, str, str, str]]:
        """The cart's rows as shown; a line that did not change is not formatted again (a long cart stays
        as quick to scan into as a short one)."""
        fmt, cache = self.app.money, self._row_cache
        rows = []
        for i, ln in enumerate(self.cart.lines, 1):
            key = (ln.name, ln.qty, ln.unit_price, ln.discount, ln.price_overridden)
            shown = cache.get(key)
            if shown is None:
                name = (
                    ln.name + (" *" if ln.price_overridden else "") + (f" -{fmt(ln.discount)}" if ln.discount else "")
                )
                shown = cache[key] = (str(ln.qty), name, fmt(ln.qty * ln.unit_price - ln.discount))
            rows.append((str(i), *shown))
        if len(cache) > 4 * len(rows) + 64:
            cache.clear()
        return rows

    def refresh_cart(self, *, keep_receipt: bool = False) -> None:
        """Redraw what changed: a scan adds one row or changes one, it does not rebuild the table."""
        fmt = self.app.money
        view = self.query_one("#cart", CartView)
        rows, shown = self._rows(), view.rows
        changed = next((i for i, r in enumerate(rows) if i >= len(shown) or r != shown[i]), None)
        view.set_rows(rows, changed)
        subtotal = tax = discount = total = 0
        if self.cart.lines:
            p = rules.price_sale(self.cart.lines, self.cart.discount, self.include)
            subtotal, tax, discount, total = p.subtotal, p.tax, p.discount, p.total
        self.query_one("#subtotal", Line).update(_("Subtotal {amount}").format(amount=fmt(subtotal)))
        self.query_one("#tax", Line).update(_("Tax {amount}").format(amount=fmt(tax)))
        self.query_one("#discount", Line).update(
            _("Discount {amount}").format(amount=fmt(discount)) if discount else ""
        )
        self.query_one("#total", Line).update(_("TOTAL {amount}").format(amount=fmt(total)))
        if self.cart.lines or not keep_receipt:
            self.query_one("#left", ContentSwitcher).current = "cart"
            change = self.query_one("#change", Line)
            change.update("")
            change.set_class(False, "change-due")
        self.query_one("#customer", Line).update(self._customer_name())

    def _customer_name(self) -> str:
        cid = self.cart.customer_id
        if not cid:
            return ""
        if self._customer_cache[0] != cid:
            with self.app.store.read() as tx:
                c = tx.customer(cid)
            self._customer_cache = (cid, _("Customer: {name}").format(name=shorten(c["name"], 14)) if c else "")
        return self._customer_cache[1]

    def show_parked(self) -> None:
        with self.app.store.read() as tx:
            parked = len(tx.drafts(sales.PARKED))
        self.query_one("#parked", Line).update(_("{n} parked").format(n=parked) if parked else "")

    def _save(self) -> bool:
        """Save the cart as the draft. False: not saved (a full disk, said on the screen); the cart goes back to
        what the draft holds, so what is shown is what is saved."""
        saved = self.app.guard(lambda: sales.save_cart(self.app.store, self.cart) or True, self)
        if saved is None:
            self.cart = self.app.store.load_draft() or self._new_cart()
        self.refresh_cart()
        return saved is not None

    def _line_index(self) -> int | None:
        if not self.cart.lines:
            self.say(_("the cart is empty"), error=True)
            return None
        row = self.query_one("#cart", CartView).cursor
        return row if 0 <= row < len(self.cart.lines) else len(self.cart.lines) - 1

    def action_cursor(self, step: int) -> None:
        self.query_one("#cart", CartView).move(step)

    # --- entry --------------------------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        entry = event.value.strip()
        event.input.value = ""
        if not entry:
            return
        self.sale_starts()
        scanned = self.app.guard(lambda: [sales.scan(self.app.store, self.cart, entry)], self)
        if scanned is None:  # refused, or not saved (a full disk): the cart is what the draft holds
            self.cart = self.app.store.load_draft() or self._new_cart()
            self.refresh_cart()
            return
        found = scanned[0]
        if found is None:
            qty, code = sales.parse_entry(entry)
            self.app.push_screen(ProductSearchScreen(code), lambda p: self._picked(p, qty))
            return
        self.say(f"+{sales.parse_entry(entry)[0]} {found.name[:22]}")
        self.refresh_cart()

    def _picked(self, product: ProductView | None, qty: int) -> None:
        if product is None:
            return
        self.sale_starts()
        self.app.guard(lambda: (sales.add_product(self.app.store, self.cart, product, qty), self.refresh_cart()), self)

    def sale_starts(self) -> None:
        """Before the first item of a sale: the store's tax mode as it is now (a setting pulled while the till
        runs applies from the next sale, never in the middle of one; read once a sale, not on every scan)."""
        if not self.cart.lines:
            self.include = self.app.prices_include_tax

    def action_clear_entry(self) -> None:
        self.query_one("#entry", Input).value = ""

    # --- paying -------------------------------------------------------------------------------------------

    def action_pay(self) -> None:
        if not self.cart.lines:
            self.say(_("the cart is empty"), error=True)
            return
        with self.app.store.read() as tx:
            if tx.open_session() is None:
                self.say(_("open the cash session first (F4)"), error=True)
                return
        total = rules.price_sale(self.cart.lines, self.cart.discount, self.include).total
        self.app.push_screen(PaymentScreen(total), self._paid)

    def _paid(self, tenders) -> None:
        if not tenders:
            return
        done = self.app.guard(lambda: self._complete(tenders), self)
        if done is None:  # refused, or not saved (a full disk): the cart stays for another try
            return
        self.cart = self._new_cart()
        self.refresh_cart()
        self.show_receipt(done.receipt_no)
        fmt = self.app.money
        # the sale just paid, not an empty cart's $0.00; the change in a box of its own, the first thing seen
        self.query_one("#total", Line).update(_("PAID {amount}").format(amount=fmt(done.total)))
        change = self.query_one("#change", Line)
        change.update(_("CHANGE {amount}").format(amount=fmt(done.change)) if done.change else "")
        change.set_class(bool(done.change), "change-due")
        self.say(_("{receipt} paid").format(receipt=done.receipt_no))
        self.app.after_write()
        self.app.print_receipt(done.sale_id)
        self.query_one("#entry", Input).focus()

    def _complete(self, tenders):
        try:
            return sales.complete_sale(
                self.app.store, self.app.user.id, self.cart, tenders, prices_include_tax=self.include
            )
        except DiskFull as exc:
            raise exc.about("the sale") from None

    def show_receipt(self, receipt_no: str) -> None:
        """The receipt replaces the cart until the next scan."""
        self.show_slip(self.app.receipt_text(receipt_no, width=42))
        self._shown_receipt = receipt_no

    def show_slip(self, text: str) -> None:
        """A receipt or a refund's slip where the cart was, until the next scan."""
        self.query_one("#receipt-text", Static).update(text)
        self.query_one("#left", ContentSwitcher).current = "receipt"
