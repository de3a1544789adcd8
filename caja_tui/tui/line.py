"""The line-mode till (`caja line`, and `caja` when not on a terminal): sign in, open the session, sell, pay.

It drives the same use cases as the screens. At sign-in: a person's number, then their PIN; `unlock N` lifts the
lockout of person N on this till with a manager's PIN. Commands at the prompt:
  CODE or N*CODE  add a product by barcode or SKU      ?TEXT        search products
  -N              remove line N                         disc AMOUNT  discount the whole sale
  pay cash AMOUNT | pay card | pay other                 cancel       empty the cart
  refund RECEIPT  (manager)   void RECEIPT (manager)    x            cash report (X)
  close           close the session (manager)           quit         leave (the cart is kept)
  cust TEXT       put the first customer matching TEXT on the sale
"""

from __future__ import annotations

import getpass
import sys

from ..application import cash, sales, users
from ..application.ports import SaleView, UserView
from ..application.receipts import people_of, render_receipt
from ..bootstrap import TillContext
from ..config import Config, PrinterConfig
from ..domain import money
from ..domain.cart import Cart
from ..domain.errors import DomainError
from ..domain.events import Tender
from ..store.errors import DiskFull, StoreError, check_pages


def run_plain_till(ctx: TillContext) -> int:
    def ask(prompt: str) -> str:
        try:
            return input(prompt)
        except EOFError:
            raise SystemExit(0) from None

    with ctx.open_store(create=False) as store:
        check_pages(store)
        worker = _start_sync(ctx)
        try:
            user = _sign_in(ctx.cfg, store, ask)
            if user is None:
                return 1
            _open_session(store, user, ask, ctx.cfg.till.currency_exponent)
            return _Counter(ctx, store, worker, ask, user).run()
        finally:
            if worker is not None:
                worker[0].stop()


def _start_sync(ctx: TillContext):
    """The sync engine as a worker thread beside the counter, on its own connection (none when offline-only)."""
    if not ctx.cfg.sync.server_url:
        return None
    import threading

    from ..host.logs import rotating

    engine = ctx.build_sync(ctx.open_store(), log=rotating(ctx.paths.sync_log))
    thread = threading.Thread(target=engine.run, name="sync", daemon=True)
    thread.start()
    return engine, thread


def _sign_in(cfg: Config, store, ask) -> UserView | None:
    """Who is at the till: a number from the list, then their PIN (None: the till has no users yet). Wrong PINs
    make the next try wait, then lock the person on this till; `unlock N` lifts it with a manager's PIN."""
    with store.read() as tx:
        people = tx.users()
    if not people:
        print("This till has no users yet. Run `caja init --demo` (demo users) first.")
        return None
    print(f"Caja — {cfg.till.shop_name} — till {cfg.till.device_id}. Ctrl-D leaves.")
    for i, u in enumerate(people, 1):
        print(f"  {i}. {u.name} ({u.role})")
    while True:
        choice = ask("Who are you? number: ").strip()
        unlocking = choice.startswith("unlock ")
        number = choice.split(None, 1)[1].strip() if unlocking else choice
        if not (number.isdigit() and 1 <= int(number) <= len(people)):
            continue
        person = people[int(number) - 1]
        try:
            if unlocking:
                cleared = users.unlock(store, _manager(store, ask).id, person.id)
                print(f"  {person.name} may sign in again" if cleared else f"  {person.name} is not locked")
                continue
            user = users.authenticate(store, person.id, _pin(ask, "PIN: "))
            break
        except DomainError as exc:
            print(f"  {exc.message}" + (f" (type: unlock {number})" if exc.code == "PIN_LOCKED" else ""))
    print(f"Hello, {user.name}.")
    return user


def _pin(ask, prompt: str) -> str:
    return getpass.getpass(prompt) if sys.stdin.isatty() else ask(prompt)


def _open_session(store, user: UserView, ask, exp: int) -> None:
    """Ask for the opening float when no cash session is open."""
    with store.read() as tx:
        session = tx.open_session()
    if session is not None:
        return
    while True:
        try:
            amount = money.parse_money(ask("Opening float: ") or "0", exp)
            cash.open_session(store, user.id, amount)
            return
        except DomainError as exc:
            print(f"  {exc.message}")


