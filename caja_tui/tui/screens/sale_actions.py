"""The sales screen's F8 actions, each with a letter: quantity, discounts, price, remove and put back, park and
recall, customer, refund, void, show a receipt again. A mixin of SalesScreen (it works on its cart)."""

from __future__ import annotations

from ...application import sales
from ...domain import money, rules
from ...i18n import N_, _
from ..widgets import CartView, Line, shorten
from .dialogs import AskScreen, MenuScreen


class SaleActions:
    include: bool  # the tax mode of the sale on screen (SalesScreen.sale_starts)
    ACTIONS = [
        ("q", N_("Quantity of the line"), "qty"),
        ("d", N_("Discount on the line"), "line_discount"),
        ("t", N_("Discount on the sale"), "sale_discount"),
        ("p", N_("Price of the line (manager)"), "price"),
        ("r", N_("Remove the line"), "remove"),
        ("u", N_("Put back the line just removed"), "undo_remove"),
        ("k", N_("Park the sale"), "park"),
        ("l", N_("Recall a parked sale"), "recall"),
        ("c", N_("Customer on the sale"), "customer"),
        ("f", N_("Refund a receipt (manager)"), "refund"),
        ("v", N_("Void a sale of this session (manager)"), "void"),
        ("x", N_("Show a receipt again"), "reprint"),
    ]

    def action_actions(self) -> None:
        items = [(k, _(label), result) for k, label, result in self.ACTIONS]
        title = _("Sale actions")
        view = self.query_one("#cart", CartView)
        if self.cart.lines and 0 <= view.cursor < len(self.cart.lines):  # which line q, d, p and r act on
            line = self.cart.lines[view.cursor]
            title += "  " + _("line {n}: {name}").format(n=view.cursor + 1, name=shorten(line.name, 30))
        self.app.push_screen(MenuScreen(title, items), self._chosen)

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

    def _discount_allowed(self, then) -> None:
        """`[till] discounts_need_manager`: a cashier's discount waits for a manager's PIN."""
        if self.app.cfg.till.discounts_need_manager:
            self.app.with_manager(_("give a discount"), lambda _manager: then())
        else:
            then()

    def do_line_discount(self) -> None:
        self._discount_allowed(self._line_discount)

    def do_sale_discount(self) -> None:
        self._discount_allowed(self._sale_discount)

    def _line_discount(self) -> None:
        i = self._line_index()
        if i is not None:
            line = self.cart.lines[i]
            self._ask(
                _("Discount on line {n} (an amount, or a percentage: 10%)").format(n=i + 1),
                lambda t: self._discount(t, line.qty * line.unit_price),
                lambda a: (self.cart.set_line_discount(i, a), self._save()),
            )

    def _sale_discount(self) -> None:
        if self._line_index() is not None:
            before = rules.price_sale(self.cart.lines, 0, self.include).total
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
            line = self.cart.lines[i]
            self.cart.remove(i)
            self._removed = (i, line)
            if not self._save():
                self._removed = None
                return
            self.say(
                _("removed line {n}: {qty} x {name}; F8 u puts it back").format(n=i + 1, qty=line.qty, name=line.name)
            )

    def do_undo_remove(self) -> None:
        if self._removed is None:
            self.say(_("nothing to put back"), error=True)
            return
        i, line = self._removed
        self._removed = None
        self.cart.lines.insert(min(i, len(self.cart.lines)), line)
        if self._save():
            self.say(_("line {n} is back: {name}").format(n=i + 1, name=line.name))

    def do_park(self) -> None:
        if self.app.guard(lambda: sales.park_cart(self.app.store, self.cart), self) is not None:
            self.cart = self._new_cart()
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
            total = rules.price_sale(cart.lines, cart.discount, self.include).total
            first = cart.lines[0].name[:20] if cart.lines else ""
            items.append((str(n), f"{first} ... {fmt(total)}", slot))
        self.app.push_screen(MenuScreen(_("Recall a parked sale"), items), self._recall)

    def _recall(self, slot: str | None) -> None:
        if slot:
            cart = self.app.guard(lambda: sales.recall_cart(self.app.store, self.cart, slot), self)
            if cart is not None:
                self.cart = cart
                self.include = self.app.prices_include_tax  # a sale taken up again: the tax mode as it is now
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
            self.show_slip(self.app.refund_text(done, manager.name))
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
