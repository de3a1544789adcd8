"""The sales screen (home): one input line always focused, the cart, big totals; F5 pays, F8 opens the actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ContentSwitcher, Input, Static

from ...application import sales
from ...application.ports import ProductView
from ...domain import money, rules
from ...domain.cart import Cart
from ...domain.errors import DomainError
from ...i18n import N_, _
from ..base import CajaScreen
from ..widgets import CartView, Entry, Line
from .dialogs import AskScreen, MenuScreen, PaymentScreen, PickScreen


class ProductSearchScreen(PickScreen):
    TITLE = N_("Find a product (name, SKU, category)")

    def fetch(self, text: str) -> list[ProductView]:
        with self.app.store.read() as tx:
            return tx.search_products(text, limit=30)

    def row(self, p: ProductView) -> str:
        return f"{p.name[:34]:<34} {p.sku[:12]:<12} {self.app.money(p.price):>12}"


class SalesScreen(CajaScreen):
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
        self.cart = self.app.store.load_draft() or Cart()
        self.refresh_cart()
        self.show_parked()
        if self.cart.lines:
            self.say(_("the sale in progress was restored"))

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
            p = rules.price_sale(self.cart.lines, self.cart.discount, self.app.prices_include_tax)
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
            self._customer_cache = (cid, _("Customer: {name}").format(name=c["name"][:14]) if c else "")
        return self._customer_cache[1]

    def show_parked(self) -> None:
        with self.app.store.read() as tx:
            parked = len(tx.drafts(sales.PARKED))
        self.query_one("#parked", Line).update(_("{n} parked").format(n=parked) if parked else "")

    def _save(self) -> None:
        sales.save_cart(self.app.store, self.cart)
        self.refresh_cart()

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
        try:
            found = sales.scan(self.app.store, self.cart, entry)
        except DomainError as exc:
            self.fail(exc)
            return
        if found is None:
            qty, code = sales.parse_entry(entry)
            self.app.push_screen(ProductSearchScreen(code), lambda p: self._picked(p, qty))
            return
        self.say(f"+{sales.parse_entry(entry)[0]} {found.name[:22]}")
        self.refresh_cart()

    def _picked(self, product: ProductView | None, qty: int) -> None:
        if product is None:
            return
        self.app.guard(lambda: (sales.add_product(self.app.store, self.cart, product, qty), self.refresh_cart()), self)

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
        total = rules.price_sale(self.cart.lines, self.cart.discount, self.app.prices_include_tax).total
        self.app.push_screen(PaymentScreen(total), self._paid)

    def _paid(self, tenders) -> None:
        if not tenders:
            return
        try:
            done = sales.complete_sale(
                self.app.store, self.app.user.id, self.cart, tenders, prices_include_tax=self.app.prices_include_tax
            )
        except DomainError as exc:
            self.fail(exc)
            return
        self.cart = Cart()
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

    def show_receipt(self, receipt_no: str) -> None:
        """The receipt replaces the cart until the next scan."""
        self.query_one("#receipt-text", Static).update(self.app.receipt_text(receipt_no, width=42))
        self.query_one("#left", ContentSwitcher).current = "receipt"
        self._shown_receipt = receipt_no

    # --- the actions menu ---------------------------------------------------------------------------------

    ACTIONS = [
        ("q", N_("Quantity of the line"), "qty"),
        ("d", N_("Discount on the line"), "line_discount"),
        ("t", N_("Discount on the sale"), "sale_discount"),
        ("p", N_("Price of the line (manager)"), "price"),
        ("r", N_("Remove the line"), "remove"),
        ("k", N_("Park the sale"), "park"),
        ("l", N_("Recall a parked sale"), "recall"),
        ("c", N_("Customer on the sale"), "customer"),
        ("f", N_("Refund a receipt (manager)"), "refund"),
        ("v", N_("Void a sale of this session (manager)"), "void"),
        ("x", N_("Show a receipt again"), "reprint"),
    ]

    def action_actions(self) -> None:
        items = [(k, _(label), result) for k, label, result in self.ACTIONS]
        self.app.push_screen(MenuScreen(_("Sale actions"), items), self._chosen)

    def _chosen(self, what: str | None) -> None:
        if what:
            getattr(self, f"do_{what}")()

    def _ask(self, question: str, parse, then, default: str = "") -> None:
        self.app.push_screen(
            AskScreen(question, parse=parse, default=default),
            lambda value: value is not None and self.app.guard(lambda: then(value), self),
        )

    def do_qty(self) -> None:
        i = self._line_index()
        if i is not None:
            self._ask(
                _("New quantity for line {n}").format(n=i + 1),
                self.app.parse_int,
                lambda q: (self.cart.set_qty(i, q), self._save()),
                str(self.cart.lines[i].qty),
            )

    def do_line_discount(self) -> None:
        i = self._line_index()
        if i is not None:
            line = self.cart.lines[i]
            self._ask(
                _("Discount on line {n} (an amount, or a percentage: 10%)").format(n=i + 1),
                lambda t: self._discount(t, line.qty * line.unit_price),
                lambda a: (self.cart.set_line_discount(i, a), self._save()),
            )

    def do_sale_discount(self) -> None:
        if self._line_index() is not None:
            before = rules.price_sale(self.cart.lines, 0, self.app.prices_include_tax).total
            self._ask(
                _("Discount on the whole sale (an amount, or a percentage: 10%)"),
                lambda t: self._discount(t, before),
                lambda a: (self.cart.set_discount(a), self._save()),
            )

    def _discount(self, text: str, base: int) -> int:
        """What a cashier types for a discount: an amount (5.00) or a percentage of `base` (10%)."""
        text = text.strip()
        if text.endswith("%"):
            percent = money.parse_decimal(text[:-1].strip(), 2, what=N_("percentage"))  # basis points
            return money.div_round(base * percent, money.BP)
        return self.app.money.parse(text)

    def do_price(self) -> None:
        i = self._line_index()
        if i is None:
            return

        def approved(_manager) -> None:
            self._ask(
                _("New unit price for line {n}").format(n=i + 1),
                lambda t: self.app.money.parse(t, what=N_("price")),
                lambda a: (self.cart.override_price(i, a), self._save()),
            )

        self.app.with_manager(_("change a price"), approved)

    def do_remove(self) -> None:
        i = self._line_index()
        if i is not None:
            self.cart.remove(i)
            self._save()

    def do_park(self) -> None:
        if self.app.guard(lambda: sales.park_cart(self.app.store, self.cart), self) is not None:
            self.cart = Cart()
            self.refresh_cart()
            self.show_parked()
            self.say(_("sale parked; recall it with F8 l"))

    def do_recall(self) -> None:
        with self.app.store.read() as tx:
            parked = tx.drafts(sales.PARKED)
        if not parked:
            self.say(_("no parked sales"), error=True)
            return
        fmt = self.app.money
        items = []
        for n, (slot, cart, _at) in enumerate(parked[:9], 1):
            total = rules.price_sale(cart.lines, cart.discount, self.app.prices_include_tax).total
            first = cart.lines[0].name[:20] if cart.lines else ""
            items.append((str(n), f"{first} ... {fmt(total)}", slot))
        self.app.push_screen(MenuScreen(_("Recall a parked sale"), items), self._recall)

    def _recall(self, slot: str | None) -> None:
        if slot:
            cart = self.app.guard(lambda: sales.recall_cart(self.app.store, self.cart, slot), self)
            if cart is not None:
                self.cart = cart
                self.refresh_cart()
                self.show_parked()

    def do_customer(self) -> None:
        from .customers import CustomerPickScreen

        self.app.push_screen(CustomerPickScreen(), self._customer)

    def _customer(self, customer_id: str | None) -> None:
        if customer_id is not None:
            self.cart.customer_id = customer_id or None
            self._save()

    def do_refund(self) -> None:
        """A manager's PIN first (not after everything is typed), then the receipt: the one on screen, if any."""
        from .refund import RefundScreen

        def approved(manager) -> None:
            self._ask(
                _("Receipt number to refund"),
                lambda t: sales.find_sale(self.app.store, t.strip().upper()),
                lambda sale: self.app.push_screen(RefundScreen(sale, manager), self._refunded),
                default=self._shown_receipt,
            )

        self.app.with_manager(_("refund a sale"), approved)

    def _refunded(self, result) -> None:
        """The refund's slip where the receipt was, and what to hand back, big, where the change was."""
        if result is None:
            return
        done, manager = result
        fmt = self.app.money
        payload = done.event.payload
        self.say(_("refund of {receipt}: {amount}").format(receipt=done.receipt_no, amount=fmt(done.total)))
        if not self.cart.lines:
            self.query_one("#receipt-text", Static).update(self.app.refund_text(done, manager.name))
            self.query_one("#left", ContentSwitcher).current = "receipt"
            self.query_one("#total", Line).update(_("REFUNDED {amount}").format(amount=fmt(done.total)))
        give = self.query_one("#change", Line)
        give.update(_("GIVE BACK {amount} {method}").format(amount=fmt(done.total), method=_(payload.method)))
        give.set_class(True, "change-due")
        self.app.after_write()

    def do_void(self) -> None:
        def approved(manager) -> None:
            self._ask(
                _("Receipt number to void"),
                lambda t: t.strip().upper(),
                lambda receipt: (
                    sales.void_sale(self.app.store, manager.id, receipt, "voided at the till"),
                    self.say(_("{receipt} voided").format(receipt=receipt)),
                    self.app.after_write(),
                ),
            )

        self.app.with_manager(_("void a sale"), approved)

    def do_reprint(self) -> None:
        self._ask(
            _("Receipt number"),
            lambda t: sales.find_sale(self.app.store, t.strip().upper()),
            lambda sale: (self.show_receipt(sale.receipt_no), self.app.print_receipt(sale.id)),
        )
