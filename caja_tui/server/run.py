"""`caja serve` and its admin commands: run gunicorn with the Falcon app, enroll and revoke devices."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..config import data_dir, is_postgres, sqlite_file
from .storage import ServerStorage


def default_db() -> str:
    return str(data_dir() / "server.db")


def open_storage(url: str, conflict_rule: str = "manual", *, create: bool = True) -> ServerStorage:
    if not is_postgres(url):
        from pathlib import Path

        Path(sqlite_file(url)).parent.mkdir(parents=True, exist_ok=True)
    return ServerStorage(url, conflict_rule=conflict_rule).open(create=create)


def check_tls(certfile: str | None, keyfile: str | None) -> str | None:
    """What is wrong with `--certfile`/`--keyfile` (both or neither; readable; a key that matches the
    certificate), or None. Checked before gunicorn starts, whose own errors come from each worker, later."""
    import ssl

    if not certfile and not keyfile:
        return None
    if not certfile or not keyfile:
        return "--certfile and --keyfile go together: give both (TLS) or neither (plain HTTP behind a proxy)"
    for flag, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as exc:
            return f"{flag} {path}: cannot read it ({exc.strerror})"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile, password=lambda: b"")
    except (ssl.SSLError, OSError) as exc:
        return (
            f"--certfile {certfile} --keyfile {keyfile}: not a PEM certificate and its unencrypted private key "
            f"({getattr(exc, 'reason', None) or exc})"
        )
    return None


def serve(
    *,
    db: str,
    host: str,
    port: int,
    workers: int,
    threads: int,
    rate: float,
    burst: int,
    conflict_rule: str,
    log_path: str | None,
    tls: tuple[str, str] | None = None,
    hq_key: str | None = None,
) -> int:
    """Run gunicorn; `tls`: (certfile, keyfile), already checked by `check_tls`; `hq_key`: the HQ device's key
    file (made by `caja serve` before this)."""
    from gunicorn.app.base import BaseApplication

    from ..host.logs import json_logger, to_journal
    from .app import Server, create_app

    to_journal()  # the server's own warnings: plain lines on stderr, for journald
    open_storage(db, conflict_rule).close()  # create the tables once, before the workers start

    class Application(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "accesslog": None,
                "errorlog": log_path or "-",
                "loglevel": "warning",
                "keepalive": 30,
                "timeout": 60,
                "graceful_timeout": 10,
                "proc_name": "caja-serve",
            }
            if tls is not None:
                options.update(certfile=tls[0], keyfile=tls[1])
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            import logging

            # in each worker, after the fork: JSON lines appended to the file (every worker's), else on stderr
            handler = logging.FileHandler(log_path, encoding="utf-8") if log_path else logging.StreamHandler(sys.stderr)
            log = json_logger("caja.server", handler)
            server = Server(
                lambda: open_storage(db, conflict_rule, create=False), rate=rate, burst=burst, log=log, hq_key=hq_key
            )
            return create_app(server)

    print(_banner(host, port, workers, db, tls is not None), file=sys.stderr, flush=True)
    Application().run()
    return 0


def _banner(host: str, port: int, workers: int, db: str, tls: bool) -> str:
    """The line `caja serve` starts with; a warning under it when it serves plain HTTP beyond this machine."""
    from .metrics import is_loopback

    line = f"caja serve: listening on {'https' if tls else 'http'}://{host}:{port}/v1 with {workers} worker(s); "
    line += f"storage {_safe(db)}"
    if not tls and not is_loopback(host) and host != "localhost":
        line += (
            f"\ncaja serve: WARNING plain HTTP on {host}: tokens and sales cross the network readable; give it "
            "--certfile and --keyfile, or listen on 127.0.0.1 behind a reverse proxy with TLS"
        )
    return line


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':')[0]}:***@{host}"
    return url


def enroll_token(db: str, store: str, device: str, *, rekey: bool = False) -> str:
    storage = open_storage(db)
    try:
        return storage.enroll(store, device, rekey=rekey)
    finally:
        storage.close()


def enroll(db: str, store: str, device: str, *, rekey: bool = False) -> int:
    token = enroll_token(db, store, device, rekey=rekey)
    print(f"device {device} of store {store} enrolled. Its token (shown only now; the server keeps a hash):")
    print(token)
    print(f'Put it in the till\'s config: [sync] token = "{token}"', file=sys.stderr)
    if rekey:
        print("Its device key was forgotten: the till registers its new key at its next sync.", file=sys.stderr)
    return 0


def enroll_metrics(db: str) -> int:
    storage = open_storage(db)
    try:
        token = storage.enroll_metrics()
    finally:
        storage.close()
    print("the metrics token (shown only now; the server keeps a hash; an earlier metrics token stops working):")
    print(token)
    print(
        "Give it to the scraper as Authorization: Bearer <token> (Prometheus: authorization: {credentials: ...}); "
        "without it, /metrics answers only clients on this machine.",
        file=sys.stderr,
    )
    return 0


def revoke(db: str, device: str | None, store: str | None, *, metrics: bool = False) -> int:
    from .tokens import AmbiguousDevice

    storage = open_storage(db)
    try:
        if metrics:
            n = storage.revoke_metrics()
            print("metrics token revoked: /metrics answers only clients on this machine" if n else "no metrics token")
            return 0
        assert device is not None
        done = storage.revoke(device, store)
    except AmbiguousDevice as exc:
        print(f"caja: {exc}; nothing was revoked", file=sys.stderr)
        return 2
    finally:
        storage.close()
    if done is None:
        where = f" in store '{store}'" if store else ""
        print(f"caja: no enrolled device '{device}'{where}", file=sys.stderr)
        return 1
    if done.already:
        print(f"device {done.device_id} of store {done.store_id}: its token was already revoked; nothing changed")
    else:
        print(f"device {done.device_id} of store {done.store_id}: token revoked (its stored events stay)")
    return 0


def devices(db: str, as_json: bool) -> int:
    import time

    storage = open_storage(db)
    try:
        rows = storage.devices()
    finally:
        storage.close()
    if as_json:
        print(json.dumps(rows))
        return 0
    print(f"{'store':<14}{'device':<14}{'last seen':<22}{'last seq':>10}{'clock skew':>12}  state")
    for r in rows:
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["last_seen"] / 1000)) if r["last_seen"] else "never"
        skew = f"{r['clock_skew_ms'] / 1000:+.1f} s" if r["clock_skew_ms"] is not None else "-"
        print(
            f"{r['store_id']:<14}{r['device_id']:<14}{seen:<22}{r['last_seq']:>10}{skew:>12}  "
            f"{'revoked' if r['revoked'] else 'active'}"
        )
    return 0


def verify(db: str, device: str | None) -> int:
    storage = open_storage(db)
    try:
        problems = storage.verify(device)
        counts = storage.counts()
    finally:
        storage.close()
    if problems:
        for p in problems[:50]:
            print(f"PROBLEM: {p}")
        print(f"verify failed: {len(problems)} problem(s)")
        return 1
    print(
        f"ok: {counts['events']} events, hash chains intact ({counts['rejections']} rejected, "
        f"{counts['conflicts']} conflicts recorded)"
    )
    return 0
