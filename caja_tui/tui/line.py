"""The line-mode till (`caja line`, and `caja` when not on a terminal): sign in, open the session, sell, pay.

It drives the same use cases as the screens, in the till's language (`[till] language`, i18n.py). At sign-in: a
person's number, then their PIN; `unlock N` lifts the lockout of person N on this till with a manager's PIN.
Commands at the prompt:
  CODE or N*CODE  add a product by barcode or SKU      ?TEXT        search products
  -N              remove line N                         disc AMOUNT  discount the whole sale
  pay [METHOD [AMOUNT]]...  e.g. pay, pay card, pay cash 100 card 23.50; tenders add up; pay undo takes one back
  cancel          empty the cart                        x            cash report (X)
  refund RECEIPT  (manager)   void RECEIPT (manager)    close        close the session (manager)
  cust TEXT       the first customer matching TEXT      quit         leave (the cart is kept)

Its sync engine (cli/till.py's TillSync) runs only while it holds the database's sync lock: beside a `caja sync`
service it runs none, leaves the outbox to the service and says so at the prompt.
"""

from __future__ import annotations

import getpass
import sys

from ..application import cash, sales, users
from ..application.ports import SaleView, UserView
from ..application.receipts import people_of, render_receipt, shop_of
from ..bootstrap import TillContext
from ..config import Config, PrinterConfig
from ..domain.cart import Cart
from ..domain.errors import DomainError
from ..domain.events import Tender
from ..domain.payloads.sales import PaymentMethod
from ..i18n import _, error_text, set_language
from ..store.errors import DiskFull, StoreError, check_pages
from .store_settings import adopt_settings_of_file, current_settings

# what `pay` takes as a way to pay, in English and in Spanish (the letters are the payment dialog's)
_WORDS: dict[PaymentMethod, tuple[str, ...]] = {
    "cash": ("cash", "c", "efectivo", "e"),
    "card": ("card", "k", "tarjeta", "t"),
    "other": ("other", "o", "otro"),
}
METHODS: dict[str, PaymentMethod] = {word: method for method, words in _WORDS.items() for word in words}


def run_plain_till(ctx: TillContext, sync) -> int:
    """The till, line by line; `sync` (cli/till.py's TillSync) runs its engine while this process holds the
    database's sync lock."""

    def ask(prompt: str) -> str:
        try:
            return input(prompt)
        except EOFError:
            raise SystemExit(0) from None

    set_language(ctx.cfg.till.language)
    with ctx.open_store(create=False) as store:
        check_pages(store)
        adopt_settings_of_file(ctx, store)
        sync.start()
        try:
            user = _sign_in(ctx.cfg, store, ask)
            if user is None:
                return 1
            _open_session(ctx, store, user, ask)
            return _Counter(ctx, store, sync, ask, user).run()
        finally:
            sync.stop()


def _status(sync, store) -> str:
    """The prompt's status, true when it is shown: who syncs, the connection, the events not on the server."""
    from ..sync.metrics import saved, unsynced

    if not sync.ctx.cfg.sync.server_url:  # nothing waits for a server (no alarm; the screens say the same)
        return _("no sync server, all saved on this till")
    sync.start()  # the lock, again: the service may have stopped
    pending = unsynced(store)
    if sync.engine is None:
        figures = saved(store)
        clock = bool(figures.get("clock_warning"))
        text = _("the sync service syncs, {n} not synced").format(n=pending)
    else:
        clock = sync.engine.metrics.clock_warning
        state = sync.engine.connectivity_now()
        shown = _("server not answering") if state == "no answer" else _(state)
        text = _("{connectivity}, {n} not synced").format(connectivity=shown, n=pending)
    return text + (" " + _("CLOCK WRONG") if clock else "")


