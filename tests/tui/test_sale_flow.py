"""Pilot tests of the TUI (issue 5, in progress): sign in, open the session, scan at scanner speed, pay."""

from __future__ import annotations

import asyncio

from caja_tui.application import users
from caja_tui.config import Config
from caja_tui.demo import load_demo
from caja_tui.tui.app import CajaApp
from caja_tui.tui.screens.sales import SalesScreen
from tests.conftest import make_store


def _app(tmp_path):
    store = make_store(tmp_path / "t.db", store_id="demo")
    load_demo(store)
    return CajaApp(Config(), store), store


def test_a_full_cash_sale_with_scanner_speed_input(tmp_path):
    app, store = _app(tmp_path)

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"1234", "enter")  # Ana is first in the list
            await pilot.pause()
            await pilot.press(*"500", "enter")  # opening float
            await pilot.pause()
            assert isinstance(app.screen, SalesScreen)
            status, entry = app.screen.query_one("#status"), app.screen.query_one("#entry")
            assert status.region.y == 0 and status.region.height == 1 and entry.region.y >= 1  # never hidden
            assert "Ana | session open" in str(status.render()) and "not synced" in str(status.render())
            for code in ("7500100100004", "2*LAC-01A"):  # keys a few ms apart, then Enter
                await pilot.press(*code, "enter")
            await pilot.pause()
            assert [ln.qty for ln in app.screen.cart.lines] == [1, 2]
            await pilot.press("f5")
            await pilot.pause()
            await pilot.press(*"c 200", "enter")  # cash, 200.00 tendered
            await pilot.pause()
            assert "CHANGE" in str(app.screen.query_one("#message").render())
            assert app.screen.cart.lines == []

    asyncio.run(run())
    assert store.conn.execute("SELECT total, change FROM sale").fetchone() == (3290 + 2 * 2890, 20000 - 3290 - 5780)
    assert store.load_draft() is None
    store.close()


def test_mixed_payment_and_a_wrong_pin(tmp_path):
    app, store = _app(tmp_path)

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*"9999", "enter")
            await pilot.pause()
            assert "wrong" in str(app.screen.query_one("#message").render())
            await pilot.press(*"1234", "enter", *"0", "enter")
            await pilot.pause()
            await pilot.press(*"7500100100004", "enter", "f5")
            await pilot.pause()
            await pilot.press(*"k 20", "enter")  # card 20.00, then the rest in cash
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()

    asyncio.run(run())
    pays = store.conn.execute("SELECT method, amount FROM sale_payment ORDER BY idx").fetchall()
    assert pays == [("card", 2000), ("cash", 1290)]
    assert users.authenticate(store, "ana", "1234").role == "manager"
    store.close()
