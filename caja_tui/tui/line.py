"""The line-mode till (`caja line`, and `caja` when not on a terminal): sign in, open the session, sell, pay.

It drives the same use cases as the screens. Commands at the prompt:
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
from ..application.ports import SaleView
from ..config import Config
from ..domain import money
from ..domain.cart import Cart
from ..domain.errors import DomainError
from ..domain.events import Tender


def run_plain_till(cfg: Config) -> int:
    from ..bootstrap import open_store

    exp = cfg.till.currency_exponent
    fmt = lambda v: money.format_money(v, exp)  # noqa: E731

    def ask(prompt: str) -> str:
        try:
            return input(prompt)
        except EOFError:
            raise SystemExit(0) from None

    with open_store(cfg, create=False) as store:
        worker = _start_sync(cfg)
        try:
            return _till(cfg, store, worker, ask, fmt, exp)
        finally:
            if worker is not None:
                worker[0].stop()


def _start_sync(cfg: Config):
    """The sync engine as a worker thread beside the counter, on its own connection (none when offline-only)."""
    if not cfg.sync.server_url:
        return None
    import threading

    from ..bootstrap import build_sync, open_store

    sync_store = open_store(cfg)
    log_path = cfg.db_path.with_suffix(".sync.log")
    engine = build_sync(cfg, sync_store, log_stream=open(log_path, "a", encoding="utf-8"))  # noqa: SIM115
    thread = threading.Thread(target=engine.run, name="sync", daemon=True)
    thread.start()
    return engine, thread


def _till(cfg: Config, store, worker, ask, fmt, exp) -> int:
    with store.read() as tx:
        people = tx.users()
    if not people:
        print("This till has no users yet. Run `caja init --demo` (demo users) first.")
        return 1
    print(f"Caja — {cfg.till.shop_name} — till {cfg.till.device_id}. Ctrl-D leaves.")
    for i, u in enumerate(people, 1):
        print(f"  {i}. {u.name} ({u.role})")
    while True:
        choice = ask("Who are you? number: ").strip()
        if choice.isdigit() and 1 <= int(choice) <= len(people):
            person = people[int(choice) - 1]
            try:
                user = users.authenticate(store, person.id, getpass.getpass("PIN: ") if sys.stdin.isatty()
                                          else ask("PIN: "))
                break
            except DomainError as exc:
                print(f"  {exc.message}")
    print(f"Hello, {user.name}.")
    with store.read() as tx:
        session = tx.open_session()
    if session is None:
        while True:
            try:
                amount = money.parse_money(ask("Opening float: ") or "0", exp)
                cash.open_session(store, user.id, amount)
                break
            except DomainError as exc:
                print(f"  {exc.message}")
    cart = store.load_draft() or Cart()
    if cart.lines:
        print("The cart from before was kept:")
    while True:
        _show(cart, fmt, cfg.till.prices_include_tax)
        if worker is not None:
            worker[0].notify()
        line = ask(f"[{_status(store, worker)}] > ").strip()
        try:
            if not line:
                continue
            if line in ("quit", "exit"):
                return 0
            if line.startswith("?"):
                with store.read() as tx:
                    for p in tx.search_products(line[1:], limit=15):
                        print(f"  {p.sku:<10} {p.name:<40} {fmt(p.price):>10}  stock {p.stock}")
                continue
            if line.startswith("-") and line[1:].isdigit():
                cart.remove(int(line[1:]) - 1)
                sales.save_cart(store, cart)
                continue
            if line.startswith("disc "):
                cart.set_discount(money.parse_money(line[5:], exp))
                sales.save_cart(store, cart)
                continue
            if line == "cancel":
                cart = Cart()
                sales.save_cart(store, cart)
                continue
            if line == "x":
                s = cash.current_summary(store)
                if s:
                    print(f"  sales {s.sales_count} = {fmt(s.sales_total)}; cash expected in drawer "
                          f"{fmt(s.expected)} (float {fmt(s.opening_float)}, card {fmt(s.card_total)})")
                continue
            if line == "close":
                mgr = _manager(store, ask)
                counted = money.parse_money(ask("Counted cash: "), exp)
                closed, s = cash.close_session(store, mgr.id, counted=counted)
                print(f"  session closed: expected {fmt(s.expected)}, counted {fmt(counted)}, "
                      f"difference {fmt(closed.difference or 0)}")
                return 0
            if line.startswith("refund "):
                mgr = _manager(store, ask)
                r = sales.refund_sale(store, mgr.id, line.split(None, 1)[1])
                print(f"  refunded {fmt(r.total)} in cash for {r.receipt_no}")
                continue
            if line.startswith("cust "):
                with store.read() as tx:
                    found = tx.find_customers(line[5:], limit=1)
                if not found:
                    print("  no customer matches")
                    continue
                cart.customer_id = found[0]["id"]
                sales.save_cart(store, cart)
                print(f"  customer: {found[0]['name']}")
                continue
            if line.startswith("void "):
                mgr = _manager(store, ask)
                sales.void_sale(store, mgr.id, line.split(None, 1)[1])
                print("  voided: the money goes back by the same tenders")
                continue
            if line.startswith("pay"):
                parts = line.split()
                method = parts[1] if len(parts) > 1 else "cash"
                total = _total(cart, cfg.till.prices_include_tax)
                amount = money.parse_money(parts[2], exp) if len(parts) > 2 else total
                done = sales.complete_sale(store, user.id, cart, [Tender(method=method, amount=amount)],
                                           prices_include_tax=cfg.till.prices_include_tax)
                with store.read() as tx:
                    sale = tx.sale(done.sale_id)
                assert sale is not None
                _receipt(sale, fmt, cfg)
                _print(store, cfg, sale)
                cart = Cart()
                continue
            if sales.scan(store, cart, line) is None:
                print(f"  no product with barcode or SKU '{line}' (try ?{line} to search)")
        except DomainError as exc:
            print(f"  {exc.message}")


def _status(store, worker) -> str:
    """Never hidden: how many of this till's events have not reached the server."""
    from ..sync.metrics import unsynced

    pending = unsynced(store)
    if worker is None:
        return f"offline only, {pending} not synced"
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
    pin = getpass.getpass("Manager PIN: ") if sys.stdin.isatty() else ask("Manager PIN: ")
    return users.authenticate(store, managers[int(choice) - 1].id, pin)


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


def _print(store, cfg: Config, sale: SaleView) -> None:
    """Queue the receipt (and the drawer kick of a cash sale) for the printer; never blocks the sale."""
    if cfg.printer.kind == "none":
        return
    from ..application.receipts import render_receipt, shop_of
    from ..application.reports import zone
    from ..host.printing import enqueue, print_pending

    text = render_receipt(sale, shop_of(cfg), width=cfg.till.receipt_width, tz=zone(cfg.till.timezone))
    enqueue(store, text, sale_id=sale.id, drawer=any(p.method == "cash" for p in sale.payments))
    printed, error = print_pending(store, cfg.printer)
    if error:
        print(f"  PRINTER: {error} - the receipt waits in the print queue (caja print-queue --retry)")


def _receipt(sale: SaleView, fmt, cfg: Config) -> None:
    from ..application.receipts import render_receipt, shop_of
    from ..application.reports import zone

    print(render_receipt(sale, shop_of(cfg), width=cfg.till.receipt_width, tz=zone(cfg.till.timezone)))
