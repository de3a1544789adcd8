"""The one wiring place: the till's context, built once from the Config, and what it builds (the store, a
worker's second connection, the sync engine and the sync process beside the till).

Every entry point (the screens, the line-mode till, `caja sync`, the CLI's commands) takes a TillContext
instead of deriving paths, the money style or the time zone from the config again. Building a context opens
nothing, reads no file and imports nothing heavy: the store, the money style and the time zone are made
when first asked for (a bad time zone fails the commands that show times, not `caja status`).

The till's secrets are its owner's alone: the config (the sync token), the database (the PIN hashes) and
the device key are made mode 0600 (`caja init`, and `open_store(create=True)` here), and the first store a
context opens warns about any of them that other users of the machine can read (`warn_open_files`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .config import Config, PrinterConfig

if TYPE_CHECKING:
    import datetime

    from .application.receipts import Shop
    from .i18n import MoneyStyle
    from .store.sqlite import SqliteStore
    from .sync.engine import SyncEngine


@dataclass(frozen=True)
class TillPaths:
    """The files beside the till's database (`t1.db` -> `t1.tui.log`, `t1.sync.log`, ...)."""

    db: Path
    tui_log: Path  # the till's own log: sign-ins, refusals, crashes (rotated)
    sync_log: Path  # the sync engine's JSON lines when it runs beside the till (rotated)
    sync_err: Path  # the sync child's stderr: only a crash writes here
    sync_lock: Path  # one sync engine per database
    key: Path  # the till's device key (Ed25519, mode 0600): it signs every event this till writes

    @classmethod
    def of(cls, db: Path) -> TillPaths:
        return cls(
            db=db,
            tui_log=db.with_suffix(".tui.log"),
            sync_log=db.with_suffix(".sync.log"),
            sync_err=db.with_suffix(".sync.err"),
            sync_lock=db.with_suffix(".sync.lock"),
            key=db.with_suffix(".key"),
        )