def _sign_in(cfg: Config, store, ask) -> UserView | None:
    """Who is at the till: a number from the list, then their PIN (None: the till has no users yet). Wrong PINs
    make the next try wait, then lock the person on this till; `unlock N` lifts it with a manager's PIN."""
    with store.read() as tx:
        people = tx.users()
    if not people:
        print(_("This till has no users yet. Run `caja init --demo` (demo users) first."))
        return None
    shop = current_settings(cfg, store).shop_name
    print(_("Caja — {shop} — till {device}. Ctrl-D leaves.").format(shop=shop, device=cfg.till.device_id))
    for i, u in enumerate(people, 1):
        print(f"  {i}. {u.name} ({_(u.role)})")
    while True:
        choice = ask(_("Who are you? number: ")).strip()
        unlocking = choice.startswith("unlock ")
        number = choice.split(None, 1)[1].strip() if unlocking else choice
        if not (number.isdigit() and 1 <= int(number) <= len(people)):
            continue
        person = people[int(number) - 1]
        try:
            if unlocking:
                cleared = users.unlock(store, _manager(store, ask).id, person.id)
                said = _("{name} may sign in again") if cleared else _("{name} is not locked")
                print("  " + said.format(name=person.name))
                continue
            user = users.authenticate(store, person.id, _pin(ask, _("PIN: ")))
            break
        except DomainError as exc:
            hint = " " + _("(type: unlock {n})").format(n=number) if exc.code == "PIN_LOCKED" else ""
            print(f"  {error_text(exc)}{hint}")
    print(_("Hello, {name}.").format(name=user.name))
    return user


def _pin(ask, prompt: str) -> str:
    return getpass.getpass(prompt) if sys.stdin.isatty() else ask(prompt)


def _open_session(ctx: TillContext, store, user: UserView, ask) -> None:
    """Ask for the opening float when no cash session is open."""
    with store.read() as tx:
        session = tx.open_session()
    if session is not None:
        return
    while True:
        try:
            amount = ctx.money.parse(ask(_("Opening float: ")) or "0")
            cash.open_session(store, user.id, amount)
            return
        except DomainError as exc:
            print(f"  {error_text(exc)}")


