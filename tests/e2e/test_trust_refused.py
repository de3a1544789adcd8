"""A till whose own event the server refused never stays silently different from its store (issue 12):
`caja status`, `caja verify` and the status line say so until a manager sends it again or reverts it.

The realistic case: a second till set up offline with a manager of its own, while the store already had one.
Its `user.created` is NOT_ALLOWED at the server (events that grant rights); the store's manager is still taken
at the till (the till judges a pull by the view the server had), and reverting deactivates the refused one."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from tests.conftest import make_store, scalar
from tests.e2e.conftest import caja_at
from tests.e2e.test_trust_pull import _rewrite_server


def test_a_refused_manager_is_reported_until_a_manager_reverts_it(tmp_path, server, demo_till):
    t1, _ = demo_till(tmp_path / "t1.toml", "T1", server.url)  # the store's first till: ana, the first manager
    assert t1("sync", "--once").returncode == 0
    t2 = caja_at(tmp_path / "t2.toml")
    token = server.enroll("demo", "T2")
    init = ["init", "--store", "demo", "--device", "T2", "--server", "http://127.0.0.1:9", "--token", token]
    made = _caja_env(tmp_path / "t2.toml", CAJA_PIN="5555")(*init, "--manager", "Bob")  # offline: no server yet
    assert made.returncode == 0, made.stdout + made.stderr
    _rewrite_server(tmp_path / "t2.toml", server.url)
    first = t2("sync", "--once")
    assert first.returncode == 1  # something was refused
    status = t2("status")
    assert "NOT_ALLOWED" in status.stdout and "differs from its store" in status.stdout, status.stdout
    v = t2("verify")
    assert v.returncode == 1 and "DIFFERS FROM THE STORE: 1 event" in v.stdout, v.stdout + v.stderr
    listed = t2("refused")
    assert "user.created" in listed.stdout and "revert or send again" in listed.stdout
    event_id = listed.stdout.split()[0]

    # the store's own manager reached T2 although bob was refused: the view a pull is judged by leaves bob out
    s = make_store(tmp_path / "t2.db", device_id="T2", store_id="demo")
    try:
        assert scalar(s, "SELECT role FROM user WHERE id = 'ana'") == "manager"
    finally:
        s.close()
    wrong_pin = _caja_env(tmp_path / "t2.toml", CAJA_MANAGER_PIN="0000")(
        "refused", "revert", event_id, "--manager", "ana"
    )
    assert wrong_pin.returncode == 1 and "wrong user or PIN" in wrong_pin.stderr
    r = _caja_env(tmp_path / "t2.toml", CAJA_MANAGER_PIN="1234")("refused", "revert", event_id, "--manager", "ana")
    assert r.returncode == 0 and "user.updated written" in r.stdout, r.stdout + r.stderr
    assert t2("sync", "--once").returncode == 0  # the compensation (bob deactivated) is taken by the server
    v = t2("verify")
    assert v.returncode == 0 and v.stdout.startswith("ok:"), v.stdout + v.stderr
    assert "failed 0" in t2("status").stdout
    s = make_store(tmp_path / "t2.db", device_id="T2", store_id="demo")
    try:
        assert scalar(s, "SELECT active FROM user WHERE id = 'bob'") == 0
    finally:
        s.close()


def _caja_env(cfg: Path, **env: str):
    with mock.patch.dict(os.environ, env):
        return caja_at(cfg)
