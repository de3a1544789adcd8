"""The till's screens on real SQLite files, with fixed data: a frozen clock and reproducible ids, so every
screen renders the same on every run (snapshots) and flows can be checked in the database afterwards."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

import pytest

from caja_tui import i18n
from caja_tui.application.demo import load_demo
from caja_tui.config import Config, SyncConfig, TillConfig
from caja_tui.host.clockcheck import clock_problem
from caja_tui.tui.app import CajaApp
from tests.conftest import StepClock, make_store

START_MS = 1_764_270_000_000  # 2025-11-27 19:00 UTC


class _Bytes:
    """Reproducible random bytes for ids and PIN salts (what makes event hashes differ between runs)."""

    def __init__(self) -> None:
        self.rng = random.Random(7)

    def urandom(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    @staticmethod
    def time_ns() -> int:
        return START_MS * 1_000_000


@pytest.fixture
def fixed(monkeypatch):
    """Frozen time and reproducible ids for everything the till writes and shows."""
    from caja_tui.domain import ids, pins
    from caja_tui.sync import metrics

    source = _Bytes()
    monkeypatch.setattr(ids, "os", source)
    monkeypatch.setattr(pins, "os", source)
    monkeypatch.setattr(ids, "time", source)
    monkeypatch.setattr(metrics, "system_ms", lambda: START_MS + 60_000)
    i18n.set_language("en")
    yield
    i18n.set_language("en")


@pytest.fixture
def till(tmp_path, fixed):
    """A demo till (Ana 1234 manager, Luis 0000 cashier, the demo catalog) on a real file."""
    store = make_store(tmp_path / "till.db", store_id="demo", wall=StepClock(START_MS))
    load_demo(store)
    yield store
    store.close()


_SYSFS = Path(tempfile.mkdtemp(prefix="caja-sysfs-"))
(_SYSFS / "class" / "rtc" / "rtc0").mkdir(parents=True)  # a till with a clock chip, whatever runs the tests


def trusted_clock(now_ms: int, newest_ms: int) -> str | None:
    return clock_problem(now_ms, newest_ms, rtc_dir=_SYSFS / "class" / "rtc")


def make_app(
    store, language: str = "en", *, clock_ms: int = START_MS + 60_000, server_url: str = "", **till
) -> CajaApp:
    """The till on `store`; `server_url`: as if a sync server were configured (nothing is started here)."""
    i18n.set_language(language)
    sync = SyncConfig(server_url=server_url, token="t" if server_url else "")
    cfg = Config(till=TillConfig(language=language, db=str(store.path), **till), sync=sync)
    return CajaApp(cfg, store, clock=lambda: clock_ms / 1000, clock_check=trusted_clock)


def drive(app: CajaApp, steps) -> None:
    """Run the app at 80x24 and feed it `steps(pilot)` (an async function)."""

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await steps(pilot)
            await pilot.pause()

    asyncio.run(run())


def screen_text(app: CajaApp) -> str:
    """What the terminal shows, as plain text lines."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def flat(app: CajaApp) -> str:
    """The screen's words with every run of spaces and line breaks made one space (messages wrap)."""
    return " ".join(screen_text(app).replace("|", " ").split())


def message(app: CajaApp) -> str:
    """The screen's message line (what the till just said)."""
    return str(app.screen.query_one("#message").render())


async def sign_in(pilot, pin: str = "1234", opening_float: str | None = "500") -> None:
    """Ana is first in the list; Luis is one down."""
    if pin == "0000":
        await pilot.press("down")
    await pilot.press(*pin, "enter")
    await pilot.pause()
    if opening_float is not None:
        await pilot.press(*opening_float, "enter")
        await pilot.pause()


async def shown(pilot, app: CajaApp, text: str, seconds: float = 10) -> str:
    """Wait (bounded) until `text` is on the screen, and return the screen: wait for what is asserted, on a
    loaded machine too (a frame may show the dialog before its message is laid out)."""
    for _ in range(int(seconds / 0.05)):
        screen = screen_text(app)
        if text in screen or text in flat(app):  # a message may wrap in a narrow panel
            return screen
        await pilot.pause(0.05)
    return screen_text(app)
