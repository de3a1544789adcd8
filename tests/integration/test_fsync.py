"""A scan costs no fsync, a completed sale one (issue 14): the draft cart is committed without a sync (a power
cut may lose the last scans), a sale's events fully synced. Counted with strace on a real process (`make test`
installs strace: .ci/ensure-strace)."""

from __future__ import annotations

import shutil

import pytest

from caja_tui.application import cash, products, sales, users
from caja_tui.bench.store import bench_fsyncs, count_fsyncs
from caja_tui.domain.cart import Cart
from caja_tui.domain.events import Tender, UserCreated
from tests.conftest import make_store, scalar


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed (make test installs it)")
def test_a_scan_does_not_fsync_and_a_completed_sale_does_once(tmp_path):
    counted = bench_fsyncs(tmp_path, n_sales=5)  # 25 scans and 5 sales in a process strace watches
    assert counted["fsyncs_per_scan"] == 0.0 and counted["fsyncs_per_sale"] == 1.0


def test_strace_output_is_put_down_to_the_marker_before_it():
    trace = "\n".join(
        [
            "12 fdatasync(3) = 0",
            '12 write(5, "MARK scan", 9) = 9',
            '12 write(5, "MARK scan", 9) = 9',
            '12 write(5, "MARK sale", 9) = 9',
            "12 fdatasync(4) = 0",
            "13 fsync(6) = 0",
            '12 write(5, "MARK end", 8) = 8',
        ]
    )
    assert count_fsyncs(trace) == {"scan": (0, 2), "sale": (1, 1), "end": (0, 1), "background": (2, 1)}


@pytest.fixture
def till(tmp_path):
    s = make_store(tmp_path / "till.db")
    users.create_user(s, "system", name="Ana", role="manager", pin="1234", user_id="ana")
    products.create_product(s, "ana", sku="PAN", name="Pan", price=1000, tax_rate=0, stock=10)
    cash.open_session(s, "ana", 0)
    yield s
    s.close()


def test_a_scanned_cart_is_kept_and_the_connection_is_durable_again_after(till, tmp_path):
    every = scalar(till, "PRAGMA wal_autocheckpoint")
    cart = Cart()
    assert sales.scan(till, cart, "PAN") is not None
    assert scalar(till, "PRAGMA synchronous") == 2  # FULL again: the next sale is synced
    assert scalar(till, "PRAGMA wal_autocheckpoint") == every
    other = make_store(tmp_path / "till.db")  # another process sees the draft
    assert other.load_draft() == cart
    other.close()


def test_a_transaction_that_fails_saves_no_draft(till):
    cart = Cart()
    assert sales.scan(till, cart, "PAN") is not None
    bigger = Cart()
    for _ in range(3):
        assert sales.scan(till, bigger, "PAN") is not None
    with pytest.raises(RuntimeError), till.transaction() as tx:
        tx.save_draft(cart)
        raise RuntimeError("the use case refused")
    assert till.load_draft() == bigger


def test_a_use_case_that_emits_writes_its_drafts_in_its_one_commit(till):
    cart = Cart()
    assert sales.scan(till, cart, "PAN") is not None
    with pytest.raises(RuntimeError), till.transaction() as tx:  # all of it or none of it
        tx.emit(UserCreated(user_id="bea", name="Bea", role="cashier", pin_hash="x"), "ana")
        tx.save_draft(cart, "parked:x")
        tx.clear_draft()
        raise RuntimeError("the use case refused")
    assert till.load_draft() == cart and till.load_draft("parked:x") is None
    assert scalar(till, "SELECT COUNT(*) FROM event WHERE type = 'user.created'") == 1
    with till.transaction() as tx:
        tx.emit(UserCreated(user_id="bea", name="Bea", role="cashier", pin_hash="x"), "ana")
        tx.save_draft(cart, "parked:x")
        tx.clear_draft()
    assert till.load_draft() is None and till.load_draft("parked:x") == cart
    assert scalar(till, "SELECT COUNT(*) FROM event WHERE type = 'user.created'") == 2


def test_a_completed_sale_clears_the_draft(till):
    cart = Cart()
    assert sales.scan(till, cart, "PAN") is not None
    sales.complete_sale(till, "ana", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)
    assert till.load_draft() is None
    assert scalar(till, "SELECT COUNT(*) FROM sale") == 1


def test_the_bench_says_so_when_strace_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert bench_fsyncs(tmp_path, n_sales=1) == {
        "fsyncs_note": "not counted: strace is not installed (apt-get install strace)"
    }


def test_no_commit_checkpoints_and_the_log_moves_into_the_file_once_the_till_is_quiet(till):
    import sqlite3
    import time

    assert scalar(till, "PRAGMA wal_autocheckpoint") == 0  # a sale never pays for a checkpoint
    before = till.checkpoints.done
    for _ in range(3):
        cart = Cart()
        assert sales.scan(till, cart, "PAN") is not None
        sales.complete_sale(till, "ana", cart, [Tender(method="cash", amount=1000)], prices_include_tax=True)
    deadline = time.monotonic() + 30  # bounded: the checkpointer runs once the till has been quiet for 1 s
    while till.checkpoints.done == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert till.checkpoints.done > before
    with sqlite3.connect(till.path) as other:  # nothing of the log is left to copy into the file
        busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0 and frames == copied
