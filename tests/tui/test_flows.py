"""Pilot tests of each flow of the till, at 80x24, checked in the database afterwards."""

from __future__ import annotations

import pytest

from caja_tui.application import products
from caja_tui.tui.screens.sales import SalesScreen
from tests.conftest import db
from tests.tui.conftest import drive, flat, make_app, message, screen_text, shown, sign_in


def cart_rows(screen) -> list[str]:
    """The cart's numbered rows as shown (the panel left of the totals), spaces made one."""
    text = screen if isinstance(screen, str) else screen_text(screen)
    rows = [" ".join(line[:52].split()) for line in text.splitlines()[5:22]]
    return [r for r in rows if r[:1].isdigit()]


def test_a_full_cash_sale_at_scanner_speed_shows_the_change_and_the_receipt(till):
    app = make_app(till)
    seen = {}

    async def steps(pilot):
        await sign_in(pilot)
        assert isinstance(app.screen, SalesScreen)
        status, entry = app.screen.query_one("#status"), app.screen.query_one("#entry")
        assert status.region.y == 0 and status.region.height == 1 and entry.region.y >= 1  # never hidden
        for code in ("7500100100004", "2*LAC-01A"):  # keys a few ms apart, then Enter, as a scanner sends them
            await pilot.press(*code, "enter")
        await pilot.pause()
        assert [ln.qty for ln in app.screen.cart.lines] == [1, 2]
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press(*"c 200", "enter")
        await pilot.pause()
        seen["screen"] = screen_text(app)

    drive(app, steps)
    assert db(till).execute("SELECT total, change FROM sale").fetchone() == (3290 + 2 * 2890, 20000 - 3290 - 5780)
    assert till.load_draft() is None
    text = seen["screen"]
    assert "CHANGE $109.30" in text and "T01-000001" in text and "Leche entera" in text  # receipt on screen
    assert "Ana | session open | no sync server | all saved on this till" in text  # no alarm without a server


def test_a_wrong_pin_then_a_mixed_payment(till):
    app = make_app(till)

    async def steps(pilot):
        await pilot.press(*"9999", "enter")
        await pilot.pause()
        assert "wrong" in screen_text(app).lower()
        await sign_in(pilot, opening_float="0")
        await pilot.press(*"7500100100004", "enter", "f5")
        await pilot.pause()
        await pilot.press(*"k 20", "enter")  # card 20.00, then Enter: the rest in exact cash
        await pilot.pause()
        assert "TO PAY $12.90" in screen_text(app)
        await pilot.press("enter")

    drive(app, steps)
    assert db(till).execute("SELECT method, amount FROM sale_payment ORDER BY idx").fetchall() == [
        ("card", 2000),
        ("cash", 1290),
    ]


def test_a_percentage_discount_and_a_wrong_payment_taken_back(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot, opening_float="0")
        await pilot.press(*"7500100100004", "enter")  # rice, 32.90
        await pilot.pause()
        await pilot.press("f8", "t", *"10%", "enter")  # ten per cent off the sale
        await pilot.pause()
        assert "TOTAL $29.61" in screen_text(app)
        await pilot.press("f5", *"k abc", "enter")
        await pilot.pause()
        assert "amount 'abc' is not a number" in flat(app)  # an amount, not a "price"
        await pilot.press(*"k 20", "enter")
        await pilot.pause()
        assert "TO PAY $9.61" in screen_text(app)
        await pilot.press("f8")  # that card payment was a mistake: take it back
        await pilot.pause()
        assert "TO PAY $29.61" in screen_text(app) and "removed card $20.00" in flat(app)
        await pilot.press(*"c 50", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "PAID $29.61" in text and "CHANGE $20.39" in text

    drive(app, steps)
    assert db(till).execute("SELECT method, amount FROM sale_payment").fetchall() == [("cash", 5000)]
    assert db(till).execute("SELECT total, discount FROM sale").fetchone() == (2961, 329)


def test_words_open_the_product_search_and_the_cart_survives_a_restart(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"3*arroz", "enter")  # not a code: the search opens with 'arroz'
        await pilot.pause()
        assert "Find a product" in screen_text(app)
        await pilot.press("enter")  # the first match
        await pilot.pause()

    drive(app, steps)
    draft = till.load_draft()
    assert [(ln.name, ln.qty) for ln in draft.lines] == [("Arroz 1 kg", 3)]

    again = make_app(till)  # a new process after a crash: sign in, and the cart is there

    async def steps2(pilot):
        await sign_in(pilot, opening_float=None)
        assert [ln.qty for ln in again.screen.cart.lines] == [3]
        assert "restored" in screen_text(again)

    drive(again, steps2)


def test_typing_more_in_the_product_search_narrows_it(till):
    """Issue 17: the words typed on the sales screen stay in the search box, the cursor after them; typing more
    narrows the search instead of replacing the words."""
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"pasta", "enter")
        await shown(pilot, app, "Pasta dental")
        await pilot.press(*" dent")
        screen = await shown(pilot, app, "pasta dent")
        assert "Pasta dental 100 ml" in screen and "spaghetti" not in screen
        await pilot.press("enter")
        await shown(pilot, app, "Pasta dental 100 ml")

    drive(app, steps)
    assert [ln.name for ln in till.load_draft().lines] == ["Pasta dental 100 ml"]


