"""A full disk at the screens (issue 15): the demo till on a small tmpfs the test mounts. A sale paid when the disk
is full is refused with a clear message, the till keeps running with the cart kept, and the same cart is sold
once space is freed; no half-written sale remains."""

from __future__ import annotations

from caja_tui.application.demo import load_demo
from caja_tui.store.maintenance import verify
from caja_tui.tui.screens.sales import SalesScreen
from tests.conftest import StepClock, db, make_store
from tests.integration.test_disk_full import fill, small_disk  # noqa: F401 - the fixture, shared
from tests.tui.conftest import START_MS, drive, flat, make_app, message, shown, sign_in


def test_a_sale_paid_on_a_full_disk_is_refused_on_the_screen_and_sold_once_space_is_freed(small_disk, fixed):  # noqa: F811
    store = make_store(small_disk / "till.db", store_id="demo", wall=StepClock(START_MS))
    load_demo(store)
    app = make_app(store)
    seen = {}

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"7500100100004", "enter")
        await pilot.pause()
        db(store).execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the next commits must grow the WAL
        filler = fill(small_disk)
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press(*"c 200", "enter")
        await shown(pilot, app, "disk full: the sale was")  # the message line, as wide as the total's panel
        seen["refused"] = message(app)
        seen["toast"] = [n.message for n in app._notifications]
        assert isinstance(app.screen, SalesScreen) and len(app.screen.cart.lines) == 1  # still running, cart kept
        await pilot.press(*"2*LAC-01A", "enter")  # a scan is not saved either: the cart stays as the draft holds it
        await shown(pilot, app, "disk full: the change was")
        seen["scan"] = message(app)
        assert [ln.qty for ln in app.screen.cart.lines] == [1]
        await pilot.press("f8", "r")  # removing the line is not saved either: the line stays
        await pilot.pause()
        seen["remove"] = message(app)
        assert [ln.qty for ln in app.screen.cart.lines] == [1]
        filler.unlink()
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press(*"c 200", "enter")
        await shown(pilot, app, "CHANGE")
        seen["paid"] = flat(app)

    try:
        drive(app, steps)
        assert seen["refused"] == "disk full: the sale was not saved", seen
        assert seen["scan"] == seen["remove"] == "disk full: the change was not saved", seen
        assert any("disk full: the sale was not saved; free space on the till's disk" in t for t in seen["toast"]), seen
        assert "CHANGE" in seen["paid"] and app.return_code in (None, 0)
        assert db(store).execute("SELECT COUNT(*) FROM sale").fetchone()[0] == 1
        assert db(store).execute("SELECT COUNT(*) FROM event WHERE type = 'sale.created'").fetchone()[0] == 1
        assert store.load_draft() is None and verify(store).ok
    finally:
        store.close()
