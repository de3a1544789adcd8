"""The shop's other tills on the till's screens: the sync screen lists them, the status line says LAN n when
the till is in touch with its peers but not the server, and a manager shows a pairing code (issue 13)."""

from __future__ import annotations

import json
import time

from caja_tui.peers.state import state_path
from tests.tui.conftest import drive, make_app, screen_text, shown, sign_in


def test_peers_on_the_sync_screen_and_lan_on_the_status_line(staffed):
    now = int(time.time() * 1000)
    state_path(staffed.path).write_text(  # what the till's sync process last knew (peers/gossip.py)
        json.dumps(
            {
                "peers": [
                    {"address": "192.168.1.22:7870", "device_id": "T2", "last_seen": now, "behind": 3, "error": ""},
                    {
                        "address": "192.168.1.23:7870",
                        "device_id": "T3",
                        "last_seen": 0,
                        "behind": 0,
                        "error": "peer said 403",
                    },
                ]
            }
        )
    )
    app = make_app(staffed, server_url="http://127.0.0.1:9")

    async def steps(pilot):
        await sign_in(pilot, pin="1234", opening_float=None)
        await shown(pilot, app, "LAN 1")  # the server is not reached; one till of the shop is
        await pilot.press("f6")
        await shown(pilot, app, "192.168.1.22:7870")
        screen = screen_text(app)
        assert "T2" in screen and "T3" in screen and "peer said 403" in screen
        await pilot.press("p")
        await shown(pilot, app, "Show a pairing code")
        await pilot.press("s")  # Ana, a manager, is signed in: no PIN asked
        await shown(pilot, app, "Pairing code")

    drive(app, steps)
    offer = json.loads(staffed.meta("pair_offer"))
    assert len(offer["code"]) == 6 and offer["tries"] == 0
