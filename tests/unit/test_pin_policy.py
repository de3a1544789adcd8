"""How many wrong PINs a till takes (domain/pins.py), and the use case over the in-memory store."""

from __future__ import annotations

from caja_tui.application import users
from caja_tui.domain import pins
from caja_tui.domain.pins import PinState
from tests.unit.fakes import FakeStore, refused


def test_the_wait_starts_after_five_doubles_and_is_capped():
    assert [pins.delay_ms(n) // 1000 for n in range(4, 12)] == [0, 5, 10, 20, 40, 80, 160, 300]
    assert pins.delay_ms(10_000) == pins.MAX_DELAY_MS


def test_a_clock_set_back_never_makes_the_wait_longer_than_the_delay():
    state = PinState(failures=6, last_failed_at=1_000_000)
    assert pins.wait_ms(state, 1_000_000 + 4_000) == 6_000
    assert pins.wait_ms(state, 1_000_000 - 3_600_000) == 10_000  # an hour back: still 10 s, not an hour and 10 s
    assert pins.wait_ms(state, 1_000_000 + 10_000) == 0


def test_a_lock_comes_first_then_the_users_wait_then_the_tills():
    busy_till = (pins.TILL_FAILURES_PER_MINUTE, 0)
    assert pins.refusal(PinState(10, True, 0), 5, busy_till).code == "PIN_LOCKED"
    assert "wait 5 s" in pins.refusal(PinState(5, False, 0), 1, busy_till).message
    assert "on this till: wait 60 s" in pins.refusal(PinState(), 1, (pins.TILL_FAILURES_PER_MINUTE, 1)).message
    assert pins.refusal(PinState(4, False, 0), 1, (pins.TILL_FAILURES_PER_MINUTE - 1, 0)) is None


def test_the_use_case_records_each_wrong_pin_and_a_manager_lifts_the_lock():
    store = FakeStore()
    store.given_user("ana", "Ana", "manager")
    store.given_user("luis", "Luis")  # a hash nobody's PIN matches
    for n in range(1, pins.LOCK_AT + 1):
        store.later(pins.MAX_DELAY_MS)
        with refused("PIN_LOCKED" if n == pins.LOCK_AT else "BAD_PIN"):
            users.authenticate(store, "luis", "0000")
    assert [e.type for e in store.events] == ["pin.failed"] * 10 + ["pin.locked"]
    with refused("MANAGER_ONLY"):
        users.unlock(store, "luis", "luis")
    assert users.unlock(store, "ana", "luis") == 10 and users.unlock(store, "ana", "luis") == 0
    assert [e.type for e in store.events][-1] == "pin.unlocked" and len(store.events) == 12
