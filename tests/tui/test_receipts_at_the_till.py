"""Receipts from the till's screens: a cash sale prints on a file printer with a cut and a drawer kick; a
printer that is off never holds up the counter, and the status line says the receipt waits."""

from __future__ import annotations

import socket

from caja_tui.config import Config, PrinterConfig, TillConfig
from caja_tui.host.printing import queued
from caja_tui.tui.app import CajaApp
from tests.conftest import scalar
from tests.tui.conftest import START_MS, drive, sign_in, trusted_clock


def _app(store, printer: PrinterConfig) -> CajaApp:
    cfg = Config(till=TillConfig(language="en", db=str(store.path)), printer=printer)
    return CajaApp(cfg, store, clock=lambda: (START_MS + 60_000) / 1000, clock_check=trusted_clock)


async def _sell(pilot, app) -> None:
    await sign_in(pilot)
    await pilot.press(*"7500100100004", "enter", "f5", *"c 50", "enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_a_cash_sale_prints_with_a_cut_and_a_drawer_kick(till, tmp_path):
    out = tmp_path / "printer.bin"
    app = _app(till, PrinterConfig(kind="file", path=str(out)))
    drive(app, lambda pilot: _sell(pilot, app))
    data = out.read_bytes()
    assert b"Arroz 1 kg" in data and b"T01-000001" in data
    assert data.index(b"Arroz 1 kg") < data.index(b"\x1dV") < data.index(b"\x1bp")  # text, cut, drawer kick
    assert queued(till) == []  # printed: nothing waits


def test_a_printer_that_is_off_never_holds_up_the_sale(till):
    with socket.socket() as s:  # a port nobody listens on: the printer is off
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = _app(till, PrinterConfig(kind="network", host="127.0.0.1", port=port))
    seen = {}

    async def steps(pilot):
        await _sell(pilot, app)
        app.refresh_status()
        seen["status"] = str(app.screen.query_one("#status").render())
        seen["message"] = str(app.screen.query_one("#message").render())

    drive(app, steps)
    assert "receipt waits in the print queue" in seen["status"]
    assert seen["message"] == "T01-000001 paid"  # the sale went through
    assert scalar(till, "SELECT COUNT(*) FROM sale") == 1 and len(queued(till)) == 1
