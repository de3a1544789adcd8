"""One sync engine per database: an exclusive lock on a file beside it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO


def sync_lock(path: Path, *, wait: bool) -> TextIO | None:
    """Hold an exclusive lock on `path` (`<db>.sync.lock`) for the life of the process. The till starts
    `caja sync` as a child (CAJA_SYNC_CHILD=1), which leaves at once if a service holds the lock (None); a
    service waits for it."""
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
    return fh