class _Counter:
    """The prompt after sign-in: one line, one command (see the module's docstring)."""

    def __init__(self, ctx: TillContext, store, sync, ask, user: UserView) -> None:
        self.ctx, self.store, self.sync, self.ask, self.user = ctx, store, sync, ask, user
        self.fmt = ctx.money
        self.include = current_settings(ctx.cfg, store).prices_include_tax  # this sale's; the next reads it again
        self.cart = store.load_draft() or Cart()
        self.tenders: list[Tender] = []  # a payment in parts: what was taken so far (kept until paid or cancelled)
        self.quitting = False

    def run(self) -> int:
        if self.cart.lines:
            print(_("The cart from before was kept:"))
        while True:
            self.show()
            self.sync.notify()
            line = self.ask(f"[{_status(self.sync, self.store)}] > ").strip()
            try:
                code = self.command(line)
            except DomainError as exc:
                print(f"  {error_text(exc)}")
                continue
            except StoreError as exc:  # a full disk: nothing of it was saved; the cart is what the draft holds
                print(f"  {exc}")
                self.cart = self.store.load_draft() or Cart()
                continue
            if code is not None:
                return code

    def command(self, line: str) -> int | None:
        """Do what the line says; an exit code when the till should stop."""
        if not line:
            return None
        if line in ("quit", "exit"):
            return self.quit()
        self.quitting = False
        if line == "close":
            return self.close()
        if self.edit_cart(line) or self.look(line) or self.manager_action(line):
            return None
        if line == "pay" or line.startswith("pay "):
            self.pay(line.split()[1:])
        elif self.sale_starts() or sales.scan(self.store, self.cart, line) is None:
            print("  " + _("no product with barcode or SKU '{code}' (try ?{code} to search)").format(code=line))
        return None

    def quit(self) -> int | None:
        """Leave (the cart is kept); with payments typed for the sale in progress, only when asked twice."""
        if self.tenders and not self.quitting:
            self.quitting = True
            print(
                "  "
                + _(
                    "payments were taken for this sale ({paid}): pay the rest, or type quit again to leave without them"
                ).format(paid=self.tendered())
            )
            return None
        return 0

    def edit_cart(self, line: str) -> bool:
        cart = self.cart
        if line.startswith("-") and line[1:].isdigit():
            cart.remove(int(line[1:]) - 1)
        elif line.startswith("disc "):
            cart.set_discount(self.fmt.parse(line[5:]))
        elif line == "cancel":
            if self.tenders:
                print("  " + _("the payments typed for it are dropped: {paid}").format(paid=self.tendered()))
            self.cart, self.tenders = Cart(), []
            cart = self.cart
        elif line.startswith("cust "):
            with self.store.read() as tx:
                found = tx.find_customers(line[5:], limit=1)
            if not found:
                print("  " + _("no customer matches"))
                return True
            cart.customer_id = found[0]["id"]
            sales.save_cart(self.store, cart)
            print("  " + _("customer: {name}").format(name=found[0]["name"]))
            return True
        else:
            return False
        sales.save_cart(self.store, cart)
        return True

    def look(self, line: str) -> bool:
        fmt = self.fmt
        if line.startswith("?"):
            with self.store.read() as tx:
                for p in tx.search_products(line[1:], limit=15):
                    stock = _("stock {n}").format(n=p.stock)
                    print(f"  {p.sku:<10} {p.name:<40} {fmt(p.price):>10}  {stock}")
            return True
        if line == "x":
            s = cash.current_summary(self.store)
            if s:
                said = _("sales {n} = {total}; cash expected in drawer {expected} (float {float}, card {card})")
                print(
                    "  "
                    + said.format(
                        n=s.sales_count,
                        total=fmt(s.sales_total),
                        expected=fmt(s.expected),
                        float=fmt(s.opening_float),
                        card=fmt(s.card_total),
                    )
                )
            return True
        return False

    def manager_action(self, line: str) -> bool:
        if line.startswith("refund "):
            mgr = _manager(self.store, self.ask)
            r = sales.refund_sale(self.store, mgr.id, line.split(None, 1)[1])
            print(
                "  "
                + _("refunded {amount} in cash for {receipt}").format(amount=self.fmt(r.total), receipt=r.receipt_no)
            )
            return True
        if line.startswith("void "):
            mgr = _manager(self.store, self.ask)
            sales.void_sale(self.store, mgr.id, line.split(None, 1)[1])
            print("  " + _("voided: the money goes back by the same tenders"))
            return True
        return False

    def close(self) -> int:
        fmt = self.fmt
        mgr = _manager(self.store, self.ask)
        counted = fmt.parse(self.ask(_("Counted cash: ")))
        closed, s = cash.close_session(self.store, mgr.id, counted=counted)
        said = _("session closed: expected {expected}, counted {counted}, difference {difference}")
        print(
            "  " + said.format(expected=fmt(s.expected), counted=fmt(counted), difference=fmt(closed.difference or 0))
        )
        return 0

    # --- paying ------------------------------------------------------------------------------------------

    def due(self, tenders: list[Tender]) -> int:
        return max(0, _total(self.cart, self.include) - sum(t.amount for t in tenders))

    def tendered(self) -> str:
        return ", ".join(f"{_(t.method)} {self.fmt(t.amount)}" for t in self.tenders)

    def pay(self, words: list[str]) -> None:
        """`pay` alone: what is due, in cash. Else ways to pay, each with an amount or without (what is still due):
        `pay card`, `pay cash 100 card 23.50`. Tenders add up over several `pay` lines until the total is covered;
        then the sale is written (the screens' rules: only cash gives change). `pay undo` takes back the last."""
        if words == ["undo"]:
            if not self.tenders:
                raise DomainError("NO_TENDER", _("no payment to remove"))
            t = self.tenders.pop()
            print("  " + _("removed {method} {amount}").format(method=_(t.method), amount=self.fmt(t.amount)))
            return
        if not self.cart.lines:
            raise DomainError("EMPTY_SALE", _("the cart is empty: scan a product first"))
        tenders = list(self.tenders)
        for method, amount in self.parse_tenders(words or ["cash"]):
            due = self.due(tenders)
            amount = due if amount is None else amount
            if due == 0:
                raise DomainError(
                    "PAID", _("the sale is covered already: nothing is left for {method}").format(method=_(method))
                )
            if amount <= 0:
                raise DomainError("BAD_AMOUNT", _("the amount must be more than zero"))
            if method != "cash" and amount > due:
                raise DomainError(
                    "OVERPAID_CARD",
                    _("card and other payments cannot be more than what is due ({due})").format(due=self.fmt(due)),
                )
            tenders.append(Tender(method=method, amount=amount))
        if self.due(tenders) > 0:
            self.tenders = tenders
            print(
                "  "
                + _(
                    "paid {paid}: {due} still to pay (pay card, pay cash AMOUNT, ...; pay undo takes the last back)"
                ).format(paid=self.tendered(), due=self.fmt(self.due(tenders)))
            )
            return
        self.complete(tenders)

    def parse_tenders(self, words: list[str]) -> list[tuple[PaymentMethod, int | None]]:
        """[("card", 2350), ("cash", None)] from `card 23.50 cash`; an amount alone is cash."""
        out: list[tuple[PaymentMethod, int | None]] = []
        for word in words:
            method = METHODS.get(word.lower())
            if method is not None:
                out.append((method, None))
                continue
            try:
                amount = self.fmt.parse(word)
            except DomainError:
                raise DomainError(
                    "BAD_METHOD",
                    _("'{word}' is neither a way to pay (cash, card, other) nor an amount like 12.50").format(
                        word=word
                    ),
                ) from None
            if out and out[-1][1] is None:
                out[-1] = (out[-1][0], amount)
            else:
                out.append(("cash", amount))
        return out

    def complete(self, tenders: list[Tender]) -> None:
        try:
            done = sales.complete_sale(self.store, self.user.id, self.cart, tenders, prices_include_tax=self.include)
        except DiskFull as exc:
            raise exc.about("the sale") from None
        with self.store.read() as tx:
            sale = tx.sale(done.sale_id)
            assert sale is not None
            cashier, customer = people_of(tx, sale)
        text = render_receipt(
            sale,
            shop_of(self.ctx.cfg, current_settings(self.ctx.cfg, self.store)),
            width=self.ctx.cfg.till.receipt_width,
            tz=self.ctx.tz,
            cashier=cashier,
            customer=customer,
        )
        print(text)
        if done.change:
            print("  " + _("CHANGE {amount}").format(amount=self.fmt(done.change)))
        _print(self.store, self.ctx.printer, sale, text)
        self.cart, self.tenders = Cart(), []

    def sale_starts(self) -> None:
        """Before a sale's first item: the store's tax mode as it is now (a setting pulled while the till runs
        applies from the next sale, never in the middle of one)."""
        if not self.cart.lines:
            self.include = current_settings(self.ctx.cfg, self.store).prices_include_tax

    def show(self) -> None:
        cart, fmt = self.cart, self.fmt
        if not cart.lines:
            print("  " + _("(cart empty: scan a barcode or type a SKU)"))
            return
        for i, ln in enumerate(cart.lines, 1):
            print(f"  {i:>2}. {ln.qty:>3} x {ln.name:<36} {fmt(ln.qty * ln.unit_price - ln.discount):>10}")
        print(f"      {_('TOTAL')} {fmt(_total(cart, self.include)):>44}")
        if self.tenders:
            said = _("paid {paid}, still to pay {due}")
            print("      " + said.format(paid=self.tendered(), due=fmt(self.due(self.tenders))))


