"""`caja settings`: the store's settings (shop name, receipt header and footer, tax mode, low-stock level), where
each value comes from, and `caja settings set KEY VALUE --user MANAGER` (their PIN from $CAJA_MANAGER_PIN or asked).
A change is the store's: a `config.updated` event every till of the store takes at its next sync."""

from __future__ import annotations

import argparse
import datetime
import os
from typing import Any

from ..bootstrap import TillContext
from ..config import STORE_SETTINGS
from .errors import CliError

YES = ("yes", "y", "true", "1", "si", "sí", "s")
NO = ("no", "n", "false", "0")


def add_settings(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "settings",
        parents=[common],
        help="the store's settings (shop name, receipt header and footer, tax mode, low stock) and where each "
        "comes from; `set` changes one for every till of the store (a manager)",
    )
    ss = s.add_subparsers(dest="settings_command", metavar="ACTION")
    ss.add_parser("show", parents=[common], help="the settings and where each comes from (the default)")
    u = ss.add_parser(
        "set",
        parents=[common],
        help="change one setting for the whole store; receipt_header takes one VALUE a line ('' for none)",
    )
    u.add_argument("key", choices=STORE_SETTINGS, metavar="KEY", help=", ".join(STORE_SETTINGS))
    u.add_argument("value", nargs="+", metavar="VALUE")
    u.add_argument(
        "--user", required=True, metavar="USER_ID", help="the manager making the change (their PIN is asked)"
    )
    s.set_defaults(handler=cmd_settings)


COMMANDS = {"settings": add_settings}


def parse_value(key: str, words: list[str]) -> Any:
    """What was typed for `key` as the setting's type (the use case checks its bounds)."""
    if key == "receipt_header":
        return words
    if len(words) != 1:
        raise CliError(f"{key} takes one VALUE (quote it if it has spaces)")
    text = words[0]
    if key == "prices_include_tax":
        if text.strip().lower() in YES:
            return True
        if text.strip().lower() in NO:
            return False
        raise CliError("prices_include_tax is yes or no")
    if key == "low_stock":
        if not text.strip().isdigit():
            raise CliError("low_stock is a whole number (0 or more)")
        return int(text)
    return text


def cmd_settings(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..application.settings import update_settings
    from ..tui.store_settings import current_settings

    with ctx.open_store() as store:
        if args.settings_command == "set":
            import getpass

            from ..application.users import authenticate

            value = parse_value(args.key, args.value)
            pin = os.environ.get("CAJA_MANAGER_PIN") or getpass.getpass(f"PIN of {args.user}: ")
            authenticate(store, args.user, pin, purpose="approval")
            changed = update_settings(store, args.user, {args.key: value})
            print(
                f"{args.key}: saved for the store (its tills take it at their next sync)"
                if changed
                else f"{args.key}: already so; nothing written"
            )
        settings = current_settings(ctx.cfg, store)
        with store.read() as tx:
            names = {u.id: u.name for u in tx.users(active_only=False)}
    for key in STORE_SETTINGS:
        value = getattr(settings, key)
        shown = (
            " | ".join(value)
            if key == "receipt_header"
            else ("yes" if value is True else "no" if value is False else value)
        )
        print(f"{key:<19} {str(shown)!s:<36} {_source(ctx, settings.sources[key], names)}")
    return 0


def _source(ctx: TillContext, source, names: dict[str, str]) -> str:
    if source.kind == "file":
        return f"config file ({ctx.cfg.path or 'config'})"
    if source.kind == "default":
        return "default"
    when = datetime.datetime.fromtimestamp(source.at / 1000, ctx.tz).strftime("%Y-%m-%d %H:%M")
    who = names.get(source.actor, source.actor)
    return f"event: {who} on {source.device_id}, {when}"
