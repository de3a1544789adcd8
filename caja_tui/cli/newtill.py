"""A till made on a machine that has none: writing a new config (shared with `caja init`'s way of doing it),
and `caja restore`, which makes the config and the database when they are missing.

`caja restore --server URL` on a new machine: the server is asked first who the token belongs to (a server
that is away or a token it does not know stops it before anything is written); the database is built beside
its place and moved there complete (sync/restore.py); the config, from the flags and the server's answer, is
written (0600) just before. With a config already there, its store, device, database, server and token are
used, and the flags must agree with it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from .. import config
from ..bootstrap import TillContext, context
from .errors import CliError
from .tokens import read_token

if TYPE_CHECKING:
    from ..sync.restore import Restored


def default_db(path: Path, *, explicit: bool) -> str:
    """The database a new config names: next to a config given by path and named after it (t1.toml -> t1.db, so
    two tills never share a file), else the user's data folder."""
    return f"{path.stem}.db" if explicit else str(config.data_dir() / "caja.db")


def new_config(path: Path, till: dict[str, Any], sync: dict[str, Any]) -> tuple[config.Config, str]:
    """A config for `path` from these [till] and [sync] values (None: the default), validated, and its text."""
    text = config.render(
        config.Config(
            till=config.TillConfig(**{k: v for k, v in till.items() if v is not None}),
            sync=config.SyncConfig(**{k: v for k, v in sync.items() if v is not None}),
        )
    )
    return config.parse(text.encode(), str(path)), text


def write_config(path: Path, text: str) -> None:
    """Write a new config file, its owner's alone (it holds the token); never over an existing one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise CliError(f"cannot write {path} ({exc.strerror})") from None


# --- caja restore ------------------------------------------------------------------------------------------


def cmd_restore(args: argparse.Namespace) -> int:
    from ..sync.transport import Transport

    path = config.resolve_path(getattr(args, "config", None))
    cfg = config.load(str(path)) if path.exists() else None
    url = args.server or (cfg.sync.server_url if cfg else "")
    if not url:
        raise CliError(f"no server to restore from: give --server URL ({path} has no [sync] server_url)")
    token = read_token(args, fallback=cfg.sync.token if cfg else "", required=True)
    transport = Transport(url, token, ca_file=cfg.sync.ca_file if cfg else "")
    me = _who(transport, url)
    if cfg is None:
        explicit = bool(getattr(args, "config", None) or os.environ.get("CAJA_CONFIG"))
        till = {
            "store_id": _agree(args.store, me.store_id, "--store", "store"),
            "device_id": _agree(args.device, me.device_id, "--device", "device"),
            "db": args.db or default_db(path, explicit=explicit),
        }
        cfg, text = new_config(path, till, {"server_url": url, "token": token})
    else:
        text = ""
        _same(args.store, cfg.till.store_id, "--store", path)
        _same(args.device, cfg.till.device_id, "--device", path)
        _same(args.db and str(Path(args.db).resolve()), str(cfg.db_path.resolve()), "--db", path)
        _agree(cfg.till.store_id, me.store_id, str(path), "store")
        _agree(cfg.till.device_id, me.device_id, str(path), "device")
    ctx = context(cfg)
    lock = ctx.sync_lock(wait=False)
    if lock is None:
        raise CliError(
            f"another `caja sync` or `caja restore` is using {ctx.paths.db}: stop it first (systemctl stop caja-sync)"
        )
    with lock:
        r = _restore(ctx, transport, me, path, text)
    print(
        f"restored {r.events} events ({r.own_events} of this till, up to seq {r.last_seq}) in {r.seconds:.1f} s "
        f"({r.events / max(r.seconds, 1e-9):,.0f} events/s); this till's next event continues its chain"
    )
    print(_key_note(r.key, cfg))
    if not text and (cfg.sync.server_url, cfg.sync.token) != (url, token):
        print(
            f"config: {path} kept as it was; for this till to sync with {url}, set [sync] server_url there and the "
            "token with `caja token set`"
        )
    print(f"database: {ctx.paths.db}; check it with `caja --config {path} verify`")
    return 0


def _restore(ctx: TillContext, transport, me, path: Path, text: str) -> Restored:
    """Build the database aside (an empty one in place goes there first), fill it, write the new config if any,
    and put the database in place."""
    from ..store.errors import StoreError
    from ..sync.restore import aside_path, move_aside, open_aside, put_in_place, refuse_filled, restore
    from ..sync.transport import TransportError

    db = ctx.paths.db
    aside = aside_path(db).parent
    if db.exists():
        with ctx.open_store() as existing:
            refuse_filled(existing)
            existing.checkpoint_wal("TRUNCATE")
        move_aside(db)
        print(f"{db} holds no events: it is filled in {aside} and comes back complete")
    elif aside.exists():
        print(f"going on with the restore kept in {aside}")
    try:
        store = open_aside(
            db,
            ctx.paths.key,
            store_id=ctx.cfg.till.store_id,
            device_id=ctx.cfg.till.device_id,
            receipt_prefix=ctx.cfg.receipt_prefix,
            emit_limit=ctx.cfg.sync.emit_limit_per_minute,
        )
    except StoreError as exc:
        raise CliError(f"{exc} (the restore kept in {aside}: delete it to start over)", 1) from None
    try:
        with store:
            r = restore(store, transport, me)
    except (TransportError, StoreError, KeyboardInterrupt) as exc:
        why = _why(exc, transport) if isinstance(exc, TransportError) else str(exc) or "interrupted"
        raise CliError(
            f"restore stopped: {why}; what arrived is kept in {aside}, not at {db}: run `caja restore` again to go "
            f"on from there, or delete {aside} to start over",
            130 if isinstance(exc, KeyboardInterrupt) else 1,
        ) from None
    if text:
        write_config(path, text)
        print(f"config: wrote {path} (mode 0600)")
    put_in_place(db, ctx.paths.key)
    return r


def _who(transport, url: str):
    """The server's word on the token (`GET /v1/devices/me`), before anything is written."""
    from ..sync.transport import TransportError

    try:
        return transport.devices_me()
    except TransportError as exc:
        raise CliError(f"{_why(exc, transport)}; nothing was written", 1) from None
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise CliError(f"{url} does not answer like a Caja sync server; nothing was written", 1) from None