def _manager(store, ask):
    with store.read() as tx:
        managers = [u for u in tx.users() if u.role == "manager"]
    for i, u in enumerate(managers, 1):
        print(f"  {i}. {u.name}")
    choice = ask(_("Manager number: ")).strip()
    if not (choice.isdigit() and 1 <= int(choice) <= len(managers)):
        raise DomainError("NO_MANAGER", _("no such manager"))
    pin = _pin(ask, _("Manager PIN: "))
    return users.authenticate(store, managers[int(choice) - 1].id, pin, purpose="approval")


def _total(cart: Cart, include: bool) -> int:
    from ..domain.rules import price_sale

    return price_sale(cart.lines, cart.discount, include).total if cart.lines else 0


def _print(store, printer: PrinterConfig, sale: SaleView, text: str) -> None:
    """Queue the receipt (and the drawer kick of a cash sale) for the printer; never blocks the sale."""
    if printer.kind == "none":
        return
    from ..host.printing import enqueue, print_pending

    enqueue(store, text, sale_id=sale.id, drawer=any(p.method == "cash" for p in sale.payments))
    printed, error = print_pending(store, printer)
    if error:
        print(
            "  "
            + _("PRINTER: {error} - the receipt waits in the print queue (caja print-queue --retry)").format(
                error=error
            )
        )
