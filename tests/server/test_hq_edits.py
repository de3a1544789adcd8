"""The owner's edits over real HTTP against a real `caja serve` (SQLite and PostgreSQL), reaching real tills
through real sync: a price and a name changed for two stores at once, a store's settings, and what is refused
(another owner's store, a bad price, a stale form). The server signs them as the store's HQ device."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caja_tui.application import products, settings
from caja_tui.store.maintenance import verify
from caja_tui.sync.engine import SyncEngine
from caja_tui.sync.transport import Transport
from tests.browser.hq_shop import real_till
from tests.conftest import make_store
from tests.server.test_hq_http import PASSWORD, csrf_of, login
from tests.server_proc import ServerProcess


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
    for bad in ("Pan\x1bp0", "Pan\x9b1m", "Pan\u2028Dulce"):  # ESC, a C1 control, a line separator: a printer's
        r = s.post(item, data={"csrf": csrf_of(s, item), "sku": "PAN", "name": bad, "store_edA": "1"})
        assert r.status_code == 400 and "no control characters" in r.text, repr(bad)
    assert s.post(item, data={"csrf": "stale", "sku": "PAN", "price": "9", "store_edA": "1"}).status_code == 403
    assert engine.sync_once()
    with till.read() as tx:
        assert tx._conn.execute("SELECT COUNT(*) FROM event WHERE device_id = 'HQ'").fetchone()[0] == 0


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def test_a_stores_settings_are_saved_as_an_event_and_shown_with_who_set_them(owners):
    owners, tills = owners
    s = login(owners.url, "olga")
    page = owners.url + "/hq/stores/edA/settings"
    form = s.get(page)
    assert form.status_code == 200 and 'value="Caja"' in form.text and form.text.count("default") >= 5

    def fill(**changed):
        shown = s.get(page).text
        return {
            "csrf": _hidden(shown, "csrf"),
            "seen": _hidden(shown, "seen"),
            "shop_name": "Panadería Centro",
            "receipt_header": "Calle 1\r\nRFC XAXX010101000\r\n",
            "receipt_footer": "Vuelva pronto",
            "prices_include_tax": "yes",
            "low_stock": "3",
            **changed,
        }

    r = s.post(page, data=fill())
    assert r.status_code == 200 and "edA: changed" in r.text
    assert 'value="Panadería Centro"' in r.text and "owner:olga" in r.text
    assert re.search(r"Calle 1\nRFC XAXX010101000</textarea>", r.text)
    assert "nothing changed" in s.post(page, data=fill()).text
    for bad, field in (("-1", "Low-stock level"), ("²", "Low-stock level"), ("1" * 5000, "Low-stock level")):
        r = s.post(page, data=fill(low_stock=bad))
        assert r.status_code == 400 and field in r.text, bad
    r = s.post(page, data=fill(receipt_footer="\x1bp0\x19\xfa"))  # ESC p: a printer would kick the drawer
    assert r.status_code == 400 and "no control characters" in r.text
    assert "Low stock (at most 3)" in s.get(owners.url + "/hq/stores/edA").text
    # a manager changes the footer on a till while the owner's page is open: the owner's save is refused, not lost
    stale = fill(shop_name="Panadería Norte")
    till, engine, _ = tills["edA"]
    settings.update_settings(till, "ana", {"receipt_footer": "Gracias (la gerente)"})
    assert engine.sync_once(), engine.metrics.last_error
    r = s.post(page, data=stale)
    assert r.status_code == 409 and "changed since this page was shown" in r.text
    assert 'value="Gracias (la gerente)"' in r.text  # what the till set, shown to check
    assert (
        "edA: changed"
        in s.post(page, data=fill(shop_name="Panadería Norte", receipt_footer="Gracias (la gerente)")).text
    )


def test_a_price_a_till_changed_after_the_page_was_shown_is_a_conflict_the_owner_is_told_of(owners):
    owners, tills = owners
    till, engine, product_id = tills["edB"]
    s = login(owners.url, "olga")
    item = owners.url + "/hq/catalogue/item?sku=PAN"
    shown = s.get(item).text
    seen = {k: _hidden(shown, k) for k in ("csrf", "seen_edA", "seen_edB")}
    products.update_product(till, "ana", product_id, {"price": 1500})  # the till, after the owner opened the page
    assert engine.sync_once(), engine.metrics.last_error
    r = s.post(item, data={**seen, "sku": "PAN", "price": "16", "store_edB": "1"})
    assert r.status_code == 200 and "edB: changed; a till had changed it since this page was shown" in r.text
    assert engine.sync_once()
    assert _price_and_name(till, product_id)[0] == 1600  # the owner's, the newer; the till's is a kept conflict


def test_a_search_finds_names_whatever_their_case_and_a_sku_two_products_share_is_refused(owners):
    owners, tills = owners
    till, engine, _ = tills["edA"]
    products.create_product(till, "ana", sku="ECL", name="Éclair", price=300, tax_rate=0, stock=1)
    other = make_store(till.path.with_name("edA-t2.db"), device_id="t2", store_id="edA")  # a second till
    second = SyncEngine(other, Transport(owners.url, owners.enroll("edA", "t2")))
    assert second.sync_once()  # it knows Ana now; offline, it makes the same SKU the first till made
    products.create_product(other, "ana", sku="ECL", name="Éclair de otro", price=350, tax_rate=0, stock=1)
    assert second.sync_once(), second.metrics.last_error
    assert engine.sync_once()
    other.close()
    s = login(owners.url, "olga")
    for q in ("éclair", "ÉCLAIR"):
        found = s.get(owners.url + "/hq/catalogue", params={"q": q}).text
        assert "edA 3.00" in found and "edA 3.50" in found, q
    item = owners.url + "/hq/catalogue/item?sku=ECL"
    r = s.post(item, data={"csrf": csrf_of(s, item), "sku": "ECL", "price": "4", "store_edA": "1"})
    assert r.status_code == 400 and "several products have SKU ECL" in r.text


def test_a_lost_hq_key_is_said_at_start_and_hq_rekey_makes_the_stores_take_the_new_one(tmp_path):
    srv = ServerProcess(str(tmp_path / "server.db"), workers=1).start()
    try:
        (tmp_path / "pw").write_text(PASSWORD + "\n")
        assert (
            srv.caja("owners", "add", "olga", "--stores", "all", "--password-file", str(tmp_path / "pw")).returncode
            == 0
        )
        till, engine, product_id = real_till(tmp_path, srv, "k1", 1000)

        def change(price: str):
            s = login(srv.url, "olga")
            item = srv.url + "/hq/catalogue/item?sku=PAN"
            return s.post(item, data={"csrf": csrf_of(s, item), "sku": "PAN", "price": price, "store_k1": "1"})

        assert "k1: changed" in change("11").text
        srv.stop()
        Path(srv.db + ".hq.key").unlink()  # lost with a restore that forgot it
        srv.start()
        assert "know another HQ key" in srv.stderr_path.read_text()
        refused = change("12")
        assert refused.status_code == 409 and "hq-rekey" in refused.text
        assert srv.caja("hq-rekey").returncode == 0
        assert "k1: changed" in change("12").text
        assert engine.sync_once(), engine.metrics.last_error
        assert _price_and_name(till, product_id)[0] == 1200 and verify(till).ok  # both HQ events, each its key's
        till.close()
    finally:
        srv.stop()


def test_nobody_enrols_or_pushes_as_hq(owners):
    r = owners[0].caja("enroll", "--store", "edA", "--device", "HQ")
    assert r.returncode != 0 and "server's own device" in r.stderr
