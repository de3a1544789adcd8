"""`caja bench [--json] [--quick]`: measure this machine with real SQLite files in a scratch folder.

Every issue adds its figures here. Each figure says the size it was measured at (`sizes`); `--quick` uses
smaller sizes and finishes in under a minute. Times are medians or percentiles over many runs, never one run.
`--pi-class` adds the till-side figures again inside a Raspberry Pi 4-like CPU budget on slow storage (bench/pi.py).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from .. import __version__
from .pi import GOALS as PI_GOALS
from .server import bench_server
from .store import bench_checkout, bench_events, bench_fsyncs, bench_import, bench_z_report
from .sync import bench_sync

GOALS = {
    "checkout_p99_ms": "<= 5",
    "import_products_per_s": ">= 30000",
    "rebuild_events_per_s": ">= 50000 at 1,000,000 events",
    "pending_query_ms": "<= 1 (next 50 of 1,000,000 pending)",
    "z_report_ms": "<= 200 (a day of 5,000 sales)",
    "push_100_ms": "<= 5",
    "push_events_per_s_sqlite": ">= 20000",
    "push_events_per_s_postgresql": ">= 10000",
    "pull_events_per_s": ">= 50000",
    "drain_100k_s": "<= 10",
    "restore_events_per_s": ">= 20000",
    "checkout_p99_ms_while_syncing": "<= 2 x checkout_p99_ms",
    "startup_ms": "<= 600 (50,000 products, 1,000,000 events)",
    "rss_mb": "<= 64",
    "scan_p99_ms": "<= 20 (50,000 products)",
    "idle_cpu_pct": "<= 0.5 (30 s on the sales screen, the till and its sync child together)",
    "lan_propagation_p99_ms": "<= 1000 (3 tills)",
    "peer_pull_events_per_s": ">= 20000",
    "peers_idle_cpu_pct": "<= 1 (a sync child with 2 peers in touch)",
    "hq_overview_ms": "<= 200 (20 stores, 60 tills, 1,000,000 events; and _postgresql)",
    "hq_store_ms": "<= 200 (20 stores, 60 tills, 1,000,000 events; and _postgresql)",
    "fsyncs_per_scan": "0",
    "fsyncs_per_sale": "1",
    **PI_GOALS,
}


def _sizes(quick: bool) -> dict:
    return {
        "checkout": 300 if quick else 2000,
        "z_report": 5000,
        "import_products": 10_000 if quick else 100_000,
        "events": 25_000 if quick else 1_000_000,
        "server_backlog": 6_000 if quick else 100_000,
        "sync_backlog": 8_000 if quick else 100_000,
        "push_rounds": 40 if quick else 200,
        "tui": (5_000, 1000, 25, 3.0) if quick else (1_000_000, 50_000, 200, 30.0),  # events, products, scans, idle s
        "fsyncs": 20 if quick else 100,  # sales of 5 scans
        "peers": None if quick else (100_000, 100, 10.0),  # a peer's history, sales timed, idle s; full runs only
        "hq": (25_000, 30, False) if quick else (1_000_000, 100, True),  # events, page loads, PostgreSQL too
        "pi": 150 if quick else 1000,  # checkouts in the Pi-class budget (--pi-class only)
    }


def _bench_peers(work: Path, sizes: dict) -> dict:
    """Three tills' sync processes on loopback (bench/peers.py); in a full run only (`--quick` stays under a minute)."""
    if sizes["peers"] is None:
        return {"peers_note": "lan_propagation_p99_ms, peer_pull_events_per_s and peers_idle_cpu_pct: full run only"}
    from .peers import bench_peers

    n_events, sales, idle_s = sizes["peers"]
    return bench_peers(work, n_events, sales, idle_s)


def _bench_tui(work: Path, sizes: dict) -> dict:
    from .terminal import bench_tui  # pseudo-terminals: imported only when measured (Linux)

    events, products, scans, idle_s = sizes["tui"]
    return bench_tui(work, n_events=events, n_products=products, scans=scans, idle_s=idle_s, breakdown=True)


