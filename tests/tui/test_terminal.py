"""The real `caja` in a real terminal: tmux at 80x24 with TERM=linux (the bare console's 8 colours), driven
with send-keys and read with capture-pane, as a person would see it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

CAJA = str(Path(sys.executable).with_name("caja"))


def _on(shown: str, text: str | re.Pattern) -> bool:
    return text in shown if isinstance(text, str) else text.search(shown) is not None


class Tmux:
    def __init__(self, tmp_path: Path, command: str) -> None:
        self.name = f"caja-{uuid.uuid4().hex[:8]}"
        self.socket = str(tmp_path / "tmux.sock")
        self._tmux("new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self._tmux("send-keys", "-t", self.name, key)
            time.sleep(0.05)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, *texts: str | re.Pattern, seconds: float = 20) -> str:
        """The screen once every one of `texts` (a string, or a compiled pattern) is on it at the same time:
        a test waits for everything it then asserts, never for one thing before asserting another."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = self.screen()
            if all(_on(shown, text) for text in texts):
                return shown
            time.sleep(0.1)
        missing = [t if isinstance(t, str) else t.pattern for t in texts if not _on(self.screen(), t)]
        raise AssertionError(f"{missing!r} never appeared together; the screen shows:\n{self.screen()}")

    def wait_until(self, ok, seconds: float = 20) -> str:
        """The screen once `ok(screen)` holds (e.g. once something is gone)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            shown = self.screen()
            if ok(shown):
                return shown
            time.sleep(0.1)
        raise AssertionError(f"the screen never changed as expected; it shows:\n{self.screen()}")

    def sign_in(self, pin: str = "1234", opening_float: str = "0", *, down: int = 0) -> str:
        """Sign in (the person `down` rows below the first), give the float; returns the sales screen."""
        self.wait_for("sign in")
        self.keys(*["Down"] * down, pin, "Enter")
        self.wait_for("opening float")
        self.keys(opening_float, "Enter")
        return self.wait_for("session open")

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-S", self.socket, "has-session", "-t", self.name], capture_output=True, timeout=10
            ).returncode
            == 0
        )

    def kill(self) -> None:
        self._tmux("kill-server")


@pytest.fixture
def demo_config(tmp_path):
    cfg = tmp_path / "caja.toml"
    subprocess.run([CAJA, "--config", str(cfg), "init", "--demo"], check=True, capture_output=True, timeout=60)
    cfg.write_text(cfg.read_text().replace('language = "es"', 'language = "en"'))
    return cfg


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by `make test` (.ci/ensure-tmux)")
def test_selling_in_a_real_terminal_on_the_linux_console(tmp_path, demo_config):
    t = Tmux(tmp_path, f"TERM=linux {CAJA} --config {demo_config}")
    try:
        signin = t.wait_for("sign in", "Ana (manager)", "Luis (cashier)")
        assert "Ana (manager)" in signin and "Luis (cashier)" in signin
        t.keys("1234", "Enter")
        t.wait_for("opening float")
        t.keys("500", "Enter")
        t.wait_for("session open")
        t.keys("7500100100004", "Enter")
        shown = t.wait_for("Arroz 1 kg", "TOTAL $32.90", "F5 Pay", re.compile(r"^ Ana \| session open \|"))
        assert "TOTAL $32.90" in shown and "F5 Pay" in shown
        lines = shown.splitlines()
        assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
        assert lines[0].startswith(" Ana | session open |")  # the status line, on top
        t.keys("F5")
        t.wait_for("TO PAY $32.90")
        t.keys("c 50", "Enter")
        shown = t.wait_for("CHANGE $17.10", "T01-000001 paid", "Verification:")  # the receipt comes a frame later
        assert (
            "CHANGE $17.10" in shown and "T01-000001 paid" in shown and "Verification:" in shown
        )  # the receipt, on screen
        assert all(ord(ch) < 256 for ch in shown)  # nothing outside the console's font
        t.keys("C-q")
        deadline = time.monotonic() + 10
        while t.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not t.alive()  # outside kiosk mode ctrl+q leaves at once
    finally:
        t.kill()
    db = sqlite3.connect(tmp_path / "caja.db")
    assert db.execute("SELECT receipt_no, total, change FROM sale").fetchall() == [("T01-000001", 3290, 1710)]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by `make test` (.ci/ensure-tmux)")
def test_kiosk_mode_needs_a_manager_to_leave(tmp_path, demo_config):
    t = Tmux(tmp_path, f"TERM=linux {CAJA} --config {demo_config} --kiosk")
    try:
        t.sign_in("0000", down=1)  # Luis, a cashier
        t.wait_for("Luis | session open")
        t.keys("C-q")
        t.wait_for("Manager approval: leave kiosk mode")
        t.keys("Escape")
        shown = t.wait_until(lambda screen: "Manager approval" not in screen)  # the dialog closed...
        assert t.alive() and "Luis | session open" in shown  # ...and the till is still there
        t.keys("C-z")
        t.wait_for("Manager approval: suspend the till")
        t.keys("Escape", "C-q")
        t.wait_for("Manager approval: leave kiosk mode")
        t.keys("1234", "Enter")
        deadline = time.monotonic() + 10
        while t.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not t.alive()
    finally:
        t.kill()


CRASHING_TILL = """
import sys
from caja_tui import cli
from caja_tui.tui.screens.sales import SalesScreen

