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
