"""The owner's pages over real HTTP against a real `caja serve` (SQLite and PostgreSQL): login and logout,
isolation between owners of different stores, CSRF and expired sessions refused, throttled logins, and no 500
for anything a browser may send."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.browser.hq_shop import day_of_trade
from tests.protocol_client import Client, Device

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def shop(server, tmp_path_factory):
    """Stores hqA (owner ana) and hqB (owner bea), a day of trade pushed by a till of each; carla sees both."""
    secret = tmp_path_factory.mktemp("pw") / "pw"
    secret.write_text(PASSWORD + "\n")
    for name, stores in (("ana", "hqA"), ("bea", "hqB"), ("carla", "all")):
        r = server.caja("owners", "add", name, "--stores", stores, "--password-file", str(secret))
        assert r.returncode == 0, r.stderr
    for store in ("hqA", "hqB"):
        d = Device(store, "t1")
        results = Client(server.url, server.enroll(store, "t1")).push(day_of_trade(d))
        assert {r["status"] for r in results} == {"accepted"}
    return server


def login(url: str, name: str, password: str = PASSWORD) -> requests.Session:
    s = requests.Session()
    page = s.get(url + "/hq/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = s.post(url + "/hq/login", data={"csrf": csrf, "name": name, "password": password}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/hq/"), (r.status_code, r.text[:300])
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # plain http here
    return s


def csrf_of(s: requests.Session, url: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', s.get(url).text).group(1)


def test_an_owner_sees_their_store_and_exports_it_then_logs_out(shop):
    s = login(shop.url, "ana")
    page = s.get(shop.url + "/hq/")
    assert page.status_code == 200 and "hqA" in page.text and "hqB" not in page.text
    store = s.get(shop.url + "/hq/stores/hqA")
    assert store.status_code == 200 and "<svg" in store.text and "Pan" in store.text and "8.60" in store.text
    csv = s.get(shop.url + "/hq/stores/hqA/csv/payment_methods")
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.text.splitlines() == ["method,payments,amount", "cash,1,6.20", "card,1,2.40"]
    till = s.get(shop.url + "/hq/stores/hqA/tills/t1/csv/z_reports")
    assert till.text.splitlines()[1].split(",")[3:6] == ["6.20", "6.00", "-0.20"]
    r = s.post(shop.url + "/hq/logout", data={"csrf": csrf_of(s, shop.url + "/hq/")}, allow_redirects=False)
    assert r.status_code == 303
    assert s.get(shop.url + "/hq/", allow_redirects=False).headers["Location"] == "/hq/login"


@pytest.mark.parametrize(
    "path",
    [
        "/hq/stores/hqB",
        "/hq/stores/hqB/tills/t1",
        "/hq/stores/hqB/csv/payment_methods",
        "/hq/stores/hqB/tills/t1/csv/refused",
        "/hq/stores/hqA/tills/../../hqB",
        "/hq/stores/nope",
        "/hq/stores/hqB/settings",
        "/hq/catalogue/item?sku=NOSUCH&store=hqB",
    ],
)
def test_an_owner_of_one_store_sees_nothing_of_another(shop, path):
    s = login(shop.url, "ana")
    r = s.get(shop.url + path)
    assert r.status_code == 404 and "hqB" not in r.text.replace(path, "")
    assert "hqB" not in s.get(shop.url + "/hq/csv/stores").text
    bea = login(shop.url, "bea")
    assert bea.get(shop.url + "/hq/stores/hqB").status_code == 200
    assert login(shop.url, "carla").get(shop.url + "/hq/stores/hqB").status_code == 200


def test_forms_without_the_sessions_csrf_token_are_refused(shop):
    s = login(shop.url, "ana")
    r = s.post(shop.url + "/hq/stores/hqA/enrol", data={"device": "t9", "csrf": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = s.post(shop.url + "/hq/stores/hqA/tills/t1/revoke", data={})
    assert r.status_code == 403
    other = requests.post(shop.url + "/hq/login", data={"name": "ana", "password": PASSWORD}, allow_redirects=False)
    assert other.status_code == 403  # a login form posted from elsewhere has no double-submit cookie
    ok = s.post(shop.url + "/hq/stores/hqA/enrol", data={"device": "t9", "csrf": csrf_of(s, shop.url + "/hq/")})
    assert ok.status_code == 200 and re.search(r'<output class="token"[^>]*>\S{20,}</output>', ok.text)


def test_an_expired_or_forged_session_is_a_login_again(shop):
    from caja_tui.server.run import open_storage

    s = login(shop.url, "ana")
    storage = open_storage(shop.db, create=False)
    try:
        storage.database.execute_sql("UPDATE hq_session SET last_seen = last_seen - 31 * 60 * 1000 WHERE owner = 'ana'")
    finally:
        storage.close()
    assert s.get(shop.url + "/hq/", allow_redirects=False).status_code == 303
    forged = requests.get(shop.url + "/hq/", cookies={"caja_hq": "x" * 43}, allow_redirects=False)
    assert forged.status_code == 303


def test_failed_logins_are_throttled(shop):
    s = requests.Session()
    codes = []
    for _ in range(7):
        csrf = csrf_of(s, shop.url + "/hq/login")
        codes.append(
            s.post(shop.url + "/hq/login", data={"csrf": csrf, "name": "bea", "password": "wrong"}).status_code
        )
    assert codes[:5] == [401] * 5 and codes[-1] == 429


def test_behind_a_local_proxy_failed_logins_count_per_forwarded_address(shop):
    def tries(address, n):
        s = requests.Session()
        out = []
        for _ in range(n):
            csrf = csrf_of(s, shop.url + "/hq/login")
            r = s.post(
                shop.url + "/hq/login",
                data={"csrf": csrf, "name": f"nobody-{address}-{len(out)}", "password": "wrong"},
                headers={"X-Forwarded-For": f"198.51.100.7, {address}"},
            )
            out.append(r.status_code)
        return out

    assert tries("203.0.113.5", 52)[-1] == 429  # 50 free failures per address, then waits
    assert tries("203.0.113.6", 1) == [401]  # another browser behind the same proxy is not held up


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "/hq/stores/%ff%fe", None),
        ("GET", "/hq/stores/hqA/csv/%00", None),
        ("GET", "/hq/stores/hqA/tills/" + "x" * 5000, None),
        ("POST", "/hq/login", b"\xff\xfe=\x00"),
        ("POST", "/hq/login", b"a=" + b"b" * 20000),
        ("POST", "/hq/stores/hqA/enrol", b"device=%ZZ&&&=="),
        ("GET", "/hq/?store=hqB&x=%ff", None),
        ("DELETE", "/hq/", None),
        ("GET", "/hq/nowhere/at/all", None),
        ("GET", "/hq/catalogue?q=%25%5F%27%22%5C%00" + "x" * 3000, None),
        ("GET", "/hq/catalogue/item?sku=" + "%ff" * 100, None),
        ("GET", "/hq/catalogue/csv/products?q=%00", None),
        ("POST", "/hq/catalogue/item?sku=BREAD", b"sku=BREAD&price=1e9&store_hqB=1&" + b"x=1&" * 300),
        ("POST", "/hq/stores/hqA/settings", b"shop_name=%00&low_stock=99999999999999999999&prices_include_tax=maybe"),
        ("POST", "/hq/stores/hqB/settings", b"shop_name=x"),
        ("POST", "/hq/stores/hqA/settings", "shop_name=x&low_stock=²&prices_include_tax=yes".encode()),
        ("POST", "/hq/stores/hqA/settings", b"shop_name=x&prices_include_tax=no&low_stock=" + b"9" * 5000),
    ],
)
def test_nothing_a_browser_sends_gets_a_500(shop, method, path, body):
    s = login(shop.url, "ana")
    r = s.request(method, shop.url + path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert "hqB" not in r.text.replace(path, "")


def test_revoking_a_till_from_its_page_ends_its_token(shop):
    s = login(shop.url, "ana")
    csrf = csrf_of(s, shop.url + "/hq/")
    page = s.post(shop.url + "/hq/stores/hqA/enrol", data={"device": "t8", "csrf": csrf})
    token = re.search(r'<output class="token"[^>]*>(\S+)</output>', page.text).group(1)
    assert Client(shop.url, token).me()["device_id"] == "t8"
    r = s.post(shop.url + "/hq/stores/hqA/tills/t8/revoke", data={"csrf": csrf}, allow_redirects=False)
    assert r.status_code == 303
    assert "revoked" in s.get(shop.url + "/hq/stores/hqA/tills/t8").text
    assert requests.get(shop.url + "/v1/devices/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_the_session_cookie_is_secure_behind_tls(shop):
    headers = {"X-Forwarded-Proto": "https"}  # what a TLS proxy in front says
    page = requests.get(shop.url + "/hq/login", headers=headers)
    assert "Secure" in page.headers["Set-Cookie"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    pre = page.cookies.get("caja_hq_login")  # a browser sends a Secure cookie over https only: given by hand here
    r = requests.post(
        shop.url + "/hq/login",
        data={"csrf": csrf, "name": "carla", "password": PASSWORD},
        headers={**headers, "Cookie": f"caja_hq_login={pre}"},
        allow_redirects=False,
    )
    assert r.status_code == 303 and "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


def test_pushed_events_reach_the_read_models_without_a_page_load_and_verify_checks_them(shop):
    from caja_tui.server.hq.projector import Projector
    from caja_tui.server.run import open_storage

    d = Device("hqC", "t1")
    Client(shop.url, shop.enroll("hqC", "t1")).push(day_of_trade(d))
    storage = open_storage(shop.db, create=False)
    try:
        pr = Projector(storage)
        deadline = time.monotonic() + 15
        while pr.cursor("hqC") < pr.top("hqC") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pr.cursor("hqC") == pr.top("hqC") > 0  # the worker's projector thread folded them
    finally:
        storage.close()
    r = shop.caja("verify")
    assert r.returncode == 0 and "owner's read models match" in r.stdout, r.stdout + r.stderr
    r = shop.caja("rebuild")
    assert r.returncode == 0 and "rebuilt" in r.stdout
