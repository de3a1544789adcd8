"""Issue 12, case 1, with real processes: one wrong clock no longer splits a shop's prices.

Till T1's clock is a day ahead; its sale is taken (a fact). T2 pulls it, and a `cash.session_opened` whose hlc
is at the very top of 63 bits; T2's clock moves at most five minutes ahead, so T2's next price change is taken
by the server (not CLOCK_SKEW), T2 keeps writing (no overflow, also after a restart) and T1 ends with T2's
price."""

from __future__ import annotations

import time

from caja_tui.application import cash, products, users
from caja_tui.domain.clock import wall_of
from caja_tui.sync.engine import SyncEngine
from caja_tui.sync.transport import Transport
from tests.conftest import make_store, scalar
from tests.e2e.test_sync import sell
from tests.protocol_client import Client, Device

DAY_MS = 86_400_000


def test_a_till_a_day_ahead_does_not_split_the_shops_prices(tmp_path, server):
    ahead = [0]  # T1's clock error
    t1 = make_store(tmp_path / "T1.db", device_id="T1", wall=lambda: int(time.time() * 1000) + ahead[0])
    e1 = SyncEngine(t1, Transport(server.url, server.enroll("s1", "T1")), batch_size=50, batch_seconds=0.2)
    users.create_user(t1, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(t1, "ana", name="Luis", role="cashier", pin="0000", user_id="luis")
    p = products.create_product(t1, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0, stock=10)
    assert e1.sync_once()
    ahead[0] = DAY_MS  # T1's clock goes a day ahead (a Pi without a clock chip, a wrong NTP answer)
    cash.open_session(t1, "luis", 0)
    sell(t1, "luis", "PAN")
    e1.sync_once()
    assert scalar(t1, "SELECT COUNT(*) FROM event WHERE type = 'sale.created' AND sync_status = 'synced'") == 1

    # a device of the store pushes a session opened at the very top of the hlc range
    top = Device("s1", "T3")
    top.hlc = 2**63 - 2
    far = top.event("cash.session_opened", {"session_id": "s-top", "opening_float": 0})
    answer = Client(server.url, server.enroll("s1", "T3")).push([far])
    assert answer[0]["status"] in ("accepted", "rejected")  # either way, nothing below may break

    t2 = make_store(tmp_path / "T2.db", device_id="T2")
    e2 = SyncEngine(t2, Transport(server.url, server.enroll("s1", "T2")), batch_size=50, batch_seconds=0.2)
    assert e2.sync_once()
    assert wall_of(t2.clock.last) <= int(time.time() * 1000) + 5 * 60_000 + 1000  # bounded, whatever it pulled
    products.update_product(t2, "ana", p.id, {"price": 1200})
    assert e2.sync_once()  # taken: not CLOCK_SKEW
    assert scalar(t2, "SELECT COUNT(*) FROM event WHERE sync_status = 'failed'") == 0
    t2.close()
    t2 = make_store(tmp_path / "T2.db", device_id="T2")  # after a restart, the till still writes
    cash.open_session(t2, "luis", 0)
    sell(t2, "luis", "PAN")
    t2.close()

    # both tills sell at T2's price (T1's clock, still wrong, does not make T2's edit lose)
    e1.sync_once()
    with t1.read() as tx:
        assert tx.product(p.id).price == 1200
    t1.close()