def _bench_hq(work: Path, sizes: dict) -> dict:
    from .hq import bench_hq  # the server extra's pages

    n_events, loads, postgresql = sizes["hq"]
    return bench_hq(work, n_events, loads, postgresql=postgresql)


def _bench_pi(work: Path, sizes: dict, budget) -> dict:
    from .pi import bench_pi

    return bench_pi(work, budget, tui=sizes["tui"], n_sales=sizes["pi"])


def _measured_at(sizes: dict) -> dict:
    """The size each figure was measured at, in words (the `sizes` of the JSON)."""
    peers = (f"{sizes['peers'][0]:,}", sizes["peers"][1]) if sizes["peers"] else ("(full run only)", "(full run only)")
    return {
        "checkout_p99_ms": f"{sizes['checkout']} sales of 5 lines, 1,000 products, every event signed",
        "sign_verify_us": "median of 2,000: Ed25519 signature of one event's hash, then its verification",
        "import_products_per_s": f"{sizes['import_products']} products",
        "rebuild_events_per_s": f"{sizes['events']} events",
        "pending_query_ms": f"next 50 of {sizes['events']} pending events",
        "db_bytes_per_event": f"{sizes['events']} events",
        "z_report_ms": f"median of 15 Z reports over a session of {sizes['z_report']} sales",
        "archive_events_per_s": f"{sizes['events']} events",
        "archive_ratio": f"bytes of {sizes['events']} archived events before / after",
        "push_100_ms": f"median of {sizes['push_rounds']} pushes of 100 events (msgpack, gzip), 2 workers, SQLite",
        "push_events_per_s_sqlite": f"{sizes['server_backlog']} events from 4 devices at once, 1000 per push",
        "push_events_per_s_postgresql": f"{sizes['server_backlog']} events from 4 devices at once, 1000 per push",
        "pull_events_per_s": f"{sizes['server_backlog']} events, 1000 per pull (msgpack, gzip)",
        "push_hq_catch_up_s_sqlite": "seconds from the last signed push's answer until the owner's read models hold "
        "every event",
        "push_hq_catch_up_s_postgresql": "the same on PostgreSQL",
        "wire_bytes_per_event": "gzip msgpack push bodies of 100 events",
        "drain_s": f"a till pushing a backlog of {sizes['sync_backlog']} events to a local server (drain_100k_s "
        "is this at 100,000)",
        "restore_events_per_s": f"restoring a till of {sizes['sync_backlog']} events from a local server",
        "checkout_p99_ms_while_syncing": f"5-line sales while another connection applies a pull of "
        f"{sizes['sync_backlog']} events",
        "startup_ms": f"the real caja on an 80x24 pseudo-terminal (TERM=linux): process start, sign-in, PIN, "
        f"sales screen drawn; {sizes['tui'][1]:,} products, {sizes['tui'][0]:,} events",
        "rss_mb": "peak resident memory (VmHWM) of that process after the scans (the PIN check's scrypt takes 20 MiB "
        "for a moment at sign-in); rss_after_scans_mb: what it holds then (VmRSS)",
        "scan_p99_ms": f"{sizes['tui'][2]} scans (13 digits and Enter at once, 0.1 s apart) to the line drawn",
        "idle_cpu_pct": f"CPU of the till and its sync child (idle_cpu_till_pct + idle_cpu_sync_pct) over "
        f"{sizes['tui'][3]:.0f} s on the sales screen with the status line live, a local server configured, after "
        "a sale, a draft save with nothing pending and a caja rebuild",
        "fsyncs_per_scan": f"fsync and fdatasync calls (strace) of {sizes['fsyncs'] * 5} scans (sales.scan), per scan",
        "lan_propagation_p99_ms": "a sale on one of 3 tills (real caja sync processes on 127.0.0.1, no server) until "
        f"it is in the others' read models; p99 over {peers[1]} sales x 2 tills",
        "peer_pull_events_per_s": f"a new till catching up {peers[0]} events from a peer's sync process (pages of "
        "1000, checked and projected)",
        "peers_idle_cpu_pct": "CPU of the busiest of the 3 sync processes over a quiet spell, all in touch",
        "fsyncs_per_sale": f"the same of {sizes['fsyncs']} completed sales of 5 lines (sales.complete_sale), per sale",
        "hq_overview_ms": f"p95 of {sizes['hq'][1]} loads of /hq/ by an owner of every store; 20 stores x 3 tills, "
        f"{sizes['hq'][0]:,} events (three real tills' histories over 30 days copied into each store), read models "
        "rebuilt, each page loaded once first; _postgresql the same on PostgreSQL (full runs)",
        "hq_store_ms": f"the same, p95 of {sizes['hq'][1]} loads of /hq/stores/S, S taken in turn",
        "hq_rebuild_events_per_s": f"caja serve rebuild of the owner's read models over {sizes['hq'][0]:,} events",
        "pi_startup_ms": "startup_ms in the Pi-class budget (--pi-class), fsync slowed",
        "pi_scan_p99_ms": "scan_p99_ms in the Pi-class budget, fsync slowed",
        "pi_checkout_p99_ms": f"{sizes['pi']} sales of 5 lines as checkout_p99_ms, in the Pi-class budget, fsync "
        "slowed",
        "pi_idle_cpu_pct": "idle_cpu_pct in the Pi-class budget, in % of the budget",
        "pi_pin_check_ms": "median of 5 PIN checks (verify_pin, scrypt) in the Pi-class budget",
    }


