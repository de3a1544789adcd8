"""The README's screenshots: each main screen at 80x24, as SVG from Textual's screenshot feature, drawn
from the demo catalog with the same fixed data as the snapshot tests (`make screenshots`)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    import pytest

    from caja_tui.application.demo import load_demo
    from tests.conftest import StepClock, make_store
    from tests.tui.conftest import START_MS, make_app, sign_in

    OUT.mkdir(parents=True, exist_ok=True)
    mp = pytest.MonkeyPatch()
    try:
        import random

        from caja_tui.domain import ids, pins

        class Fixed:
            rng = random.Random(7)

            def urandom(self, n):
                return self.rng.randbytes(n)

            @staticmethod
            def time_ns():
                return START_MS * 1_000_000

        mp.setattr(ids, "os", Fixed())
        mp.setattr(ids, "time", Fixed())
        mp.setattr(pins, "os", Fixed())
        with tempfile.TemporaryDirectory() as tmp:
            store = make_store(Path(tmp) / "till.db", store_id="demo", wall=StepClock(START_MS))
            load_demo(store)
            app = make_app(store)

            async def run():
                async with app.run_test(size=(80, 24)) as pilot:
                    shots = []

                    async def shot(name: str, *keys: str) -> None:
                        await pilot.press(*keys)
                        await pilot.pause()
                        app.save_screenshot(str(OUT / f"{name}.svg"))
                        shots.append(name)

                    await shot("signin")
                    await sign_in(pilot)
                    await shot("sales", *"7500100100004", "enter", *"2*LAC-01A", "enter", *"3*ABA-05A", "enter")
                    await shot("payment", "f5")
                    await shot("receipt", *"k 100", "enter", "enter")
                    await shot("products", "f2")
                    await shot("stock", "f3", "f5")
                    await shot("cash", "f4")
                    await shot("sync", "f6")
                    await shot("audit", "f7")
                    await shot("reports", "f9")
                    print("wrote", ", ".join(f"docs/screenshots/{s}.svg" for s in shots))

            asyncio.run(run())
            store.close()
    finally:
        mp.undo()
    return 0


if __name__ == "__main__":
    sys.exit(main())
