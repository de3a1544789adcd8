"""The store's settings (`config.updated`) on real SQLite files: pulled from another device, settled last writer wins
per setting in any order, part of rebuild and verify, written once from an older till's TOML, a manager's alone."""

from __future__ import annotations

import threading

import pytest

from caja_tui.application import settings, users
from caja_tui.application.receipts import render_receipt, shop_of
from caja_tui.config import SETTINGS_DEFAULTS, Config, TillConfig, file_settings
from caja_tui.domain.cart import Cart
from caja_tui.domain.errors import DomainError
from caja_tui.domain.events import ConfigUpdated, SettingsChanges
from caja_tui.store.maintenance import read_model_digests, rebuild, verify
from caja_tui.tui.store_settings import current_settings
from tests.conftest import StepClock, db, make_store, scalar


def _own(store):
    return [e for e in store.iter_events() if e.device_id == store.device_id]


def _hq_writes(store, actor="owner:maria", **changes):
    """What the server's HQ device writes for the owner's pages: a `config.updated` of an actor no till knows."""
    with store.transaction() as tx:
        tx.emit(ConfigUpdated(changes=SettingsChanges(**changes), base_hlc=0), actor)


def _read(store, till: TillConfig | None = None):
    till = till or TillConfig()
    return settings.read_settings(store, file_settings(till), SETTINGS_DEFAULTS)


def test_settings_pulled_from_another_device_change_the_receipt(staffed, tmp_path):
    from caja_tui.application import products, sales
    from caja_tui.domain.events import Tender

    hq = make_store(tmp_path / "hq.db", device_id="HQ", wall=StepClock(1_764_270_100_000))
    _hq_writes(hq, shop_name="Abarrotes Lupita", receipt_header=["Calle 5 de Mayo 12", "RFC LUPA800101AB1"])
    _hq_writes(hq, receipt_footer="Vuelva pronto")
    assert staffed.apply_remote(_own(hq)).new == 2
    products.create_product(staffed, "ana", sku="P1", name="Pan", price=1000, tax_rate=0, stock=5)
    cart = Cart()
    sales.scan(staffed, cart, "P1")
    done = sales.complete_sale(staffed, "luis", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)
    cfg = Config(till=TillConfig(shop_name="Old name"))  # the TOML's value loses to the store's event
    now = current_settings(cfg, staffed)
    assert now.shop_name == "Abarrotes Lupita" and now.sources["shop_name"].kind == "event"
    assert now.sources["shop_name"].actor == "owner:maria" and now.sources["shop_name"].device_id == "HQ"
    with staffed.read() as tx:
        sale = tx.sale(done.sale_id)
    text = render_receipt(sale, shop_of(cfg, now))
    assert "ABARROTES LUPITA" in text and "Calle 5 de Mayo 12" in text and "RFC LUPA800101AB1" in text
    assert "Vuelva pronto" in text and "Gracias" not in text
    hq.close()


def test_each_setting_comes_from_the_events_else_the_file_else_the_default(store):
    till = TillConfig(low_stock=9, receipt_footer="Del archivo")
    s = _read(store, till)
    assert (s.low_stock, s.receipt_footer, s.shop_name) == (9, "Del archivo", "Caja")
    assert [s.sources[k].kind for k in ("low_stock", "receipt_footer", "shop_name")] == ["file", "file", "default"]
    _hq_writes(store, low_stock=3)
    s = _read(store, till)
    assert s.low_stock == 3 and s.sources["low_stock"].kind == "event" and s.receipt_footer == "Del archivo"


def test_concurrent_writes_of_settings_converge_last_writer_per_setting_in_any_order(tmp_path):
    a = make_store(tmp_path / "a.db", device_id="A", wall=StepClock(1_764_270_000_000))
    b = make_store(tmp_path / "b.db", device_id="B", wall=StepClock(1_764_270_000_000))  # same clock: ties by device
    _hq_writes(a, shop_name="Tienda A", low_stock=1)
    _hq_writes(b, shop_name="Tienda B", receipt_footer="Footer B")
    _hq_writes(a, prices_include_tax=False)
    events = _own(a) + _own(b)
    digests = []
    for i, order in enumerate([events, list(reversed(events)), events[1:] + events[:1]]):
        z = make_store(tmp_path / f"z{i}.db", device_id="Z")
        for e in order:  # one pull each: every order of arrival
            z.apply_remote([e])
        s = _read(z)
        assert (s.shop_name, s.low_stock, s.receipt_footer, s.prices_include_tax) == ("Tienda B", 1, "Footer B", False)
        digests.append(read_model_digests(db(z)))
        z.close()
    assert digests[0] == digests[1] == digests[2]
    assert "store_setting" in digests[0]


