"""The till's sync token: how a command reads it, and `caja token set`, which puts a new one in the config.

A token is a password: it is read from a prompt (without echo, in a terminal), from `--token-file FILE` or
from `$CAJA_TOKEN`, never needed on the command line, where `ps` and the shell's history would show it
(`--token` stays for scripts that have nothing better). The config holding it is written mode 0600.

Rotating a till's token: `caja serve enroll --store S --device D` on the server prints a new one (the old
one stops working at once), then `caja token set` on the till rewrites the `[sync] token` line of its config
in place: every other byte of the file is kept, comments included.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import msgspec

from .. import config
from .errors import CliError

PROMPT = "Sync token (from `caja serve enroll --store S --device D` on the server; not shown as you type): "
_TOKEN = re.compile(r'[^\s"\\]{1,512}')  # what the server hands out ("caja_" + URL-safe base64), and more
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]\s*(#.*)?$")
_TOKEN_LINE = re.compile(r"""^(\s*token\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')(.*)$""")


def add_token_options(parser: argparse.ArgumentParser, *, otherwise: str) -> None:
    """--token-file and --token (one of them at most); `otherwise`: what the command does without either."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "--token-file", metavar="FILE", help=f"read the sync token from FILE ('-': standard input); {otherwise}"
    )
    g.add_argument(
        "--token",
        help="the sync token itself: it shows in `ps` and the shell's history, prefer --token-file or $CAJA_TOKEN",
    )


def read_token(args: argparse.Namespace, *, fallback: str = "", ask: bool = True, required: bool = False) -> str:
    """The token from --token, else --token-file, else $CAJA_TOKEN, else `fallback`, else typed at a prompt
    without echo (`ask`, in a terminal); '' when none of them gives one, unless it is `required`."""
    if getattr(args, "token", None):
        token, where = args.token, "--token"
    elif getattr(args, "token_file", None):
        token, where = _read_file(args.token_file), args.token_file
    elif os.environ.get("CAJA_TOKEN"):
        token, where = os.environ["CAJA_TOKEN"], "$CAJA_TOKEN"
    elif fallback:
        return fallback
    elif ask and sys.stdin.isatty():
        import getpass

        token, where = getpass.getpass(PROMPT), "the prompt"
    else:
        token, where = "", ""
    token = token.strip()
    if not token:
        if required:
            raise CliError(
                "no sync token: type it at the prompt (in a terminal), or give --token-file FILE or $CAJA_TOKEN"
            )
        return ""
    if not _TOKEN.fullmatch(token) or not token.isascii() or not token.isprintable():
        raise CliError(f"the token from {where} is not a sync token (one word, no quotes); nothing was changed")
    return token


def _read_file(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the token from {name} ({getattr(exc, 'strerror', None) or exc})") from None


def add_token(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("token", parents=[common], help="the till's sync token: set a new one (rotation)")
    ts = s.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    t = ts.add_parser(
        "set",
        parents=[common],
        help="put a new token (`caja serve enroll` on the server) in the config's [sync] token line; "
        "the rest of the file is kept",
    )
    add_token_options(t, otherwise="else $CAJA_TOKEN, else it is asked")
    s.set_defaults(handler=cmd_token, standalone=True)


COMMANDS = {"token": add_token}


def cmd_token(args: argparse.Namespace) -> int:
    """`caja token set`: the config's [sync] token replaced, the file kept otherwise (and mode 0600); then the
    server asked whether it knows the new token."""
    path = config.resolve_path(getattr(args, "config", None))
    if not path.exists():
        raise CliError(f"no config at {path}: run `caja --config {path} init` first")
    old = config.load(str(path))
    token = read_token(args, required=True)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc})") from None
    new_text = with_token(text, token)
    wanted = msgspec.structs.replace(old, sync=msgspec.structs.replace(old.sync, token=token))
    if config.parse(new_text.encode(), str(path)) != wanted:
        raise CliError(f"cannot find the [sync] token line of {path}: set it there by hand; nothing was changed")
    write_private(path, new_text)
    print(f"config: {path}: [sync] token replaced (mode 0600, the rest of the file as it was)")
    if not old.sync.server_url:
        print("sync: [sync] server_url is empty: this till does not sync until it is set")
        return 0
    check_enrollment(wanted)
    print("a running till or sync service keeps the old token until it restarts (systemctl restart caja-sync)")
    return 0


def with_token(text: str, token: str) -> str:
    """The config `text` with its [sync] token set to `token`, every other line kept as it is: the token's line
    rewritten (its indentation and a comment after it kept), or added under [sync] (and [sync] at the end)."""
    lines = text.splitlines(keepends=True)
    table, sync_at = "", None
    for i, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if m := _TABLE.match(body):
            table = m.group(1)
            sync_at = i if table == "sync" else sync_at
        elif table == "sync" and (m := _TOKEN_LINE.match(body)):
            lines[i] = f'{m.group(1)}"{token}"{m.group(3)}{line[len(body) :]}'
            return "".join(lines)
    if sync_at is not None:
        lines.insert(sync_at + 1, f'token = "{token}"\n')
        return "".join(lines)
    end = "" if not text or text.endswith("\n") else "\n"
    return f'{text}{end}\n[sync]\ntoken = "{token}"\n'


def write_private(path: Path, text: str) -> None:
    """Replace the file at `path` with `text` in one step (a power cut leaves the old file or the new one),
    mode 0600, its owner and group kept (`sudo caja token set` must not leave a file the till cannot read)."""
    target = Path(os.path.realpath(path))
    st = target.stat()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(fh.fileno(), st.st_uid, st.st_gid)
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {target} ({exc.strerror}); nothing was changed") from None
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_enrollment(cfg: config.Config) -> bool:
    """Tell the installer at once whether the server knows this till's token (the till works either way)."""
    from ..sync.transport import Transport, TransportError

    try:
        me = Transport(cfg.sync.server_url, cfg.sync.token, timeout=(3.0, 5.0), ca_file=cfg.sync.ca_file).devices_me()
    except TransportError as exc:
        print(f"server: {cfg.sync.server_url} not confirmed ({exc}); the till works offline meanwhile")
        return False
    if (me.store_id, me.device_id) != (cfg.till.store_id, cfg.till.device_id):
        print(
            f"server: WARNING the token belongs to store {me.store_id} device {me.device_id}, not "
            f"{cfg.till.store_id}/{cfg.till.device_id}; fix the config before syncing"
        )
        return False
    print(f"server: {cfg.sync.server_url} knows this till ({me.store_id}/{me.device_id})")
    return True
