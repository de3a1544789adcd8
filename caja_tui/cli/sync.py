"""This till and the server: `caja sync`, `caja status`, `caja conflicts`, `caja refused`, `caja restore` (its
handler is in newtill.py: it also makes a till on a new machine)."""

from __future__ import annotations

import argparse
import os
import sys

from ..bootstrap import TillContext
from .errors import CliError


def add_sync(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("sync", parents=[common], help="run the sync engine headless (a service beside the till)")
    s.add_argument("--once", action="store_true", help="push and pull once; exit 1 if anything failed")
    s.add_argument("--log", metavar="FILE", help="JSON-lines log to FILE, rotated at 1 MB, 3 kept (default: stderr)")
    s.add_argument(
        "--retry-failed",
        action="store_true",
        help="first put every event the server refused back in the queue (after a fix on the server's side)",
    )
    s.set_defaults(handler=cmd_sync)


def add_status(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("status", parents=[common], help="pending, failed, conflicts, oldest pending age, last sync")
    s.set_defaults(handler=cmd_status)


def add_conflicts(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("conflicts", parents=[common], help="list conflicts; a manager resolves the manual ones")
    s.set_defaults(handler=cmd_conflicts)
    cs = s.add_subparsers(dest="conflicts_command", metavar="ACTION")
    r = cs.add_parser("resolve", parents=[common], help="keep theirs or apply ours (asks the manager's PIN)")
    r.add_argument("event_id")
    r.add_argument("outcome", choices=("keep", "apply"))
    r.add_argument("--manager", required=True, metavar="USER_ID")
    r.add_argument("--note", default="")


def add_refused(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "refused", parents=[common], help="events the server refused; a manager reverts one (asks the PIN)"
    )
    s.set_defaults(handler=cmd_refused)
    rs = s.add_subparsers(dest="refused_command", metavar="ACTION")
    rs.add_parser("list", parents=[common], help="the refused events, and whether each can be reverted")
    r = rs.add_parser("revert", parents=[common], help="write the event that undoes one here (a manager's PIN)")
    r.add_argument("event_id")
    r.add_argument("--manager", required=True, metavar="USER_ID")


def add_restore(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "restore",
        parents=[common],
        help="rebuild this till from the server onto an empty database; on a new machine it makes the config and "
        "the database",
    )
    s.add_argument("--server", metavar="URL", help="the sync server (default: the config's [sync] server_url)")
    s.add_argument("--store", help="store id (default: the config's, else the one the token belongs to)")
    s.add_argument("--device", help="device id (default: the config's, else the one the token belongs to)")
    s.add_argument(
        "--db",
        help="database path for a new config (default: beside a config given by path, named after it; else in "
        "~/.local/share/caja)",
    )
    from .newtill import cmd_restore
    from .tokens import add_token_options

    add_token_options(s, otherwise="else $CAJA_TOKEN, else the config's, else it is asked (in a terminal)")
    s.set_defaults(handler=cmd_restore, standalone=True)


COMMANDS = {
    "sync": add_sync,
    "status": add_status,
    "conflicts": add_conflicts,
    "refused": add_refused,
    "restore": add_restore,
}


def _leave_with_the_till(stop) -> None:
    """The till's own sync child stops when the till that started it is gone, however it went (killed, its
    terminal closed): an orphan would hold the database's sync lock, and the till started again would take it for
    a sync service. A look a second at the parent's pid (it changes when the child is given to init), against the
    till's pid it was given at birth: a till killed while this child was still starting is noticed too."""
    import threading
    import time

    parent = int(os.environ.get("CAJA_TILL_PID") or os.getppid())

    def watch() -> None:
        while not stop.is_set() and os.getppid() == parent:
            time.sleep(1.0)
        stop.set()

    threading.Thread(target=watch, name="till-watch", daemon=True).start()


def cmd_sync(ctx: TillContext, args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading
    from pathlib import Path

    from ..host.logs import rotating, to_journal
    from ..peers.run import Peers, wanted

    server = bool(ctx.cfg.sync.server_url)
    if not server and not (ctx.cfg.peers.enabled and ctx.cfg.peers.addresses):
        with ctx.open_store() as store:
            if not wanted(ctx.cfg, store):
                raise CliError("no [sync] server_url and no peers in the config: this till works offline only")
    lock = ctx.sync_lock(wait=not os.environ.get("CAJA_SYNC_CHILD"))
    if lock is None:
        return 0  # the till's own sync child, while a sync service already runs for this database
    to_journal()
    with lock, ctx.open_store() as store:
        log = rotating(Path(args.log)) if args.log else logging.StreamHandler(sys.stderr)
        peer_log = logging.getLogger("caja.peers")
        peer_log.addHandler(log)
        peer_log.setLevel(logging.INFO)
        peer_log.propagate = False  # one line per message, in the sync log
        engine = ctx.build_sync(store, log=log)
        peers = Peers(ctx, store) if wanted(ctx.cfg, store) else None
        try:
            if args.retry_failed:
                print(f"{engine.outbox.retry_failed()} refused events put back in the queue")
            if args.once:
                return _once(engine, peers, server)
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            if os.environ.get("CAJA_SYNC_CHILD"):
                _leave_with_the_till(stop)
            if peers is not None:
                peers.start(stop)
            if server:
                engine.run(stop)
            else:
                while not stop.wait(1.0):
                    pass
            stop.set()
        finally:
            if peers is not None:
                peers.close()
    return 0


def _once(engine, peers, server: bool) -> int:
    """`caja sync --once`: push and pull with the server, one round with the peers (and relay), and say how it went."""
    ok = True
    if server:
        engine.outbox.recover()
        ok = engine.sync_once()
    taken = peers.sync.round() if peers is not None else 0
    m = engine.refresh_metrics()
    print(
        f"pushed {m.pushed}, pulled {m.pulled}; pending {m.pending}, failed {m.failed}, conflicts {m.conflicts}"
        + (f"; from peers {taken}" if peers is not None else "")
        + (f"; error: {m.last_error}" if not ok and m.last_error else "")
    )
    return 0 if ok and m.failed == 0 else 1


def cmd_status(ctx: TillContext, args: argparse.Namespace) -> int:
    import datetime

    from ..sync.engine import status

    cfg = ctx.cfg
    with ctx.open_store() as store:
        m = status(store)
        with store.read() as tx:
            failed = tx.failed_events(10)
    when = (
        datetime.datetime.fromtimestamp(m.last_sync_at / 1000).strftime("%Y-%m-%d %H:%M:%S")
        if m.last_sync_at
        else "never"
    )
    age = "-" if m.oldest_pending_age_s is None else _age(m.oldest_pending_age_s)
    print(
        f"till {cfg.till.device_id} of store {cfg.till.store_id}: server {cfg.sync.server_url or '(none: offline only)'}"
    )
    print(f"pending {m.pending}  failed {m.failed}  conflicts {m.conflicts} ({m.conflicts_open} waiting for a manager)")
    print(f"oldest pending {age}  last sync {when}  connectivity {m.connectivity}")
    if m.last_error:
        print(f"last error: {m.last_error}")
    if m.clock_warning and m.clock_skew_ms is not None:
        print(f"CLOCK WARNING: this till's clock is {m.clock_skew_ms / 1000:+.0f} s off the server's")
    _print_peers(ctx)
    for seq, type_, error, event_id in failed:
        print(f"failed: seq {seq} {type_}: {error} ({event_id})")
    if failed:
        print(DIFFERS)
    return 1 if m.failed else 0


def _print_peers(ctx: TillContext) -> None:
    """The shop's other tills as the sync process last saw them (peers/gossip.py)."""
    from ..domain.clock import system_ms
    from ..peers.state import read_state

    if not ctx.cfg.peers.enabled:
        print("peers: off ([peers] enabled = false)")
        return
    now = system_ms()
    for p in read_state(ctx.cfg.db_path):
        seen = _age((now - p["last_seen"]) / 1000) + " ago" if p.get("last_seen") else "never"
        state = f"error: {p['error']}" if p.get("error") else f"{p.get('behind', 0)} events behind"
        print(f"peer {p.get('device_id') or '?':<8} {p['address']:<21} last seen {seen:<10} {state}")


DIFFERS = (
    "this till differs from its store until the refused events are sent again (after a fix: `caja sync --once "
    "--retry-failed`) or reverted (`caja refused revert EVENT_ID --manager USER_ID`)"
)


def cmd_refused(ctx: TillContext, args: argparse.Namespace) -> int:
    """The events the server refused; a manager reverts one with its compensating event."""
    import getpass

    from ..domain.compensate import REVERTIBLE

    with ctx.open_store() as store:
        if args.refused_command == "revert":
            from ..application.refused import revert_refused
            from ..application.users import authenticate

            pin = os.environ.get("CAJA_MANAGER_PIN") or getpass.getpass(f"PIN of {args.manager}: ")
            authenticate(store, args.manager, pin)
            done = revert_refused(store, args.manager, args.event_id)
            print(f"reverted {args.event_id}: {done} written (it syncs like any other event)")
            return 0
        with store.read() as tx:
            failed = tx.failed_events(1000)
    for seq, type_, error, event_id in failed:
        how = "revert or send again" if type_ in REVERTIBLE else "send again only"
        print(f"{event_id}  seq {seq}  {type_:<18} {error[:60]}  ({how})")
    print(DIFFERS if failed else "no refused events: this till is in step with its store")
    return 1 if failed else 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cmd_conflicts(ctx: TillContext, args: argparse.Namespace) -> int:
    import datetime
    import getpass

    from ..store.outbox import Outbox

    with ctx.open_store() as store:
        if args.conflicts_command == "resolve":
            from ..application.conflicts import resolve_conflict
            from ..application.users import authenticate

            pin = os.environ.get("CAJA_MANAGER_PIN") or getpass.getpass(f"PIN of {args.manager}: ")
            authenticate(store, args.manager, pin)
            resolve_conflict(store, args.manager, args.event_id, args.outcome, args.note)
            print(f"conflict {args.event_id}: {args.outcome} (written as an event; it syncs like any other)")
            return 0
        rows = Outbox(store).conflicts()
    if not rows:
        print("no conflicts")
        return 0
    for event_id, other, resolution, type_, aggregate, detected, resolved_at, by, outcome in rows:
        when = datetime.datetime.fromtimestamp(detected / 1000).strftime("%Y-%m-%d %H:%M")
        state = (
            f"resolved by {by}: {outcome}"
            if resolved_at
            else "WAITING FOR A MANAGER"
            if resolution == "manual"
            else "settled automatically"
        )
        print(f"{when}  {type_:<16} {aggregate:<48} {resolution:<16} {state}\n    ours {event_id}  theirs {other}")
    return 0