def test_a_cashier_refunds_a_receipt_with_a_managers_pin(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot, pin="0000")  # Luis, a cashier
        await pilot.press(*"2*7500100100004", "enter", "f5")
        await pilot.pause()
        await pilot.press("enter")  # exact cash
        await pilot.pause()
        await pilot.press("f8", "f")  # actions: refund; a manager approves first, before anything is typed
        assert "Manager approval" in await shown(pilot, app, "Manager approval")
        await pilot.press(*"0000", "enter")  # Luis's PIN is not a manager's
        await pilot.pause()
        assert "wrong" in screen_text(app).lower()
        await pilot.press(*"1234", "enter")  # Ana approves
        assert "T01-000001" in await shown(pilot, app, "Receipt number to refund")  # the receipt on screen
        await pilot.press("enter")
        assert "Refund of T01-000001" in await shown(pilot, app, "Refund of T01-000001")
        await pilot.press("enter")  # quantity on line 1
        await pilot.pause()
        await pilot.press("backspace", "1", "enter")  # one of the two
        await pilot.pause()
        await pilot.press("f5")
        assert "cash (as paid)" in await shown(pilot, app, "(as paid)")  # money goes back the way it came
        await pilot.press("enter")
        text = await shown(pilot, app, "GIVE BACK $32.90 cash")
        assert "REFUNDED $32.90" in text and "CHANGE" not in text  # the sale's old change is gone
        assert "REFUND of receipt T01-000001" in text and "Approved by: Ana" in text  # the refund's own slip
        assert message(app) == "refund of T01-000001: $32.90"

    drive(app, steps)
    assert db(till).execute("SELECT total, method FROM refund").fetchall() == [(3290, "cash")]
    actor = db(till).execute("SELECT actor FROM event WHERE type = 'sale.refunded'").fetchone()[0]
    assert actor == "ana"


def test_the_cash_session_from_opening_to_the_z_report(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot, opening_float="500")
        await pilot.press(*"7500100100004", "enter", "f5", "enter")  # a 32.90 cash sale
        await pilot.pause()
        await pilot.press("f4")
        await pilot.pause()
        await pilot.press("i", *"100", "enter", *"change from the bank", "enter")  # pay in
        await pilot.pause()
        assert "Cash expected in the drawer" in screen_text(app) and "$632.90" in screen_text(app)
        await pilot.press("x")
        await pilot.pause()
        assert "X REPORT" in screen_text(app)
        await pilot.press("escape", "f8")  # close: Ana is a manager, so the count opens at once
        await pilot.pause()
        assert "Count the cash in the drawer" in screen_text(app)
        # MXN: 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1, 0.50
        for n in ("0", "1", "0", "1", "0", "1", "1", "0", "1"):
            await pilot.press(*n, "enter")
        await pilot.press("f5")
        await pilot.pause()
        text = screen_text(app)
        assert "Z report #1" in text and "Expected $632.90" in text and "counted $632.00" in text
        assert "difference -$0.90" in text

    drive(app, steps)
    z, counted, expected = db(till).execute("SELECT z_number, counted, expected FROM cash_session").fetchone()
    assert (z, counted, expected) == (1, 63200, 63290)


def test_a_cashier_counts_blind_and_sees_only_the_keys_that_apply(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot, pin="0000", opening_float="500")  # Luis, a cashier, opens the drawer
        await pilot.press("f4")
        text = await shown(pilot, app, "counted blind")
        assert "Cash expected in the drawer" not in text and "$500.00" in text  # his float, not the sum
        assert "Open session" not in text and "Close (Z)" in text  # a session is open: no F5 to open one

    drive(app, steps)


