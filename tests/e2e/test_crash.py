"""SIGKILL a till while it sells, many times: nothing committed is lost, nothing is half-written."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from caja_tui.application import cash, products, users
from caja_tui.store.maintenance import verify
from tests.conftest import db, make_store

ROUNDS = int(os.environ.get("CAJA_CRASH_ROUNDS", "20"))
ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_while_selling_loses_nothing_committed(tmp_path):
    path = tmp_path / "till.db"
    s = make_store(path)
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    users.create_user(s, "system", name="Luis", role="cashier", pin="0000", user_id="luis")
    for i in range(50):
        products.create_product(
            s,
            "ana",
            sku=f"SKU-{i:03d}",
            name=f"Product {i}",
            price=100 + i * 37,
            tax_rate=1600 if i % 2 else 0,
            stock=1000,
        )
    cash.open_session(s, "luis", 10_000)
    s.close()

    rnd = random.Random(1234)
    reported: dict[str, str] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_no in range(ROUNDS):
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/e2e/crash_worker.py"), str(path), str(round_no)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        first = proc.stdout.readline()  # it is selling (whatever the machine's load made startup cost)
        time.sleep(rnd.uniform(0.0, 0.5))  # then a kill at a random moment of the loop
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err
        for line in (first + out).splitlines():
            if line.count(" ") == 1:  # a line cut by the kill is not a report
                sale_id, receipt = line.split(" ")
                reported[sale_id] = receipt
    assert len(reported) >= ROUNDS, len(reported)  # the worker really sold between kills

    s = make_store(path)
    conn = db(s)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    report = verify(s)
    assert report.ok, report.problems
    stored = dict(conn.execute("SELECT id, receipt_no FROM sale").fetchall())
    missing = {k: v for k, v in reported.items() if stored.get(k) != v}
    assert not missing, f"sales reported as committed but not stored: {missing}"
    # no partial sale: every sale event has its sale, its lines and its payments, and the other way round
    events = conn.execute("SELECT payload FROM event WHERE type = 'sale.created'").fetchall()
    assert len(events) == len(stored)
    for (payload,) in events:
        p = msgspec.json.decode(payload)
        assert p["sale_id"] in stored
        n_lines = conn.execute("SELECT COUNT(*) FROM sale_line WHERE sale_id = ?", (p["sale_id"],)).fetchone()[0]
        n_pay = conn.execute("SELECT COUNT(*) FROM sale_payment WHERE sale_id = ?", (p["sale_id"],)).fetchone()[0]
        assert (n_lines, n_pay) == (len(p["lines"]), len(p["payments"]))
    receipts = sorted(int(r.split("-")[1]) for r in stored.values())
    assert receipts == list(range(1, len(receipts) + 1))  # receipt numbers gapless across crashes
    s.close()
