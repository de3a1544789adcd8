"""Read models converge: the same events, applied in any order, give identical read models."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caja_tui.application import cash, customers, products, sales, stock, users
from caja_tui.application.settings import update_settings
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.store.maintenance import read_model_digests
from tests.conftest import StepClock, db, make_store


def _sync(src, *dsts):
    events = list(src.iter_events())
    for d in dsts:
        d.apply_remote([e for e in events if e.device_id == src.device_id])


def _sell(store, actor, codes, method="cash", amount=1_000_000):
    cart = Cart()
    for c in codes:
        sales.scan(store, cart, c)
    total = sales.rules.price_sale(cart.lines, 0, True).total
    return sales.complete_sale(
        store,
        actor,
        cart,
        [Tender(method=method, amount=amount if method == "cash" else total)],
        prices_include_tax=True,
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Three tills of one shop, partly offline, editing and selling the same products concurrently."""
    d = tmp_path_factory.mktemp("scenario")
    a = make_store(d / "a.db", device_id="A", wall=StepClock(1_764_270_000_000))
    b = make_store(d / "b.db", device_id="B", wall=StepClock(1_764_270_000_500))
    c = make_store(d / "c.db", device_id="C", wall=StepClock(1_764_270_000_500))  # same wall as B: hlc ties
    users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    p1 = products.create_product(a, "ana", sku="P1", name="Pan", price=1000, tax_rate=0, barcodes=["111"], stock=50)
    p2 = products.create_product(a, "ana", sku="P2", name="Leche", price=2500, tax_rate=1600, stock=30)
    p3 = products.create_product(a, "ana", sku="P3", name="Sal", price=900, tax_rate=0, stock=5)
    _sync(a, b, c)
    for s in (a, b, c):
        cash.open_session(s, "ana", 10_000)
    # concurrent edits of the same fields (partitioned)
    products.update_product(a, "ana", p1.id, {"price": 1100, "name": "Pan blanco"})
    products.update_product(b, "ana", p1.id, {"price": 1200, "barcodes": ["111", "222"]})
    products.update_product(c, "ana", p1.id, {"price": 1300})
    products.delete_product(b, "ana", p3.id)
    products.update_product(c, "ana", p3.id, {"price": 950})  # update of a product deleted elsewhere
    # stock: counts and deltas on several tills
    stock.count_stock(a, "ana", p2.id, 40)
    stock.adjust_stock(b, "ana", p2.id, -3, "damaged")
    stock.receive_stock(c, "ana", p2.id, 12)
    stock.count_stock(c, "ana", p1.id, 45)
    for _ in range(3):
        _sell(a, "ana", ["P1", "2*P2"])
        _sell(b, "ana", ["P2"], method="card")
        _sell(c, "ana", ["P1", "P3"])
    sales.refund_sale(a, "ana", "A-000001", {2: 1})
    sales.refund_sale(c, "ana", "C-000002", restock=False, method="cash")
    sales.void_sale(b, "ana", "B-000003", "wrong item")
    cash.move_cash(b, "ana", "in", 500)
    cash.close_session(c, "ana", counted=12_000)
    users.update_user(b, "ana", "ana", pin="4321")
    users.update_user(c, "ana", "ana", name="Ana María")
    # customers: created on one till, edited concurrently on two
    maria = customers.create_customer(a, "ana", name="María López", phone="5550001")
    _sync(a, b, c)
    customers.update_customer(b, "ana", maria, phone="5550002")
    customers.update_customer(c, "ana", maria, phone="5550003", email="maria@example.com")
    # the store's settings, changed concurrently on three tills (some settings on two of them)
    update_settings(a, "ana", {"shop_name": "Tienda A", "low_stock": 3})
    update_settings(b, "ana", {"shop_name": "Tienda B", "receipt_footer": "Adiós"})
    update_settings(c, "ana", {"low_stock": 4, "prices_include_tax": False, "receipt_header": ["C 1"]})
    events = [e for s in (a, b, c) for e in s.iter_events() if e.device_id == s.device_id]
    for s in (a, b, c):
        s.close()
    return events


