"""The store's settings at the till's screens (80x24, real SQLite files): the Settings screen saves and the next
receipt shows it; a setting pulled by the sync process (another connection to the file) while the till runs takes
effect without a restart: the tax mode at the next sale, the low-stock level at the stock screen's next reload."""

from __future__ import annotations

from caja_tui.domain.events import ConfigUpdated, SettingsChanges
from tests.conftest import StepClock, db, make_store
from tests.tui.conftest import START_MS, drive, make_app, message, screen_text, shown, sign_in


def _pulled(till, tmp_path, **changes) -> None:
    """Another device of the store (the owner's pages) changes settings; the till's sync process, a connection of
    its own to the till's file, applies them."""
    hq = make_store(tmp_path / "hq.db", store_id="demo", device_id="HQ", wall=StepClock(START_MS + 30_000))
    with hq.transaction() as tx:
        tx.emit(ConfigUpdated(changes=SettingsChanges(**changes), base_hlc=0), "owner:maria")
    sync = make_store(till.path, store_id="demo", device_id=till.device_id)
    sync.apply_remote([e for e in hq.iter_events() if e.device_id == "HQ"])
    sync.close()
    hq.close()


def test_the_settings_screen_saves_and_the_next_receipt_shows_it(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("f11")
        assert "Shop name" in await shown(pilot, app, "Shop name")
        await pilot.press("enter", "ctrl+u", *"Abarrotes Lupita", "enter")  # the first row: the shop's name
        assert "saved" in await shown(pilot, app, "saved")
        await pilot.press("down", "enter", "ctrl+u", *"Calle 5 de Mayo 12", "enter")  # header line 1
        await shown(pilot, app, "Calle 5 de Mayo 12")
        assert "Ana" in screen_text(app)  # where the value comes from: Ana's event
        await pilot.press("f1", *"7500100100004", "enter", "f5", *"c 100", "enter")
        text = await shown(pilot, app, "ABARROTES LUPITA")
        assert "ABARROTES LUPITA" in text and "Calle 5 de Mayo 12" in text

    drive(app, steps)
    rows = dict(db(till).execute("SELECT field, value FROM store_setting").fetchall())
    assert rows == {"shop_name": '"Abarrotes Lupita"', "receipt_header": '["Calle 5 de Mayo 12"]'}


def test_a_cashier_needs_a_manager_to_change_a_setting(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot, pin="0000")
        await pilot.press("f11")
        await shown(pilot, app, "Low stock at")
        for _ in range(9):
            await pilot.press("down")
        await pilot.press("enter", "ctrl+u", *"12", "enter")
        assert "PIN" in await shown(pilot, app, "PIN")  # a manager's PIN is asked; Esc: nothing written
        await pilot.press("escape")
        await pilot.pause()

    drive(app, steps)
    assert db(till).execute("SELECT COUNT(*) FROM store_setting").fetchone() == (0,)


def test_a_tax_mode_pulled_while_the_till_runs_applies_to_the_next_sale(till, tmp_path):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"BEB-01A", "enter")  # a sale in progress, prices include tax
        await shown(pilot, app, "Agua")
        _pulled(till, tmp_path, prices_include_tax=False)
        await pilot.press(*"BEB-01A", "enter")  # the sale in progress keeps its tax mode
        await pilot.press("f5", *"c 500", "enter")
        await shown(pilot, app, "T01-000001 paid")
        await pilot.press(*"BEB-01A", "enter", "f5", *"c 500", "enter")  # the next sale: tax added at the till
        await shown(pilot, app, "T01-000002 paid")

    drive(app, steps)
    (price, rate) = db(till).execute("SELECT price, tax_rate FROM product WHERE sku = 'BEB-01A'").fetchone()
    assert rate > 0
    first, second = db(till).execute("SELECT total, tax, prices_include_tax FROM sale ORDER BY receipt_no").fetchall()
    assert first[2] == 1 and first[0] == 2 * price  # tax inside the shelf price
    assert second[2] == 0 and second[0] == price + second[1] and second[1] > 0  # tax on top


def test_a_low_stock_level_pulled_while_the_till_runs_changes_the_stock_filter(till, tmp_path):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("f3", "f5")
        assert "5 or fewer" in await shown(pilot, app, "5 or fewer")
        _pulled(till, tmp_path, low_stock=50)
        await pilot.press("f5", "f5")  # all, then low stock only again: the next reload reads the level
        assert "50 or fewer" in await shown(pilot, app, "50 or fewer")
        assert app.screen.rows and all(p.stock <= 50 for p in app.screen.rows)
        assert any(p.stock > 5 for p in app.screen.rows)
        assert "50 or fewer" in message(app)

    drive(app, steps)


def test_the_shop_name_pulled_while_the_till_runs_is_on_the_next_receipt(till, tmp_path):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        _pulled(till, tmp_path, shop_name="Lupita", receipt_footer="Vuelva pronto")
        await pilot.press(*"7500100100004", "enter", "f5", *"c 100", "enter")
        text = await shown(pilot, app, "LUPITA")
        assert "LUPITA" in text  # on the screen; the footer further down, in the receipt's text
        assert "Vuelva pronto" in app.receipt_text("T01-000001")

    drive(app, steps)