def _why(exc, transport) -> str:
    url = transport.base.removesuffix("/v1")
    if exc.status in (401, 403):
        return (
            f"the server at {url} refused the token ({exc}): check it, or make a new one on the server with "
            "`caja serve enroll --store S --device D`"
        )
    if exc.status is None and not exc.permanent:
        return f"cannot reach the server at {url} ({exc}; is `caja serve` running there, is the address right?)"
    return f"the server at {url}: {exc}"


def _agree(flag: str | None, server: str, name: str, what: str) -> str:
    if flag and flag != server:
        raise CliError(
            f"the token belongs to {what} '{server}', not '{flag}' ({name}): use this till's token; nothing was written"
        )
    return server


def _same(flag: str | None, configured: str, name: str, path: Path) -> None:
    if flag and flag != configured:
        raise CliError(f"{name} '{flag}' differs from {path}, which says '{configured}'; nothing was written")


def _key_note(key: str, cfg: config.Config) -> str:
    t = cfg.till
    if key == "registered":
        return "key: this till's key is registered with the server; it syncs as before"
    if key == "refused":
        return (
            f"key: the server still holds the lost till's key, so it refuses what this till signs from now on: on "
            f"the server run `caja serve enroll --store {t.store_id} --device {t.device_id} --rekey` (a new token, "
            "the old key forgotten), then here `caja token set` with that token; the till sells meanwhile"
        )
    if key == "later":
        return "key: not registered yet (the server did not answer); the next `caja sync` registers it"
    return "key: none"
