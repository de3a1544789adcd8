"""The sync server (`caja serve` as a real process): pushes of 100 events, 4 tills pushing at once, a pull, on
SQLite and, where a throwaway cluster starts, PostgreSQL. Also the helpers bench/sync.py uses to start one.

Tills with a key sign every event (PROTOCOL.md "Trust") and the server verifies each signature, so the push
figures are of signed events from devices whose key is registered (`PUT /v1/devices/me/key`, from seq 1);
`*_unsigned` are the same pushes of a version-1 till (no key), on a database of their own.

| figure | what |
|---|---|
| push_100_ms, push_100_p99_ms | pushes of 100 signed events of one till, one after the other (median, p99) |
| push_100_unsigned_ms | the same, unsigned (a till without a key) |
| push_events_per_s_sqlite | signed events from 4 devices pushing at once, 1000 per push, 2 workers |
| push_events_per_s_sqlite_unsigned | the same, unsigned, on a database of its own |
| push_events_per_s_postgresql(_unsigned) | the same on PostgreSQL |
| pull_events_per_s | one device pulling the store, 1000 per pull |
| push_hq_catch_up_s_sqlite(_postgresql) | after the last of those signed pushes is answered, seconds until the owner's read models hold every event (the workers' projectors fold once pushes pause, hq/background.py) |
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

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


def _body_of(doc: dict) -> bytes:
    import gzip

    import msgspec

    from ..sync.transport import PUSH_GZIP_LEVEL  # as a till's push

    return gzip.compress(msgspec.msgpack.encode(doc), PUSH_GZIP_LEVEL)


def _body(events: list[dict]) -> bytes:
    return _body_of({"events": events})


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


def _register(url: str, token: str, key: Any) -> None:
    """Register the device's key from its first seq, as a till does before its first signed push."""
    s = _push_session(token)
    body = _body_of({"public_key": key.public_hex, "from_seq": 1})
    s.put(url + "/v1/devices/me/key", data=body, timeout=30).raise_for_status()


def signed(events: list[dict]) -> tuple[Any, list[dict]]:
    """A new device key and the events signed with it (`sig`: the signature of each event's hash)."""
    from ..protocol.keys import DeviceKey

    key = DeviceKey.generate()
    return key, [{**e, "sig": key.sign(e["hash"])} for e in events]


def _push_all(url: str, token: str, bodies: list[bytes]) -> None:
    s = _push_session(token)
    for body in bodies:
        r = s.post(url + "/v1/events", data=body, timeout=120)
        r.raise_for_status()


def _push_100(url: str, tokens: dict[str, str], solo: dict[str, tuple], rounds: int) -> dict:
    """`rounds` pushes of 100 events of one till, one after the other: signed (SOLO) and unsigned (SOLO_U)."""
    out: dict = {}
    for device, suffix in (("SOLO", ""), ("SOLO_U", "_unsigned")):
        key, events = solo[device]
        if key is not None:
            _register(url, tokens[device], key)
        bodies = [_body(events[i : i + 100]) for i in range(0, len(events), 100)]
        times = _timed_pushes(url, tokens[device], bodies)
        out[f"push_100{suffix}_ms"] = round(statistics.median(times), 2)
        if key is not None:
            out["push_100_p99_ms"] = round(pct(times, 99), 2)
            out["wire_bytes_per_event"] = round(sum(len(b) for b in bodies) / len(events), 1)
    return out