class TillContext:
    """What every part of the till shares, derived once from its Config."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.paths = TillPaths.of(cfg.db_path)
        self._files_checked = False

    @property
    def printer(self) -> PrinterConfig:
        return self.cfg.printer

    @cached_property
    def money(self) -> MoneyStyle:
        """How amounts are shown and typed, in the shop's language."""
        from .i18n import money_style

        return money_style(self.cfg.till.currency, self.cfg.till.currency_exponent, self.cfg.till.language)

    @cached_property
    def tz(self) -> datetime.tzinfo:
        """The shop's time zone (`[till] timezone`; empty: this machine's)."""
        from .application.reports import zone

        return zone(self.cfg.till.timezone)

    @cached_property
    def shop(self) -> Shop:
        """The receipt's header, footer and money format."""
        from .application.receipts import shop_of

        return shop_of(self.cfg)

    # --- what it builds -------------------------------------------------------------------------------

    def open_store(self, *, create: bool = False) -> SqliteStore:
        from .store.sqlite import SqliteStore

        till = self.cfg.till
        store = SqliteStore(
            self.paths.db,
            store_id=till.store_id,
            device_id=till.device_id,
            receipt_prefix=self.cfg.receipt_prefix,
            emit_limit_per_minute=self.cfg.sync.emit_limit_per_minute,
        )
        if create and not self.paths.db.exists():
            with _private_files():  # the PIN hashes: SQLite makes the -wal and -shm with the database's mode
                store.open(create=True)
        else:
            store.open(create=create)
        if store.key is None:  # made by `caja init`, or by the first open of a release with keys
            try:
                store.use_key(self.paths.key)
            except BaseException:
                store.close()
                raise
        if not self._files_checked:
            self._files_checked = True
            self.warn_open_files()
        return store

    def warn_open_files(self) -> None:
        """A warning for each of the till's secret files that other users of this machine can read or change:
        in the till's log when one is set up (the screens, a service's journal), else on stderr (a command).
        Not an error: an installer may have its reasons. The till's own sync child leaves it to the till."""
        if os.environ.get("CAJA_SYNC_CHILD"):
            return
        db = self.paths.db
        files = [
            ([Path(self.cfg.path)] if self.cfg.path else [], "the sync token"),
            ([db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")], "the PIN hashes and every sale"),
            ([self.paths.key], "the key that signs this till's events"),
        ]
        for paths, holds in files:
            loose = [(path, mode) for path in paths if (mode := _open_mode(path)) is not None]
            if not loose:
                continue
            (path, mode), names = loose[0], " ".join(str(p) for p, _ in loose)
            text = f"{path} is open to other users of this machine (mode {mode:o}); it holds {holds}: chmod 600 {names}"
            if _files_log.hasHandlers():
                _files_log.warning("%s", text)
            else:
                print(f"caja: warning: {text}", file=sys.stderr)

    def side_store(self, of: SqliteStore | None = None) -> SqliteStore:
        """A second connection, for a worker thread (SQLite connections stay in the thread that made them), to
        the database `of` is open on (default: this till's), with its identity, receipt prefix and emit limit.
        Use it as a context manager: it closes itself."""
        if of is None:
            return self.open_store()
        from .store.sqlite import SqliteStore

        return SqliteStore(  # it signs what it writes with the till's key: open() finds the key file
            of.path,
            store_id=of.store_id,
            device_id=of.device_id,
            receipt_prefix=of.receipt_prefix,
            emit_limit_per_minute=of.emit_limit_per_minute,
        ).open()

    def sync_lock(self, *, wait: bool) -> TextIO | None:
        """The lock that keeps one sync engine per database (None: another holds it and `wait` is false)."""
        from .host.locks import sync_lock

        return sync_lock(self.paths.sync_lock, wait=wait)

    def build_sync(self, store: SqliteStore, *, log: logging.Handler | None = None) -> SyncEngine:
        """The sync engine for this till (no transport when no server is configured: offline only); its
        JSON-lines log goes to `log` (default: wherever the `caja.sync` logger already writes)."""
        from .host.logs import json_logger
        from .sync.engine import SyncEngine
        from .sync.transport import Transport

        sync = self.cfg.sync
        transport = Transport(sync.server_url, sync.token, ca_file=sync.ca_file) if sync.server_url else None
        logger = json_logger("caja.sync", log) if log is not None else logging.getLogger("caja.sync")
        return SyncEngine(store, transport, batch_size=sync.batch_size, batch_seconds=sync.batch_seconds, log=logger)

    def _paired_or_listed(self) -> bool:
        """Peers on, with static addresses or a till paired on the sync screen: a shop with no server."""
        if not self.cfg.peers.enabled:
            return False
        if self.cfg.peers.addresses:
            return True
        from .store.peers import paired_keys

        with self.open_store() as store:
            return bool(paired_keys(store))

    def start_sync_process(self) -> subprocess.Popen | None:
        """`caja sync` beside the till when a server or peers are configured. If a sync service already runs for this
        till, the child sees its lock and leaves at once (exit 0): one engine per database."""
        if not self.cfg.sync.server_url and not self._paired_or_listed():
            return None
        cmd = (
            [sys.executable, "-m", "caja_tui.cli"]
            + (["--config", self.cfg.path] if self.cfg.path else [])
            + ["sync", "--log", str(self.paths.sync_log)]
        )
        with open(self.paths.sync_err, "a", encoding="utf-8") as err:  # only a crash writes here
            return subprocess.Popen(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "CAJA_SYNC_CHILD": "1", "CAJA_TILL_PID": str(os.getpid())},
            )


_files_log = logging.getLogger("caja.files")


def _open_mode(path: Path) -> int | None:
    """The permission bits of the file at `path` if its group or others have any (None: none, or no file)."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o077 else None


@contextmanager
def _private_files() -> Iterator[None]:
    """Files made inside are their owner's alone (umask 077). The umask is the process's: only for a moment,
    while the database is made (`caja init`), before any other thread of the till runs."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def context(cfg: Config) -> TillContext:
    """The till's context: built once, by the entry point, from the loaded Config."""
    return TillContext(cfg)


def open_store(cfg: Config, *, create: bool = False) -> SqliteStore:
    """The till's database from a Config alone (scripts and tests that need nothing else)."""
    return context(cfg).open_store(create=create)