def test_a_removed_line_comes_back_and_the_next_cashier_is_told_whose_sale_it_is(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot, pin="0000", opening_float="500")  # Luis
        await pilot.press(*"7500100100004", "enter", *"LAC-01A", "enter")
        await pilot.pause()
        await pilot.press("f8")
        assert "line 2: Leche entera 1 l" in await shown(pilot, app, "line 2:")  # the menu names the line
        await pilot.press("r")
        assert "removed line 2" in await shown(pilot, app, "removed line 2")
        await pilot.press("f8", "u")  # a slip of the finger: put it back
        assert "line 2 is back" in await shown(pilot, app, "line 2 is back")
        await pilot.press("f12")  # sign out with the sale unfinished: asked first
        assert "A sale is in progress. Sign out?" in await shown(pilot, app, "Sign out?")
        await pilot.press("y")
        await pilot.pause()
        await sign_in(pilot, opening_float=None)  # Ana signs in next
        await shown(pilot, app, "started by Luis")
        assert "this sale was started by Luis: finish it" in flat(app)

    drive(app, steps)
    assert [ln.name for ln in till.load_draft().lines] == ["Arroz 1 kg", "Leche entera 1 l"]


def test_a_new_product_comes_with_what_is_on_the_shelf(till):
    app = make_app(till, low_stock=5)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("f2", "f5")  # products, new
        await shown(pilot, app, "New product")
        for value in ("SAL-02K", "Sal de mar 1 kg", "24.50", "0", "7501234567895", "Abarrotes"):
            await pilot.press(*value, "enter")
        await pilot.press("ctrl+u", *"12", "f5")  # twelve on the shelf already
        assert "saved Sal de mar 1 kg" in await shown(pilot, app, "saved Sal de mar")

    drive(app, steps)
    row = db(till).execute("SELECT s.qty FROM stock s JOIN product p ON p.id = s.product_id WHERE p.sku = 'SAL-02K'")
    assert row.fetchone() == (12,)


def test_at_120_columns_names_widen_and_the_barcodes_are_listed(till):
    import asyncio

    app = make_app(till)
    seen = {}

    async def run():
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await sign_in(pilot)
            await pilot.press("f2", *"coco")
            seen["screen"] = await shown(pilot, app, "Agua de coco 330 ml (caja 12)")

    asyncio.run(run())
    assert "Agua de coco 330 ml (caja 12)" in seen["screen"] and "7500300900022" in seen["screen"]


def test_a_shop_can_make_a_cashiers_discount_wait_for_a_manager(till):
    app = make_app(till, discounts_need_manager=True)

    async def steps(pilot):
        await sign_in(pilot, pin="0000", opening_float="500")  # Luis, a cashier
        await pilot.press(*"7500100100004", "enter")
        await pilot.pause()
        await pilot.press("f8", "d")
        assert "Manager approval" in await shown(pilot, app, "Manager approval")
        await pilot.press(*"1234", "enter")  # Ana approves, then the discount is typed
        await shown(pilot, app, "Discount on line 1")
        await pilot.press(*"10%", "enter")
        assert "$29.61" in await shown(pilot, app, "$29.61")

    drive(app, steps)


def test_editing_a_product_checks_each_field_and_saves(till):
    app = make_app(till)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("f2", *"Arroz 1 kg", "enter")
        await pilot.pause()
        assert "Edit Arroz 1 kg" in screen_text(app)
        await pilot.press("enter")  # to the name field
        for _ in range(len("Arroz 1 kg")):
            await pilot.press("backspace")
        await pilot.press("f5")  # an empty name
        await pilot.pause()
        assert "name must be" in screen_text(app)
        await pilot.press(*"Arroz blanco 1 kg", "enter")
        for _ in range(len("32.90")):
            await pilot.press("backspace")
        await pilot.press(*"35,50", "f5")  # a comma works as the decimal mark too
        await pilot.pause()
        assert "saved Arroz blanco 1 kg" in screen_text(app)

    drive(app, steps)
    assert db(till).execute("SELECT name, price FROM product WHERE sku = 'ABA-01A'").fetchone() == (
        "Arroz blanco 1 kg",
        3550,
    )


def test_a_stock_count_and_the_low_stock_filter(till):
    app = make_app(till, low_stock=10)

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press("f3", *"ABA-01A")
        await pilot.pause()
        await pilot.press("f8")  # count the highlighted product
        await pilot.pause()
        await pilot.press(*"7", "enter")
        await pilot.pause()
        assert "Arroz 1 kg: 7 in stock" in screen_text(app)
        await pilot.press("ctrl+u", "f5")  # all products, low stock only
        await pilot.pause()
        assert "LOW" in screen_text(app)
        assert all(p.stock <= 10 for p in app.screen.rows) and app.screen.rows

    drive(app, steps)
    assert db(till).execute(
        "SELECT qty FROM stock JOIN product p ON p.id = product_id WHERE p.sku = 'ABA-01A'"
    ).fetchone() == (7,)


