"""A conflict the server leaves to a person, resolved on the sync screen by a manager's PIN."""

from __future__ import annotations

import re

from caja_tui.application import products, users
from caja_tui.store.maintenance import read_model_digests
from caja_tui.sync.engine import SyncEngine
from caja_tui.sync.transport import Transport
from tests.conftest import make_store
from tests.server_proc import ServerProcess
from tests.tui.conftest import drive, make_app, message, screen_text, sign_in


def test_a_manager_resolves_a_conflict_on_the_sync_screen(tmp_path, fixed):
    srv = ServerProcess(str(tmp_path / "server.db"), workers=1).start()
    try:
        a = make_store(tmp_path / "A.db", device_id="A", store_id="s1")
        b = make_store(tmp_path / "B.db", device_id="B", store_id="s1")
        ea = SyncEngine(a, Transport(srv.url, srv.enroll("s1", "A")), batch_size=50, batch_seconds=0.2)
        eb = SyncEngine(b, Transport(srv.url, srv.enroll("s1", "B")), batch_size=50, batch_seconds=0.2)
        users.create_user(a, "system", name="Ana", role="manager", pin="1234", user_id="ana")
        users.create_user(a, "ana", name="Luis", role="cashier", pin="0000", user_id="luis")
        p = products.create_product(a, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0)
        assert ea.sync_once() and eb.sync_once()
        products.delete_product(a, "ana", p.id)  # A deletes while B, offline, changes the price
        products.update_product(b, "ana", p.id, {"price": 1500})
        assert ea.sync_once() and eb.sync_once()
        assert eb.refresh_metrics().conflicts_open == 1

        app = make_app(b)

        async def steps(pilot):
            await sign_in(pilot, pin="0000", opening_float="0")  # Luis, a cashier, is at the till
            await pilot.press("f6")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "WAITING FOR A MANAGER" in screen_text(app)
            assert re.search(r"conflicts +1 \(1 open\)", screen_text(app))
            await pilot.press("f5", "a")  # resolve: apply ours (the new price)
            await pilot.pause()
            assert "Manager approval" in screen_text(app)
            await pilot.press(*"1234", "enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert message(app) == "conflict resolved: apply"
            assert "resolved by ana: apply" in screen_text(app)

        drive(app, steps)
        with b.read() as tx:
            assert tx.product_by_code("PAN").price == 1500
        assert eb.sync_once() and ea.sync_once()
        with a.read() as tx:
            assert tx.product_by_code("PAN").price == 1500  # the decision reached the other till
        assert read_model_digests(a.conn) == read_model_digests(b.conn)
        a.close()
        b.close()
    finally:
        srv.stop()
