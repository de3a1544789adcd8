"""`caja serve`: the sync server, and its admin commands (enroll, revoke, devices, verify, rebuild, owners)."""

from __future__ import annotations

import argparse

from ..config import HQ_DEVICE
from .errors import CliError


def add_serve(sub, common: argparse.ArgumentParser) -> None:
    db_opt = argparse.ArgumentParser(add_help=False)
    db_opt.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="a SQLite path (default: ~/.local/share/caja/server.db) or postgresql://user:pw@host/db",
    )
    s = sub.add_parser("serve", parents=[db_opt], help="run the sync server (see README)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--threads", type=int, default=4, help="threads per worker")
    s.add_argument("--rate", type=float, default=50.0, help="requests per second per device (0: no limit)")
    s.add_argument("--burst", type=int, default=100, help="requests a device may send at once")
    s.add_argument(
        "--conflicts",
        choices=("manual", "last-write-wins"),
        default="manual",
        help="how an update of a deleted product settles",
    )
    s.add_argument("--log", metavar="FILE", help="JSON-lines access and error log (default: stderr)")
    s.add_argument("--certfile", metavar="PEM", help="serve https with this certificate (chain); needs --keyfile")
    s.add_argument("--keyfile", metavar="PEM", help="the certificate's private key (unencrypted PEM)")
    s.add_argument(
        "--hq-key",
        metavar="FILE",
        help="the key the server signs owners' edits with, made there if missing (default: DB.hq.key beside a "
        "SQLite database, ~/.local/share/caja/hq.key for PostgreSQL; servers sharing a database share it)",
    )
    s.set_defaults(handler=cmd_serve, standalone=True)
    ss = s.add_subparsers(dest="serve_command", metavar="ADMIN")
    e = ss.add_parser("enroll", parents=[db_opt], help="print a new token for a device (or for /metrics)")
    e.add_argument("--store")
    e.add_argument("--device")
    e.add_argument("--rekey", action="store_true", help="also forget its device key, so it can register a new one")
    e.add_argument("--metrics", action="store_true", help="a token that reads /metrics (the one before stops working)")
    e = ss.add_parser("revoke", parents=[db_opt], help="end a device's token (or the metrics token)")
    e.add_argument("--device")
    e.add_argument("--store", help="the device's store (needed when its id is in several stores)")
    e.add_argument("--metrics", action="store_true", help="end the metrics token")
    e = ss.add_parser("devices", parents=[db_opt], help="list devices: last seen, last seq, clock skew")
    e.add_argument("--json", action="store_true")
    e = ss.add_parser("verify", parents=[db_opt], help="check the stored hash chains and the owner's read models")
    e.add_argument("--device")
    ss.add_parser("rebuild", parents=[db_opt], help="rebuild the owner's read models (/hq/) from the stored events")
    e = ss.add_parser(
        "hq-rekey",
        parents=[db_opt],
        help="the stores' HQ device (owners' edits) signs with this server's key from now on",
    )
    e.add_argument("--hq-key", metavar="FILE", help="the key file (default: as caja serve finds it)")
    _add_owners(ss, db_opt)


def _add_owners(ss, db_opt: argparse.ArgumentParser) -> None:
    o = ss.add_parser("owners", help="the owners who log in to the back office (/hq/)")
    os_ = o.add_subparsers(dest="owners_command", metavar="ACTION", required=True)
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument(
        "--password-file",
        metavar="FILE",
        help="read the password from FILE's first line ('-': standard input); "
        "without it, it is asked twice at a prompt (never on the command line)",
    )
    e = os_.add_parser("add", parents=[db_opt, secret], help="add an owner", allow_abbrev=False)
    e.add_argument("name")
    e.add_argument("--stores", required=True, help="the stores they see: ids separated by commas, or 'all'")
    e = os_.add_parser(
        "edit", parents=[db_opt, secret], help="change an owner's password or stores", allow_abbrev=False
    )
    e.add_argument("name")
    e.add_argument("--stores", help="the stores they see from now on: ids separated by commas, or 'all'")
    e.add_argument("--password", action="store_true", help="set a new password (prompt, or --password-file)")
    e = os_.add_parser("list", parents=[db_opt], help="list the owners and the stores they see")
    e.add_argument("--json", action="store_true")
    e = os_.add_parser("remove", parents=[db_opt], help="remove an owner (their sessions end)")
    e.add_argument("name")


