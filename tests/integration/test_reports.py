"""Reports over real read models: totals agree with the sales they cover, Z numbers never repeat or skip."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from caja_tui.application import cash, products, reports, sales, users
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.store.maintenance import verify
from tests.conftest import db, make_store

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]


def _sell(store, actor, items, tenders, discount=0):
    cart = Cart()
    for code, qty in items:
        sales.scan(store, cart, f"{qty}*{code}")
    cart.set_discount(discount)
    return sales.complete_sale(store, actor, cart, tenders, prices_include_tax=True)


def _catalog(store):
    products.create_product(store, "ana", sku="PAN", name="Pan", price=1250, tax_rate=0, stock=100)
    products.create_product(store, "ana", sku="REF", name="Refresco", price=1990, tax_rate=1600, stock=100)
    products.create_product(store, "ana", sku="JAB", name="Jabón", price=3333, tax_rate=1600, stock=100)


def test_x_and_z_totals_agree_with_the_sales_across_refunds_voids_and_mixed_payments(staffed):
    _catalog(staffed)
    a = _sell(staffed, "luis", [("PAN", 2), ("REF", 1)], [Tender(method="cash", amount=10_000)])
    b = _sell(
        staffed,
        "luis",
        [("JAB", 3)],
        [Tender(method="card", amount=5000), Tender(method="cash", amount=6000)],
        discount=99,
    )
    c = _sell(staffed, "ana", [("REF", 4)], [Tender(method="other", amount=7960)])
    v = _sell(staffed, "luis", [("PAN", 1)], [Tender(method="cash", amount=1250)])
    sales.void_sale(staffed, "ana", v.receipt_no)
    sales.refund_sale(staffed, "ana", b.receipt_no, {1: 1}, method="card")
    sales.refund_sale(staffed, "ana", a.receipt_no, {1: 1})
    cash.move_cash(staffed, "ana", "out", 500, "bank")
    x = reports.x_report(staffed, currency="MXN", exponent=2, tz=UTC)
    assert reports.check_consistent(x) == []
    assert (x.sales_count, x.voids_count, x.refunds_count) == (3, 1, 2)
    assert x.gross == a.total + b.total + c.total
    refunded = x.refunds_total
    assert x.net == a.total + b.total + c.total - refunded
    assert x.by_method["other"] == c.total
    assert x.by_method["card"] == 5000 - (refunded - 1250)
    assert x.discounts == 99
    assert x.cash_expected == cash.current_summary(staffed).expected
    closed, _ = cash.close_session(staffed, "ana", counted=x.cash_expected)
    z = reports.z_report(staffed, currency="MXN", exponent=2, tz=UTC)
    assert z.z_number == 1 and z.grand_total == x.net and z.cash_difference == 0
    assert reports.check_consistent(z) == [] and z.net == x.net
    text = reports.render(z, "text")
    assert "Z number" in text and "NET SALES" in text and "Grand total" in text
    assert msgspec.json.decode(reports.render(z, "json"))["z_number"] == 1
    assert "payment_method,card" in reports.render(z, "csv")


def test_z_numbers_are_sequential_and_the_grand_total_never_resets(staffed):
    _catalog(staffed)
    nets = []
    for round_no in range(3):
        if round_no:
            cash.open_session(staffed, "luis", 0)
        done = _sell(staffed, "luis", [("PAN", round_no + 1)], [Tender(method="cash", amount=99_999)])
        nets.append(done.total)
        cash.close_session(staffed, "ana", counted=0)
    with staffed.read() as tx:
        zs = [(s.z_number, s.grand_total) for s in reversed(tx.sessions())]
    assert zs == [(1, nets[0]), (2, nets[0] + nets[1]), (3, sum(nets))]
    assert reports.z_report(staffed, 2, currency="MXN", exponent=2, tz=UTC).grand_total == nets[0] + nets[1]


def test_day_report_by_hour_cashier_and_product(tmp_path):
    hours = iter([9, 9, 13, 18])
    base = int(dt.datetime(2026, 11, 27, tzinfo=UTC).timestamp() * 1000)
    ticks = [0]

    def wall():
        ticks[0] += 1
        return base + 8 * 3_600_000 + ticks[0]  # every setup event at 08:00

    s = make_store(tmp_path / "d.db", wall=wall)
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(s, "ana", name="Luis", role="cashier", pin="0000", user_id="luis")
    _catalog(s)
    cash.open_session(s, "ana", 0)
    for actor, code in (("luis", "PAN"), ("luis", "REF"), ("ana", "PAN"), ("luis", "JAB")):
        h = next(hours)
        s.wall = lambda h=h: base + h * 3_600_000 + 5
        _sell(s, actor, [(code, 1)], [Tender(method="cash", amount=10_000)])
    d = reports.day_report(s, dt.date(2026, 11, 27), currency="MXN", exponent=2, tz=UTC)
    assert [(h.hour, h.sales) for h in d.by_hour] == [(9, 2), (13, 1), (18, 1)]
    assert [(c.actor, c.sales) for c in d.by_cashier] == [("ana", 1), ("luis", 3)]
    assert d.top_products[0].sku == "PAN" and d.top_products[0].qty == 2
    assert reports.check_consistent(d) == []
    assert "09:00 ############" in reports.render(d, "text")
    empty = reports.day_report(s, dt.date(2026, 11, 26), currency="MXN", exponent=2, tz=UTC)
    assert empty.sales_count == 0 and empty.net == 0
    s.close()


CLOSER = """
import sys
from caja_tui.application import cash
from caja_tui.store.sqlite import SqliteStore
s = SqliteStore(sys.argv[1], store_id="s1", device_id="T01").open()
while True:
    if cash.current_summary(s) is None:  # no session open
        cash.open_session(s, "ana", 100)
    cash.close_session(s, "ana", counted=100)
"""


def test_z_numbering_survives_a_crash_mid_close(tmp_path):
    path = tmp_path / "z.db"
    s = make_store(path)
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    s.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rnd = random.Random(3)
    import sqlite3

    def closed() -> int:
        with sqlite3.connect(path, timeout=30) as c:
            return c.execute("SELECT COUNT(*) FROM cash_session WHERE closed_at IS NOT NULL").fetchone()[0]

    for _ in range(8):
        before = closed()
        p = subprocess.Popen([sys.executable, "-c", CLOSER, str(path)], env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while closed() == before and time.monotonic() < deadline:  # it is closing sessions now
            time.sleep(0.02)
        time.sleep(rnd.uniform(0.0, 0.3))  # then a kill at a random moment, mid-close or not
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    s = make_store(path)
    zs = [
        r[0] for r in db(s).execute("SELECT z_number FROM cash_session WHERE closed_at IS NOT NULL ORDER BY z_number")
    ]
    assert len(zs) > 8 and zs == list(range(1, len(zs) + 1))
    assert verify(s).ok
    s.close()


def test_the_text_report_speaks_the_shops_language(staffed):
    from caja_tui.application import cash

    cash.close_session(staffed, "ana", counted=50_000)
    z = reports.z_report(staffed, currency="MXN", exponent=2, tz=UTC)
    es = reports.render(z, "text", language="es")
    assert "INFORME Z T01 #1" in es and "VENTAS NETAS" in es and "Gran total (perpetuo)" in es
    en = reports.render(z, "text")
    assert "Z REPORT T01 #1" in en and "NET SALES" in en
    assert reports.render(z, "csv", language="es") == reports.render(z, "csv")  # machines read English keys
