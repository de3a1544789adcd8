"""The store's own errors: what the database could not do, said so that a person knows what to do next.

SQLite's own errors about the disk and the file (sqlite3's, or Peewee's wrapping of them) are turned into these
by `store_error`: a full disk (`DiskFull`), a disk that fails to write, a file that is damaged or is not a Caja
database at all (`BrokenDatabase`, also raised by `check_file` before a file is opened).
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path
from typing import Any

_IOERR, _CORRUPT, _FULL, _NOTADB = 10, 11, 13, 26  # SQLite's primary result codes


class StoreError(Exception):
    """The database cannot do what was asked; the message says what to do."""


class EmitLimitExceeded(StoreError):
    """The till tried to write more non-sale events than its limit allows (a runaway loop somewhere)."""


class DiskFull(StoreError):
    """The disk of the till's database is full: the transaction was rolled back, nothing of it was saved."""

    def __init__(self, path: Path, what: str = "the change") -> None:
        self.path, self.what = path, what
        super().__init__(
            f"disk full: {what} was not saved; free space on the till's disk ({path.parent}) or call whoever "
            "looks after this till"
        )

    def about(self, what: str) -> DiskFull:
        """The same error, naming what was not saved (`the sale`)."""
        return DiskFull(self.path, what)


class BrokenDatabase(StoreError):
    """The file is damaged, empty, or not a Caja database: the till cannot use it."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(f"{path} {problem}; {way_out(path)}")


def way_out(path: Path) -> str:
    """What to do with a database the till cannot use: leave it, and start from the server or a backup."""
    return (
        f"move it aside (mv {path} {path}.broken), then either rebuild the till from its server "
        "(caja restore --server URL; the config stays) or copy back your last "
        f'backup (a copy made with sqlite3 {path} ".backup FILE"), and run caja verify'
    )


def check_file(path: Path) -> None:
    """Refuse a file that exists but is empty (a leftover, never taken as a new till). Only its size is looked at:
    opening the file here, beside SQLite, would drop the POSIX locks SQLite holds on it in this process (closing
    any descriptor of a file releases them all) and break the other connections of a process that already has
    it open (a sync process opening a second store). Whether it is SQLite at all, and Caja's, SQLite says once it
    is open (`store_error`: not a database; migrations.foreign)."""
    if path.stat().st_size == 0:
        raise StoreError(
            f"{path} is an empty file (0 bytes), not a Caja database: if it is a leftover (of an interrupted "
            f"`caja init`), delete it and run `caja init` again; if it was this till's database, {way_out(path)}"
        )


FULL_CHECK_BYTES = 64 * 1024 * 1024  # checked whole at start up to this size (~60 ms on a PC, ~0.3 s on a Pi)
# what a till needs to sign someone in and sell, checked at every start whatever the size: all but the history
START_TABLES = (
    "meta",
    "device_state",
    "user",
    "pin_attempt",
    "cash_session",
    "draft_cart",
    "product",
    "barcode",
    "stock",
)


def check_pages(store: Any) -> None:
    """Refuse a damaged database (a SqliteStore, open) before a till starts selling on it.

    PRAGMA quick_check reads every page it checks, about 1 ms a MB when cached and far slower on an SD card: a
    database up to FULL_CHECK_BYTES is checked whole; a bigger one (years of history: 2.7 GB at a million events)
    only in what selling needs (START_TABLES and their indexes, with the schema), so a till starts in well under a
    second whatever its age. Damage in the history is told when it is met, with the same message, and `caja
    verify` reads it all."""
    conn = store._conn
    try:
        if store.path.stat().st_size <= FULL_CHECK_BYTES:
            found = [conn.execute("PRAGMA quick_check(1)").fetchone()[0]]
        else:
            found = [conn.execute(f"PRAGMA quick_check({table})").fetchone()[0] for table in START_TABLES]
    except sqlite3.DatabaseError as exc:
        found = [str(exc)]
    bad = next((f for f in found if f != "ok"), None)
    if bad is not None:  # SQLite's report, on one line
        bad = " ".join(bad.replace("*** in database main ***", "").split())
        raise BrokenDatabase(store.path, f"is damaged or is not a Caja database ({bad})")


def store_error(exc: BaseException, path: Path) -> StoreError | None:
    """The StoreError that says what to do about `exc` (None: not an error of the disk or the file)."""
    code, text = _sqlite_code(exc), str(exc)
    if code == _FULL or "database or disk is full" in text:
        return DiskFull(path)
    if code == _NOTADB or "file is not a database" in text:
        return BrokenDatabase(path, "is not a Caja database (not even a SQLite file), or its first page is damaged")
    if code == _CORRUPT or "malformed" in text:
        return BrokenDatabase(path, f"is damaged or is not a Caja database ({text})")
    if code == _IOERR:
        return StoreError(
            f"the till's disk failed to read or write {path} ({text}); nothing was saved: check the disk "
            "(is it full, or failing?) or call whoever looks after this till"
        )
    return None


def end_transaction(db: Any, ctx: Any, conn: sqlite3.Connection, failed: BaseException | None) -> BaseException | None:
    """Leave Peewee's transaction `ctx` of `db`: COMMIT, or ROLLBACK after `failed`; returns what ended it (None:
    it committed).

    When a write or the COMMIT fails for want of space, SQLite has rolled the transaction back already: the
    ROLLBACK that follows (Peewee's, after a failed COMMIT) finds none and complains, which hides the error that
    matters. That complaint is set aside, and the connection is left with no transaction open."""
    try:
        ctx.__exit__(*((type(failed), failed, failed.__traceback__) if failed is not None else (None, None, None)))
    except Exception as exc:  # noqa: BLE001 - the COMMIT's error, or a ROLLBACK's that finds nothing to undo
        while failed is None and exc.__context__ is not None and "rollback" in str(exc):
            exc = exc.__context__  # the COMMIT's own error, under the ROLLBACK's
        failed = failed or exc
        if db.transaction_depth() == 0 and conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
    return failed


def _sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of `exc`, or of the sqlite3 error Peewee wrapped in it."""
    for e in (exc, *exc.args[:1], exc.__context__):
        if isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) is not None:
            return e.sqlite_errorcode & 0xFF
    return None
