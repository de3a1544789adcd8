"""Sells in a loop on a real till file and prints each sale id once its transaction has committed.

Run by tests/e2e/test_crash.py, which SIGKILLs it at random moments.
"""

import random
import sys

from caja_tui.application import sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.store.sqlite import SqliteStore


def main(path: str, seed: int) -> None:
    rnd = random.Random(seed)
    store = SqliteStore(path, store_id="s1", device_id="T01").open(create=False)
    skus = [f"SKU-{i:03d}" for i in range(50)]
    while True:
        cart = store.load_draft() or Cart()  # a crash mid-cart leaves a draft: finish that one first
        for _ in range(rnd.randint(1, 5) if not cart.lines else 0):
            sales.scan(store, cart, f"{rnd.randint(1, 3)}*{rnd.choice(skus)}")
        total = sales.rules.price_sale(cart.lines, 0, True).total
        tenders = [Tender(method="card", amount=total // 2), Tender(method="cash", amount=total)]
        done = sales.complete_sale(store, "luis", cart, tenders, prices_include_tax=True)
        sys.stdout.write(f"{done.sale_id} {done.receipt_no}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
