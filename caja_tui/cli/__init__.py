"""The `caja` command. Every subcommand takes `--config`. Errors are one clear line, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from .. import __version__, config
from ..domain.errors import DomainError


class CliError(Exception):
    """A problem the user can fix; printed as one line."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH",
                        help="config file (default: $CAJA_CONFIG, else ~/.config/caja/config.toml)")

    p = argparse.ArgumentParser(prog="caja", parents=[common],
                                description="Caja: an offline-first cash register for the terminal.")
    p.add_argument("--version", action="version", version=f"caja {__version__}")
    p.add_argument("--kiosk", action="store_true", help="start the till in kiosk mode (see `caja till --kiosk`)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("init", parents=[common], help="write a config file if there is none and create its database")
    s.add_argument("--demo", action="store_true", help="also load the demo catalog and demo users")
    s.add_argument("--store", help="store id for a new config file")
    s.add_argument("--device", help="device id for a new config file")
    s.add_argument("--db", help="database path for a new config file")
    s.add_argument("--server", help="sync server URL for a new config file")
    s.add_argument("--token", help="sync token for a new config file")
    s.add_argument("--manager", metavar="NAME", help="the first manager's name (PIN from $CAJA_PIN or asked)")

    s = sub.add_parser("import-products", parents=[common], help="import products from a CSV file (all or nothing)")
    s.add_argument("file", metavar="FILE.csv")

    sub.add_parser("rebuild", parents=[common], help="drop and rebuild the read models from the events")
    sub.add_parser("verify", parents=[common], help="check seq gaps, the hash chain and the read models")

    s = sub.add_parser("archive", parents=[common], help="move old synced events into a compressed archive")
    s.add_argument("--older-than-days", type=int, default=90, metavar="N")
    s.add_argument("--vacuum", action="store_true", help="then shrink the file (needs free space of its size)")
    s = sub.add_parser("bench", parents=[common], help="measure this machine (see README)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--quick", action="store_true", help="smaller sizes; finishes in under 30 s")
    s.add_argument("--dir", help="where to put the scratch databases (default: a temporary folder)")

    s = sub.add_parser("till", parents=[common], help="start the till (the default command)")
    s.add_argument("--kiosk", action="store_true", default=argparse.SUPPRESS,
                   help="leaving, suspending and the command palette need a manager PIN; a crash restarts the till")
    sub.add_parser("line", parents=[common], help="a line-mode till for terminals that cannot show the screens")

    s = sub.add_parser("sync", parents=[common], help="run the sync engine headless (a service beside the till)")
    s.add_argument("--once", action="store_true", help="push and pull once; exit 1 if anything failed")
    s.add_argument("--log", metavar="FILE", help="JSON-lines log to FILE, rotated at 1 MB, 3 kept (default: stderr)")
    sub.add_parser("status", parents=[common], help="pending, failed, conflicts, oldest pending age, last sync")
    s = sub.add_parser("report", parents=[common], help="X (open session), Z (closed session) or day report")
    s.add_argument("kind", choices=("x", "z", "day"))
    s.add_argument("--date", help="the day for `day` (YYYY-MM-DD; default: today in the shop's time zone)")
    s.add_argument("--z", type=int, metavar="N", help="which Z report (default: the last)")
    s.add_argument("--format", choices=("text", "csv", "json"), default="text")
    s = sub.add_parser("users", parents=[common], help="cashiers and managers: list, add, edit (name, role, PIN)")
    us = s.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    us.add_parser("list", parents=[common], help="everyone who can sign in (and who cannot any more)")
    u = us.add_parser("add", parents=[common], help="add a cashier or manager; the PIN is asked twice "
                      "(or read from $CAJA_PIN)")
    u.add_argument("--name", required=True)
    u.add_argument("--role", choices=("cashier", "manager"), default="cashier")
    u = us.add_parser("edit", parents=[common], help="change a user's name or role, set a new PIN, or "
                      "deactivate (they can no longer sign in; their history stays)")
    u.add_argument("user_id")
    u.add_argument("--name")
    u.add_argument("--role", choices=("cashier", "manager"))
    u.add_argument("--pin", action="store_true", help="set a new PIN (asked twice, or $CAJA_PIN)")
    u.add_argument("--deactivate", action="store_true")
    u.add_argument("--activate", action="store_true")
    s = sub.add_parser("customers", parents=[common], help="add, find and edit customers; a customer's sales")
    cs = s.add_subparsers(dest="customers_command", metavar="ACTION", required=True)
    for name, helptext in (("add", "add a customer"), ("edit", "change a customer's fields")):
        c = cs.add_parser(name, parents=[common], help=helptext)
        if name == "edit":
            c.add_argument("customer_id")
        c.add_argument("--name", required=name == "add")
        c.add_argument("--tax-id", dest="tax_id")
        c.add_argument("--phone")
        c.add_argument("--email")
    c = cs.add_parser("find", parents=[common], help="find customers by name, tax id, phone or email")
    c.add_argument("text")
    c = cs.add_parser("sales", parents=[common], help="a customer's sales")
    c.add_argument("customer_id")
    s = sub.add_parser("export", parents=[common], help="sales, products, stock or events as CSV or JSON lines")
    s.add_argument("what", choices=("sales", "products", "stock", "events"))
    s.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (sales, events)")
    s.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, included (sales, events)")
    s.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    s.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    s = sub.add_parser("receipt", parents=[common], help="show (reprint) a past receipt")
    s.add_argument("receipt_no", metavar="RECEIPT")
    s.add_argument("--width", type=int, choices=(32, 42, 48), help="characters (default: [till] receipt_width)")
    s.add_argument("--print", action="store_true", help="also send it to the configured printer (via the queue)")
    s = sub.add_parser("print-queue", parents=[common], help="receipts waiting for the printer; --retry prints them")
    s.add_argument("--retry", action="store_true")
    s = sub.add_parser("conflicts", parents=[common], help="list conflicts; a manager resolves the manual ones")
    cs = s.add_subparsers(dest="conflicts_command", metavar="ACTION")
    r = cs.add_parser("resolve", parents=[common], help="keep theirs or apply ours (asks the manager's PIN)")
    r.add_argument("event_id")
    r.add_argument("outcome", choices=("keep", "apply"))
    r.add_argument("--manager", required=True, metavar="USER_ID")
    r.add_argument("--note", default="")
    s = sub.add_parser("restore", parents=[common], help="rebuild this till from the server onto an empty database")
    s.add_argument("--server", required=True, metavar="URL")
    s.add_argument("--token", required=True)

    s = sub.add_parser("install-service", parents=[common],
                       help="install a systemd unit: the till on a console (kiosk), its sync service, the "
                            "server; or the SSH forced command that lands a user in the till")
    s.add_argument("kind", choices=("till", "sync", "server", "ssh"))
    s.add_argument("--user", help="the account it runs as (default: the one running this command, or "
                                  "$SUDO_USER under sudo)")
    s.add_argument("--tty", default="tty1", help="till: the console it owns (default tty1)")
    s.add_argument("--db", help="server: its database (SQLite path or postgresql:// URL)")
    s.add_argument("--host", default="0.0.0.0", help="server: the address it listens on (default all)")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--root", default="/", help="install under this folder instead of / (an image being built)")
    s.add_argument("--now", action="store_true", help="then systemctl daemon-reload and enable --now it")
    s.add_argument("--print", action="store_true", help="only print what would be written")

    db_opt = argparse.ArgumentParser(add_help=False)
    db_opt.add_argument("--db", default=argparse.SUPPRESS, metavar="URL",
                        help="a SQLite path (default: ~/.local/share/caja/server.db) or postgresql://user:pw@host/db")
    s = sub.add_parser("serve", parents=[db_opt], help="run the sync server (see README)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--threads", type=int, default=4, help="threads per worker")
    s.add_argument("--rate", type=float, default=50.0, help="requests per second per device (0: no limit)")
    s.add_argument("--burst", type=int, default=100, help="requests a device may send at once")
    s.add_argument("--conflicts", choices=("manual", "last-write-wins"), default="manual",
                   help="how an update of a deleted product settles")
    s.add_argument("--log", metavar="FILE", help="JSON-lines access and error log (default: stderr)")
    ss = s.add_subparsers(dest="serve_command", metavar="ADMIN")
    e = ss.add_parser("enroll", parents=[db_opt], help="print a new token for a device")
    e.add_argument("--store", required=True)
    e.add_argument("--device", required=True)
    e = ss.add_parser("revoke", parents=[db_opt], help="end a device's token")
    e.add_argument("--device", required=True)
    e.add_argument("--store")
    e = ss.add_parser("devices", parents=[db_opt], help="list devices: last seen, last seq, clock skew")
    e.add_argument("--json", action="store_true")
    e = ss.add_parser("verify", parents=[db_opt], help="check the stored hash chains")
    e.add_argument("--device")
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
        from ..store.sqlite import StoreError

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
    cfg_path = getattr(args, "config", None)
    command = args.command or "till"
    if command == "init":
        return cmd_init(args, cfg_path)
    if command == "bench":
        from ..bench.figures import run_bench

        return run_bench(json_out=args.json, quick=args.quick, workdir=args.dir)
    if command == "serve":
        return cmd_serve(args)
    if command == "install-service":
        return cmd_install_service(args, cfg_path)
    cfg = config.load(cfg_path)
    if command == "import-products":
        return cmd_import(cfg, args.file)
    if command == "archive":
        return cmd_archive(cfg, args.older_than_days, vacuum=args.vacuum)
    if command == "rebuild":
        return cmd_rebuild(cfg)
    if command == "verify":
        return cmd_verify(cfg)
    if command == "sync":
        return cmd_sync(cfg, once=args.once, log=args.log)
    if command == "status":
        return cmd_status(cfg)
    if command == "report":
        return cmd_report(cfg, args)
    if command == "users":
        return cmd_users(cfg, args)
    if command == "customers":
        return cmd_customers(cfg, args)
    if command == "export":
        return cmd_export(cfg, args)
    if command == "receipt":
        return cmd_receipt(cfg, args.receipt_no, args.width, to_printer=args.print)
    if command == "print-queue":
        return cmd_print_queue(cfg, retry=args.retry)
    if command == "conflicts":
        return cmd_conflicts(cfg, args)
    if command == "restore":
        return cmd_restore(cfg, args.server, args.token)
    if command == "till":
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            # no terminal to draw the screens on (a pipe, a script): the line-mode till reads the same input
            print("caja: not a terminal; starting the line-mode till (`caja line`)", file=sys.stderr)
            from ..tui.line import run_plain_till

            return run_plain_till(cfg)
        # Peewee looks for every database driver it knows when imported; a till only ever opens SQLite, and
        # PostgreSQL's driver (installed with the `server` extra) would cost the till ~15 MB and 60 ms.
        for driver in ("psycopg", "psycopg2"):
            sys.modules.setdefault(driver, None)  # type: ignore[arg-type]
        # Textual paints at most MAX_FPS frames a second and a change waits for the next frame; the till has
        # no animation, so a short frame period costs nothing idle and takes ~15 ms off every scan.
        os.environ.setdefault("TEXTUAL_FPS", "240")
        from ..tui.app import run_tui

        return run_tui(cfg, kiosk=getattr(args, "kiosk", False) or cfg.till.kiosk)
    if command == "line":
        from ..tui.line import run_plain_till

        return run_plain_till(cfg)
    raise CliError(f"unknown command {command}")


def _open(cfg: config.Config):
    from ..bootstrap import open_store

    return open_store(cfg, create=False)


def _ask(question: str, default: str) -> str:
    answer = input(f"{question} [{default}]: ").strip() if default else input(f"{question}: ").strip()
    return answer or default


def cmd_init(args: argparse.Namespace, cfg_path: str | None) -> int:
    """Write a config (asking for what the flags did not give, in a terminal) and create the database;
    then the demo data, or the first manager."""
    path = config.resolve_path(cfg_path)
    flags = (args.store, args.device, args.db, args.server, args.token)
    interactive = sys.stdin.isatty() and not args.demo and not any(flags)
    if path.exists():
        cfg = config.load(str(path))
        print(f"config: {path} (kept as it is)")
    else:
        explicit = bool(cfg_path or os.environ.get("CAJA_CONFIG"))
        till = {"store_id": args.store, "device_id": args.device,
                # next to its config file and named after it (t1.toml -> t1.db): two tills never share a file
                "db": args.db or (f"{path.stem}.db" if explicit else str(config.data_dir() / "caja.db"))}
        sync = {"server_url": args.server, "token": args.token}
        if interactive:
            print(f"A new till: {path}. Enter keeps the value in brackets.")
            till["store_id"] = _ask("Store id (the same on every till of the shop)", "demo")
            till["device_id"] = _ask("Device id of this till (unique in the store)", "T01")
            sync["server_url"] = _ask("Sync server URL (empty: this till works offline only)", "") or None
            if sync["server_url"]:
                sync["token"] = _ask("Token (`caja serve enroll --store S --device D` on the server)", "")
        text = config.render(config.Config(
            till=config.TillConfig(**{k: v for k, v in till.items() if v is not None}),
            sync=config.SyncConfig(**{k: v for k, v in sync.items() if v is not None})))
        cfg = config.parse(text.encode(), str(path))  # validates what the flags or answers gave
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {path} ({exc.strerror})") from None
        print(f"config: wrote {path}")
    if cfg.sync.server_url and cfg.sync.token:
        _check_enrollment(cfg)
    from ..bootstrap import open_store

    with open_store(cfg, create=True) as store:
        print(f"database: {store.path} (schema {store.schema_version()})")
        if args.demo:
            from ..application.demo import CASHIER, MANAGER, load_demo

            if load_demo(store):
                with store.read() as tx:
                    n = tx.count_products()
                print(f"demo: {n} products with stock; users {MANAGER[0]} (manager, PIN {MANAGER[1]}) and "
                      f"{CASHIER[0]} (cashier, PIN {CASHIER[1]})")
            else:
                print("demo: the till already has products or users; left as it is")
        with store.read() as tx:
            has_users = tx.count_users() > 0
        if not has_users and (args.manager or interactive):
            from ..application.users import create_user

            name = args.manager or _ask("The first manager's name", "")
            if name:
                u = create_user(store, "system", name=name, role="manager", pin=ask_pin(f"{name}'s PIN"))
                print(f"manager: {u.name} (id {u.id}); add cashiers with `caja users add --name NAME`")
        elif not has_users and not cfg.sync.server_url:
            print("users: none yet; add the first manager with `caja users add --name NAME --role manager`")
    return 0


def _check_enrollment(cfg: config.Config) -> None:
    """Tell the installer at once whether the server knows this till's token (the till works either way)."""
    from ..sync.transport import Transport, TransportError

    try:
        me = Transport(cfg.sync.server_url, cfg.sync.token, timeout=(3.0, 5.0)).devices_me()
    except TransportError as exc:
        print(f"server: {cfg.sync.server_url} not confirmed ({exc}); the till works offline meanwhile")
        return
    if (me.store_id, me.device_id) != (cfg.till.store_id, cfg.till.device_id):
        print(f"server: WARNING the token belongs to store {me.store_id} device {me.device_id}, not "
              f"{cfg.till.store_id}/{cfg.till.device_id}; fix the config before syncing")
    else:
        print(f"server: {cfg.sync.server_url} knows this till ({me.store_id}/{me.device_id})")


class RotatingLog:
    """A stream for the sync log that never fills an SD card: a file rotated at 1 MB, three kept."""

    def __init__(self, path: Path) -> None:
        import logging
        from logging.handlers import RotatingFileHandler

        path.parent.mkdir(parents=True, exist_ok=True)
        self._logging = logging
        self.handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(message)s"))

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.handler.emit(self._logging.makeLogRecord({"msg": line}))

    def flush(self) -> None:
        self.handler.flush()


def cmd_sync(cfg: config.Config, *, once: bool, log: str | None = None) -> int:
    import signal
    import threading

    from ..bootstrap import build_sync

    if not cfg.sync.server_url:
        raise CliError("no [sync] server_url in the config: this till works offline only")
    lock = _sync_lock(cfg, wait=not os.environ.get("CAJA_SYNC_CHILD"))
    if lock is None:
        return 0  # the till's own sync child, while a sync service already runs for this database
    with lock, _open(cfg) as store:
        engine = build_sync(cfg, store, log_stream=RotatingLog(Path(log)) if log else sys.stderr)
        if once:
            engine.outbox.recover()
            ok = engine.sync_once()
            m = engine.refresh_metrics()
            print(f"pushed {m.pushed}, pulled {m.pulled}; pending {m.pending}, failed {m.failed}, "
                  f"conflicts {m.conflicts}" + (f"; error: {m.last_error}" if not ok and m.last_error else ""))
            return 0 if ok and m.failed == 0 else 1
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        engine.run(stop)
    return 0


def _sync_lock(cfg: config.Config, *, wait: bool):
    """One sync engine per database: an exclusive lock on `<db>.sync.lock`. The till starts `caja sync` as a
    child (CAJA_SYNC_CHILD=1), which leaves at once if a service holds the lock; a service waits for it."""
    import fcntl

    path = cfg.db_path.with_suffix(".sync.lock")
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


def cmd_status(cfg: config.Config) -> int:
    import datetime

    from ..sync.engine import status

    with _open(cfg) as store:
        m = status(store)
        failed = store.conn.execute("SELECT seq, type, sync_error FROM event WHERE sync_status = 'failed' "
                                    "ORDER BY seq LIMIT 10").fetchall()
    when = (datetime.datetime.fromtimestamp(m.last_sync_at / 1000).strftime("%Y-%m-%d %H:%M:%S")
            if m.last_sync_at else "never")
    age = "-" if m.oldest_pending_age_s is None else _age(m.oldest_pending_age_s)
    print(f"till {cfg.till.device_id} of store {cfg.till.store_id}: server {cfg.sync.server_url or '(none: offline only)'}")
    print(f"pending {m.pending}  failed {m.failed}  conflicts {m.conflicts} ({m.conflicts_open} waiting for a manager)")
    print(f"oldest pending {age}  last sync {when}  connectivity {m.connectivity}")
    if m.last_error:
        print(f"last error: {m.last_error}")
    if m.clock_warning and m.clock_skew_ms is not None:
        print(f"CLOCK WARNING: this till's clock is {m.clock_skew_ms / 1000:+.0f} s off the server's")
    for seq, type_, error in failed:
        print(f"failed: seq {seq} {type_}: {error}")
    return 1 if m.failed else 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def cmd_report(cfg: config.Config, args: argparse.Namespace) -> int:
    import datetime

    from ..application import reports

    tz = reports.zone(cfg.till.timezone)
    money = {"currency": cfg.till.currency, "exponent": cfg.till.currency_exponent, "tz": tz}
    with _open(cfg) as store:
        if args.kind == "x":
            report = reports.x_report(store, **money)
        elif args.kind == "z":
            report = reports.z_report(store, args.z, **money)
        else:
            day = _date(args.date, "--date") or datetime.datetime.now(tz).date()
            report = reports.day_report(store, day, **money)
    text = reports.render(report, args.format, language=cfg.till.language)  # text in the shop's language
    sys.stdout.write(text + ("\n" if args.format == "json" else ""))
    return 0


def ask_pin(prompt: str = "PIN") -> str:
    """A PIN from $CAJA_PIN (scripts, installers) or typed twice without echo."""
    import getpass

    if os.environ.get("CAJA_PIN"):
        return os.environ["CAJA_PIN"]
    if not sys.stdin.isatty():
        raise CliError("set $CAJA_PIN or run this in a terminal to type the PIN")
    first = getpass.getpass(f"{prompt} (4-8 digits): ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise CliError("the two PINs differ; nothing was changed")
    return first


def cmd_users(cfg: config.Config, args: argparse.Namespace) -> int:
    from ..application import users

    with _open(cfg) as store:
        match args.users_command:
            case "list":
                with store.read() as tx:
                    people = tx.users(active_only=False)
                for u in people:
                    print(f"{u.id:<20} {u.name:<24} {u.role:<8} {'' if u.active else 'deactivated'}")
                if not people:
                    print("no users yet: `caja users add --name NAME --role manager` adds the first manager")
            case "add":
                u = users.create_user(store, "system", name=args.name, role=args.role, pin=ask_pin())
                print(f"added {u.name} ({u.role}), id {u.id}")
            case "edit":
                if args.activate and args.deactivate:
                    raise CliError("--activate or --deactivate, not both")
                active = True if args.activate else False if args.deactivate else None
                u = users.update_user(store, "system", args.user_id, name=args.name, role=args.role,
                                      pin=ask_pin("new PIN") if args.pin else None, active=active)
                print(f"saved {u.name} ({u.role}{'' if u.active else ', deactivated'})")
    return 0


def cmd_customers(cfg: config.Config, args: argparse.Namespace) -> int:
    import datetime

    from ..application import customers
    from ..domain.money import format_money

    fields = {k: getattr(args, k, None) for k in ("name", "tax_id", "phone", "email")}
    fields = {k: v for k, v in fields.items() if v is not None}
    with _open(cfg) as store:
        match args.customers_command:
            case "add":
                print(customers.create_customer(store, "system", **fields))
            case "edit":
                customers.update_customer(store, "system", args.customer_id, **fields)
                print("saved")
            case "find":
                with store.read() as tx:
                    found = tx.find_customers(args.text)
                for c in found:
                    print(f"{c['id']}  {c['name']:<32} {c['tax_id']:<14} {c['phone']:<16} {c['email']}")
                if not found:
                    print("no customer matches")
            case "sales":
                with store.read() as tx:
                    rows = tx.sales_of_customer(args.customer_id)
                for receipt, created, total in rows:
                    when = datetime.datetime.fromtimestamp(created / 1000).strftime("%Y-%m-%d %H:%M")
                    print(f"{receipt:<14} {when}  {format_money(total, cfg.till.currency_exponent):>12}")
                if not rows:
                    print("no sales for that customer")
    return 0


def _date(value: str | None, flag: str):
    """A YYYY-MM-DD option, or None when it was not given."""
    import datetime

    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        raise CliError(f"{flag} '{value}' is not a date like 2026-11-27") from None


def cmd_export(cfg: config.Config, args: argparse.Namespace) -> int:
    from ..application.export import export
    from ..application.reports import zone

    days = {"start": _date(args.start, "--from"), "end": _date(args.end, "--to")}
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        with _open(cfg) as store:
            for chunk in export(store, args.what, args.format, exponent=cfg.till.currency_exponent,
                                tz=zone(cfg.till.timezone), start=days["start"], end=days["end"]):
                out.write(chunk)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_print_queue(cfg: config.Config, *, retry: bool) -> int:
    import datetime

    from ..host.printing import print_pending, queued

    with _open(cfg) as store:
        if retry:
            printed, error = print_pending(store, cfg.printer, limit=1000)
            print(f"printed {printed}" + (f"; the printer said: {error}" if error else ""))
        jobs = queued(store)
    for job_id, _sale_id, attempts, error, created in jobs:
        when = datetime.datetime.fromtimestamp(created / 1000).strftime("%Y-%m-%d %H:%M")
        print(f"#{job_id} {when} tries {attempts}: {error or 'waiting'}")
    print(f"{len(jobs)} receipt(s) waiting for the printer" if jobs else "nothing waiting for the printer")
    return 1 if jobs else 0


def cmd_receipt(cfg: config.Config, receipt_no: str, width: int | None, *, to_printer: bool = False) -> int:
    from ..application.receipts import render_receipt, shop_of
    from ..application.reports import zone
    from ..application.sales import find_sale

    with _open(cfg) as store:
        sale = find_sale(store, receipt_no)
        with store.read() as tx:
            user = tx.user(sale.actor)
    text = render_receipt(sale, shop_of(cfg), width=width or cfg.till.receipt_width, tz=zone(cfg.till.timezone),
                          cashier=user.name if user else None, reprint=True)
    sys.stdout.write(text)
    if to_printer:
        from ..host.printing import enqueue, print_pending

        with _open(cfg) as store:
            enqueue(store, text, sale_id=sale.id)
            printed, error = print_pending(store, cfg.printer)
        if error:
            print(f"caja: the receipt waits in the print queue: {error}", file=sys.stderr)
            return 1
    return 0


def cmd_conflicts(cfg: config.Config, args: argparse.Namespace) -> int:
    import datetime
    import getpass

    from ..store.outbox import Outbox

    with _open(cfg) as store:
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
        state = (f"resolved by {by}: {outcome}" if resolved_at else
                 "WAITING FOR A MANAGER" if resolution == "manual" else "settled automatically")
        print(f"{when}  {type_:<16} {aggregate:<48} {resolution:<16} {state}\n    ours {event_id}  theirs {other}")
    return 0


def cmd_restore(cfg: config.Config, server: str, token: str) -> int:
    from ..sync.restore import restore
    from ..sync.transport import Transport, TransportError

    transport = Transport(server, token)
    try:
        with _open(cfg) as store:
            r = restore(store, transport)
    except TransportError as exc:
        raise CliError(f"restore failed, nothing kept beyond what was fully received: {exc}", 1) from None
    print(f"restored {r.events} events ({r.own_events} of this till, up to seq {r.last_seq}) in {r.seconds:.1f} s "
          f"({r.events / max(r.seconds, 1e-9):,.0f} events/s); this till's next event continues its chain")
    return 0


def cmd_install_service(args: argparse.Namespace, cfg_path: str | None) -> int:
    import getpass
    import pwd

    from ..host import services

    user = args.user or os.environ.get("SUDO_USER") or getpass.getuser()
    try:
        home = pwd.getpwnam(user).pw_dir
    except KeyError:
        raise CliError(f"there is no user '{user}' on this machine; create it first (adduser {user})") from None
    kw: dict = {"user": user, "home": home}
    if args.kind in ("till", "sync", "ssh"):
        path = config.resolve_path(cfg_path)
        if not path.exists():
            raise CliError(f"no config at {path}: run `caja --config {path} init` first")
        cfg = config.load(str(path))
        if args.kind == "sync" and not cfg.sync.server_url:
            raise CliError(f"{path} has no [sync] server_url: this till works offline, there is nothing to sync")
        kw.update(config=str(path.resolve()), tty=args.tty)
    else:
        from ..server import run

        kw.update(db=args.db or run.default_db(), host=args.host, port=args.port, workers=args.workers)
    if args.print:
        print(services.render(args.kind, **kw)[1], end="")
        return 0
    try:
        done = services.install(args.kind, Path(args.root), **kw)
    except PermissionError:
        raise CliError("cannot write there: run it with sudo (or use --root DIR)") from None
    print(f"wrote {done.path}")
    if done.unit is None:
        print("reload sshd to apply it: systemctl reload ssh")
        return 0
    if args.now and args.root == "/":
        import subprocess

        try:
            services.enable_now(done.unit)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise CliError(f"systemctl failed: {getattr(exc, 'stderr', '') or exc}") from None
        print(f"enabled and started {done.unit}")
    else:
        print(f"start it with: systemctl daemon-reload && systemctl enable --now {done.unit}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from ..server import run
    except ImportError as exc:
        raise CliError(f"the server needs its extra: pip install 'caja[server]' ({exc.name} is missing)") from None
    import re

    db = getattr(args, "db", None) or run.default_db()
    ident = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    match args.serve_command:
        case "enroll":
            for what, value in (("store", args.store), ("device", args.device)):
                if not ident.match(value):
                    raise CliError(f"--{what} '{value}' must be 1-64 letters, digits, '.', '_' or '-'")
            return run.enroll(db, args.store, args.device)
        case "revoke":
            return run.revoke(db, args.device, args.store)
        case "devices":
            return run.devices(db, args.json)
        case "verify":
            return run.verify(db, args.device)
    return run.serve(db=db, host=args.host, port=args.port, workers=args.workers, threads=args.threads,
                     rate=args.rate, burst=args.burst, conflict_rule=args.conflicts, log_path=args.log)


def cmd_import(cfg: config.Config, file: str) -> int:
    from ..application.importing import ImportError_, import_rows, parse_csv

    path = Path(file)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise CliError(f"{file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{file}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    except OSError as exc:
        raise CliError(f"{file}: cannot read ({exc.strerror})") from None
    t0 = time.perf_counter()
    try:
        rows = parse_csv(text, cfg.till.currency_exponent)
        with _open(cfg) as store:
            result = import_rows(store, "system", rows)
    except ImportError_ as exc:
        for err in exc.errors:
            print(f"caja: {file}: {err}", file=sys.stderr)
        print(f"caja: {file}: nothing was imported; fix the line(s) above and run the import again",
              file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    print(f"imported {len(rows)} products from {file} in {seconds:.2f} s: {result.created} new, "
          f"{result.updated} updated, {result.unchanged} unchanged, {result.counted} stock counts")
    return 0


def cmd_archive(cfg: config.Config, days: int, *, vacuum: bool) -> int:
    from ..store.archive import archive

    if days < 0:
        raise CliError("--older-than-days must be 0 or more")
    with _open(cfg) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = _file_size(store.path)
        r = archive(store, days)
        if vacuum:
            store.conn.execute("VACUUM")
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = _file_size(store.path)
        pending = store.count("SELECT COUNT(*) FROM event WHERE sync_status != 'synced'")
    print(f"archived {r.events} synced events older than {days} days in {r.chunks} chunks ({r.seconds:.1f} s): "
          f"{r.raw_bytes:,} bytes of events now take {r.packed_bytes:,} ({r.ratio:.1f}x smaller)")
    print(f"database file: {before:,} -> {after:,} bytes" + ("" if vacuum else
          " (freed pages are reused; --vacuum shrinks the file)") + f"; {pending} unsynced events kept as they are")
    return 0


def _file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def cmd_rebuild(cfg: config.Config) -> int:
    from ..store.maintenance import rebuild

    with _open(cfg) as store:
        r = rebuild(store)
    print(f"rebuilt the read models from {r.events} events in {r.seconds:.2f} s ({r.per_second:,.0f} events/s)"
          + (f"; {r.unknown} events of unknown types kept but not projected" if r.unknown else ""))
    return 0


def cmd_verify(cfg: config.Config) -> int:
    from ..store.maintenance import verify

    t0 = time.perf_counter()
    with _open(cfg) as store:
        report = verify(store)
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        print(f"ok: {report.events} events from {report.devices} device(s): no gaps, hash chains intact, "
              f"read models match a rebuild ({time.perf_counter() - t0:.1f} s)")
        return 0
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"verify failed: {len(report.problems)} problem(s) in {cfg.db_path}")
    return 1