def test_a_cashier_records_damaged_goods_and_a_manager_approves_the_loss(till):
    app = make_app(till)
    before = (
        db(till)
        .execute("SELECT qty FROM stock JOIN product p ON p.id = product_id WHERE p.sku = 'ABA-01A'")
        .fetchone()[0]
    )

    async def steps(pilot):
        await sign_in(pilot, pin="0000")  # Luis, a cashier
        await pilot.press("f3", *"ABA-01A")
        await pilot.pause()
        await pilot.press("enter")  # what to do with the highlighted product
        await pilot.pause()
        await pilot.press("a")  # adjust
        await pilot.pause()
        assert "Why does the stock change?" in screen_text(app)
        await pilot.press("1")  # damaged
        await pilot.pause()
        assert "How many to take away (damaged)?" in screen_text(app)
        await pilot.press("2")  # a cashier types how many broke, not a sign
        await pilot.pause()
        assert f"{before} -> {before - 2}" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert "Manager approval" in screen_text(app)
        await pilot.press(*"1234", "enter")  # Ana approves the loss
        await pilot.pause()
        assert f"Arroz 1 kg: {before - 2} in stock" in screen_text(app)

    drive(app, steps)
    assert db(till).execute(
        "SELECT qty FROM stock JOIN product p ON p.id = product_id WHERE p.sku = 'ABA-01A'"
    ).fetchone() == (before - 2,)
    row = db(till).execute("SELECT actor, payload FROM event WHERE type = 'stock.adjusted'").fetchone()
    assert row[0] == "ana" and '"delta":-2' in row[1] and '"reason":"damaged"' in row[1]


def test_a_wrong_clock_is_shown_on_the_status_line(till):
    app = make_app(till, clock_ms=86_400_000)  # a Pi without a clock chip, booted in 1970

    async def steps(pilot):
        await sign_in(pilot)
        status = str(app.screen.query_one("#status").render())
        assert "CLOCK WRONG: the date is in the past, set it" in status
        assert app.screen.query_one("#status").has_class("warning")  # red

    drive(app, steps)


def test_in_spanish_the_refusals_are_in_spanish_too(till):
    app = make_app(till, language="es")

    async def steps(pilot):
        await pilot.press(*"9999", "enter")
        await pilot.pause()
        assert "usuario o PIN incorrecto" in screen_text(app)
        await sign_in(pilot, opening_float="doce")
        expected = "el importe 'doce' no es un número como 12.50"  # an amount, not a price
        assert expected in await shown(pilot, app, expected)

    drive(app, steps)


SWITCH_KEYS = ("f2", "f3", "f4", "f6", "f7", "f9", "f10", "f1")


def test_every_screen_left_is_freed(till):
    """The short check (`make test`): every screen instance of a round of switches is gone a round later."""
    import weakref

    app = make_app(till)
    left: list = []
    alive: list[str] = []

    async def steps(pilot):
        await sign_in(pilot)
        for _round in range(2):
            for key in SWITCH_KEYS:
                left.append(weakref.ref(app.screen))
                await pilot.press(key)
                await pilot.pause()
        stack = set(map(id, app.screen_stack))
        alive.extend(type(r()).__name__ for r in left[:8] if r() is not None and id(r()) not in stack)

    drive(app, steps)
    assert len(left) == 16 and not alive, alive  # the first round's screens: collected during the second


@pytest.mark.soak
def test_switching_screens_all_day_does_not_grow_the_memory_kept(till):
    """The long run (`make chaos`): 192 switches; what the till keeps out of the collector's reach settles."""
    import gc

    app = make_app(till)
    kept = []

    async def steps(pilot):
        await sign_in(pilot)
        for _round in range(24):
            for key in SWITCH_KEYS:
                await pilot.press(key)
                await pilot.pause()
            kept.append(gc.get_freeze_count())  # what the till keeps out of the collector's reach

    drive(app, steps)
    gc.unfreeze()
    warm, last = kept[15], kept[-1]  # Textual's caches fill over the first rounds, then stay
    assert last - warm < warm * 0.02, kept  # each screen left behind was freed, round after round


