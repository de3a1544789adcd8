"""`caja export sale-lines` (issue 15): one row per line of each sale, as an accountant asks for it, from a real
SQLite till through the real `caja` command; voids and refunds shown as the sales export shows them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from caja_tui.application import products, sales
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender

ROOT = Path(__file__).resolve().parents[2]


def export(cfg: Path, *args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "export", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def sell(store, items, *, line_discount=0, discount=0):
    cart = Cart()
    for code, qty in items:
        sales.scan(store, cart, f"{qty}*{code}")
    cart.set_line_discount(0, line_discount)
    cart.set_discount(discount)
    total = sales.rules.price_sale(cart.lines, discount, True).total
    return sales.complete_sale(store, "luis", cart, [Tender(method="cash", amount=total)], prices_include_tax=True)


def test_sale_lines_have_product_quantity_price_discounts_tax_and_amount(staffed, tmp_path):
    products.create_product(staffed, "ana", sku="PAN", name="Pan, blanco", price=1250, tax_rate=0, stock=100)
    products.create_product(staffed, "ana", sku="REF", name="Refresco", price=1990, tax_rate=1600, stock=100)
    a = sell(staffed, [("PAN", 3), ("REF", 2)], line_discount=250, discount=500)
    b = sell(staffed, [("REF", 1)])
    sales.void_sale(staffed, "ana", b.receipt_no, "wrong item")
    sales.refund_sale(staffed, "ana", a.receipt_no, {1: 1})  # one of the three loaves back
    cfg = tmp_path / "till.toml"
    cfg.write_text(f'[till]\nstore_id = "s1"\ndevice_id = "T01"\ndb = "{staffed.path}"\n')

    rows = list(csv.DictReader(io.StringIO(export(cfg, "sale-lines"))))
    assert [(r["receipt_no"], r["line_no"], r["sku"], r["name"], r["qty"]) for r in rows] == [
        (a.receipt_no, "1", "PAN", "Pan, blanco", "3"),
        (a.receipt_no, "2", "REF", "Refresco", "2"),
        (b.receipt_no, "1", "REF", "Refresco", "1"),
    ]
    pan, ref, voided = rows
    # 3 x 12.50 - 2.50 = 35.00 and 2 x 19.90 = 39.80; the 5.00 off the sale spread 2.34 / 2.66; 16 % included
    assert [pan[k] for k in ("unit_price", "tax_rate", "discount", "sale_discount", "net", "tax", "amount")] == [
        "12.50", "0", "2.50", "2.34", "32.66", "0.00", "32.66"
    ]  # fmt: skip
    assert [ref[k] for k in ("unit_price", "tax_rate", "discount", "sale_discount", "net", "tax", "amount")] == [
        "19.90", "16", "0.00", "2.66", "32.02", "5.12", "37.14"
    ]  # fmt: skip
    assert (pan["voided"], pan["refunded_qty"], pan["refunded_amount"]) == ("0", "1", "10.89")  # 32.66 / 3
    assert (ref["refunded_qty"], ref["refunded_amount"], voided["voided"]) == ("0", "0.00", "1")

    by_receipt = {r["receipt_no"]: r for r in csv.DictReader(io.StringIO(export(cfg, "sales")))}
    assert by_receipt[a.receipt_no]["total"] == "69.80"  # = 32.66 + 37.14: a sale's lines add up to its total
    assert pan["date"] == by_receipt[a.receipt_no]["date"] and pan["product_id"]

    lines = [json.loads(x) for x in export(cfg, "sale-lines", "--format", "jsonl").splitlines()]
    assert [(x["receipt_no"], x["sku"], x["qty"], x["amount"]) for x in lines] == [
        (a.receipt_no, "PAN", 3, "32.66"),
        (a.receipt_no, "REF", 2, "37.14"),
        (b.receipt_no, "REF", 1, "19.90"),
    ]
    assert export(cfg, "sale-lines", "--from", "2001-01-01", "--to", "2001-01-02").count("\n") == 1  # header
