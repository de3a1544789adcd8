"""The sync loop sleeps when there is nothing to send: another connection's write that leaves nothing pending (a
rebuild, the till saving its draft cart) must not make it turn without sleeping; a new event still wakes it and
waits for its batch (issue 14: `caja sync` used 70-85 % of a core after `caja rebuild`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from caja_tui.application import cash, products, sales, users
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender
from caja_tui.store.maintenance import rebuild
from caja_tui.sync.engine import SyncEngine
from caja_tui.sync.transport import Transport
from tests.conftest import make_store

WINDOW_S = 1.5  # a sleeping loop looks at the outbox every 0.25 s: about 6 times in this window
MAX_TURNS = 5000  # a spinning loop is stopped here, so the test ends whatever the fix does


class CountedEngine(SyncEngine):
    """The engine of `caja sync`, counting how often its loop asks whether a batch is due."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.turns = 0
        self.first_turn = threading.Event()
        self.store_errors = threading.Event()

    def log(self, event: str, **fields) -> None:
        if event == "sync_error" and "busy" in str(fields.get("error")):
            self.store_errors.set()
        super().log(event, **fields)

    def _due(self, pull_every_s: float) -> bool:
        self.turns += 1
        self.first_turn.set()
        if self.turns >= MAX_TURNS:
            self.stop()
        return super()._due(pull_every_s)


def _engine_of(tmp_path, server, **kw) -> CountedEngine:
    s = make_store(tmp_path / "till.db", device_id="T01")
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    products.create_product(s, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0, stock=10)
    cash.open_session(s, "ana", 0)
    return CountedEngine(s, Transport(server.url, server.enroll("s1", "T01")), **kw)


@contextlib.contextmanager
def running(engine: CountedEngine, **kw) -> Iterator[threading.Event]:
    """The engine's loop in a thread, once it has pushed the set-up's events; stopped (and joined) after."""
    stop = threading.Event()
    worker = threading.Thread(target=engine.run, args=(stop,), kwargs=kw, daemon=True)
    worker.start()
    try:
        assert engine.first_turn.wait(60), "the sync loop never started"
        assert until(stop, lambda: not engine.refresh_metrics().pending and engine.metrics.syncs > 0)
        yield stop
        assert worker.is_alive()
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


def until(stop: threading.Event, done) -> bool:
    """Wait for `done()` (at most a minute); whether it came. Nothing is asserted about how soon."""
    for _ in range(600):
        if done():
            return True
        stop.wait(0.1)
    return done()


def _turns_after(engine: CountedEngine, write) -> int:
    """The loop's turns over WINDOW_S after `write` (from the till's side, with nothing pending)."""
    with running(engine) as stop:
        write()
        before = engine.turns
        stop.wait(WINDOW_S)
        return engine.turns - before


def test_the_sync_loop_sleeps_after_a_draft_is_saved_with_nothing_pending(tmp_path, server):
    engine = _engine_of(tmp_path, server)
    till = make_store(tmp_path / "till.db", device_id="T01")  # the TUI's own connection to the same file
    cart = Cart()

    def save_a_draft() -> None:  # a scan: the cart saved as the draft, no event
        assert sales.scan(till, cart, "PAN") is not None

    turns = _turns_after(engine, save_a_draft)
    assert turns < 50, f"the sync loop turned {turns} times in {WINDOW_S} s with nothing to send"
    assert engine.refresh_metrics().pending == 0
    till.close()
    engine.store.close()


def test_the_sync_loop_sleeps_after_a_rebuild(tmp_path, server):
    engine = _engine_of(tmp_path, server)
    other = make_store(tmp_path / "till.db", device_id="T01")  # `caja rebuild` in another process
    turns = _turns_after(engine, lambda: rebuild(other))
    assert turns < 50, f"the sync loop turned {turns} times in {WINDOW_S} s after a rebuild"
    other.close()
    engine.store.close()


def _sell(till) -> None:
    cart = Cart()
    assert sales.scan(till, cart, "PAN") is not None
    sales.complete_sale(till, "ana", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)


def test_a_new_event_still_wakes_the_loop_and_is_pushed_in_its_batch(tmp_path, server):
    engine = _engine_of(tmp_path, server, batch_size=50, batch_seconds=0.2)
    till = make_store(tmp_path / "till.db", device_id="T01")
    with running(engine, pull_every_s=3600) as stop:
        pushed = engine.metrics.pushed
        _sell(till)
        assert until(stop, lambda: engine.metrics.pushed > pushed)
    assert engine.metrics.pushed == pushed + 1
    assert engine.refresh_metrics().pending == 0
    till.close()
    engine.store.close()


def test_the_sync_loop_outlives_a_file_locked_longer_than_its_busy_timeout(tmp_path, server):
    """A `caja rebuild` of a million events holds the write lock for a minute: the round fails, the loop goes on."""
    engine = _engine_of(tmp_path, server, batch_size=50, batch_seconds=0.2)
    till = make_store(tmp_path / "till.db", device_id="T01")
    with running(engine, pull_every_s=0.5) as stop:
        with till.write():  # held until the engine has given up waiting for it once (10 s)
            assert engine.store_errors.wait(120), "the engine never waited for the lock"
        _sell(till)
        assert until(stop, lambda: not engine.refresh_metrics().pending)
    assert engine.metrics.synced >= 4
    till.close()
    engine.store.close()


def test_an_idle_loop_does_not_count_the_outbox_again(tmp_path, server, monkeypatch):
    """Counting the outbox reads every event of this till (0.1 s at a million): pulls that bring nothing and the
    loop's periodic figures leave it alone until something is written."""
    from caja_tui.sync import engine as engine_module

    counted = []
    real = engine_module.count_outbox
    monkeypatch.setattr(engine_module, "count_outbox", lambda *a: counted.append(1) or real(*a))
    engine = _engine_of(tmp_path, server)
    with running(engine, pull_every_s=0.3) as stop:
        syncs = engine.metrics.syncs
        assert until(stop, lambda: engine.metrics.syncs >= syncs + 2)  # past what the set-up's writes woke
        before = len(counted)
        assert until(stop, lambda: engine.metrics.syncs >= syncs + 5)  # three pulls that bring nothing
        assert len(counted) == before
    engine.store.close()
