"""TLS (issue 15): `caja serve --certfile --keyfile` serves https, and a real till made by `caja init` syncs with it
when `[sync] ca_file` names the CA that signed the server's certificate; without it, or with another CA, the till
says what is wrong in words. Certificates are made by the test (tests/certs.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from caja_tui.sync.transport import Transport, TransportError
from tests.certs import make_pki
from tests.server_proc import ROOT, ServerProcess


@pytest.fixture
def https_server(db_url, tmp_path):
    pki = make_pki(tmp_path / "pki")
    srv = ServerProcess(db_url, workers=1, tls=(pki.cert, pki.key, pki.ca)).start()
    srv.pki = pki
    yield srv
    srv.stop()


def _till(tmp_path, srv, device: str = "T1"):
    """A till made with `caja init --server https://127.0.0.1:PORT`; `caja(*args)` runs its real `caja`."""
    cfg = tmp_path / f"{device}.toml"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def caja(*args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)

    token = srv.enroll("demo", device)
    init = caja("init", "--demo", "--store", "demo", "--device", device, "--server", srv.url, "--token", token)
    assert init.returncode == 0, init.stdout + init.stderr
    return cfg, caja, token


def _set_ca_file(cfg, path) -> None:
    text = cfg.read_text()
    assert 'ca_file = ""' in text  # caja init wrote the key, empty: the system's CAs
    cfg.write_text(text.replace('ca_file = ""', f'ca_file = "{path}"'))


def test_a_till_syncs_over_https_with_the_ca_of_its_config(tmp_path, https_server):
    assert https_server.url.startswith("https://127.0.0.1:")
    cfg, caja, _ = _till(tmp_path, https_server)
    _set_ca_file(cfg, https_server.pki.ca)
    once = caja("sync", "--once")
    assert once.returncode == 0, once.stdout + once.stderr
    assert re.search(r"pushed [1-9]\d*, pulled 0; pending 0, failed 0", once.stdout), once.stdout
    held = https_server.caja("devices", "--json").stdout
    assert '"device_id": "T1"' in held and '"last_seq": 0' not in held  # the server holds its events


def test_without_the_ca_file_the_till_says_the_certificate_is_not_trusted(tmp_path, https_server):
    cfg, caja, _ = _till(tmp_path, https_server)
    once = caja("sync", "--once")
    assert once.returncode == 1
    assert "the server's certificate is not trusted" in once.stdout and "set [sync] ca_file" in once.stdout
    assert "SSLError" not in once.stdout + once.stderr
    status = caja("status").stdout
    assert re.search(r"pending [1-9]\d*  failed 0", status), status  # nothing refused: all still queued
    assert "last error: the server's certificate is not trusted" in status, status


def test_another_ca_or_an_unreadable_ca_file_is_named(tmp_path, https_server):
    other = make_pki(tmp_path / "other")  # a CA that did not sign the server's certificate
    t = Transport(https_server.url, "caja_x", ca_file=str(other.ca))
    with pytest.raises(TransportError) as err:
        t.health()
    assert err.value.permanent and f"not signed by [sync] ca_file {other.ca}" in str(err.value)
    with pytest.raises(TransportError) as err:
        Transport(https_server.url, "caja_x", ca_file=str(tmp_path / "nope.pem")).health()
    assert "[sync] ca_file" in str(err.value) and "cannot read it" in str(err.value)
    ok = Transport(https_server.url, "caja_x", ca_file=str(https_server.pki.ca)).health()
    assert ok.status == "ok"


def test_the_environment_does_not_replace_the_ca_file_or_turn_the_check_off(tmp_path, https_server, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_server.pki.ca))  # trusting it from outside: not taken
    monkeypatch.setenv("CURL_CA_BUNDLE", "")
    other = make_pki(tmp_path / "other")
    with pytest.raises(TransportError, match="not trusted"):
        Transport(https_server.url, "caja_x", ca_file=str(other.ca)).health()
    assert Transport(https_server.url, "caja_x", ca_file=str(https_server.pki.ca)).health().status == "ok"


def test_a_certificate_for_another_name_or_expired_is_said_so(tmp_path, db_url):
    for pki, words in (
        (make_pki(tmp_path / "name", names=("caja.example",)), "not for this address"),
        (make_pki(tmp_path / "old", days=-1), "has expired"),
    ):
        srv = ServerProcess(db_url, workers=1, tls=(pki.cert, pki.key, pki.ca)).start()
        try:
            with pytest.raises(TransportError) as err:
                Transport(srv.url, "caja_x", ca_file=str(pki.ca)).health()
            assert err.value.permanent and words in str(err.value), str(err.value)
        finally:
            srv.stop()


def test_plain_http_to_an_https_server_and_https_to_a_plain_one_are_errors_that_say_so(tmp_path, https_server):
    plain = https_server.url.replace("https://", "http://")
    with pytest.raises(TransportError):
        Transport(plain, "caja_x").health()
    srv = ServerProcess(str(tmp_path / "plain.db"), workers=1).start()
    try:
        with pytest.raises(TransportError) as err:
            Transport(srv.url.replace("http://", "https://"), "caja_x").health()
        assert "is the server serving https on that port?" in str(err.value), str(err.value)
    finally:
        srv.stop()


def test_serve_checks_its_certificate_and_key_before_it_starts(tmp_path):
    pki = make_pki(tmp_path / "pki")
    other = make_pki(tmp_path / "other")
    srv = ServerProcess(str(tmp_path / "s.db"))
    cases = [
        (("--certfile", str(pki.cert)), "--certfile and --keyfile go together"),
        (("--keyfile", str(pki.key)), "--certfile and --keyfile go together"),
        (("--certfile", str(tmp_path / "none.pem"), "--keyfile", str(pki.key)), "cannot read it"),
        (("--certfile", str(pki.cert), "--keyfile", str(other.key)), "not a PEM certificate and its"),
        (("--certfile", str(pki.key), "--keyfile", str(pki.key)), "not a PEM certificate and its"),
    ]
    for flags, words in cases:
        r = subprocess.run(
            [sys.executable, "-m", "caja_tui.cli", "serve", "--db", srv.db, "--port", "9", *flags],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        assert r.returncode == 2 and words in r.stderr, (flags, r.stderr)
