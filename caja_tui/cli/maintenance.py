"""Looking after the database: `caja rebuild`, `caja verify`, `caja archive`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..bootstrap import TillContext
from .errors import CliError


def add_rebuild(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("rebuild", parents=[common], help="drop and rebuild the read models from the events")
    s.set_defaults(handler=cmd_rebuild)


def add_verify(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("verify", parents=[common], help="check seq gaps, the hash chain and the read models")
    s.set_defaults(handler=cmd_verify)


def add_archive(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("archive", parents=[common], help="move old synced events into a compressed archive")
    s.add_argument("--older-than-days", type=int, default=90, metavar="N")
    s.add_argument("--vacuum", action="store_true", help="then shrink the file (needs free space of its size)")
    s.set_defaults(handler=cmd_archive)


COMMANDS = {"rebuild": add_rebuild, "verify": add_verify, "archive": add_archive}


def cmd_archive(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..store.archive import archive

    days, vacuum = args.older_than_days, args.vacuum
    if days < 0:
        raise CliError("--older-than-days must be 0 or more")
    with ctx.open_store() as store:
        store.checkpoint_wal("TRUNCATE")
        before = _file_size(store.path)
        r = archive(store, days)
        if vacuum:
            store.vacuum()
            store.checkpoint_wal("TRUNCATE")
        after = _file_size(store.path)
        pending = store.count_not_synced()
    print(
        f"archived {r.events} synced events older than {days} days in {r.chunks} chunks ({r.seconds:.1f} s): "
        f"{r.raw_bytes:,} bytes of events now take {r.packed_bytes:,} ({r.ratio:.1f}x smaller)"
    )
    print(
        f"database file: {before:,} -> {after:,} bytes"
        + ("" if vacuum else " (freed pages are reused; --vacuum shrinks the file)")
        + f"; {pending} unsynced events kept as they are"
    )
    return 0


def _file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def cmd_rebuild(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..store.maintenance import rebuild

    with ctx.open_store() as store:
        r = rebuild(store)
    print(
        f"rebuilt the read models from {r.events} events in {r.seconds:.2f} s ({r.per_second:,.0f} events/s)"
        + (f"; {r.unknown} events of unknown types kept but not projected" if r.unknown else "")
    )
    return 0


def cmd_verify(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..store.maintenance import verify

    t0 = time.perf_counter()
    with ctx.open_store() as store:
        report = verify(store)
        refused = store.count_refused()
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        print(
            f"ok: {report.events} events from {report.devices} device(s): no gaps, hash chains intact, "
            f"read models match a rebuild ({time.perf_counter() - t0:.1f} s)"
        )
        if refused:  # sound here, but not the store's: the server refused them
            from .sync import DIFFERS

            print(
                f"DIFFERS FROM THE STORE: {refused} event(s) of this till were refused by the server (`caja refused`)"
            )
            print(DIFFERS)
            return 1
        return 0
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"verify failed: {len(report.problems)} problem(s) in {ctx.cfg.db_path}")
    return 1