COMMANDS = {"serve": add_serve}


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
            if args.metrics:
                if args.store or args.device or args.rekey:
                    raise CliError("--metrics makes the metrics token: no --store, --device or --rekey with it")
                return run.enroll_metrics(db)
            for what, value in (("store", args.store), ("device", args.device)):
                if not value:
                    raise CliError(f"--{what} is needed (or --metrics for the metrics token)")
                if not ident.match(value):
                    raise CliError(f"--{what} '{value}' must be 1-64 letters, digits, '.', '_' or '-'")
            if args.device == HQ_DEVICE:
                raise CliError("HQ is the server's own device in each store (owners' edits): give the till another id")
            return run.enroll(db, args.store, args.device, rekey=args.rekey)
        case "revoke":
            if args.metrics == bool(args.device):
                raise CliError("say what to revoke: --device DEVICE [--store STORE], or --metrics")
            return run.revoke(db, args.device, args.store, metrics=args.metrics)
        case "devices":
            return run.devices(db, args.json)
        case "verify":
            chains = run.verify(db, args.device)
            return max(chains, _hq().verify(db)) if args.device is None else chains
        case "rebuild":
            return _hq().rebuild(db)
        case "hq-rekey":
            return _hq().hq_rekey(db, args.hq_key)
        case "owners":
            return _owners(args, db)
    problem = run.check_tls(args.certfile, args.keyfile)
    if problem:
        raise CliError(problem)
    admin = _hq()
    try:
        hq_key = admin.setup(db, args.hq_key)
    except admin.device.HqKeyError as exc:
        raise CliError(str(exc)) from None
    return run.serve(
        db=db,
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        rate=args.rate,
        burst=args.burst,
        conflict_rule=args.conflicts,
        log_path=args.log,
        tls=(args.certfile, args.keyfile) if args.certfile else None,
        hq_key=hq_key,
    )


def _hq():
    try:
        from ..server.hq import admin
    except ImportError as exc:
        raise CliError(f"the server needs its extra: pip install 'caja[server]' ({exc.name} is missing)") from None
    return admin


def _owners(args: argparse.Namespace, db: str) -> int:
    from ..server.hq.owners import OwnerError, parse_stores

    admin = _hq()
    try:
        match args.owners_command:
            case "add":
                return admin.owners_add(db, args.name, _password(args), parse_stores(args.stores))
            case "edit":
                if not args.password and not args.password_file and args.stores is None:
                    raise CliError("say what changes: --stores, --password or --password-file")
                password = _password(args) if args.password or args.password_file else None
                stores = parse_stores(args.stores) if args.stores is not None else None
                return admin.owners_edit(db, args.name, password, stores)
            case "remove":
                return admin.owners_remove(db, args.name)
            case _:
                return admin.owners_list(db, args.json)
    except OwnerError as exc:
        raise CliError(str(exc)) from None


def _password(args: argparse.Namespace) -> str:
    """From --password-file (first line), else typed twice at a prompt without echo."""
    import getpass
    import sys

    if args.password_file:
        try:
            f = sys.stdin if args.password_file == "-" else open(args.password_file, encoding="utf-8")
            with f:
                return f.readline().rstrip("\r\n")
        except OSError as exc:
            raise CliError(f"--password-file {args.password_file}: {exc.strerror}") from None
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask the password at: give --password-file FILE ('-': standard input)")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("the same password again: ") != first:
        raise CliError("the two passwords differ; nothing changed")
    return first
