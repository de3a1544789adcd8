"""The owner's pages in a real browser: headless Chromium (Debian's, installed by .ci/ensure-chromium) driven by
selenium through chromedriver, against a real `caja serve` on 127.0.0.1 that tills of two stores pushed a
month of trade to. Login with the keyboard, each page, a CSV download, logout; screenshots of the pages
(CAJA_HQ_SCREENSHOTS=1 writes them to docs/screenshots/hq-*.png for the README)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from caja_tui.server.run import open_storage
from tests.browser.hq_shop import month_of_trade, real_till
from tests.protocol_client import Client, seal
from tests.server_proc import ServerProcess

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]


def _need_chromium() -> None:
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if os.environ.get("CI"):
        pytest.fail("chromium and chromedriver are missing: .ci/ensure-chromium installs them")
    pytest.skip("chromium and chromedriver are not installed (sudo apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hq")
    server = ServerProcess(str(tmp / "server.db"), workers=1).start()
    try:
        (tmp / "pw").write_text(PASSWORD + "\n")
        assert (
            server.caja(
                "owners", "add", "ana", "--stores", "centro,norte", "--password-file", str(tmp / "pw")
            ).returncode
            == 0
        )
        for store, tills in (("sur", ("t1",)), ("centro", ("t1", "t2")), ("norte", ("t2", "t1"))):
            for i, till in enumerate(tills):
                events = month_of_trade(store, till, seed=len(store) + i)
                client = Client(server.url, server.enroll(store, till))
                for k in range(0, len(events), 500):
                    assert {r["status"] for r in client.push(events[k : k + 500])} == {"accepted"}
        bad = dict(
            {**events[-1], "seq": len(events) + 1, "event_id": str(uuid.uuid4()), "prev_hash": events[-1]["hash"]}
        )
        bad["payload"] = {**bad["payload"], "counted": -5}  # a cash count below zero: refused, INVALID
        assert client.push([seal(bad)])[0]["status"] == "rejected"
        storage = open_storage(server.db, create=False)  # norte's t2: silent for 3 hours, its clock 90 s fast
        try:
            storage.database.execute_sql(
                "UPDATE device SET last_seen = last_seen - 3 * 3600 * 1000, clock_skew_ms = 90000 "
                "WHERE store_id = 'norte' AND device_id = 't2'"
            )
        finally:
            storage.close()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or ""
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def until(b, what, seconds: float = 15):
    """Wait for `what(b)` to be true (the page a click or a form led to has loaded); its value."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # the page it looks at may be replaced while it looks (the navigation under way): looked at again
    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(b, seconds, ignored_exceptions=ignored).until(what)


def heading(text: str):
    from selenium.webdriver.common.by import By

    return lambda b: b.find_element(By.TAG_NAME, "h1").text == text


def shot(driver, tmp_path: Path, name: str, width: int = 1280) -> None:
    """A full-page PNG; into docs/screenshots when CAJA_HQ_SCREENSHOTS=1."""
    driver.set_window_size(width, 1000)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(height + 40, 4000))
    path = tmp_path / f"hq-{name}.png"
    driver.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("CAJA_HQ_SCREENSHOTS") == "1":
        shutil.copy(path, ROOT / "docs" / "screenshots" / path.name)
    driver.set_window_size(1280, 1000)