class _Counter:
    """The prompt after sign-in: one line, one command (see the module's docstring)."""

    def __init__(self, ctx: TillContext, store, worker, ask, user: UserView) -> None:
        self.ctx, self.store, self.worker, self.ask, self.user = ctx, store, worker, ask, user
        self.exp = ctx.cfg.till.currency_exponent
        self.include = ctx.cfg.till.prices_include_tax
        self.cart = store.load_draft() or Cart()

    def fmt(self, value: int) -> str:
        return money.format_money(value, self.exp)

    def run(self) -> int:
        if self.cart.lines:
            print("The cart from before was kept:")
        while True:
            _show(self.cart, self.fmt, self.include)
            if self.worker is not None:
                self.worker[0].notify()
            line = self.ask(f"[{_status(self.store, self.worker)}] > ").strip()
            try:
                code = self.command(line)
            except DomainError as exc:
                print(f"  {exc.message}")
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
            return 0
        if line == "close":
            return self.close()
        if self.edit_cart(line) or self.look(line) or self.manager_action(line):
            return None
        if line.startswith("pay"):
            self.pay(line.split())
        elif sales.scan(self.store, self.cart, line) is None:
            print(f"  no product with barcode or SKU '{line}' (try ?{line} to search)")
        return None

    def edit_cart(self, line: str) -> bool:
        cart = self.cart
        if line.startswith("-") and line[1:].isdigit():
            cart.remove(int(line[1:]) - 1)
        elif line.startswith("disc "):
            cart.set_discount(money.parse_money(line[5:], self.exp))
        elif line == "cancel":
            self.cart = cart = Cart()
        elif line.startswith("cust "):
            with self.store.read() as tx:
                found = tx.find_customers(line[5:], limit=1)
            if not found:
                print("  no customer matches")
                return True
            cart.customer_id = found[0]["id"]
            sales.save_cart(self.store, cart)
            print(f"  customer: {found[0]['name']}")
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
                    print(f"  {p.sku:<10} {p.name:<40} {fmt(p.price):>10}  stock {p.stock}")
            return True
        if line == "x":
            s = cash.current_summary(self.store)
            if s:
                print(
                    f"  sales {s.sales_count} = {fmt(s.sales_total)}; cash expected in drawer "
                    f"{fmt(s.expected)} (float {fmt(s.opening_float)}, card {fmt(s.card_total)})"
                )
            return True
        return False

    def manager_action(self, line: str) -> bool:
        if line.startswith("refund "):
            mgr = _manager(self.store, self.ask)
            r = sales.refund_sale(self.store, mgr.id, line.split(None, 1)[1])
            print(f"  refunded {self.fmt(r.total)} in cash for {r.receipt_no}")
            return True
        if line.startswith("void "):
            mgr = _manager(self.store, self.ask)
            sales.void_sale(self.store, mgr.id, line.split(None, 1)[1])
            print("  voided: the money goes back by the same tenders")
            return True
        return False

    def close(self) -> int:
        fmt = self.fmt
        mgr = _manager(self.store, self.ask)
        counted = money.parse_money(self.ask("Counted cash: "), self.exp)
        closed, s = cash.close_session(self.store, mgr.id, counted=counted)
        print(
            f"  session closed: expected {fmt(s.expected)}, counted {fmt(counted)}, "
            f"difference {fmt(closed.difference or 0)}"
        )
        return 0

    def pay(self, parts: list[str]) -> None:
        method = parts[1] if len(parts) > 1 else "cash"
        total = _total(self.cart, self.include)
        amount = money.parse_money(parts[2], self.exp) if len(parts) > 2 else total
        try:
            done = sales.complete_sale(
                self.store,
                self.user.id,
                self.cart,
                [Tender(method=method, amount=amount)],
                prices_include_tax=self.include,
            )
        except DiskFull as exc:
            raise exc.about("the sale") from None
        with self.store.read() as tx:
            sale = tx.sale(done.sale_id)
            assert sale is not None
            cashier, customer = people_of(tx, sale)
        text = render_receipt(
            sale,
            self.ctx.shop,
            width=self.ctx.cfg.till.receipt_width,
            tz=self.ctx.tz,
            cashier=cashier,
            customer=customer,
        )
        print(text)
        _print(self.store, self.ctx.printer, sale, text)
        self.cart = Cart()


def _status(store, worker) -> str:
    """Never hidden: how many of this till's events have not reached the server."""
    from ..sync.metrics import unsynced

    if worker is None:  # no server set: nothing is waiting for one (no alarm; the screens say the same)
        return "no sync server, all saved on this till"
    pending = unsynced(store)
    m = worker[0].metrics
    warn = " CLOCK WRONG" if m.clock_warning else ""
    return f"{m.connectivity}, {pending} not synced{warn}"


def _manager(store, ask):
    with store.read() as tx:
        managers = [u for u in tx.users() if u.role == "manager"]
    for i, u in enumerate(managers, 1):
        print(f"  {i}. {u.name}")
    choice = ask("Manager number: ").strip()
    if not (choice.isdigit() and 1 <= int(choice) <= len(managers)):
        raise DomainError("NO_MANAGER", "no such manager")
    return users.authenticate(store, managers[int(choice) - 1].id, _pin(ask, "Manager PIN: "), purpose="approval")


def _total(cart: Cart, include: bool) -> int:
    from ..domain.rules import price_sale

    return price_sale(cart.lines, cart.discount, include).total if cart.lines else 0


def _show(cart: Cart, fmt, include: bool) -> None:
    if not cart.lines:
        print("  (cart empty: scan a barcode or type a SKU)")
        return
    for i, ln in enumerate(cart.lines, 1):
        print(f"  {i:>2}. {ln.qty:>3} x {ln.name:<36} {fmt(ln.qty * ln.unit_price - ln.discount):>10}")
    print(f"      TOTAL {fmt(_total(cart, include)):>44}")


def _print(store, printer: PrinterConfig, sale: SaleView, text: str) -> None:
    """Queue the receipt (and the drawer kick of a cash sale) for the printer; never blocks the sale."""
    if printer.kind == "none":
        return
    from ..host.printing import enqueue, print_pending

    enqueue(store, text, sale_id=sale.id, drawer=any(p.method == "cash" for p in sale.payments))
    printed, error = print_pending(store, printer)
    if error:
        print(f"  PRINTER: {error} - the receipt waits in the print queue (caja print-queue --retry)")
