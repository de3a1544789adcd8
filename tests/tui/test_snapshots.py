"""Every screen at 80x24 with fixed data and a frozen clock, compared with the text in tests/tui/snapshots/.

A change to a screen shows up here as a diff a reviewer can read. After a deliberate change, write the new
snapshots with `CAJA_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_snapshots.py` and review them in the diff.
Each snapshot is also checked for what the Linux console can show: 80 columns, 24 rows, and no character
outside its font (ASCII and Latin-1 only).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.tui.conftest import drive, make_app, screen_text, sign_in

SNAPSHOTS = Path(__file__).parent / "snapshots"


async def _sale(pilot):
    await sign_in(pilot)
    await pilot.press(*"7500100100004", "enter", *"2*LAC-01A", "enter")


async def _paid(pilot):
    await _sale(pilot)
    await pilot.press("f5", *"c 200", "enter")


SCREENS = {
    "signin": lambda pilot: pilot.pause(),
    "open_session": lambda pilot: sign_in(pilot, opening_float=None),
    "sales": _sale,
    "payment": lambda pilot: _then(_sale, pilot, "f5"),
    "receipt": _paid,
    "actions": lambda pilot: _then(_sale, pilot, "f8"),
    "search": lambda pilot: _then(sign_in, pilot, *"leche", "enter"),
    "products": lambda pilot: _then(sign_in, pilot, "f2"),
    "product_form": lambda pilot: _then(sign_in, pilot, "f2", *"Arroz 1 kg", "enter"),
    "stock": lambda pilot: _then(sign_in, pilot, "f3", "f5"),
    "cash": lambda pilot: _then(_paid, pilot, "f4"),
    "count": lambda pilot: _then(_paid, pilot, "f4", "f8"),
    "sync": lambda pilot: _then(_paid, pilot, "f6"),
    "audit": lambda pilot: _then(_paid, pilot, "f7"),
    "reports": lambda pilot: _then(_paid, pilot, "f9"),
    "customers": lambda pilot: _then(sign_in, pilot, "f10"),
    "manager_pin": lambda pilot: _then(_cashier_sale, pilot, "f8", "v"),
    "refund": lambda pilot: _then(_paid, pilot, "f8", "f", *"T01-000001", "enter", "a"),
    "x_report": lambda pilot: _then(_paid, pilot, "f4", "x"),
    "customer_pick": lambda pilot: _then(_sale, pilot, "f8", "c"),
    "customer_form": lambda pilot: _then(sign_in, pilot, "f10", "f5"),
    "stock_menu": lambda pilot: _then(sign_in, pilot, "f3", *"ABA-01A", "enter"),
    "park_recall": lambda pilot: _then(_sale, pilot, "f8", "k", "f8", "l"),
    "settings": lambda pilot: _then(sign_in, pilot, "f11"),
}


async def _cashier_sale(pilot):
    await sign_in(pilot, pin="0000")


async def _then(first, pilot, *keys):
    await first(pilot)
    await pilot.pause()
    await pilot.press(*keys)


# The same screens in Spanish (`language = "es"`, the default), with money as the shop writes it.
SPANISH = {
    "es_sales": _sale,
    "es_payment": SCREENS["payment"],
    "es_cash": SCREENS["cash"],
    "es_sync": SCREENS["sync"],
    "es_x_report": SCREENS["x_report"],
    "es_settings": SCREENS["settings"],
}


@pytest.mark.parametrize("name", sorted(SCREENS) + sorted(SPANISH))
def test_screen_snapshot(name, till):
    app = make_app(till, language="es" if name.startswith("es_") else "en")
    shown = {}

    async def steps(pilot):
        await {**SCREENS, **SPANISH}[name](pilot)
        await pilot.pause()
        await app.workers.wait_for_complete()  # figures gathered in the background (the sync screen)
        await pilot.pause()
        shown["text"] = screen_text(app)

    drive(app, steps)
    text = shown["text"] + "\n"
    lines = text.splitlines()
    assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
    assert all(ord(ch) < 256 for ch in text), "a character the Linux console's font cannot show"
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("CAJA_UPDATE_SNAPSHOTS") or not path.exists():
        if not os.environ.get("CAJA_UPDATE_SNAPSHOTS"):
            pytest.fail(f"no snapshot {path.name}; write it with CAJA_UPDATE_SNAPSHOTS=1 and review it")
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "\n".join(difflib.unified_diff(expected.splitlines(), lines, "snapshot", "now", lineterm=""))
        pytest.fail(f"{name} differs from its snapshot:\n{diff}")