def test_an_owner_logs_in_reads_every_page_exports_and_logs_out(served, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    b = browser
    b.get(served.url + "/hq/")
    assert b.current_url.endswith("/hq/login")
    shot(b, tmp_path, "login", 480)
    b.find_element(By.ID, "name").send_keys("ana")  # autofocus is on the name; the keyboard does the rest
    b.switch_to.active_element.send_keys(Keys.TAB, PASSWORD, Keys.ENTER)
    until(b, heading("All stores"))
    rows = [r.text for r in b.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [r.split()[0] for r in rows] == ["centro", "norte"]  # not sur: ana does not see it
    assert "1 of 2" in rows[1] and "3 h" in rows[1]  # norte's t2 silent for 3 hours
    shot(b, tmp_path, "overview")

    b.find_element(By.LINK_TEXT, "centro").click()
    until(b, heading("Store centro"))
    assert len(b.find_elements(By.CSS_SELECTOR, "figure svg rect")) == 24 + 30
    assert "Pan" in b.find_element(By.ID, "t-top_products").find_element(By.XPATH, "..").text
    shot(b, tmp_path, "store")
    shot(b, tmp_path, "store-phone", 390)
    b.find_element(By.CSS_SELECTOR, "#t-payment_methods a.csv").click()
    csv = _downloaded(b.downloads, "centro-payment_methods.csv")
    assert csv.splitlines()[0] == "method,payments,amount" and "cash" in csv

    b.find_element(By.LINK_TEXT, "t2").click()
    until(b, heading("Till t2 of store centro"))
    assert "online" in b.find_element(By.ID, "t-till").find_element(By.XPATH, "..").text

    b.get(served.url + "/hq/stores/norte/tills/t1")  # the till with a refused event, and its reason
    assert "INVALID" in b.find_element(By.ID, "t-refused").find_element(By.XPATH, "..").text
    shot(b, tmp_path, "till")

    b.find_element(By.CSS_SELECTOR, "form.logout button").click()
    until(b, lambda b: b.current_url.endswith("/hq/login"))
    b.get(served.url + "/hq/stores/centro")
    assert b.current_url.endswith("/hq/login")


def _downloaded(folder: Path, name: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (folder / name).exists():
            return (folder / name).read_text()
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded: {sorted(p.name for p in folder.iterdir())}")


@pytest.fixture(scope="module")
def two_tills(served, tmp_path_factory):
    """Stores este and oeste, each with a real till (its own SQLite file and key) that sells PAN, synced with the
    server through its HTTP API; pia owns both."""
    tmp = tmp_path_factory.mktemp("tills")
    (tmp / "pw").write_text(PASSWORD + "\n")
    r = served.caja("owners", "add", "pia", "--stores", "este,oeste", "--password-file", str(tmp / "pw"))
    assert r.returncode == 0, r.stderr
    tills = {store: real_till(tmp, served, store, price) for store, price in (("este", 1000), ("oeste", 1100))}
    yield tills
    for s, _, _ in tills.values():
        s.close()


def _login(b, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    b.get(url + "/hq/login")
    b.find_element(By.ID, "name").send_keys(name)
    b.switch_to.active_element.send_keys(Keys.TAB, PASSWORD, Keys.ENTER)
    until(b, heading("All stores"))


def test_an_owner_changes_a_price_for_two_stores_and_a_till_of_each_sells_at_it(served, browser, two_tills, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    b = browser
    _login(b, served.url, "pia")
    b.find_element(By.LINK_TEXT, "Catalogue").click()
    until(b, heading("Catalogue"))
    b.find_element(By.ID, "q").send_keys("pan", Keys.ENTER)
    until(b, lambda b: "matching “pan”" in b.find_element(By.ID, "t-products").text)  # the answer's page
    row = b.find_element(By.CSS_SELECTOR, "tbody tr").text
    assert "PAN" in row and "este 10.00" in row and "oeste 11.00" in row
    shot(b, tmp_path, "catalogue")
    b.find_element(By.LINK_TEXT, "PAN").click()
    until(b, heading("Product PAN"))
    b.find_element(By.ID, "price").send_keys("12.50")
    assert all(box.is_selected() for box in b.find_elements(By.CSS_SELECTOR, "fieldset input[type=checkbox]"))
    b.find_element(By.ID, "price").submit()
    status = until(b, lambda b: b.find_elements(By.CSS_SELECTOR, "[role=status]"))[0].text
    assert "este: changed" in status and "oeste: changed" in status
    shot(b, tmp_path, "product")
    for store, (s, engine, product_id) in two_tills.items():
        assert engine.sync_once(), engine.metrics.last_error  # the till's own sync, over HTTP
        with s.read() as tx:
            assert tx.product(product_id).price == 1250, store
    b.find_element(By.CSS_SELECTOR, "form.logout button").click()
    until(b, lambda b: b.current_url.endswith("/hq/login"))


def test_an_owner_changes_a_stores_settings_and_its_tills_next_receipt_shows_them(served, browser, two_tills, tmp_path):
    from selenium.webdriver.common.by import By

    from caja_tui.application import cash, sales
    from caja_tui.application.receipts import render_receipt, shop_of
    from caja_tui.config import Config
    from caja_tui.domain.cart import Cart
    from caja_tui.domain.events import Tender
    from caja_tui.tui.store_settings import current_settings

    b = browser
    _login(b, served.url, "pia")
    b.get(served.url + "/hq/stores/este")
    b.find_element(By.LINK_TEXT, "Settings").click()
    until(b, heading("Settings of store este"))
    for field, text in (
        ("shop_name", "Panadería del Este"),
        ("receipt_header", "Av. Juárez 10\nRFC PAES800101AB1"),
        ("receipt_footer", "Gracias, vuelva pronto"),
    ):
        box = b.find_element(By.ID, field)
        box.clear()
        box.send_keys(text)
    b.find_element(By.ID, "shop_name").submit()
    status = until(b, lambda b: b.find_elements(By.CSS_SELECTOR, "[role=status]"))[0].text
    assert "este: changed" in status
    assert "owner:pia" in b.find_element(By.CSS_SELECTOR, "form.settings").text  # who set them, beside each
    shot(b, tmp_path, "settings")
    s, engine, _ = two_tills["este"]
    assert engine.sync_once(), engine.metrics.last_error
    cash.open_session(s, "ana", 0)
    cart = Cart()
    assert sales.scan(s, cart, "PAN") is not None
    done = sales.complete_sale(
        s, "ana", cart, [Tender(method="cash", amount=cart.lines[0].unit_price)], prices_include_tax=True
    )
    cfg = Config()
    with s.read() as tx:
        text = render_receipt(tx.sale(done.sale_id), shop_of(cfg, current_settings(cfg, s)))
    assert "PANADERÍA DEL ESTE" in text and "Av. Juárez 10" in text and "RFC PAES800101AB1" in text
    assert "Gracias, vuelva pronto" in text
    b.find_element(By.CSS_SELECTOR, "form.logout button").click()
    until(b, lambda b: b.current_url.endswith("/hq/login"))
