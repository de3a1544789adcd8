"""Setting a till up: `caja init`, `caja users`, `caja install-service`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from .. import config
from ..bootstrap import TillContext, context
from .errors import CliError
from .tokens import add_token_options, check_enrollment, read_token


def add_init(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("init", parents=[common], help="write a config file if there is none and create its database")
    s.add_argument("--demo", action="store_true", help="also load the demo catalog and demo users")
    s.add_argument("--store", help="store id for a new config file")
    s.add_argument("--device", help="device id for a new config file")
    s.add_argument("--db", help="database path for a new config file")
    s.add_argument("--server", help="sync server URL for a new config file")
    add_token_options(s, otherwise="else $CAJA_TOKEN, else it is asked (in a terminal, with --server)")
    s.add_argument("--manager", metavar="NAME", help="the first manager's name (PIN from $CAJA_PIN or asked)")
    s.set_defaults(handler=cmd_init, standalone=True)


MANAGER_HELP = (
    "the manager who approves (their PIN from $CAJA_MANAGER_PIN or asked): needed to add a manager, promote "
    "someone or change a manager's PIN once the store has a manager"
)


def add_users(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "users", parents=[common], help="cashiers and managers: list, add, edit (name, role, PIN), unlock"
    )
    s.set_defaults(handler=cmd_users)
    us = s.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    us.add_parser("list", parents=[common], help="everyone who can sign in (and who cannot any more)")
    u = us.add_parser(
        "add", parents=[common], help="add a cashier or manager; the PIN is asked twice (or read from $CAJA_PIN)"
    )
    u.add_argument("--name", required=True)
    u.add_argument("--role", choices=("cashier", "manager"), default="cashier")
    u.add_argument("--manager", metavar="USER_ID", help=MANAGER_HELP)
    u = us.add_parser(
        "edit",
        parents=[common],
        help="change a user's name or role, set a new PIN, or "
        "deactivate (they can no longer sign in; their history stays)",
    )
    u.add_argument("user_id")
    u.add_argument("--name")
    u.add_argument("--role", choices=("cashier", "manager"))
    u.add_argument("--pin", action="store_true", help="set a new PIN (asked twice, or $CAJA_PIN)")
    u.add_argument("--deactivate", action="store_true")
    u.add_argument("--activate", action="store_true")
    u.add_argument("--manager", metavar="USER_ID", help=MANAGER_HELP)
    u = us.add_parser(
        "unlock", parents=[common], help="lift a user's PIN lockout on this till (10 wrong PINs in a row lock it)"
    )
    u.add_argument("user_id")
    u.add_argument(
        "--manager",
        metavar="USER_ID",
        help="the manager who lifts it (their PIN from $CAJA_MANAGER_PIN or asked); without it, the installer",
    )


def add_install_service(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "install-service",
        parents=[common],
        help="install a systemd unit: the till on a console (kiosk), its sync service, the "
        "server; or the SSH forced command that lands a user in the till",
    )
    s.add_argument("kind", choices=("till", "sync", "server", "ssh"))
    s.add_argument(
        "--user", help="the account it runs as (default: the one running this command, or $SUDO_USER under sudo)"
    )
    s.add_argument("--tty", help="till: the console it owns (default tty1; a serial line: ttyS0, ttyAMA0)")
    s.add_argument(
        "--db",
        help="server: its database (SQLite path or postgresql:// URL; default ~USER/.local/share/caja/server.db)",
    )
    s.add_argument(
        "--host",
        help="server: the address it listens on (default 127.0.0.1: behind a TLS proxy; 0.0.0.0: every address)",
    )
    s.add_argument("--port", type=int, help="server: its port (default 8765)")
    s.add_argument("--workers", type=int, help="server: gunicorn worker processes (default 2)")
    s.add_argument("--certfile", metavar="PEM", help="server: serve https with this certificate (chain)")
    s.add_argument("--keyfile", metavar="PEM", help="server: the certificate's private key (unencrypted PEM)")
    s.add_argument("--root", default="/", help="install under this folder instead of / (an image being built)")
    s.add_argument("--now", action="store_true", help="then systemctl daemon-reload and enable --now it")
    s.add_argument("--print", action="store_true", help="only print what would be written")
    s.set_defaults(handler=cmd_install_service, standalone=True)


COMMANDS = {"init": add_init, "users": add_users, "install-service": add_install_service}


def _ask(question: str, default: str) -> str:
    answer = input(f"{question} [{default}]: ").strip() if default else input(f"{question}: ").strip()
    return answer or default


def ask_pin(prompt: str = "PIN") -> str:
    """A PIN from $CAJA_PIN (scripts, installers) or typed twice without echo."""
    import getpass

    if os.environ.get("CAJA_PIN"):
        return os.environ["CAJA_PIN"]
    if not sys.stdin.isatty():
        raise CliError("set $CAJA_PIN or run this in a terminal to type the PIN")
    first = getpass.getpass(f"{prompt} (4-12 digits): ")
    if getpass.getpass(f"{prompt} again: ") != first:
        raise CliError("the two PINs differ; nothing was changed")
    return first


def cmd_init(args: argparse.Namespace) -> int:
    """Write a config (asking for what the flags did not give, in a terminal) and create the database;
    then the demo data, or the first manager."""
    cfg_path = getattr(args, "config", None)
    path = config.resolve_path(cfg_path)
    flags = (args.store, args.device, args.db, args.server, args.token, args.token_file)
    interactive = sys.stdin.isatty() and not args.demo and not any(flags)
    if path.exists():
        cfg = config.load(str(path))
        print(f"config: {path} (kept as it is)")
    else:
        cfg = _write_config(
            args, path, explicit=bool(cfg_path or os.environ.get("CAJA_CONFIG")), interactive=interactive
        )
    known = bool(cfg.sync.server_url and cfg.sync.token) and check_enrollment(cfg)
    ctx = context(cfg)
    with ctx.open_store(create=True) as store:
        print(f"database: {store.path} (schema {store.schema_version()})")
        if known:
            _first_pull(ctx, store)
        if args.demo:
            _load_demo(store)
        with store.read() as tx:
            has_users = tx.count_users() > 0
        if not has_users and (args.manager or interactive):
            from ..application.users import create_user

            joining = " (leave it empty when the store already has one: it arrives at the first sync)"
            name = args.manager or _ask("The first manager's name" + (joining if cfg.sync.server_url else ""), "")
            if name:
                digits = cfg.till.manager_pin_digits
                u = create_user(
                    store, "system", name=name, role="manager", pin=ask_pin(f"{name}'s PIN"), manager_digits=digits
                )
                print(f"manager: {u.name} (id {u.id}); add cashiers with `caja users add --name NAME`")
        elif not has_users and not cfg.sync.server_url:
            print("users: none yet; add the first manager with `caja users add --name NAME --role manager`")
    return 0


def _write_config(args: argparse.Namespace, path: Path, *, explicit: bool, interactive: bool) -> config.Config:
    """A new config file from the flags (and, in a terminal, the answers), validated before it is written."""
    from .newtill import default_db, new_config, write_config

    till = {"store_id": args.store, "device_id": args.device, "db": args.db or default_db(path, explicit=explicit)}
    sync = {"server_url": args.server}
    if interactive:
        print(f"A new till: {path}. Enter keeps the value in brackets.")
        till["store_id"] = _ask("Store id (the same on every till of the shop)", "demo")
        till["device_id"] = _ask("Device id of this till (unique in the store)", "T01")
        sync["server_url"] = _ask("Sync server URL (empty: this till works offline only)", "") or None
    sync["token"] = read_token(args, ask=bool(sync["server_url"])) or None  # typed without echo, in a terminal
    cfg, text = new_config(path, till, sync)  # validates what the flags or answers gave
    write_config(path, text)  # 0600: it holds the token
    print(f"config: wrote {path} (mode 0600)")
    if cfg.sync.server_url and not cfg.sync.token:
        print("sync: no token yet; put one in with `caja token set` (`caja serve enroll` on the server makes it)")
    return cfg


def _load_demo(store) -> None:
    from ..application.demo import CASHIER, MANAGER, load_demo

    if load_demo(store):
        with store.read() as tx:
            n = tx.count_products()
        print(
            f"demo: {n} products with stock; users {MANAGER[0]} (manager, PIN {MANAGER[1]}) and "
            f"{CASHIER[0]} (cashier, PIN {CASHIER[1]})"
        )
    else:
        print("demo: the till already has products or users; left as it is")


def _first_pull(ctx: TillContext, store) -> None:
    """A till joining a store takes the store's catalogue, users and the rest at once, before any demo data or
    first manager (the store's own manager arrives; a second "first manager" would be refused)."""
    from ..sync.transport import TransportError

    engine = ctx.build_sync(store)
    try:
        engine.register_key()
        engine.refresh_devices()
        n = engine.pull_all()
    except TransportError as exc:
        print(f"server: the store's events did not arrive yet ({exc}); they come at the first sync")
        return
    if n:
        print(f"server: {n} events of store {store.store_id} taken (catalogue, users, stock)")


def cmd_users(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..domain.errors import DomainError
    from ..domain.rights import NOT_ALLOWED

    try:
        return _users(ctx, args)
    except DomainError as exc:
        if exc.code == NOT_ALLOWED and getattr(args, "manager", None) is None:
            raise CliError(f"{exc.message}: name one with --manager USER_ID (their PIN is asked)") from None
        raise


def _users(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..application import users

    with ctx.open_store() as store:
        match args.users_command:
            case "list":
                with store.read() as tx:
                    people = tx.users(active_only=False)
                for u in people:
                    print(f"{u.id:<20} {u.name:<24} {u.role:<8} {'' if u.active else 'deactivated'}")
                if not people:
                    print("no users yet: `caja users add --name NAME --role manager` adds the first manager")
            case "add":
                actor = _approver(store, args.manager)
                u = users.create_user(
                    store,
                    actor,
                    name=args.name,
                    role=args.role,
                    pin=ask_pin(),
                    manager_digits=ctx.cfg.till.manager_pin_digits,
                )
                print(f"added {u.name} ({u.role}), id {u.id}")
            case "edit":
                if args.activate and args.deactivate:
                    raise CliError("--activate or --deactivate, not both")
                active = True if args.activate else False if args.deactivate else None
                u = users.update_user(
                    store,
                    _approver(store, args.manager),
                    args.user_id,
                    name=args.name,
                    role=args.role,
                    pin=ask_pin("new PIN") if args.pin else None,
                    active=active,
                    manager_digits=ctx.cfg.till.manager_pin_digits,
                )
                print(f"saved {u.name} ({u.role}{'' if u.active else ', deactivated'})")
            case "unlock":
                cleared = users.unlock(store, _approver(store, args.manager), args.user_id)
                print(
                    f"{args.user_id}: lockout lifted, {cleared} wrong PINs cleared"
                    if cleared
                    else f"{args.user_id} is not locked on this till"
                )
    return 0


def _approver(store, manager: str | None) -> str:
    """Who the change is made by: the manager named (after their PIN), or the installer at the command line
    ("system"), who may add cashiers and the store's first manager but never grant a manager's rights after."""
    if manager is None:
        return "system"
    import getpass

    from ..application.users import authenticate

    pin = os.environ.get("CAJA_MANAGER_PIN") or getpass.getpass(f"PIN of {manager}: ")
    authenticate(store, manager, pin)
    return manager  # the use case checks that they are a manager


SERVER_ONLY = ("db", "host", "port", "workers", "certfile", "keyfile")
TTY = re.compile(r"^tty([1-9]|[1-5][0-9]|6[0-3]|S[0-9]{1,2}|AMA[0-9]{1,2}|USB[0-9]{1,2})$")
PRIVATE_TMP = ("/tmp", "/var/tmp")


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse what makes no sense for this kind, before anything is read or written."""
    given = [f"--{name}" for name in SERVER_ONLY if getattr(args, name) is not None]
    if args.kind != "server" and given:
        raise CliError(f"{', '.join(given)}: only for install-service server, not {args.kind}")
    if args.tty is not None and args.kind != "till":
        raise CliError(f"--tty: only for install-service till, not {args.kind}")
    if args.kind == "till" and not TTY.match(args.tty or "tty1"):
        raise CliError(
            f"--tty {args.tty}: not a console; name one as tty1 to tty63 (a virtual console), or ttyS0, ttyAMA0, "
            "ttyUSB0 (a serial line), without /dev/"
        )
    if args.now and (args.kind == "ssh" or args.print or args.root != "/"):
        why = (
            "an SSH snippet is not a service: reload sshd (systemctl reload ssh)"
            if args.kind == "ssh"
            else "--print writes nothing"
            if args.print
            else "--root writes into an image, not this machine"
        )
        raise CliError(f"--now starts the unit on this machine: {why}")
    if args.kind == "server":
        if args.port is not None and not 1 <= args.port <= 65535:
            raise CliError(f"--port {args.port}: a port is 1 to 65535")
        if args.workers is not None and not 1 <= args.workers <= 64:
            raise CliError(f"--workers {args.workers}: 1 to 64 processes (2 to 4 per core is plenty)")
        if args.host is not None and not re.match(r"^[A-Za-z0-9.:_-]{1,253}$", args.host):
            raise CliError(f"--host {args.host!r}: an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::")


def _plain(what: str, value: str) -> str:
    """A value written into a unit or sshd's config: a newline or a control character would start a line of
    its own there."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise CliError(f"{what} {value!r} has a control character (a newline?): it cannot go into a unit file")
    return value


def _not_in_private_tmp(args: argparse.Namespace, what: str, path: Path) -> None:
    """Every unit has its own empty /tmp (PrivateTmp): a file there is not the one it would see."""
    if args.kind == "ssh" or not any(str(path) == t or str(path).startswith(t + "/") for t in PRIVATE_TMP):
        return
    message = f"{what} {path} is under /tmp: the service sees a /tmp of its own (PrivateTmp), where it is not"
    if args.root == "/":
        raise CliError(message + "; keep it elsewhere (the till's user's home, /var/lib/caja, /etc/caja)")
    print(f"warning: {message}")


def _can(user: str, what: str, path: Path, *, write: bool = False) -> None:
    from ..host import services

    problem = services.cannot(user, path, write=write)
    if problem:
        fix = "chown it to them, or choose --user" if write else "make it theirs (chown) or choose --user"
        raise CliError(f"{what}: {problem}; the service runs as {user}: {fix}")


def _till_side(args: argparse.Namespace, kw: dict, user: str, pw) -> None:
    """The till, its sync service and the SSH login: checked against the config they will run on."""
    if pw.pw_uid == 0:
        raise CliError(
            f"install-service {args.kind} would run the till's side as root: make an account for the till (adduser "
            "till) and give --user till (a cashier who leaves the till must not land in root's session)"
        )
    if args.kind == "ssh":
        shell = pw.pw_shell or "/bin/sh"
        if Path(shell).name in ("nologin", "false") or not os.access(shell, os.X_OK):
            raise CliError(
                f"{user}'s login shell is {shell}: sshd runs the forced command through it, so the till would never "
                f"start; give {user} a shell (chsh -s /bin/bash {user})"
            )
    path = config.resolve_path(getattr(args, "config", None))
    if not path.exists():
        raise CliError(f"no config at {path}: run `caja --config {path} init` first")
    cfg = config.load(str(path))
    if args.kind == "sync" and not cfg.sync.server_url:
        raise CliError(f"{path} has no [sync] server_url: this till works offline, there is nothing to sync")
    path = path.resolve()
    _plain("the config path", str(path))
    _can(user, "the config", path)
    folder = Path(os.path.abspath(cfg.db_path)).parent
    _plain("the database path", str(folder))
    if not folder.is_dir():
        raise CliError(f"the database's folder {folder} does not exist: run `caja --config {path} init` first")
    _can(user, "the database's folder", folder, write=True)
    writable = [str(folder)]
    printer = cfg.printer
    if printer.kind == "file" and printer.path and not printer.path.startswith("/dev/"):
        writable.append(os.path.dirname(os.path.abspath(printer.path)))
    for what, p in (("the config", path), ("the database", folder)):
        _not_in_private_tmp(args, what, p)
    kw.update(config=str(path), tty=args.tty or "tty1", writable=tuple(dict.fromkeys(writable)))


def _server_side(args: argparse.Namespace, kw: dict, user: str, home: str) -> None:
    from ..server import run

    db = _plain("--db", args.db or str(Path(home) / ".local/share/caja/server.db"))
    writable: tuple[str, ...] = ()
    if config.is_postgres(db):
        keys = Path(home) / ".local/share/caja"  # the HQ key's folder (server/hq/device.py), the one it writes
        writable = (str(keys),)
        kw["make_folder"] = keys
        if "@" in db and ":" in db.split("://", 1)[1].split("@", 1)[0]:
            print(
                "warning: the --db URL holds a password, and unit files are readable by every user: prefer "
                f"{user}'s ~/.pgpass (mode 0600) or peer authentication (postgresql:///caja?host=/run/postgresql)"
            )
    else:
        file = Path(os.path.abspath(config.sqlite_file(db)))
        _not_in_private_tmp(args, "--db", file)
        writable = (str(file.parent),)
        kw["make_folder"] = file.parent
    tls = None
    if args.certfile or args.keyfile:
        problem = run.check_tls(args.certfile, args.keyfile)
        if problem:
            raise CliError(problem)
        tls = (os.path.abspath(_plain("--certfile", args.certfile)), os.path.abspath(_plain("--keyfile", args.keyfile)))
        for flag, file in zip(("--certfile", "--keyfile"), tls, strict=True):
            _not_in_private_tmp(args, flag, Path(file))
            _can(user, flag, Path(file))
    kw.update(
        db=db,
        host=args.host or "127.0.0.1",
        port=args.port or 8765,
        workers=args.workers or 2,
        tls=tls,
        writable=writable,
    )


def _make_folder(folder: Path, pw, root: str) -> None:
    """The server's SQLite folder: made for its user when installing for real (the sandbox writes only there,
    so the service itself could not make it); said otherwise."""
    if folder.is_dir():
        return
    if root != "/":
        print(f"make {folder} for {pw.pw_name} before starting it: install -d -o {pw.pw_name} -m 700 {folder}")
        return
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    folder.mkdir(mode=0o700, parents=True)
    if os.geteuid() == 0:
        for p in missing:
            os.chown(p, pw.pw_uid, pw.pw_gid)
    print(f"made {folder} for {pw.pw_name}")


def cmd_install_service(args: argparse.Namespace) -> int:
    import getpass
    import pwd

    from ..host import services

    _check_arguments(args)
    user = args.user or os.environ.get("SUDO_USER") or getpass.getuser()
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise CliError(f"there is no user '{user}' on this machine; create it first (adduser {user})") from None
    kw: dict = {"user": user, "home": _plain("the home folder", pw.pw_dir)}
    if args.kind == "server" and pw.pw_uid == 0:
        raise CliError(
            "install-service server runs the server as root: make an account for it "
            "(adduser --system --group --home /var/lib/caja caja) and give --user caja"
        )
    if args.kind in ("till", "sync", "ssh"):
        _till_side(args, kw, user, pw)
    else:
        _server_side(args, kw, user, pw.pw_dir)
    folder = kw.pop("make_folder", None)
    if args.print:
        print(services.render(args.kind, **kw)[1], end="")
        return 0
    try:
        done = services.install(args.kind, Path(args.root), **kw)
        print(f"wrote {done.path}")
        if folder is not None:
            _make_folder(folder, pw, args.root)
    except PermissionError:
        raise CliError("cannot write there: run it with sudo (or use --root DIR)") from None
    if args.kind == "server":
        print(services.exposure(kw["host"], kw["port"], tls=kw["tls"] is not None))
    if done.unit is None:
        print("reload sshd to apply it: systemctl reload ssh")
        return 0
    if args.now:
        import subprocess

        try:
            services.enable_now(done.unit)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise CliError(f"systemctl failed: {getattr(exc, 'stderr', '') or exc}") from None
        print(f"enabled and started {done.unit}")
    else:
        print(f"start it with: systemctl daemon-reload && systemctl enable --now {done.unit}")
    return 0
