"""Receipt layouts at each width, against golden files (regenerate with CAJA_UPDATE_GOLDEN=1 and review the diff)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from caja_tui.application import cash, products, sales, users
from caja_tui.application.receipts import Shop, render_receipt
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from tests.conftest import StepClock, make_store

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SHOP = Shop(
    name="Abarrotes La Esperanza",
    header=("Av. Juárez 123, Centro", "RFC: AEL010101AB1"),
    footer="Gracias por su compra",
    exponent=2,
    language="es",
)


@pytest.fixture
def sale(tmp_path, monkeypatch):
    counter = iter(range(1, 100_000))  # fixed ids and PIN salts: the same hashes every run
    monkeypatch.setattr("os.urandom", lambda n: next(counter).to_bytes(n, "big"))
    monkeypatch.setattr(
        "caja_tui.domain.ids.time", type("FrozenTime", (), {"time_ns": staticmethod(lambda: 1_764_270_000_000_000_000)})
    )
    s = make_store(tmp_path / "r.db", device_id="T01", wall=StepClock(1_764_270_000_000))
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    cash.open_session(s, "ana", 0)
    products.create_product(
        s, "ana", sku="PAN", name="Pan blanco de caja grande 680 g, rebanado", price=4590, tax_rate=0
    )
    products.create_product(s, "ana", sku="REF", name="Refresco cola 600 ml", price=1990, tax_rate=1600)
    cart = Cart()
    sales.scan(s, cart, "2*PAN")
    sales.scan(s, cart, "3*REF")
    cart.set_line_discount(1, 500)
    cart.set_discount(100)
    done = sales.complete_sale(
        s,
        "ana",
        cart,
        [Tender(method="card", amount=10000), Tender(method="cash", amount=5000)],
        prices_include_tax=True,
    )
    with s.read() as tx:
        view = tx.sale(done.sale_id)
    yield view
    s.close()


@pytest.mark.parametrize("width", [32, 42, 48])
def test_receipt_layout_matches_the_golden_file(sale, width):
    text = render_receipt(sale, SHOP, width=width, tz=dt.UTC, cashier="Ana")
    assert all(len(line) <= width for line in text.splitlines())
    assert sale.event_hash[:8] in text and sale.receipt_no in text
    golden = GOLDEN / f"receipt_{width}.txt"
    if os.environ.get("CAJA_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_receipt_amounts_add_up(sale):
    text = render_receipt(sale, SHOP, width=42)
    assert f"TOTAL{'':>27}{sale.total // 100}.{sale.total % 100:02d}".replace(" ", "") in text.replace(" ", "")
    assert sale.change == 15000 - sale.total and "CAMBIO" in text
    assert "Tarjeta" in text and "Efectivo" in text


def test_a_sale_to_a_customer_names_the_customer_on_the_receipt(tmp_path):
    from caja_tui.application import customers
    from caja_tui.application.receipts import people_of

    s = make_store(tmp_path / "c.db", device_id="T01", wall=StepClock(1_764_270_000_000))
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    cash.open_session(s, "ana", 0)
    products.create_product(s, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0)
    cid = customers.create_customer(s, "ana", name="Maria Lopez Garcia", tax_id="LOGM800101AB1")
    cart = Cart(customer_id=cid)
    sales.scan(s, cart, "PAN")
    done = sales.complete_sale(s, "ana", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)
    with s.read() as tx:
        view = tx.sale(done.sale_id)
        cashier, customer = people_of(tx, view)
    text = render_receipt(view, Shop(name="Caja", language="es"), width=32, cashier=cashier, customer=customer)
    assert "Cajero: Ana" in text and "Cliente: Maria Lopez Garcia" in text
    s.close()
