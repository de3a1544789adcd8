"""The owner's edits over real HTTP against a real `caja serve` (SQLite and PostgreSQL), reaching real tills
through real sync: a price and a name changed for two stores at once, a store's settings, and what is refused
(another owner's store, a bad price, a stale form). The server signs them as the store's HQ device."""

from __future__ import annotations

import re

import pytest

from caja_tui.store.maintenance import verify
from tests.browser.hq_shop import real_till
from tests.server.test_hq_http import PASSWORD, csrf_of, login


@pytest.fixture(scope="module")
def owners(server, tmp_path_factory):
    """Owners olga (stores edA, edB) and omar (edC); a real till of each store selling PAN (its own product id),
    at 10.00, 11.00 and 5.00. Each test may run first (or alone) in its worker: none relies on another's edits."""
    tmp = tmp_path_factory.mktemp("edits")
    (tmp / "pw").write_text(PASSWORD + "\n")
    for name, stores in (("olga", "edA,edB"), ("omar", "edC")):
        r = server.caja("owners", "add", name, "--stores", stores, "--password-file", str(tmp / "pw"))
        assert r.returncode == 0, r.stderr
    tills = {
        store: real_till(tmp, server, store, price) for store, price in (("edA", 1000), ("edB", 1100), ("edC", 500))
    }
    yield server, tills
    for s, _, _ in tills.values():
        s.close()


def _price_and_name(s, product_id):
    with s.read() as tx:
        p = tx.product(product_id)
    return p.price, p.name


def test_a_price_and_name_change_for_two_stores_reaches_a_till_of_each(owners):
    owners, everyone = owners
    tills = {store: everyone[store] for store in ("edA", "edB")}
    s = login(owners.url, "olga")
    found = s.get(owners.url + "/hq/catalogue", params={"q": "pan"})
    assert found.status_code == 200 and "edA 10.00" in found.text and "edB 11.00" in found.text
    item = owners.url + "/hq/catalogue/item?sku=PAN"
    r = s.post(
        item,
        data={"csrf": csrf_of(s, item), "sku": "PAN", "name": "Pan de barra", "price": "12.5", "store_edA": "1",
              "store_edB": "1"},
    )  # fmt: skip
    assert r.status_code == 200, r.text[:500]
    assert "edA: changed" in r.text and "edB: changed" in r.text
    for store, (till, engine, product_id) in tills.items():
        assert engine.sync_once(), engine.metrics.last_error
        assert _price_and_name(till, product_id) == (1250, "Pan de barra"), store
        assert verify(till).ok
        with till.read() as tx:  # the change is the HQ device's, signed by the owner's name
            row = tx._conn.execute(
                "SELECT device_id, actor, sig FROM event WHERE type = 'product.updated' ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        assert row[0] == "HQ" and row[1] == "owner:olga" and row[2]
    # the catalogue shows the new price in both stores (its read models are folded from the same events)
    again = s.get(owners.url + "/hq/catalogue", params={"q": "barra"})
    assert "edA 12.50" in again.text and "edB 12.50" in again.text
    csv = s.get(owners.url + "/hq/catalogue/item/csv/stores", params={"sku": "PAN"})
    assert csv.status_code == 200 and csv.text.splitlines()[1].startswith("edA,Pan de barra,12.50")
    # one store only: edB keeps its price
    r = s.post(item, data={"csrf": csrf_of(s, item), "sku": "PAN", "price": "13", "store_edA": "1"})
    assert "edA: changed" in r.text and "edB" not in r.text.split("Done")[1].split("</ul>")[0]
    for store, (till, engine, product_id) in tills.items():
        assert engine.sync_once()
        assert _price_and_name(till, product_id)[0] == (1300 if store == "edA" else 1250)


def test_an_owner_edits_only_their_stores_and_bad_input_is_a_clear_page(owners):
    owners, everyone = owners
    till, engine, _ = everyone["edC"]
    s = login(owners.url, "olga")  # olga does not see edC
    assert s.get(owners.url + "/hq/catalogue/item?sku=PAN").status_code == 200  # hers (edA, edB)
    assert "edC" not in s.get(owners.url + "/hq/catalogue", params={"q": "pan"}).text
    item = owners.url + "/hq/catalogue/item?sku=PAN"
    r = s.post(item, data={"csrf": csrf_of(s, item), "sku": "PAN", "price": "9", "store_edC": "1"})
    assert r.status_code == 400 and "Tick the stores" in r.text  # edC's box is not hers: nothing is changed
    settings = owners.url + "/hq/stores/edC/settings"
    assert s.get(settings).status_code == 404
    assert s.post(settings, data={"csrf": csrf_of(s, item), "shop_name": "X"}).status_code == 404
    r = s.post(item, data={"csrf": csrf_of(s, item), "sku": "PAN", "price": "12,345", "store_edA": "1"})
    assert r.status_code == 400 and "at most two decimals" in r.text
    assert s.post(item, data={"csrf": "stale", "sku": "PAN", "price": "9", "store_edA": "1"}).status_code == 403
    assert engine.sync_once()
    with till.read() as tx:
        assert tx._conn.execute("SELECT COUNT(*) FROM event WHERE device_id = 'HQ'").fetchone()[0] == 0


def test_a_stores_settings_are_saved_as_an_event_and_shown_with_who_set_them(owners):
    owners, _ = owners
    s = login(owners.url, "olga")
    page = owners.url + "/hq/stores/edA/settings"
    form = s.get(page)
    assert form.status_code == 200 and 'value="Caja"' in form.text and form.text.count("default") >= 5
    data = {
        "csrf": csrf_of(s, page),
        "shop_name": "Panadería Centro",
        "receipt_header": "Calle 1\r\nRFC XAXX010101000\r\n",
        "receipt_footer": "Vuelva pronto",
        "prices_include_tax": "yes",
        "low_stock": "3",
    }
    r = s.post(page, data=data)
    assert r.status_code == 200 and "edA: changed" in r.text
    assert 'value="Panadería Centro"' in r.text and "owner:olga" in r.text
    assert re.search(r"Calle 1\nRFC XAXX010101000</textarea>", r.text)
    again = s.post(page, data={**data, "csrf": csrf_of(s, page)})
    assert "nothing changed" in again.text
    bad = s.post(page, data={**data, "csrf": csrf_of(s, page), "low_stock": "-1"})
    assert bad.status_code == 400 and "Low-stock level" in bad.text
    store_page = s.get(owners.url + "/hq/stores/edA")
    assert "Low stock (at most 3)" in store_page.text


def test_nobody_enrols_or_pushes_as_hq(owners):
    r = owners[0].caja("enroll", "--store", "edA", "--device", "HQ")
    assert r.returncode != 0 and "server's own device" in r.stderr
