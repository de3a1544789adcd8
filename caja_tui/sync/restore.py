"""`caja restore`: rebuild a till whose disk died, from the server.

The database is built in a folder beside its place (`t1.db` -> `.t1.db.restoring/t1.db`) and moved there only
when the whole history has arrived, so a restore that fails (the server goes away, Ctrl-C, a power cut) never
leaves a half database where a till would start on it; an empty database already in place (one `caja init`
made) goes into that folder first. The folder is picked up by the next `caja restore`, which goes on from its
pull cursor. `restore()` itself fills whatever store it is given (tests, `caja bench`).

The till's device key is the file at its place (`t1.key`) when it is there (a backup of the lost till's, or
the one `caja init` made); on a new machine a new one is made (0600) beside the database being built and moves
into place with it. It signs from the seq after the restored chain and is registered with the server at once;
a server that still holds the lost till's key answers 409 until an operator re-enrols the till with `--rekey`
(PROTOCOL.md "Trust"), which `Restored.key` reports.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import msgspec

from ..protocol import DeviceMe
from ..store.sqlite import SqliteStore, StoreError
from .engine import SyncEngine
from .transport import Transport, TransportError


class Restored(msgspec.Struct):
    events: int
    own_events: int
    last_seq: int
    seconds: float
    key: str = "none"  # the till's key with the server: registered, refused (409: another key), later, none


def restore(store: SqliteStore, transport: Transport, me: DeviceMe | None = None) -> Restored:
    """Pull every event of the store, this till's own included, into `store` (empty, or a restore of it that
    was interrupted), then resume this till's chain after the server's last seq. `me`: the server's
    `GET /v1/devices/me`, when the caller has asked it already."""
    refuse_filled(store)
    me = me or transport.devices_me()
    if (me.store_id, me.device_id) != (store.store_id, store.device_id):
        raise StoreError(
            f"the token belongs to store '{me.store_id}' device '{me.device_id}', but the config says "
            f"store '{store.store_id}' device '{store.device_id}'; fix [till] in the config"
        )
    t0 = time.perf_counter()
    store.set_meta("restoring", "1")  # an interrupted restore may be run again: it goes on from its cursor
    engine = SyncEngine(store, transport)
    engine.refresh_devices()  # the store's keys: the restored events' signatures are checked
    engine.pull_all(include_own=True, page=1000, gentle=False)
    store.resume_chain(
        me.last_seq, me.last_hash, store.last_hlc_of(store.device_id), store.last_receipt_number_of(store.device_id)
    )
    store.key_resumes_at(me.last_seq + 1)  # this till's key signs what it writes after the restored chain
    store.set_meta("restoring", "0")
    seconds = time.perf_counter() - t0  # the history's transfer (what `caja bench` reports), not the key's
    key = _register(engine)
    own = store.count_events(store.device_id)
    return Restored(events=store.count_events(), own_events=own, last_seq=me.last_seq, seconds=seconds, key=key)


def refuse_filled(store: SqliteStore) -> None:
    """A restore fills an empty database, or goes on with one of its own that was cut off, nothing else."""
    if store.count_events() and store.meta("restoring") != "1":
        raise StoreError(
            f"{store.path} already holds events; restore only fills an empty database: move it aside "
            "(mv it to another name) or give a new database path, and run `caja restore` again"
        )


def _register(engine: SyncEngine) -> str:
    """Register the till's key now, as `caja init` does: 'refused' when the server holds another key for this
    device (the lost till's: `--rekey` on the server), 'later' when it could not say (the next sync tries)."""
    if engine.store.key is None:
        return "none"
    try:
        engine.register_key()
    except TransportError as exc:
        return "refused" if exc.status == 409 else "later"
    return "registered" if engine.store.key_registered() else "later"


# --- a database that does not exist yet: built aside, put in place when complete -----------------------------


def aside_path(db: Path) -> Path:
    """Where a new database is built while it is restored: `t1.db` -> `.t1.db.restoring/t1.db` beside it."""
    return db.parent / f".{db.name}.restoring" / db.name


def open_aside(
    db: Path, key: Path, *, store_id: str, device_id: str, receipt_prefix: str, emit_limit: int
) -> SqliteStore:
    """The database being restored for `db` (made, its owner's alone, or the one an interrupted restore left),
    signing with the till's key at `key` if there is one, else with a new key made beside it (0600)."""
    aside = aside_path(db)
    aside.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = SqliteStore(
        aside, store_id=store_id, device_id=device_id, receipt_prefix=receipt_prefix, emit_limit_per_minute=emit_limit
    )
    old = os.umask(0o077)  # the PIN hashes: the database, its -wal and -shm are made 0600
    try:
        store.open(create=True)
    finally:
        os.umask(old)
    try:
        store.use_key(key if key.exists() else aside.with_suffix(".key"))
    except BaseException:
        store.close()
        raise
    return store


def move_aside(db: Path) -> None:
    """An empty database already in place (one `caja init` made, closed, its log checkpointed) goes into the
    restore's folder, to come back complete: meanwhile no till starts on half a history."""
    aside = aside_path(db)
    if aside.exists():
        raise StoreError(f"both {db} and {aside} exist: delete {aside.parent} (a restore left it), then run it again")
    aside.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.replace(db, aside)
    for suffix in ("-wal", "-shm"):
        if (side := db.with_name(db.name + suffix)).exists():
            os.replace(side, aside.with_name(aside.name + suffix))


def put_in_place(db: Path, key: Path) -> None:
    """Move the complete restored database (closed) from its folder to `db`, and a key made for it to `key`, then
    drop the folder. `db` itself appears in one step: before it, no till; after it, the whole history."""
    aside = aside_path(db)
    if db.exists():
        raise StoreError(f"{db} appeared while the restore ran; the restored database is kept in {aside.parent}")
    if aside.with_suffix(".key").exists() and not key.exists():
        os.replace(aside.with_suffix(".key"), key)
    wal = aside.with_name(aside.name + "-wal")
    if wal.exists():  # SQLite removes it when the last connection closes; if not, it goes with the database
        os.replace(wal, db.with_name(db.name + "-wal"))
    aside.with_name(aside.name + "-shm").unlink(missing_ok=True)
    os.replace(aside, db)
    _sync_dir(db.parent)
    for leftover in aside.parent.iterdir():
        leftover.unlink()
    aside.parent.rmdir()


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
