"""`/metrics` (PROTOCOL.md "Trust", issue 15): the metrics token or a client on the server's own machine, nobody
else; and bounded series, whatever clients push."""

from __future__ import annotations

import socket
import uuid

import pytest
import requests

from caja_tui.server.metrics import refusal
from caja_tui.server.models import Stat
from tests.protocol_client import Client, Device
from tests.server_proc import ServerProcess


@pytest.mark.parametrize(
    "remote,forwarded,token,answer",
    [
        ("127.0.0.1", False, "none", None),
        ("127.8.9.10", False, "none", None),
        ("::1", False, "none", None),
        ("::ffff:127.0.0.1", False, "none", None),
        ("127.0.0.1", True, "none", 401),  # a reverse proxy on this machine relaying someone else
        ("192.168.1.20", False, "none", 401),
        ("10.0.0.7", False, "none", 401),
        ("2001:db8::1", False, "none", 401),
        ("", False, "none", 401),  # a Unix socket: nobody vouches for the client
        (None, False, "none", 401),
        ("not an address", False, "none", 401),
        ("192.168.1.20", False, "metrics", None),
        ("192.168.1.20", True, "metrics", None),
        ("192.168.1.20", False, "unknown", 401),
        ("127.0.0.1", False, "unknown", 401),  # a wrong token is wrong from anywhere
        ("192.168.1.20", False, "device", 403),
        ("127.0.0.1", False, "device", 403),
    ],
)
def test_who_may_read_the_metrics(remote, forwarded, token, answer):
    refused = refusal(remote, forwarded, token)
    assert (refused[0] if refused else None) == answer


def _get(url: str, token: str | None = None, **headers: str) -> requests.Response:
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(url + "/metrics", headers=headers, timeout=10)


def test_the_metrics_token_and_loopback_over_real_http(server):
    store = "st-" + uuid.uuid4().hex[:8]
    device_token = server.enroll(store, "T1")
    assert _get(server.url).status_code == 200  # this test runs on the server's machine: loopback
    proxied = _get(server.url, **{"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 401 and "enroll --metrics" in proxied.json()["message"]
    assert proxied.headers["WWW-Authenticate"] == "Bearer"
    for header, value in (
        ("Forwarded", "for=203.0.113.9"),
        ("X-Real-IP", "203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
    ):
        assert _get(server.url, **{header: value}).status_code == 401, header  # what proxies add, any of it
    assert _get(server.url, device_token).status_code == 403
    assert _get(server.url, "caja_metrics_guessed").status_code == 401
    made = server.caja("enroll", "--metrics")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    ok = _get(server.url, token, **{"X-Forwarded-For": "203.0.113.9"})
    assert ok.status_code == 200 and "caja_push_seconds_bucket" in ok.text
    newer = server.caja("enroll", "--metrics").stdout.strip().splitlines()[-1]
    assert _get(server.url, token, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 401  # replaced
    assert _get(server.url, newer, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 200
    assert server.caja("revoke", "--metrics").returncode == 0
    assert _get(server.url, newer, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 401


def _own_address() -> str | None:
    """An address of this machine that is not loopback (the one it would reach the outside from), if any."""
    for family, target in (
        (socket.AF_INET, "192.0.2.1"),
        (socket.AF_INET, "10.255.255.1"),
        (socket.AF_INET6, "2001:db8::1"),
    ):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.connect((target, 9))
                address = s.getsockname()[0]
        except OSError:
            continue
        if not address.startswith("127.") and address != "::1":
            return address
    return None


def test_a_client_from_another_address_needs_the_token(tmp_path):
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    srv = ServerProcess(str(tmp_path / "s.db"), workers=1, extra=("--host", "0.0.0.0")).start()
    try:
        outside = f"http://{address}:{srv.port}"  # the server sees this address as the client's, not loopback
        refused = _get(outside)
        assert refused.status_code == 401, refused.text
        token = srv.caja("enroll", "--metrics").stdout.strip().splitlines()[-1]
        assert _get(outside, token).status_code == 200
        assert _get(srv.url).status_code == 200  # from 127.0.0.1 without a token
        assert "WARNING plain HTTP on 0.0.0.0" in srv.stderr_path.read_text()  # and it was told so at its start
    finally:
        srv.stop()


def _series(text: str) -> list[str]:
    return [line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]


def test_pushed_junk_types_add_no_series(server):
    store = "st-" + uuid.uuid4().hex[:8]
    client = Client(server.url, server.enroll(store, "T1"))
    d = Device(store, "T1")
    assert client.push([d.event("junk.first", {}), d.product_created()])[0]["code"] == "UNKNOWN_TYPE"
    before = _get(server.url).text
    results = client.push([d.event(f"junk.n{i:04d}_{'x' * 40}", {"n": i}) for i in range(1000)])
    assert {r["code"] for r in results} == {"UNKNOWN_TYPE"}
    after = _get(server.url).text
    assert _series(after) == _series(before)
    assert abs(len(after) - len(before)) < 200  # the counts' digits, nothing more
    assert f'caja_events_total{{store="{store}",type="other",status="rejected"}} 1001' in after
    assert "junk." not in after


def test_counts_an_older_release_kept_per_junk_type_add_up_under_other(storage):
    Stat.insert_many(
        [("s1", "product.created", "accepted", 2), ("s1", "junk.a", "rejected", 3), ("s1", "junk.b", "rejected", 4)],
        fields=[Stat.store_id, Stat.type, Stat.status, Stat.n],
    ).execute()
    assert sorted(storage.stats()) == [("s1", "other", "rejected", 7), ("s1", "product.created", "accepted", 2)]
