"""A conflict the server leaves to a person, resolved on the sync screen by a manager's PIN."""

from __future__ import annotations

import re

from caja_tui.sync.engine import SyncEngine
from caja_tui.sync.transport import Transport
from tests.conflict_case import assert_applied_everywhere, deleted_here_updated_there
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
        deleted_here_updated_there(a, b, ea, eb)

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
        assert_applied_everywhere(a, b, ea, eb)
        a.close()
        b.close()
    finally:
        srv.stop()


def test_a_refused_change_is_shown_until_a_manager_reverts_it_on_the_sync_screen(tmp_path, staffed):
    """Issue 12: a till whose own state-changing event the server refused never stays silently different: the
    status line says REFUSED, the sync screen lists it, and a manager's **v** writes the compensating event."""
    from caja_tui.application import products
    from tests.integration.test_refused import _server_answers
    from tests.tui.conftest import shown

    p = products.create_product(staffed, "ana", sku="RICE", name="Rice", price=1000, tax_rate=0, stock=10)
    products.update_product(staffed, "ana", p.id, {"price": 1500})
    _server_answers(staffed, "CLOCK_SKEW", "product.updated")  # what the engine records of the server's answer
    app = make_app(staffed, server_url="http://127.0.0.1:9")

    async def steps(pilot):
        await sign_in(pilot, pin="0000", opening_float=None)  # Luis, a cashier
        await shown(pilot, app, "REFUSED 1: see Sync")
        await pilot.press("f6")
        await shown(pilot, app, "CLOCK_SKEW")
        await shown(pilot, app, "V Revert refused")
        await pilot.press("f8")  # to the list of refused events
        await pilot.press("v")
        await shown(pilot, app, "Manager approval")
        await pilot.press(*"1234", "enter")
        await shown(pilot, app, "reverted: product.updated written")
        for _ in range(200):  # the status line follows the write
            if "REFUSED" not in screen_text(app):
                break
            await pilot.pause(0.05)
        assert "REFUSED" not in screen_text(app)

    drive(app, steps)
    with staffed.read() as tx:
        assert tx.product(p.id).price == 1000
    assert staffed.count_refused() == 0
