"""The `caja` command. Every subcommand takes `--config`. Errors are one clear line, never a traceback.

Each family of commands is a module that adds its own sub-parsers, each with `set_defaults(handler=...)`:
till.py (till, line), setup.py (init, users, install-service), catalogue.py (import-products, customers),
books.py (report, receipt, export, print-queue), settings.py (settings), maintenance.py (rebuild, verify, archive), sync.py (sync,
status, conflicts, restore), serve.py (serve and its admin commands), bench.py. A handler takes the till's
context (bootstrap.TillContext, built here from the config) and the arguments; the few that need no till
(`standalone`: init, install-service, serve, bench) take the arguments alone.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from .. import __version__, config
from ..domain.errors import DomainError
from . import bench, books, catalogue, maintenance, serve, settings, setup, sync, till, tokens
from .errors import CliError

__all__ = ["TABLE", "CliError", "main"]

TABLE = {  # every command and the module that adds its parser and handler, in the order `caja --help` lists them
    "init": setup,
    "import-products": catalogue,
    "rebuild": maintenance,
    "verify": maintenance,
    "archive": maintenance,
    "bench": bench,
    "till": till,
    "line": till,
    "sync": sync,
    "status": sync,
    "report": books,
    "users": setup,
    "settings": settings,
    "token": tokens,
    "customers": catalogue,
    "export": books,
    "receipt": books,
    "print-queue": books,
    "conflicts": sync,
    "refused": sync,
    "restore": sync,
    "install-service": setup,
    "serve": serve,
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="config file (default: $CAJA_CONFIG, else ~/.config/caja/config.toml)",
    )

    p = argparse.ArgumentParser(
        prog="caja", parents=[common], description="Caja: an offline-first cash register for the terminal."
    )
    p.add_argument("--version", action="version", version=f"caja {__version__}")
    p.add_argument("--kiosk", action="store_true", help="start the till in kiosk mode (see `caja till --kiosk`)")
    p.set_defaults(handler=till.cmd_till)  # `caja` alone starts the till
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, family in TABLE.items():
        family.COMMANDS[name](sub, common)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except CliError as exc:
        print(f"caja: {exc}", file=sys.stderr)
        return exc.code
    except config.ConfigError as exc:
        print(f"caja: config error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"caja: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("caja: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: log it, say it calmly
        from ..store.errors import StoreError

        if isinstance(exc, StoreError):
            print(f"caja: {exc}", file=sys.stderr)
            return 1
        log = _crash_log(exc)
        print(f"caja: unexpected error: {exc.__class__.__name__}: {exc} (details in {log})", file=sys.stderr)
        return 1


def _crash_log(exc: BaseException) -> Path:
    path = config.data_dir() / "caja-errors.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        pass
    return path


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "standalone", False):
        return args.handler(args)
    from ..bootstrap import context

    _without_postgresql_driver()  # a till's command: SQLite only (the server's commands are standalone)
    ctx = context(config.load(getattr(args, "config", None)))
    try:
        return args.handler(ctx, args)
    except Exception as exc:
        mapped = _store_error(exc, ctx.paths.db)
        if mapped is None:
            raise
        raise mapped from exc


def _without_postgresql_driver() -> None:
    """A till never talks to PostgreSQL, but Peewee imports its driver when it is installed (the server extra beside
    the till, as in a developer's venv): ~10 MB of the till's memory and ~80 ms of every command's start (`caja
    status` 0.36 -> 0.26 s here) for nothing. Marked missing, it is not loaded."""
    if "peewee" not in sys.modules:
        for name in ("psycopg", "psycopg2"):
            sys.modules.setdefault(name, None)  # type: ignore[assignment]


def _store_error(exc: Exception, db: Path) -> Exception | None:
    """What to do about an error of SQLite's met past the store's own mapping (a damaged page found by a read)
    about the till's database `db`: the store's clear message, naming the file and the way out."""
    import sqlite3

    from peewee import DatabaseError

    from ..store.errors import store_error

    return store_error(exc, db) if isinstance(exc, sqlite3.Error | DatabaseError) else None
