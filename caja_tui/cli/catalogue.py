"""What the shop sells and to whom: `caja import-products`, `caja customers`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..bootstrap import TillContext
from .errors import CliError


def add_import_products(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("import-products", parents=[common], help="import products from a CSV file (all or nothing)")
    s.add_argument("file", metavar="FILE.csv")
    s.set_defaults(handler=cmd_import)


def add_customers(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("customers", parents=[common], help="add, find and edit customers; a customer's sales")
    s.set_defaults(handler=cmd_customers)
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


COMMANDS = {"import-products": add_import_products, "customers": add_customers}


def cmd_import(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..application.importing import ImportError_, import_rows, parse_csv

    file = args.file
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
        rows = parse_csv(text, ctx.cfg.till.currency_exponent)
        with ctx.open_store() as store:
            result = import_rows(store, "system", rows)
    except ImportError_ as exc:
        for err in exc.errors:
            print(f"caja: {file}: {err}", file=sys.stderr)
        print(f"caja: {file}: nothing was imported; fix the line(s) above and run the import again", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    print(
        f"imported {len(rows)} products from {file} in {seconds:.2f} s: {result.created} new, "
        f"{result.updated} updated, {result.unchanged} unchanged, {result.counted} stock counts"
    )
    return 0


def cmd_customers(ctx: TillContext, args: argparse.Namespace) -> int:
    import datetime

    from ..application import customers
    from ..domain.money import format_money

    fields = {k: getattr(args, k, None) for k in ("name", "tax_id", "phone", "email")}
    fields = {k: v for k, v in fields.items() if v is not None}
    with ctx.open_store() as store:
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
                    print(f"{receipt:<14} {when}  {format_money(total, ctx.cfg.till.currency_exponent):>12}")
                if not rows:
                    print("no sales for that customer")
    return 0