def _digest(path, events):
    s = make_store(path, device_id="Z")
    s.apply_remote(events)
    digest = read_model_digests(db(s))
    s.close()
    return digest


def test_the_scenario_is_rich_enough(scenario):
    types = {e.type for e in scenario}
    assert {
        "product.created",
        "product.updated",
        "product.deleted",
        "stock.counted",
        "stock.adjusted",
        "stock.received",
        "sale.created",
        "sale.refunded",
        "sale.voided",
        "cash.session_opened",
        "cash.moved",
        "cash.session_closed",
        "user.created",
        "user.updated",
        "customer.created",
        "customer.updated",
        "config.updated",
    } <= types


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_read_models_converge_whatever_the_arrival_order(tmp_path_factory, scenario, data):
    order1 = data.draw(st.permutations(scenario))
    order2 = data.draw(st.permutations(scenario))
    # arrival in several batches (each its own transaction), as pulls would deliver them
    cut = data.draw(st.integers(1, len(scenario) - 1))
    d = tmp_path_factory.mktemp("conv")
    one = make_store(d / "one.db", device_id="Z")
    one.apply_remote(order1[:cut])
    one.apply_remote(order1[cut:])
    first = read_model_digests(db(one))
    one.close()
    assert first == _digest(d / "two.db", order2)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_read_models_converge_when_events_come_through_peers_and_the_server(tmp_path_factory, scenario, data):
    """Peers deliver each device's events in seq order, a page at a time, devices in any order; the server in
    its own order. Mixed, with duplicates (an event from both), the read models are the same."""
    by_device: dict[str, list] = {}
    for e in scenario:
        by_device.setdefault(e.device_id, []).append(e)
    pages = [
        events[i : i + size]
        for events in by_device.values()
        for size in [data.draw(st.integers(1, 8))]
        for i in range(0, len(events), size)
    ]
    peer_order = data.draw(st.permutations(range(len(pages))))
    server_part = data.draw(st.lists(st.sampled_from(scenario), max_size=len(scenario) // 2))
    d = tmp_path_factory.mktemp("peers")
    till = make_store(d / "t.db", device_id="Z")
    done: dict[str, int] = {}
    for i in peer_order:  # a device's pages stay in seq order, as a peer serves them
        device = pages[i][0].device_id
        k = done.get(device, 0)
        mine = [p for p in pages if p[0].device_id == device]
        till.apply_remote(mine[k])
        done[device] = k + 1
        if server_part:
            till.apply_remote([server_part.pop()])
    till.apply_remote(server_part)
    got = read_model_digests(db(till))
    till.close()
    assert got == _digest(d / "ref.db", scenario)


def test_the_converged_state_is_what_the_rules_say(tmp_path, scenario):
    s = make_store(tmp_path / "z.db", device_id="Z")
    s.apply_remote(list(reversed(scenario)))
    with s.read() as tx:
        rows = {r[0]: r for r in db(s).execute("SELECT sku, price, name, deleted, barcodes FROM product")}
        ana = tx.user("ana")
    # the last writer of `price` wins by (hlc, device); B and C share a wall clock, C wins the tie by device id
    assert rows["P1"][1] == 1300
    assert rows["P1"][2] == "Pan blanco" and rows["P1"][4] == '["111","222"]'  # other fields merged
    assert rows["P3"][3] == 1  # delete wins over a concurrent update
    assert ana.name == "Ana María"
    # each setting: the value of the newest write of it by (hlc, device), wherever the others came from
    with s.read() as tx:
        stored = {k: v.value for k, v in tx.settings().items()}
    newest: dict = {}
    for e in sorted((e for e in scenario if e.type == "config.updated"), key=lambda e: (e.hlc, e.device_id)):
        newest.update(e.payload.changes.fields())
    assert stored == newest and set(stored) == {
        "shop_name",
        "low_stock",
        "receipt_footer",
        "prices_include_tax",
        "receipt_header",
    }
    s.close()
