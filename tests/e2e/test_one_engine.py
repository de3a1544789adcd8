"""One sync engine per database, whoever starts it (issue 15): real `caja serve`, `caja sync`, `caja line` and
`caja` (the screens, on a pseudo-terminal) processes. A till that finds a sync service holding the database's
lock runs no engine of its own and leaves the service's outbox alone; quitting the screens never waits on the
network."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from caja_tui.bench.terminal import Terminal
from tests.integration.test_cli import ROOT, caja, english, init_synced
from tests.integration.test_line_sync import Holding, LineTill, Silent


def syncing(cfg) -> int:
    conn = sqlite3.connect(cfg.with_suffix(".db"))
    try:
        return conn.execute("SELECT COUNT(*) FROM event WHERE sync_status = 'syncing'").fetchone()[0]
    finally:
        conn.close()


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def sync_service(cfg, log) -> subprocess.Popen:
    """`caja sync` as a service runs it, logging to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "caja_tui.cli", "--config", str(cfg), "sync", "--log", str(log)], env=ENV
    )


def wait_for_line(path, text: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not (path.exists() and text in path.read_text(encoding="utf-8")):
        assert time.monotonic() < end, f"no {text} in {path}"
        time.sleep(0.1)


def push(method: str, path: str) -> bool:
    return method == "POST" and path.startswith("/v1/events")


def test_a_line_till_beside_the_sync_service_leaves_the_outbox_to_it(server, tmp_path):
    proxy = Holding(server.port, push).start()
    cfg = tmp_path / "t1.toml"
    assert init_synced(cfg, "T1", proxy.url, server.enroll("shop", "T1"), "--demo").returncode == 0
    english(cfg)
    proxy.holding.set()  # the service's first push stays in flight, its events 'syncing'
    log = tmp_path / "service.log"
    service = sync_service(cfg, log)
    till = None
    try:
        proxy.wait_for("POST", "/v1/events")
        in_flight = syncing(cfg)
        assert in_flight == 482  # the demo's catalog and users
        till = LineTill(cfg)
        first = till.sign_in().rsplit("\n", 1)[-1]
        assert first == "[the sync service syncs, 483 not synced] > "  # and its opened session
        assert syncing(cfg) == in_flight  # the service's push was not reset to pending under it
        assert [r for r in proxy.requests if push(*r)] == [("POST", "/v1/events")]  # nobody else pushed
        proxy.holding.clear()
        assert till.prompt_until("0 not synced") == "[the sync service syncs, 0 not synced] > "
        assert till.quit() == 0
    finally:
        if till is not None:
            till.kill()
        service.terminate()
        service.wait(timeout=30)
        proxy.stop()
    assert '"sync_elsewhere"' not in log.read_text(encoding="utf-8")  # the service had the lock all along


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals: Linux")
def test_quitting_the_screens_never_waits_for_a_server_that_does_not_answer(tmp_path):
    silent = Silent()
    cfg = tmp_path / "t1.toml"
    assert caja("--config", str(cfg), "init", "--demo", "--device", "T1").returncode == 0
    text = english(cfg).read_text(encoding="utf-8").replace('server_url = ""', f'server_url = "{silent.url}"')
    cfg.write_text(text.replace('token = ""', 'token = "caja_test"'), encoding="utf-8")
    env = {**ENV, "TERM": "linux", "COLUMNS": "80", "LINES": "24"}
    term = Terminal([sys.executable, "-m", "caja_tui.cli", "--config", str(cfg)], env)
    try:
        term.wait_for("sign in")
        silent.wait_for_request()  # the till's sync child waits for an answer that never comes
        term.type("\x11")  # ctrl+q
        # the client would wait 20 s (its read timeout); the till waited 10 s for its child, then killed it
        assert term.proc.wait(timeout=5) == 0
    finally:
        term.close()
        silent.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals: Linux")
def test_the_screens_beside_the_sync_service_say_that_the_service_syncs(server, tmp_path):
    cfg = tmp_path / "t1.toml"
    assert init_synced(cfg, "T1", server.url, server.enroll("shop", "T1"), "--demo").returncode == 0
    log = tmp_path / "service.log"
    service = sync_service(english(cfg), log)
    term = None
    try:
        wait_for_line(log, '"sync_success"')  # the service holds the lock
        term = Terminal([sys.executable, "-m", "caja_tui.cli", "--config", str(cfg)], {**ENV, "TERM": "linux"})
        term.wait_for("sign in")
        term.type("1234\r")  # Ana
        term.wait_for("opening float")
        term.type("0\r")
        term.wait_for("sync service: online")  # its child left at once: the service holds the lock
    finally:
        if term is not None:
            term.close()
        service.terminate()
        service.wait(timeout=30)
