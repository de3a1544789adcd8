"""Wrong PINs on real SQLite files (issue 15): the next try waits, then the user is locked on this till until a
manager lifts it; every wrong PIN and lockout is an event, the lockout a read model a rebuild gives back. The
till's clock is a test clock: a wait is passed by moving it, never by sleeping."""

from __future__ import annotations

import hashlib

import pytest

from caja_tui.application import cash, users
from caja_tui.domain import pins
from caja_tui.domain.errors import DomainError
from caja_tui.store.maintenance import read_model_digests, rebuild, verify
from caja_tui.store.sqlite import SqliteStore
from tests.conftest import db, scalar


class Clock:
    """The till's wall clock: 1 ms a reading, moved on by `later`."""

    def __init__(self, start: int = 1_764_270_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1
        return self.now

    def later(self, ms: int) -> None:
        self.now += ms


def open_till(path, clock: Clock, device_id: str = "T01", **kw) -> SqliteStore:
    return SqliteStore(path, store_id="s1", device_id=device_id, wall=clock, **kw).open()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def till(tmp_path, clock):
    s = open_till(tmp_path / "till.db", clock)
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(s, "system", name="Luis", role="cashier", pin="0000", user_id="luis")
    yield s
    s.close()


def refusal(store, user_id: str, pin: str, **kw) -> DomainError:
    with pytest.raises(DomainError) as info:
        users.authenticate(store, user_id, pin, **kw)
    return info.value


def types(store) -> list[tuple[str, str, str]]:
    return db(store).execute("SELECT type, actor, payload FROM event WHERE type LIKE 'pin.%' ORDER BY seq").fetchall()


def test_wrong_pins_make_the_next_try_wait_then_lock_the_user_until_a_manager_lifts_it(till, clock):
    answers = [refusal(till, "luis", "9999").message for _ in range(5)]
    assert answers[:4] == ["wrong user or PIN"] * 4
    assert answers[4] == "wrong user or PIN; the next try waits 5 s"
    waiting = refusal(till, "luis", "0000")  # the right PIN, too soon: refused before it is looked at
    assert (waiting.code, waiting.message) == ("PIN_WAIT", "too many wrong PINs: wait 5 s for the next try")
    said = []
    for _ in range(5):  # each wait passed by the till's clock, never by sleeping
        clock.later(pins.delay_ms(till_failures(till, "luis")))
        said.append(refusal(till, "luis", "9999").message)
    assert said[:4] == [f"wrong user or PIN; the next try waits {s} s" for s in (10, 20, 40, 80)]
    assert said[4] == "wrong user or PIN; locked on this till after 10: a manager lifts it"
    clock.later(24 * 3600 * 1000)  # a day later, still locked
    locked = refusal(till, "luis", "0000")
    assert (locked.code, locked.message) == (
        "PIN_LOCKED",
        "locked after 10 wrong PINs on this till: a manager lifts it",
    )
    with pytest.raises(DomainError, match="is a cashier"):
        users.unlock(till, "luis", "luis")
    assert users.unlock(till, "ana", "luis") == 10
    assert users.authenticate(till, "luis", "0000").name == "Luis"
    # the audit trail: ten wrong PINs, the lockout, who lifted it
    kinds = [t for t, _a, _p in types(till)]
    assert kinds == ["pin.failed"] * 10 + ["pin.locked", "pin.unlocked"]
    assert types(till)[-1][1] == "ana" and {a for _t, a, _p in types(till)[:-1]} == {"luis"}
    assert scalar(till, "SELECT priority FROM event WHERE type = 'pin.failed' LIMIT 1") == 10  # LOW
    assert verify(till).ok


def till_failures(store, user_id: str) -> int:
    with store.read() as tx:
        return tx.pin_state(user_id).failures


def test_the_right_pin_starts_the_count_again_and_a_clean_sign_in_writes_nothing(till):
    for _ in range(4):
        refusal(till, "ana", "1111")
    assert users.authenticate(till, "ana", "1234").id == "ana"
    assert [t for t, _a, _p in types(till)][-1] == "pin.accepted"
    before = scalar(till, "SELECT COUNT(*) FROM event")
    assert users.authenticate(till, "ana", "1234").id == "ana"
    assert scalar(till, "SELECT COUNT(*) FROM event") == before
    assert refusal(till, "ana", "1111").message == "wrong user or PIN"  # the count started again


def test_an_unknown_user_gets_the_answers_a_wrong_pin_gets(till):
    known = [refusal(till, "luis", "9999").message for _ in range(5)]
    unknown = [refusal(till, "lucas", "9999").message for _ in range(5)]
    assert known == unknown
    assert refusal(till, "lucas", "0000").code == refusal(till, "luis", "0000").code == "PIN_WAIT"


def test_a_manager_approval_is_throttled_and_recorded_as_one(till, clock):
    for _ in range(5):
        refusal(till, "ana", "1111", purpose="approval")
    assert refusal(till, "ana", "1234", purpose="approval").code == "PIN_WAIT"
    assert all('"purpose":"approval"' in p for t, _a, p in types(till) if t == "pin.failed")


def test_the_lockout_is_a_read_model_a_rebuild_gives_back(till, clock):
    for _ in range(10):
        clock.later(pins.MAX_DELAY_MS)
        refusal(till, "luis", "9999")
    live = read_model_digests(db(till))
    assert db(till).execute("SELECT failures, locked FROM pin_attempt WHERE user_id = 'luis'").fetchone() == (10, 1)
    rebuild(till)
    assert read_model_digests(db(till)) == live
    assert refusal(till, "luis", "0000").code == "PIN_LOCKED"
    assert verify(till).ok


def test_a_lockout_on_another_till_does_not_lock_this_one(till, clock, tmp_path):
    other = open_till(tmp_path / "t2.db", clock, device_id="T02")
    other.apply_remote(list(till.iter_events()))
    for _ in range(10):
        clock.later(pins.MAX_DELAY_MS)
        refusal(other, "luis", "9999")
    till.apply_remote(list(other.iter_events()))
    assert users.authenticate(till, "luis", "0000").id == "luis"  # per till: T02's lockout stays on T02
    assert refusal(other, "luis", "0000").code == "PIN_LOCKED"
    other.apply_remote([e for e in till.iter_events() if e.device_id == "T01"])
    assert read_model_digests(db(till))["pin_attempt"] == read_model_digests(db(other))["pin_attempt"]
    assert verify(till).ok and verify(other).ok
    other.close()


def test_a_flood_of_wrong_pins_never_uses_up_the_emission_limit(tmp_path, clock):
    """A cashier typing four wrong PINs and their own, over and over, writes wrong PINs without end unless the
    till caps them: it takes 20 a minute. They are written outside the emission limit, so none goes unrecorded
    and the manager's work after them is not refused."""
    s = open_till(tmp_path / "till.db", clock, emit_limit_per_minute=5)
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(s, "system", name="Luis", role="cashier", pin="0000", user_id="luis")
    cash.open_session(s, "luis", 0)
    answers = []
    for _ in range(8):
        for _ in range(4):
            answers.append(refusal(s, "luis", "9999").code)
        try:
            users.authenticate(s, "luis", "0000")
        except DomainError as exc:
            answers.append(exc.code)
    assert answers.count("BAD_PIN") == pins.TILL_FAILURES_PER_MINUTE
    assert answers[-1] == "PIN_WAIT" and "on this till" in refusal(s, "luis", "0000").message
    assert scalar(s, "SELECT COUNT(*) FROM event WHERE type = 'pin.failed'") == pins.TILL_FAILURES_PER_MINUTE
    cash.move_cash(s, "ana", "out", 100, "bank")  # not refused by the emission limit of 5 a minute
    clock.later(pins.MINUTE_MS)
    assert users.authenticate(s, "luis", "0000").id == "luis"
    assert verify(s).ok
    s.close()


def test_pins_are_4_to_12_digits_and_a_till_may_ask_managers_for_6(till):
    for pin in ("123", "1234567890123", "12a4", "١٢٣٤"):
        with pytest.raises(DomainError, match="4 to 12 digits"):
            users.create_user(till, "ana", name="Rosa", role="cashier", pin=pin)
    assert users.create_user(till, "ana", name="Rosa", role="cashier", pin="123456789012").id == "rosa"
    with pytest.raises(DomainError, match="at least 6 digits") as info:
        users.create_user(till, "ana", name="Marta", role="manager", pin="1234", manager_digits=6)
    assert info.value.code == "PIN_TOO_SHORT"
    users.create_user(till, "ana", name="Marta", role="manager", pin="123456", manager_digits=6)
    users.create_user(till, "ana", name="Pedro", role="cashier", pin="1234", manager_digits=6)  # a cashier's
    with pytest.raises(DomainError, match="give a new PIN with the promotion"):
        users.update_user(till, "ana", "pedro", role="manager", manager_digits=6)
    assert users.update_user(till, "ana", "pedro", role="manager", pin="654321", manager_digits=6).role == "manager"


def test_the_hash_carries_its_cost_and_older_hashes_still_verify():
    new = pins.hash_pin("1234")
    assert new.startswith("scrypt$16384$10$1$")
    assert pins.verify_pin("1234", new) and not pins.verify_pin("1235", new)
    salt = bytes(range(16))
    old_digest = hashlib.scrypt(b"2468", salt=salt, n=2**14, r=8, p=1, dklen=32).hex()
    old = f"scrypt$16384$8$1${salt.hex()}${old_digest}"  # what earlier releases wrote
    assert pins.verify_pin("2468", old) and not pins.verify_pin("2469", old)
    greedy = f"scrypt${2**20}$8$1${salt.hex()}${old_digest}"  # 1 GiB a try: refused, not computed
    assert not pins.verify_pin("2468", greedy)
    assert not pins.verify_pin("2468", "plain$text") and not pins.verify_pin("2468", None)
