"""`caja bench` measures the real till on a pseudo-terminal; this checks the measuring works (how fast is
for `caja bench` on the user's own machine, never asserted here)."""

from __future__ import annotations

import sys

import pytest

from caja_tui.bench.terminal import bench_tui


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals and /proc: Linux")
def test_the_till_bench_signs_in_scans_idles_and_quits(tmp_path):
    out = bench_tui(tmp_path, n_events=2000, n_products=100, scans=5, idle_s=1.0)
    assert set(out) == {
        "startup_ms", "signin_ready_ms", "rss_mb", "rss_after_scans_mb", "scan_p50_ms", "scan_p99_ms", "idle_cpu_pct"
    }  # fmt: skip
    assert 0 < out["signin_ready_ms"] <= out["startup_ms"]
    assert 10 < out["rss_after_scans_mb"] <= out["rss_mb"] and out["scan_p50_ms"] <= out["scan_p99_ms"]
    # every scanned product is in the draft cart the till saved
    import sqlite3

    db = sqlite3.connect(tmp_path / "tui.db")
    cart = db.execute("SELECT cart FROM draft_cart WHERE slot = 'current'").fetchone()[0]
    assert cart.count('"qty":1') == 5
