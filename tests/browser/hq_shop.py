"""A small day of trade for the owner's pages, built with the protocol client (tests/protocol_client.py): each
store's tills sell, refund, void, count and close their cash, so every read model has rows."""

from __future__ import annotations

import uuid

from tests.protocol_client import Device

BREAD, MILK = "p-bread", "p-milk"


def line(n: int, product_id: str, name: str, qty: int, price: int) -> dict:
    return {
        "line_no": n,
        "product_id": product_id,
        "sku": product_id.upper(),
        "name": name,
        "qty": qty,
        "unit_price": price,
        "tax_rate": 0,
        "discount": 0,
        "sale_discount": 0,
        "amount": qty * price,
        "tax": 0,
    }


def sale(d: Device, lines: list[dict], method: str = "cash", change: int = 0, sale_id: str | None = None) -> dict:
    total = sum(x["amount"] for x in lines)
    return d.event(
        "sale.created",
        {
            "sale_id": sale_id or str(uuid.uuid4()),
            "receipt_no": f"{d.device_id}-{d.seq + 1:06d}",
            "session_id": "sess-1",
            "discount": 0,
            "subtotal": total,
            "tax": 0,
            "total": total,
            "payments": [{"method": method, "amount": total + change, "reference": ""}],
            "change": change,
            "prices_include_tax": True,
            "customer_id": None,
            "lines": lines,
        },
    )


def refund(d: Device, sale_id: str, product_id: str, qty: int, amount: int, method: str = "cash") -> dict:
    return d.event(
        "sale.refunded",
        {
            "refund_id": str(uuid.uuid4()),
            "sale_id": sale_id,
            "receipt_no": "R-1",
            "session_id": "sess-1",
            "lines": [{"line_no": 1, "product_id": product_id, "qty": qty, "amount": amount, "tax": 0}],
            "total": amount,
            "tax": 0,
            "method": method,
            "restock": True,
            "reason": "",
        },
    )


def void(d: Device, sale_id: str, product_id: str, qty: int) -> dict:
    return d.event(
        "sale.voided",
        {
            "sale_id": sale_id,
            "receipt_no": "V-1",
            "session_id": "sess-1",
            "lines": [{"line_no": 1, "product_id": product_id, "qty": qty}],
            "reason": "mistake",
        },
    )


def count(d: Device, product_id: str, counted: int) -> dict:
    return d.event("stock.counted", {"product_id": product_id, "counted": counted, "previous": 0})


def close(d: Device, counted: int, expected: int, z: int = 1) -> dict:
    return d.event(
        "cash.session_closed",
        {
            "session_id": "sess-1",
            "counted": counted,
            "expected": expected,
            "difference": counted - expected,
            "z_number": z,
            "net_sales": expected,
        },
    )


def day_of_trade(d: Device) -> list[dict]:
    """Bread 250 and milk 120. Sold: 3 bread + 1 milk (cash, 870 with 130 change), 2 milk by card (240), a
    sale of 1 bread voided, 1 bread refunded in cash. Stock: bread counted 20 before, milk adjusted -1.
    Net 870 + 240 - 250 = 860: cash 870 - 250 = 620, card 240. Bread stock 20 - 3 + 1 = 18; milk -1 - 1 - 2 = -4."""
    first = str(uuid.uuid4())
    voided = str(uuid.uuid4())
    return [
        d.product_created(BREAD, sku="BREAD", price=250, name="Pan"),
        d.product_created(MILK, sku="MILK", price=120, name="Leche"),
        count(d, BREAD, 20),
        d.stock_adjusted(MILK, -1),
        sale(d, [line(1, BREAD, "Pan", 3, 250), line(2, MILK, "Leche", 1, 120)], change=130, sale_id=first),
        sale(d, [line(1, MILK, "Leche", 2, 120)], method="card"),
        sale(d, [line(1, BREAD, "Pan", 1, 250)], sale_id=voided),
        void(d, voided, BREAD, 1),
        refund(d, first, BREAD, 1, 250),
        close(d, counted=600, expected=620),
    ]


def month_of_trade(store_id: str, device_id: str, days: int = 30, seed: int = 1) -> list[dict]:
    """`days` days of sales up to now, a few an hour in opening hours (the charts' data), then a day of trade;
    every event's hlc set to its moment and the chain made again (the hlc is part of what is hashed)."""
    import random
    import time

    from tests.protocol_client import seal

    rnd = random.Random(seed)
    d = Device(store_id, device_id)
    now = int(time.time() * 1000)
    timed: list[tuple[int, dict]] = []
    for back in range(days, 0, -1):
        midnight = now - now % 86_400_000 - back * 86_400_000
        for hour in range(9, 20):
            for _ in range(rnd.randint(0, 3)):
                qty = rnd.randint(1, 4)
                ts = midnight + hour * 3_600_000 + rnd.randint(0, 3_599_000)
                product, name, price = rnd.choice([(BREAD, "Pan", 250), (MILK, "Leche", 120)])
                timed.append((ts, sale(d, [line(1, product, name, qty, price)], method=rnd.choice(["cash", "card"]))))
    timed += [(now - 1000 + i, e) for i, e in enumerate(day_of_trade(d))]
    prev, out = "0" * 64, []
    for seq, (ts, e) in enumerate(timed, start=1):
        e = seal({k: v for k, v in e.items() if k != "hash"} | {"seq": seq, "hlc": ts << 16, "prev_hash": prev})
        prev = e["hash"]
        out.append(e)
    return out


def real_till(tmp, server, store: str, price: int, device: str = "t1"):
    """A real till of `store` (its own SQLite file and key) whose catalogue holds PAN (its own product id) at
    `price`, synced with `server` over HTTP: (store, engine, PAN's product id)."""
    from caja_tui.application import products, users
    from caja_tui.sync.engine import SyncEngine
    from caja_tui.sync.transport import Transport
    from tests.conftest import make_store

    s = make_store(tmp / f"{store}.db", device_id=device, store_id=store)
    s.use_key(tmp / f"{store}.key")
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    p = products.create_product(s, "ana", sku="PAN", name="Pan", price=price, tax_rate=0, stock=10)
    engine = SyncEngine(s, Transport(server.url, server.enroll(store, device)))
    assert engine.sync_once(), engine.metrics.last_error
    return s, engine, p.id