def test_settings_are_rebuilt_and_verified_like_every_read_model(store):
    _hq_writes(store, shop_name="Uno", low_stock=7)
    _hq_writes(store, shop_name="Dos")
    live = read_model_digests(db(store))
    assert live["store_setting"][1] == 2
    rebuild(store)
    assert read_model_digests(db(store)) == live
    assert verify(store).ok
    db(store).execute("UPDATE store_setting SET value = '\"Tres\"' WHERE field = 'shop_name'")
    assert any("store_setting" in p for p in verify(store).problems)


def test_a_manager_changes_only_what_changed_and_a_cashier_cannot(staffed):
    assert settings.update_settings(staffed, "ana", {"shop_name": "  Lupita  ", "low_stock": 4}) == (
        "shop_name",
        "low_stock",
    )
    assert settings.update_settings(staffed, "ana", {"shop_name": "Lupita", "low_stock": 8}) == ("low_stock",)
    last = _own(staffed)[-1]
    assert last.type == "config.updated" and last.payload.changes.fields() == {"low_stock": 8}
    assert settings.update_settings(staffed, "ana", {"low_stock": 8}) == ()
    before = scalar(staffed, "SELECT COUNT(*) FROM event")
    with pytest.raises(DomainError) as refused:
        settings.update_settings(staffed, "luis", {"low_stock": 2})
    assert refused.value.code == "MANAGER_ONLY"
    assert scalar(staffed, "SELECT COUNT(*) FROM event") == before


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"shop_name": " "}, "the shop's name must be 1 to 60 characters"),
        ({"shop_name": "x" * 61}, "the shop's name must be 1 to 60 characters"),
        ({"receipt_header": ["a"] * 7}, "at most 6 lines of at most 48 characters"),
        ({"receipt_header": ["x" * 49]}, "at most 6 lines of at most 48 characters"),
        ({"receipt_footer": "x" * 201}, "at most 200 characters"),
        ({"receipt_footer": "\x1bp0\x19"}, "no control characters"),  # ESC p: the cash drawer would open
        ({"receipt_header": ["Calle 1", "Tel\x1b@"]}, "no control characters"),
        ({"low_stock": -1}, "a whole number from 0 to 1000000"),
        ({"low_stock": True}, "a whole number from 0 to 1000000"),
        ({"prices_include_tax": "yes"}, "yes or no"),
        ({"currency": "USD"}, "have no currency"),
    ],
)
def test_a_setting_out_of_its_bounds_is_refused_with_a_clear_message(staffed, changes, says):
    with pytest.raises(DomainError) as refused:
        settings.update_settings(staffed, "ana", changes)
    assert says in refused.value.message


def test_an_older_tills_toml_settings_are_written_once_as_the_stores(staffed, tmp_path):
    till = TillConfig(shop_name="Abarrotes Lupita", low_stock=5, receipt_header=["Calle 1"], prices_include_tax=False)
    assert settings.adopt_file_settings(staffed, file_settings(till)) == (
        "shop_name",
        "receipt_header",
        "prices_include_tax",
    )  # low_stock = 5 is the default: nothing to say
    written = [e for e in _own(staffed) if e.type == "config.updated"]
    assert len(written) == 1 and written[0].actor == "system"
    assert settings.adopt_file_settings(staffed, file_settings(till)) == ()  # the next start
    assert len([e for e in _own(staffed) if e.type == "config.updated"]) == 1
    # a setting the store already has is not overwritten by another till's older file
    other = make_store(tmp_path / "t2.db", device_id="T02")
    other.apply_remote(_own(staffed))
    assert settings.adopt_file_settings(other, file_settings(TillConfig(shop_name="Otro nombre"))) == ()
    assert _read(other).shop_name == "Abarrotes Lupita"
    # an empty shop name (allowed by the old TOML, not by the event) is left out, not an error
    assert settings.adopt_file_settings(other, {"shop_name": ""}) == ()
    other.close()


def test_the_till_and_its_sync_process_starting_together_write_the_toml_settings_once(store):
    till = TillConfig(shop_name="Lupita", receipt_footer="Gracias, vuelva")
    stores = [store] + [make_store(store.path) for _ in range(3)]
    start = threading.Barrier(len(stores))
    results: list[tuple[str, ...]] = []

    def run(s):
        start.wait()
        results.append(settings.adopt_file_settings(s, file_settings(till)))

    threads = [threading.Thread(target=run, args=(s,)) for s in stores[1:]]
    for t in threads:
        t.start()
    run(stores[0])
    for t in threads:
        t.join()
    assert sorted(results, key=len) == [(), (), (), ("shop_name", "receipt_footer")]
    assert scalar(store, "SELECT COUNT(*) FROM event WHERE type = 'config.updated'") == 1
    for s in stores[1:]:
        s.close()


def test_the_first_manager_of_a_till_can_change_settings_made_by_the_installer(store):
    users.create_user(store, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    settings.adopt_file_settings(store, {"low_stock": 2})
    assert settings.update_settings(store, "ana", {"low_stock": 3}) == ("low_stock",)
    assert _read(store).low_stock == 3
