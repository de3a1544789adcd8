"""The shop's books: `caja report`, `caja receipt`, `caja export`, `caja print-queue`."""

from __future__ import annotations

import argparse
import sys

from ..bootstrap import TillContext
from .errors import CliError


def add_report(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("report", parents=[common], help="X (open session), Z (closed session) or day report")
    s.add_argument("kind", choices=("x", "z", "day"))
    s.add_argument("--date", help="the day for `day` (YYYY-MM-DD; default: today in the shop's time zone)")
    s.add_argument("--z", type=int, metavar="N", help="which Z report (default: the last)")
    s.add_argument("--format", choices=("text", "csv", "json"), default="text")
    s.set_defaults(handler=cmd_report)


def add_export(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser(
        "export", parents=[common], help="sales, their lines, products, stock or events as CSV or JSON lines"
    )
    s.add_argument(
        "what",
        choices=("sales", "sale-lines", "products", "stock", "events"),
        help="sale-lines: one row per line of each sale (product, quantity, price, discounts, tax, amount)",
    )
    s.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day (sales, sale-lines, events)")
    s.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day, included (sales, sale-lines, events)")
    s.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    s.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    s.set_defaults(handler=cmd_export)


def add_receipt(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("receipt", parents=[common], help="show (reprint) a past receipt")
    s.add_argument("receipt_no", metavar="RECEIPT")
    s.add_argument("--width", type=int, choices=(32, 42, 48), help="characters (default: [till] receipt_width)")
    s.add_argument("--print", action="store_true", help="also send it to the configured printer (via the queue)")
    s.set_defaults(handler=cmd_receipt)


def add_print_queue(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("print-queue", parents=[common], help="receipts waiting for the printer; --retry prints them")
    s.add_argument("--retry", action="store_true")
    s.set_defaults(handler=cmd_print_queue)


COMMANDS = {"report": add_report, "export": add_export, "receipt": add_receipt, "print-queue": add_print_queue}


def _date(value: str | None, flag: str):
    """A YYYY-MM-DD option, or None when it was not given."""
    import datetime

    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        raise CliError(f"{flag} '{value}' is not a date like 2026-11-27") from None


def cmd_report(ctx: TillContext, args: argparse.Namespace) -> int:
    import datetime

    from ..application import reports

    cfg, tz = ctx.cfg, ctx.tz
    money = {"currency": cfg.till.currency, "exponent": cfg.till.currency_exponent, "tz": tz}
    with ctx.open_store() as store:
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


def cmd_export(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..application.export import export

    days = {"start": _date(args.start, "--from"), "end": _date(args.end, "--to")}
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout  # noqa: SIM115
    try:
        with ctx.open_store() as store:
            for chunk in export(
                store,
                args.what,
                args.format,
                exponent=ctx.cfg.till.currency_exponent,
                tz=ctx.tz,
                start=days["start"],
                end=days["end"],
            ):
                out.write(chunk)
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_print_queue(ctx: TillContext, args: argparse.Namespace) -> int:
    import datetime

    from ..host.printing import print_pending, queued

    with ctx.open_store() as store:
        if args.retry:
            printed, error = print_pending(store, ctx.printer, limit=1000)
            print(f"printed {printed}" + (f"; the printer said: {error}" if error else ""))
        jobs = queued(store)
    for job_id, _sale_id, attempts, error, created in jobs:
        when = datetime.datetime.fromtimestamp(created / 1000).strftime("%Y-%m-%d %H:%M")
        print(f"#{job_id} {when} tries {attempts}: {error or 'waiting'}")
    print(f"{len(jobs)} receipt(s) waiting for the printer" if jobs else "nothing waiting for the printer")
    return 1 if jobs else 0


def cmd_receipt(ctx: TillContext, args: argparse.Namespace) -> int:
    from ..application.receipts import people_of, render_receipt, shop_of
    from ..application.sales import find_sale
    from ..tui.store_settings import current_settings

    with ctx.open_store() as store:
        sale = find_sale(store, args.receipt_no)
        with store.read() as tx:
            cashier, customer = people_of(tx, sale)
        shop = shop_of(ctx.cfg, current_settings(ctx.cfg, store))  # the store's header and footer
    text = render_receipt(
        sale,
        shop,
        width=args.width or ctx.cfg.till.receipt_width,
        tz=ctx.tz,
        cashier=cashier,
        reprint=True,
        customer=customer,
    )
    sys.stdout.write(text)
    if args.print:
        from ..host.printing import enqueue, print_pending

        with ctx.open_store() as store:
            enqueue(store, text, sale_id=sale.id)
            printed, error = print_pending(store, ctx.printer)
        if error:
            print(f"caja: the receipt waits in the print queue: {error}", file=sys.stderr)
            return 1
    return 0
