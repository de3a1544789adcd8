"""Printing: a file printer gets valid ESC/POS with a cut and a drawer kick; an offline printer queues."""

from __future__ import annotations

import socket

from caja_tui.application import products, sales
from caja_tui.application.receipts import Shop, render_receipt
from caja_tui.config import PrinterConfig
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.host.printing import enqueue, print_pending, queued
from tests.conftest import scalar

GS_V = b"\x1dV"  # ESC/POS: cut
ESC_P = b"\x1bp"  # ESC/POS: pulse the cash drawer


def _sale(store, method="cash"):
    products.create_product(store, "ana", sku="PAN", name="Pan dulce", price=1250, tax_rate=0)
    cart = Cart()
    sales.scan(store, cart, "PAN")
    done = sales.complete_sale(
        store, "luis", cart, [Tender(method=method, amount=2000 if method == "cash" else 1250)], prices_include_tax=True
    )
    with store.read() as tx:
        return tx.sale(done.sale_id)


def test_a_file_printer_gets_escpos_with_a_cut_and_a_drawer_kick(staffed, tmp_path):
    sale = _sale(staffed)
    text = render_receipt(sale, Shop(name="Tienda", language="es"), width=32)
    out = tmp_path / "printer.bin"
    enqueue(staffed, text, sale_id=sale.id, drawer=True)
    assert print_pending(staffed, PrinterConfig(kind="file", path=str(out))) == (1, None)
    data = out.read_bytes()
    assert b"Pan dulce" in data and sale.receipt_no.encode() in data
    assert data.index(b"Pan dulce") < data.index(GS_V) < data.index(ESC_P)
    assert queued(staffed) == []


def test_an_offline_printer_never_blocks_the_sale_and_the_receipt_waits(staffed, tmp_path):
    with socket.socket() as s:  # a port nobody listens on: the printer is off
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sale = _sale(staffed, method="card")
    enqueue(staffed, render_receipt(sale, Shop(name="Tienda"), width=42), sale_id=sale.id)
    printed, error = print_pending(staffed, PrinterConfig(kind="network", host="127.0.0.1", port=port))
    assert printed == 0 and "network printer" in error
    (job,) = queued(staffed)
    assert job[2] == 1 and "network printer" in job[3]
    assert scalar(staffed, "SELECT COUNT(*) FROM sale") == 1  # the sale is there all the same
    out = tmp_path / "later.bin"
    assert print_pending(staffed, PrinterConfig(kind="file", path=str(out))) == (1, None)  # printer back
    assert ESC_P not in out.read_bytes()  # no drawer kick for a card sale
    assert queued(staffed) == []