def test_a_long_backlog_is_counted_off_the_counter(tmp_path, fixed, monkeypatch):
    import threading
    import time

    from caja_tui.application.users import create_user
    from caja_tui.bench.data import generate_events
    from caja_tui.tui.app import CajaApp
    from tests.conftest import make_store

    store = make_store(tmp_path / "offline-for-weeks.db", store_id="demo")
    create_user(store, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    made = generate_events(store, 12_000, n_products=200)
    go = threading.Event()
    count = CajaApp._count_unsynced

    def held_back(self):  # the exact count waits until the test has seen the screen without it
        go.wait(10)
        count(self)

    monkeypatch.setattr(CajaApp, "_count_unsynced", held_back)
    app = make_app(store, clock_ms=int(time.time() * 1000), server_url="http://127.0.0.1:9")  # a server, away
    seen = {}

    async def steps(pilot):
        await sign_in(pilot, opening_float=None)  # the history has an open session
        seen["first"] = str(app.screen.query_one("#status").render())
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen["then"] = str(app.screen.query_one("#status").render())

    drive(app, steps)
    assert "10000+ not synced" in seen["first"]  # at once: the UI thread never counts a long range
    assert f"{made + 1} not synced" in seen["then"]  # the exact count, from a worker thread
    store.close()


def test_the_audit_log_speaks_the_shops_language_and_says_when_nothing_matches(till):
    app = make_app(till, language="es")
    seen = {}

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"7500100100004", "enter", "f5", "enter")
        await pilot.press("f7", *"venta")  # a word of the screen's language, anywhere in the name
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        seen["types"] = {row[3] for row in app.screen.rows}
        seen["screen"] = await shown(pilot, app, " venta ")
        await pilot.press(*"zzz")
        seen["none"] = await shown(pilot, app, "ningún tipo de evento coincide")

    drive(app, steps)
    assert seen["types"] == {"sale.created"} and " venta " in seen["screen"]
    assert "ningún tipo de evento coincide con 'ventazzz'" in seen["none"]


def test_the_audit_log_filters_and_the_chain_is_verified_in_the_background(till):
    app = make_app(till)
    seen = {}

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"7500100100004", "enter", "f5", "enter")
        await pilot.press("f7", *"sale")
        await pilot.pause(0.5)  # the filter is applied once typing pauses
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen["types"] = {row[3] for row in app.screen.rows}
        await pilot.press("tab", *"ana")  # and by cashier
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen["actors"] = {row[4] for row in app.screen.rows}
        await pilot.press("f5")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen["chain"] = str(app.screen.query_one("#chain").render())

    drive(app, steps)
    assert seen["types"] == {"sale.created"} and seen["actors"] == {"ana"}
    assert "events, tills: 1, no problems" in seen["chain"]


def test_the_command_palette_offers_no_theme_that_the_console_cannot_show(till):
    app = make_app(till)
    titles = {}

    async def steps(pilot):
        await sign_in(pilot)
        titles["all"] = [c.title for c in app.get_system_commands(app.screen)]

    drive(app, steps)
    assert "Quit" in titles["all"] and "Theme" not in titles["all"]


def test_a_name_with_brackets_is_shown_as_typed_and_a_removed_line_leaves_no_trace(till):
    """A name is text, never markup: "[/x]" once crashed the till at the scan. The cart draws only the lines
    that changed; one taken off must not stay on the screen."""
    products.create_product(
        till, "system", sku="JUG-1", name="Jugo [/x] 1L", price=1000, tax_rate=0, barcodes=["7509999999999"]
    )
    app = make_app(till)
    seen = {}

    async def steps(pilot):
        await sign_in(pilot)
        await pilot.press(*"7500100100004", "enter", *"7509999999999", "enter")
        await shown(pilot, app, "+1 Jugo [/x] 1L")
        await pilot.press(*"LAC-01A", "enter")
        await shown(pilot, app, "Leche entera")
        seen["three"] = cart_rows(app)
        await pilot.press("up", "f8")  # the cursor on line 2, the jugo
        await shown(pilot, app, "line 2:")
        await pilot.press("r")
        seen["two"] = cart_rows(await shown(pilot, app, "removed line 2"))

    drive(app, steps)
    assert seen["three"] == ["1 1 Arroz 1 kg $32.90", "2 1 Jugo [/x] 1L $10.00", "3 1 Leche entera 1 l $28.90"]
    assert seen["two"] == ["1 1 Arroz 1 kg $32.90", "2 1 Leche entera 1 l $28.90"]
