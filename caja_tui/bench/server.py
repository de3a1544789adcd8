"""The sync server (`caja serve` as a real process): pushes of 100 events, 4 tills pushing at once, a pull, on
SQLite and, where a throwaway cluster starts, PostgreSQL. Also the helpers bench/sync.py uses to start one."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .data import pct, till_backlog


def serve(db: str, port: int, workers: int = 2):
    import subprocess

    import requests

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caja_tui.cli",
            "serve",
            "--db",
            db,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--rate",
            "0",
            "--log",
            os.devnull,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("caja serve did not start")


def enroll(db: str, store: str, device: str) -> str:
    from ..server.run import enroll_token

    return enroll_token(db, store, device)


def _body(events: list[dict]) -> bytes:
    import gzip

    import msgspec

    return gzip.compress(msgspec.msgpack.encode({"events": events}), compresslevel=5)


def _push_session(token: str):
    import requests

    s = requests.Session()
    s.headers.update(
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/msgpack",
            "Content-Encoding": "gzip",
            "Accept": "application/msgpack",
            "Accept-Encoding": "gzip",
        }
    )
    return s


def _push_all(url: str, token: str, bodies: list[bytes]) -> None:
    s = _push_session(token)
    for body in bodies:
        r = s.post(url + "/v1/events", data=body, timeout=120)
        r.raise_for_status()


def _push_100(url: str, token: str, rounds: int) -> dict:
    """`rounds` pushes of 100 events of one till, one after the other."""
    import msgspec

    solo = till_backlog(Path(tempfile.mkdtemp(prefix="caja-solo-")), "SOLO", rounds * 100)
    bodies = [_body(solo[i : i + 100]) for i in range(0, len(solo), 100)]
    out: dict = {"wire_bytes_per_event": round(sum(len(b) for b in bodies) / len(solo), 1)}
    s = _push_session(token)
    times = []
    for body in bodies:
        t0 = time.perf_counter()
        r = s.post(url + "/v1/events", data=body, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        assert all(x["status"] == "accepted" for x in msgspec.msgpack.decode(r.content)["results"])
    out["push_100_ms"] = round(statistics.median(times), 2)
    out["push_100_p99_ms"] = round(pct(times, 99), 2)
    return out


def _pull_all(url: str, token: str) -> dict:
    import msgspec
    import requests

    s = requests.Session()
    s.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/msgpack", "Accept-Encoding": "gzip"})
    t0 = time.perf_counter()
    cursor, got, more = 0, 0, True
    while more:
        page = msgspec.msgpack.decode(
            s.get(url + "/v1/events", params={"after": cursor, "limit": 1000}, timeout=60).content
        )
        got += len(page["events"])
        cursor, more = page["cursor"], page["more"]
    return {"pull_events_per_s": round(got / (time.perf_counter() - t0))}


def bench_server_backend(db: str, backlogs: dict[str, list[dict]], *, measure_single: bool, rounds: int) -> dict:
    import threading

    from ..server.devcluster import free_port

    out: dict = {}
    port = free_port()
    proc = serve(db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        tokens = {d: enroll(db, "bench", d) for d in [*backlogs, "READER", "SOLO"]}
        if measure_single:
            out.update(_push_100(url, tokens["SOLO"], rounds))
        total = sum(len(v) for v in backlogs.values())
        bodies = {d: [_body(evs[i : i + 1000]) for i in range(0, len(evs), 1000)] for d, evs in backlogs.items()}
        threads = [threading.Thread(target=_push_all, args=(url, tokens[d], bodies[d])) for d in backlogs]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out["push_events_per_s"] = round(total / (time.perf_counter() - t0))
        if measure_single:
            out.update(_pull_all(url, tokens["READER"]))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def bench_server(workdir: Path, n_events: int, rounds: int) -> dict:
    try:
        import falcon  # noqa: F401
    except ImportError:
        return {"server_note": "the server extra is not installed (pip install 'caja[server]')"}
    backlogs = {f"D{i}": till_backlog(workdir, f"D{i}", n_events // 4) for i in range(4)}
    out = {}
    sqlite_figs = bench_server_backend(str(workdir / "server.db"), backlogs, measure_single=True, rounds=rounds)
    out.update({k: v for k, v in sqlite_figs.items() if k != "push_events_per_s"})
    out["push_events_per_s_sqlite"] = sqlite_figs["push_events_per_s"]
    try:
        from ..server.devcluster import Cluster

        cluster = Cluster().start()
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so, measure the rest
        out["push_events_per_s_postgresql"] = None
        out["postgresql_note"] = f"no throwaway PostgreSQL cluster could be started ({exc})"
        return out
    try:
        pg = bench_server_backend(cluster.new_database(), backlogs, measure_single=False, rounds=rounds)
        out["push_events_per_s_postgresql"] = pg["push_events_per_s"]
    finally:
        cluster.stop()
    return out
