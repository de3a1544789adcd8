"""One sync engine per database: an exclusive lock on a file beside it (`<db>.sync.lock`).

Whoever runs an engine takes it: the `caja sync` service, the screens' `caja sync` child, the line-mode till's
worker thread (SyncEngine.run takes it itself unless its process already holds it). The lock is an flock on
an open file, so it goes with the process however that ends; a till that does not get it runs no engine,
leaves the outbox alone and says that the service syncs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

_held: dict[Path, TextIO] = {}  # the locks this process holds, by lock file


def lock_path(db: Path) -> Path:
    """The lock file of the database at `db` (bootstrap.TillPaths names the same file)."""
    return Path(db).with_suffix(".sync.lock")


def sync_lock(path: Path, *, wait: bool) -> TextIO | None:
    """Hold an exclusive lock on `path` (`<db>.sync.lock`) for as long as the returned file stays open. The till
    starts `caja sync` as a child (CAJA_SYNC_CHILD=1), which leaves at once if a service holds the lock (None); a
    service waits for it; the line-mode till tries again at each prompt."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            fh.close()
            return None
        print(f"caja sync: another sync process holds {path}; waiting for it to stop", file=sys.stderr)
        fcntl.flock(fh, fcntl.LOCK_EX)
    _held[path.resolve()] = fh
    return fh


def holds(path: Path) -> bool:
    """This process holds the lock on `path` (a file sync_lock returned is still open)."""
    fh = _held.get(path.resolve())
    return fh is not None and not fh.closed


@contextmanager
def engine_lock(db: Path) -> Iterator[bool]:
    """For an engine about to run on the database at `db`: True if this process holds its lock (taken here, and
    let go at the end, unless it already held it), False if another process does."""
    path = lock_path(db)
    if holds(path):
        yield True
        return
    fh = sync_lock(path, wait=False)
    try:
        yield fh is not None
    finally:
        if fh is not None:
            fh.close()
