"""`caja till` (the default command) and `caja line`: the till on the screens, or line by line."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from ..bootstrap import TillContext

if TYPE_CHECKING:
    from ..sync.engine import SyncEngine

QUIT_WAIT_S = 1.0  # quitting waits this long at most for the sync engine (never for the network)


def add_till(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("till", parents=[common], help="start the till (the default command)")
    s.add_argument(
        "--kiosk",
        action="store_true",
        default=argparse.SUPPRESS,
        help="leaving, suspending and the command palette need a manager PIN; a crash restarts the till",
    )
    s.set_defaults(handler=cmd_till)


def add_line(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("line", parents=[common], help="a line-mode till for terminals that cannot show the screens")
    s.set_defaults(handler=cmd_line)


COMMANDS = {"till": add_till, "line": add_line}


def cmd_till(ctx: TillContext, args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # no terminal to draw the screens on (a pipe, a script): the line-mode till reads the same input
        print("caja: not a terminal; starting the line-mode till (`caja line`)", file=sys.stderr)
        return cmd_line(ctx, args)
    # Textual paints at most MAX_FPS frames a second and a change waits for the next frame (after a frame, up
    # to two periods); the till has no animation, so a short period costs nothing idle: at 1000, a scan's
    # line shows ~3 ms sooner than at 240 (medians, 50,000 products), for the same CPU.
    os.environ.setdefault("TEXTUAL_FPS", "1000")
    from ..host.logs import to_till_file

    to_till_file(ctx.paths.tui_log)  # first: what the check's thread warns of goes to the till's log
    checked = _PagesChecked(ctx)
    from ..tui.app import run_tui

    return run_tui(ctx, kiosk=getattr(args, "kiosk", False) or ctx.cfg.till.kiosk, checked=checked)


class _PagesChecked:
    """The start's check for a damaged database (store/errors.check_pages: ~50 ms at a million events, far more
    on an SD card) on a thread and a connection of its own, while the screens' modules load: SQLite reads outside
    Python's lock, so the till is on screen that much sooner. Called, it waits for the check and raises what it
    found; run_tui calls it before anyone can sign in."""

    def __init__(self, ctx: TillContext) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(ctx,), name="caja-start-check", daemon=True)
        self._thread.start()

    def _run(self, ctx: TillContext) -> None:
        from ..store.errors import check_pages

        try:
            with ctx.open_store() as store:
                check_pages(store)
        except BaseException as exc:  # noqa: BLE001 - raised again in the till's own thread
            self._error = exc

    def __call__(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def cmd_line(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..tui.line import run_plain_till

    return run_plain_till(ctx, TillSync(ctx))


class TillSync:
    """The till's sync engine as a worker thread, on a connection of its own, while this process holds the
    database's sync lock (host/locks.py); without it (a `caja sync` service holds it) no engine runs here and
    the lock is tried again at each prompt, so the till takes over when the service stops."""

    def __init__(self, ctx: TillContext) -> None:
        self.ctx = ctx
        self.engine: SyncEngine | None = None
        self.thread: threading.Thread | None = None
        self.lock: TextIO | None = None

    def start(self) -> None:
        if not self.ctx.cfg.sync.server_url or self.engine is not None:
            return
        self.lock = self.ctx.sync_lock(wait=False)
        if self.lock is None:
            return
        from ..host.logs import rotating

        self.engine = self.ctx.build_sync(self.ctx.open_store(), log=rotating(self.ctx.paths.sync_log))
        self.thread = threading.Thread(target=self.engine.run, name="sync", daemon=True)
        self.thread.start()

    def notify(self) -> None:
        if self.engine is not None:
            self.engine.notify()

    def stop(self) -> None:
        """Stop the engine, waiting a second at most: a request in flight is left to its thread (sync/engine.py),
        and what it was sending goes again from the next engine (the server answers `duplicate`)."""
        if self.engine is None or self.thread is None:
            return
        self.engine.stop()
        self.thread.join(QUIT_WAIT_S)
        if not self.thread.is_alive():
            self.engine.store.close()
            if self.lock is not None:
                self.lock.close()
