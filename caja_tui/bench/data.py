"""What the bench's measures share: a scratch till, a catalogue, a realistic history of events, a timed checkout
and a percentile. Every other bench module imports this one; it imports none of them."""

from __future__ import annotations

import random
import time
import zlib
from pathlib import Path

from ..domain.cart import CartLine
from ..domain.events import (
    CashSessionOpened,
    ProductCreated,
    StockAdjusted,
    StockCounted,
    StockReceived,
    UserCreated,
)
from ..domain.ids import uuid7


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def open_store(path: Path, device: str = "T01"):
    from ..store.sqlite import SqliteStore

    return SqliteStore(path, store_id="bench", device_id=device).open()


def catalog_rows(n: int, seed: int = 1):
    from ..application.importing import ImportRow

    rnd = random.Random(seed)
    return [
        ImportRow(
            i + 2,
            f"SKU-{i:06d}",
            [f"750{i:010d}"],
            f"Product {i} {rnd.choice('ABCDEFGH')}",
            rnd.randint(100, 50_000),
            rnd.choice((0, 1600)),
            rnd.randint(0, 500),
            "Bench",
        )
        for i in range(n)
    ]


def emit_sale(tx, session_id: str, lines: list, *, split: bool = False) -> None:
    """A sale of `lines` (prices include tax) paid in cash, or half by card when `split`."""
    from ..domain import rules
    from ..domain.events import SaleCreated, Tender
    from ..domain.ids import uuid7

    p = rules.price_sale(lines, 0, True)
    pays = (
        [Tender(method="card", amount=p.total // 2), Tender(method="cash", amount=p.total - p.total // 2)]
        if split
        else [Tender(method="cash", amount=p.total)]
    )
    tx.emit(
        SaleCreated(
            sale_id=uuid7(),
            receipt_no=tx.next_receipt_no(),
            session_id=session_id,
            lines=p.lines,
            subtotal=p.subtotal,
            tax=p.tax,
            total=p.total,
            payments=pays,
            prices_include_tax=True,
        ),
        "bench",
    )


def timed_checkout(store, actor: str, rnd: random.Random, n_products: int, *, over: int = 0) -> float:
    """Scan 5 products of `catalog_rows` and pay `over` more than the total in cash; the sale's commit in ms."""
    from ..application import sales
    from ..domain.cart import Cart
    from ..domain.events import Tender

    cart = Cart()
    for _ in range(5):
        sales.scan(store, cart, f"750{rnd.randrange(n_products):010d}")
    total = sales.rules.price_sale(cart.lines, 0, True).total
    t0 = time.perf_counter()
    sales.complete_sale(store, actor, cart, [Tender(method="cash", amount=total + over)], prices_include_tax=True)
    return (time.perf_counter() - t0) * 1000


def generate_events(store, n_events: int, *, n_products: int = 10_000, seed: int = 3) -> int:
    """Fill a till with a realistic history: products, stock, a cash session, and mostly sales (1-5 lines)."""
    rnd = random.Random(seed)
    made = 0
    n_products = min(n_products, max(1, n_events // 20))
    catalog: list[tuple[str, str, int, int]] = []
    with store.transaction() as tx:
        tx.emit(UserCreated(user_id="bench", name="Bench", role="manager", pin_hash="x"), "system")
        session = uuid7()
        tx.emit(CashSessionOpened(session_id=session, opening_float=0), "bench")
        made += 2
    while made < n_events:
        with store.transaction() as tx:
            for _ in range(min(10_000, n_events - made)):
                if len(catalog) < n_products:
                    _emit_product(tx, rnd, catalog)
                else:
                    _emit_trade(tx, rnd, catalog, session)
                made += 1
    return made


def _emit_product(tx, rnd: random.Random, catalog: list[tuple[str, str, int, int]]) -> None:
    """The catalogue's next product (a random price and tax rate), added to `catalog` as (id, sku, price, rate)."""
    pid = uuid7()
    price, rate = rnd.randint(100, 50_000), rnd.choice((0, 1600))
    n = len(catalog)
    tx.emit(
        ProductCreated(
            product_id=pid,
            sku=f"SKU-{n:06d}",
            name=f"Product {n}",
            price=price,
            tax_rate=rate,
            barcodes=[f"750{n:010d}"],
            category="Bench",
        ),
        "bench",
    )
    catalog.append((pid, f"SKU-{n:06d}", price, rate))


def _emit_trade(tx, rnd: random.Random, catalog: list[tuple[str, str, int, int]], session: str) -> None:
    """One event of the shop's day: a stock count (2%), a delivery (3%), a loss (1%) or else a sale of 1-5 lines."""
    roll = rnd.random()
    pid, sku, price, rate = rnd.choice(catalog)
    if roll < 0.02:
        tx.emit(StockCounted(product_id=pid, counted=rnd.randint(0, 500)), "bench")
    elif roll < 0.05:
        tx.emit(StockReceived(product_id=pid, qty=rnd.randint(1, 100)), "bench")
    elif roll < 0.06:
        tx.emit(StockAdjusted(product_id=pid, delta=-rnd.randint(1, 3), reason="damaged"), "bench")
    else:
        lines = []
        for _ in range(rnd.randint(1, 5)):
            pid, sku, price, rate = rnd.choice(catalog)
            lines.append(
                CartLine(product_id=pid, sku=sku, name=sku, qty=rnd.randint(1, 3), unit_price=price, tax_rate=rate)
            )
        emit_sale(tx, session, lines)


def till_backlog(workdir: Path, device: str, n: int) -> list[dict]:
    """A real till's events (a history like generate_events makes), as wire dicts."""
    import msgspec

    s = open_store(workdir / f"backlog-{device}.db", device=device)
    generate_events(s, n, n_products=max(10, n // 50), seed=zlib.crc32(device.encode()))
    events = [msgspec.to_builtins(e) for e in s.iter_events()]
    s.close()
    return events
