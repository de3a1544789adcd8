"""`caja till` (the default command) and `caja line`: the till on the screens, or line by line."""

from __future__ import annotations

import argparse
import os
import sys

from ..bootstrap import TillContext


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
    # Peewee looks for every database driver it knows when imported; a till only ever opens SQLite, and
    # PostgreSQL's driver (installed with the `server` extra) would cost the till ~15 MB and 60 ms.
    for driver in ("psycopg", "psycopg2"):
        sys.modules.setdefault(driver, None)  # type: ignore[arg-type]
    # Textual paints at most MAX_FPS frames a second and a change waits for the next frame; the till has
    # no animation, so a short frame period costs nothing idle and takes ~15 ms off every scan.
    os.environ.setdefault("TEXTUAL_FPS", "240")
    from ..tui.app import run_tui

    return run_tui(ctx, kiosk=getattr(args, "kiosk", False) or ctx.cfg.till.kiosk)


def cmd_line(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..tui.line import run_plain_till

    return run_plain_till(ctx)
