"""Wrong PINs in the line-mode till and at the command line (issue 15), real processes on a demo till: Ana
(1234) is the manager, Luis (0000) the cashier, listed 1 and 2. A wait the test cannot sit through is put in
the past: the wrong PINs before it are written by the till's own use case on a clock an hour behind."""

from __future__ import annotations

import re
import sqlite3
import time

import pytest

from caja_tui.application import users
from caja_tui.domain import pins
from caja_tui.domain.errors import DomainError
from caja_tui.store.sqlite import SqliteStore
from tests.integration import test_cli
from tests.integration.test_cli import caja, english

till = test_cli.till  # the demo till of the command-line tests (device T09), as a fixture of these too


def line(cfg, typed: str):
    """`caja line` with `typed` on its input, in English (a demo till speaks Spanish by default)."""
    return caja("--config", str(english(cfg)), "line", input=typed)


def wrong_pins_an_hour_ago(cfg, user_id: str, n: int) -> None:
    """`n` wrong PINs for `user_id`, each after the wait the one before it asked for, ending over an hour ago."""
    at = [int(time.time() * 1000) - 3 * 3600 * 1000]

    def wall() -> int:
        at[0] += 1
        return at[0]

    store = SqliteStore(cfg.parent / "caja.db", store_id="demo", device_id="T09", wall=wall).open()
    try:
        for _ in range(n):
            at[0] += pins.MAX_DELAY_MS
            with pytest.raises(DomainError):
                users.authenticate(store, user_id, "9999")
    finally:
        store.close()


def pin_events(cfg) -> list[str]:
    conn = sqlite3.connect(cfg.parent / "caja.db")
    try:
        return [r[0] for r in conn.execute("SELECT type FROM event WHERE type LIKE 'pin.%' ORDER BY seq")]
    finally:
        conn.close()


def test_wrong_pins_in_line_mode_make_the_next_try_wait(till):
    r = line(till, "2\n9999\n" * 5 + "2\n0000\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("wrong user or PIN") == 5
    assert "wrong user or PIN; the next try waits 5 s" in r.stdout
    assert re.search(r"too many wrong PINs: wait [1-5] s for the next try", r.stdout), r.stdout
    assert "Hello, Luis" not in r.stdout  # the right PIN, too soon, was refused
    assert pin_events(till) == ["pin.failed"] * 5


def test_a_lockout_in_line_mode_is_lifted_with_a_managers_pin(till):
    wrong_pins_an_hour_ago(till, "luis", 9)
    r = line(till, "2\n9999\n" + "2\n0000\n" + "unlock 2\n1\n1234\n" + "2\n0000\n" + "0\n")
    assert r.returncode == 0, r.stderr
    assert "wrong user or PIN; locked on this till after 10: a manager lifts it (type: unlock 2)" in r.stdout
    assert "locked after 10 wrong PINs on this till: a manager lifts it (type: unlock 2)" in r.stdout
    assert "Luis may sign in again" in r.stdout and "Hello, Luis." in r.stdout
    assert pin_events(till) == ["pin.failed"] * 10 + ["pin.locked", "pin.unlocked"]
    assert caja("--config", str(till), "verify").returncode == 0


def test_the_only_manager_locked_out_is_lifted_at_the_command_line(till):
    wrong_pins_an_hour_ago(till, "ana", 10)
    r = line(till, "1\n1234\n")
    assert "locked after 10 wrong PINs on this till" in r.stdout and "Hello" not in r.stdout
    cashier = caja(
        "--config", str(till), "users", "unlock", "ana", "--manager", "luis", env={"CAJA_MANAGER_PIN": "0000"}
    )
    assert cashier.returncode != 0 and "Luis is a cashier" in cashier.stderr
    herself = caja(
        "--config", str(till), "users", "unlock", "ana", "--manager", "ana", env={"CAJA_MANAGER_PIN": "1234"}
    )
    assert herself.returncode != 0 and "locked after 10 wrong PINs" in herself.stderr
    lifted = caja("--config", str(till), "users", "unlock", "ana")  # the installer, at the till's own shell
    assert lifted.returncode == 0 and "ana: lockout lifted, 10 wrong PINs cleared" in lifted.stdout, lifted.stderr
    again = caja("--config", str(till), "users", "unlock", "ana")
    assert again.returncode == 0 and "ana is not locked on this till" in again.stdout
    assert "Hello, Ana." in line(till, "1\n1234\n0\n").stdout
    verified = caja("--config", str(till), "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_managers_approval_in_line_mode_is_throttled(till):
    refund = "refund T09-000001\n1\n"
    r = line(till, "2\n0000\n0\n" + (refund + "9999\n") * 5 + refund + "1234\n")
    assert r.returncode == 0, r.stderr
    assert "Hello, Luis." in r.stdout
    assert "wrong user or PIN; the next try waits 5 s" in r.stdout
    assert re.search(r"too many wrong PINs: wait [1-5] s for the next try", r.stdout), r.stdout
    conn = sqlite3.connect(till.parent / "caja.db")
    purposes = [
        r[0] for r in conn.execute("SELECT json_extract(payload, '$.purpose') FROM event WHERE type = 'pin.failed'")
    ]
    conn.close()
    assert purposes == ["approval"] * 5
