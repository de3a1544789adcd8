"""One till's seller for `make chaos`: sells through the use cases, now and then changes a price or counts
stock (last-writer-wins across tills), and prints each sale id once its transaction has committed."""

import random
import sys
import time

from caja_tui import config
from caja_tui.application import cash, products, sales, stock
from caja_tui.bootstrap import open_store
from caja_tui.domain.cart import Cart
from caja_tui.domain.errors import DomainError
from caja_tui.domain.events import Tender


def main(cfg_path: str, seed: int) -> None:
    cfg = config.load(cfg_path)
    rnd = random.Random(f"{cfg.till.device_id}-{seed}")
    store = open_store(cfg)
    with store.read() as tx:
        catalog = [p.id for p in tx.search_products("", limit=1000)]
        skus = [p.sku for p in tx.search_products("", limit=1000)]
        if tx.open_session() is None:
            cash.open_session(store, "ana", 50_000)
    while True:
        roll = rnd.random()
        try:
            if roll < 0.03:
                products.update_product(store, "ana", rnd.choice(catalog), {"price": rnd.randint(500, 9000)})
                continue
            if roll < 0.06:
                stock.count_stock(store, "ana", rnd.choice(catalog), rnd.randint(50, 500))
                continue
        except DomainError:
            continue
        cart = store.load_draft() or Cart()  # a kill mid-cart leaves a draft: finish that one first
        for _ in range(rnd.randint(1, 4) if not cart.lines else 0):
            sales.scan(store, cart, f"{rnd.randint(1, 3)}*{rnd.choice(skus)}")
        total = sales.rules.price_sale(cart.lines, 0, True).total
        method = rnd.choice(("cash", "card"))
        done = sales.complete_sale(store, "luis", cart, [Tender(method=method, amount=total)], prices_include_tax=True)
        sys.stdout.write(f"{done.sale_id}\n")
        sys.stdout.flush()
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
