"""Wrong PINs at the screens (issue 15): sign-in and a manager's approval wait after 5, lock after 10, and a
manager lifts the lockout with F5. The till's clock is moved by the test, never waited for."""

from __future__ import annotations

import pytest

from caja_tui.application.demo import load_demo
from caja_tui.domain import pins
from caja_tui.store.maintenance import verify
from caja_tui.tui.screens.dialogs import ManagerPinScreen
from caja_tui.tui.screens.sales import SalesScreen
from caja_tui.tui.screens.signin import SignInScreen
from tests.conftest import db, make_store
from tests.integration.test_pins import Clock
from tests.tui.conftest import START_MS, drive, flat, make_app, message, shown


@pytest.fixture
def clock() -> Clock:
    return Clock(START_MS)


@pytest.fixture
def demo(tmp_path, fixed, clock):
    """The demo till (Ana 1234 manager, Luis 0000 cashier) on a real file, on the test's clock."""
    store = make_store(tmp_path / "till.db", store_id="demo", wall=clock)
    load_demo(store)
    yield store
    store.close()


def pin_events(store) -> list[tuple[str, str]]:
    return db(store).execute("SELECT type, payload FROM event WHERE type LIKE 'pin.%' ORDER BY seq").fetchall()


async def typed(pilot, pin: str) -> None:
    await pilot.press(*pin, "enter")
    await pilot.pause()


def test_wrong_pins_at_sign_in_wait_then_lock_and_a_manager_lifts_it_with_f5(demo, clock):
    app = make_app(demo)

    async def steps(pilot):
        await pilot.press("down")  # Luis
        for _ in range(5):
            await typed(pilot, "9999")
        assert "the next try waits 5 s" in await shown(pilot, app, "the next try waits 5 s")
        await typed(pilot, "0000")  # his own PIN, too soon: refused unread
        assert "wait 5 s for the next try" in await shown(pilot, app, "wait 5 s for the next try")
        assert isinstance(app.screen, SignInScreen)
        for _ in range(5):
            clock.later(pins.MAX_DELAY_MS)
            await typed(pilot, "9999")
        await shown(pilot, app, "F5: a manager lifts it")
        assert "locked on this till after 10" in message(app) and "F5: a manager lifts it" in message(app)
        assert "Luis (cashier) - locked" in flat(app)
        clock.later(pins.MAX_DELAY_MS)
        await typed(pilot, "0000")
        assert "locked after 10 wrong PINs" in await shown(pilot, app, "locked after 10 wrong PINs")
        assert isinstance(app.screen, SignInScreen)
        await pilot.press("f5")  # a manager lifts it
        assert "lift Luis's lockout" in await shown(pilot, app, "lift Luis's lockout")
        await typed(pilot, "1234")
        assert "Luis may sign in again" in await shown(pilot, app, "Luis may sign in again")
        assert "- locked" not in flat(app)
        await typed(pilot, "0000")
        assert "opening float" in await shown(pilot, app, "opening float")
        await typed(pilot, "0")
        await shown(pilot, app, "Luis | session open")
        assert isinstance(app.screen, SalesScreen) and app.user.id == "luis"

    drive(app, steps)
    kinds = [t for t, _p in pin_events(demo)]
    assert kinds == ["pin.failed"] * 10 + ["pin.locked", "pin.unlocked"]
    assert db(demo).execute("SELECT actor FROM event WHERE type = 'pin.unlocked'").fetchone() == ("ana",)
    assert verify(demo).ok


def test_the_kiosk_managers_approval_is_throttled_too(demo, clock):
    app = make_app(demo)
    app.kiosk = True

    async def steps(pilot):
        await pilot.press("ctrl+q")  # leaving kiosk mode needs a manager
        assert "leave kiosk mode" in await shown(pilot, app, "leave kiosk mode")
        for _ in range(5):
            await typed(pilot, "9999")
        assert "the next try waits 5 s" in await shown(pilot, app, "the next try waits 5 s")
        await typed(pilot, "1234")  # Ana's PIN, too soon: refused, the till stays
        assert "wait 5 s for the next try" in await shown(pilot, app, "wait 5 s for the next try")
        assert isinstance(app.screen, ManagerPinScreen)
        for _ in range(5):
            clock.later(pins.MAX_DELAY_MS)
            await typed(pilot, "9999")
        clock.later(pins.MAX_DELAY_MS)
        await typed(pilot, "1234")
        assert "locked after 10 wrong PINs" in await shown(pilot, app, "locked after 10 wrong PINs")
        assert isinstance(app.screen, ManagerPinScreen)
        assert app.is_running

    drive(app, steps)
    failed = [p for t, p in pin_events(demo) if t == "pin.failed"]
    assert len(failed) == 10 and all('"purpose":"approval"' in p for p in failed)
    assert [t for t, _p in pin_events(demo)][-1] == "pin.locked"