def _timed_pushes(url: str, token: str, bodies: list[bytes]) -> list[float]:
    import msgspec

    s = _push_session(token)
    times = []
    for body in bodies:
        t0 = time.perf_counter()
        r = s.post(url + "/v1/events", data=body, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        # every till's history starts with its own `user.created` manager: the store's first one only is taken
        odd = [x for x in msgspec.msgpack.decode(r.content)["results"] if x["status"] != "accepted"]
        assert all(x.get("code") == "NOT_ALLOWED" for x in odd), odd[:2]
    return times


def _pull_all(url: str, token: str) -> dict:
    """Pull the store, 1000 events a pull, as a till reads a page: its own transport (the answer read bounded,
    inflated, and decoded into the protocol's types, every event's envelope checked by msgspec)."""
    from ..sync.transport import Transport

    t = Transport(url, token)
    try:
        t0 = time.perf_counter()
        cursor, got, more = 0, 0, True
        while more:
            page = t.pull(cursor, 1000)
            got += len(page.events)
            cursor, more = page.cursor, page.more
        return {"pull_events_per_s": round(got / (time.perf_counter() - t0))}
    finally:
        t.close()


def _push_at_once(url: str, tokens: dict[str, str], backlogs: dict[str, tuple]) -> int:
    """Events per second of every device of `backlogs` (key or None, events) pushing at once, 1000 per push."""
    import threading

    for d, (key, _) in backlogs.items():
        if key is not None:
            _register(url, tokens[d], key)
    total = sum(len(evs) for _, evs in backlogs.values())
    bodies = {d: [_body(evs[i : i + 1000]) for i in range(0, len(evs), 1000)] for d, (_, evs) in backlogs.items()}
    threads = [threading.Thread(target=_push_all, args=(url, tokens[d], bodies[d])) for d in backlogs]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return round(total / (time.perf_counter() - t0))


def _hq_catch_up(db: str, limit_s: float = 300.0) -> float | None:
    """Seconds until every store's events are in the owner's read models (None: not within `limit_s`)."""
    from ..server.hq.projector import Projector
    from ..server.run import open_storage

    t0 = time.perf_counter()
    storage = open_storage(db, create=False)
    try:
        while time.perf_counter() - t0 < limit_s:
            if all(at >= top for at, top in Projector(storage).positions().values()):
                return round(time.perf_counter() - t0, 1)
            time.sleep(0.2)
        return None
    finally:
        storage.close()


def bench_server_backend(
    db: str, backlogs: dict[str, tuple], *, solo: dict[str, tuple] | None = None, rounds: int = 0
) -> dict:
    """One server on `db`: the devices of `backlogs` (device -> (key or None, events)) pushing at once; with
    `solo`, also the pushes of 100 (`_push_100`) and a pull of everything."""
    from ..server.devcluster import free_port

    out: dict = {}
    port = free_port()
    proc = serve(db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        tokens = {d: enroll(db, "bench", d) for d in [*backlogs, *(solo or {}), "READER"]}
        if solo:
            out.update(_push_100(url, tokens, solo, rounds))
        out["push_events_per_s"] = _push_at_once(url, tokens, backlogs)
        if any(key is not None for key, _ in backlogs.values()):  # before the pull, which it would compete with
            out["hq_catch_up_s"] = _hq_catch_up(db)
        if solo:
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
    plain = {f"D{i}": till_backlog(workdir, f"D{i}", n_events // 4) for i in range(4)}
    keyed = {d: signed(evs) for d, evs in plain.items()}
    unsigned = {d: (None, evs) for d, evs in plain.items()}
    solo = {
        "SOLO": signed(till_backlog(workdir, "SOLO", rounds * 100)),
        "SOLO_U": (None, till_backlog(workdir, "SOLO_U", rounds * 100)),
    }
    out = bench_server_backend(str(workdir / "server.db"), keyed, solo=solo, rounds=rounds)
    out["push_events_per_s_sqlite"] = out.pop("push_events_per_s")
    out["push_hq_catch_up_s_sqlite"] = out.pop("hq_catch_up_s")
    out["push_events_per_s_sqlite_unsigned"] = bench_server_backend(str(workdir / "unsigned.db"), unsigned)[
        "push_events_per_s"
    ]
    try:
        from ..server.devcluster import Cluster

        cluster = Cluster().start()
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so, measure the rest
        out["push_events_per_s_postgresql"] = None
        out["postgresql_note"] = f"no throwaway PostgreSQL cluster could be started ({exc})"
        return out
    try:
        for suffix, backlogs in (("", keyed), ("_unsigned", unsigned)):
            pg = bench_server_backend(cluster.new_database(), backlogs)
            out[f"push_events_per_s_postgresql{suffix}"] = pg["push_events_per_s"]
            if "hq_catch_up_s" in pg:
                out["push_hq_catch_up_s_postgresql"] = pg["hq_catch_up_s"]
    finally:
        cluster.stop()
    return out