def run_bench(*, json_out: bool, quick: bool, workdir: str | None = None, pi_class: bool = False) -> int:
    from .pi import PiClassRefused, pi_budget

    try:
        with pi_budget() if pi_class else nullcontext() as budget:
            return _run(json_out=json_out, quick=quick, workdir=workdir, budget=budget)
    except PiClassRefused as e:
        print(e, file=sys.stderr)
        return 2


def _run(*, json_out: bool, quick: bool, workdir: str | None, budget) -> int:
    sizes = _sizes(quick)
    result: dict = {
        "caja_version": __version__,
        "quick": quick,
        "machine": {
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
    }
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caja-bench-", dir=workdir) as tmp:
        work = Path(tmp)
        steps = (
            ("checkout", lambda: bench_checkout(work, sizes["checkout"])),
            ("import_products", lambda: bench_import(work, sizes["import_products"])),
            ("z_report", lambda: bench_z_report(work, sizes["z_report"])),
            ("events", lambda: bench_events(work, sizes["events"])),
            ("server_backlog", lambda: bench_server(work, sizes["server_backlog"], sizes["push_rounds"])),
            ("sync_backlog", lambda: bench_sync(work, sizes["sync_backlog"])),
            ("fsyncs", lambda: bench_fsyncs(work, sizes["fsyncs"])),
            ("tui", lambda: _bench_tui(work, sizes)),
            ("peers", lambda: _bench_peers(work, sizes)),
            ("hq", lambda: _bench_hq(work, sizes)),
        ) + ((("pi", lambda: _bench_pi(work, sizes, budget)),) if budget else ())
        for name, step in steps:
            if not json_out:
                size = sizes[name]
                shown = (
                    " x ".join(f"{n:,}" for n in size)
                    if isinstance(size, tuple)
                    else "full run only"
                    if size is None
                    else f"{size:,}"
                )
                print(f"measuring {name} ({shown}) ...", file=sys.stderr)
            result.update(step())
    if not quick and "drain_s" in result:
        result["drain_100k_s"] = result["drain_s"]
    result["sizes"] = _measured_at(sizes)
    result["goals"] = GOALS
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    if json_out:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            if k not in ("sizes", "goals", "machine", "pi_class"):
                print(f"{k:28} {v}")
        if pi := result.get("pi_class"):
            print(f"{'pi_class':28} {pi['budget']}; {pi['method']}; fsync: {pi['slow_storage']}")
    return 0