def broken(self):  # a bug in the till: the first F5 raises
    SalesScreen.action_pay = original
    raise RuntimeError("a bug nobody caught")

original = SalesScreen.action_pay
SalesScreen.action_pay = broken
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by `make test` (.ci/ensure-tmux)")
def test_in_kiosk_mode_a_crash_restarts_into_sign_in_with_the_cart_intact(tmp_path, demo_config):
    script = tmp_path / "crashing_till.py"
    script.write_text(CRASHING_TILL)
    t = Tmux(tmp_path, f"TERM=linux {sys.executable} {script} --config {demo_config} --kiosk")
    try:
        t.sign_in()
        t.keys("2*7500100100004", "Enter")
        t.wait_for("Arroz 1 kg")
        t.keys("F5")  # the bug
        shown = t.wait_for("sign in")  # the till came back by itself
        assert "Traceback" not in shown and "RuntimeError" not in shown
        t.keys("1234", "Enter")
        shown = t.wait_for("the sale in progress was", "Arroz 1 kg", "TOTAL $65.80")
        assert "Arroz 1 kg" in shown and "TOTAL $65.80" in shown
        t.keys("F5")
        t.wait_for("TO PAY $65.80")  # and selling goes on
    finally:
        t.kill()
    log = (tmp_path / "caja.tui.log").read_text()
    assert "a bug nobody caught" in log and "Traceback" in log  # the details went to the log


def _synced_till(tmp_path: Path, srv) -> Path:
    """A demo till T1 of store `shop` made by `caja init` with `srv` as its server, in English, batching fast."""
    cfg = tmp_path / "t1.toml"
    token = srv.enroll("shop", "T1")
    init = [CAJA, "--config", str(cfg), "init", "--demo", "--store", "shop", "--device", "T1", "--server", srv.url]
    subprocess.run([*init, "--token", token], check=True, capture_output=True, timeout=60)
    text = cfg.read_text().replace('language = "es"', 'language = "en"')
    cfg.write_text(text.replace("batch_seconds = 5.0", "batch_seconds = 0.5"))
    return cfg


@pytest.fixture
def synced(tmp_path):
    """A real `caja serve` and a till T1 made for it (_synced_till): (server, config)."""
    from tests.server_proc import ServerProcess

    srv = ServerProcess(str(tmp_path / "server.db"), workers=1).start()
    try:
        yield srv, _synced_till(tmp_path, srv)
    finally:
        srv.stop()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by `make test` (.ci/ensure-tmux)")
def test_the_tills_sync_child_leaves_when_the_till_is_killed(tmp_path, synced):
    """An orphan would hold the database's sync lock: the till started again would take it for a service."""
    _srv, cfg = synced
    t, child = Tmux(tmp_path, f"TERM=linux {CAJA} --config {cfg}"), None
    try:
        t.wait_for("sign in")
        till = int(t._tmux("display-message", "-p", "-t", t.name, "#{pane_pid}").strip())
        deadline = time.monotonic() + 30
        while child is None and time.monotonic() < deadline:  # the till starts `caja sync` beside itself
            found = subprocess.run(["pgrep", "-P", str(till), "-f", "sync"], capture_output=True, text=True)
            child = int(found.stdout.split()[0]) if found.stdout.split() else None
            time.sleep(0.1)
        assert child is not None, "the till started no sync child"
        os.kill(till, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        state = Path(f"/proc/{child}/stat").read_text().split()[2] if Path(f"/proc/{child}").exists() else "gone"
        assert state in ("gone", "Z"), f"the sync child outlived its till ({state})"
    finally:
        t.kill()
        if child is not None and Path(f"/proc/{child}").exists():  # a failed run leaves no orphan behind
            os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by `make test` (.ci/ensure-tmux)")
def test_the_till_syncs_beside_itself_and_the_status_line_shows_it(tmp_path, synced):
    srv, cfg = synced
    t = Tmux(tmp_path, f"TERM=linux {CAJA} --config {cfg}")
    try:
        t.sign_in(opening_float="100")
        t.keys("7500100100004", "Enter", "F5", "Enter")
        t.wait_for("T1-000001 paid")
        shown = t.wait_for(
            re.compile(r"^ Ana \| session open \| online \| 0 not synced"), seconds=60
        )  # the demo catalog and the sale are up
        assert shown.splitlines()[0].startswith(" Ana | session open | online | 0 not synced")
        t.keys("F6")
        shown = t.wait_for(re.compile(r"connectivity +online"), re.compile(r"pending +0 "))
        assert re.search(r"connectivity +online", shown) and re.search(r"pending +0 ", shown)
    finally:
        t.keys("C-q")
        deadline = time.monotonic() + 15
        while t.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        t.kill()
    r = srv.caja("devices", "--json")
    assert '"T1"' in r.stdout
    server_sales = (
        sqlite3.connect(tmp_path / "server.db")
        .execute("SELECT COUNT(*) FROM event WHERE type = 'sale.created'")
        .fetchone()[0]
    )
    assert server_sales == 1
    log = (tmp_path / "t1.sync.log").read_text().splitlines()  # the child's JSON-lines log, rotated
    assert any('"event":"sync_start"' in line and '"device":"T1"' in line for line in log)
    # the sync child left with the till
    lock = tmp_path / "t1.sync.lock"
    import fcntl

    with open(lock) as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody holds it any more
