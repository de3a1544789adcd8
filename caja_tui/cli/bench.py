"""`caja bench`: measure this machine."""

from __future__ import annotations

import argparse


def add_bench(sub, common: argparse.ArgumentParser) -> None:
    s = sub.add_parser("bench", parents=[common], help="measure this machine (see README)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--quick", action="store_true", help="smaller sizes; finishes in under 30 s")
    s.add_argument(
        "--pi-class",
        action="store_true",
        help="also the till-side figures in a Raspberry Pi 4-like budget (one core at 25%%, fsync 20 ms); as root",
    )
    s.add_argument("--dir", help="where to put the scratch databases (default: a temporary folder)")
    s.set_defaults(handler=cmd_bench, standalone=True)


COMMANDS = {"bench": add_bench}


def cmd_bench(args: argparse.Namespace) -> int:
    from ..bench.figures import run_bench

    return run_bench(json_out=args.json, quick=args.quick, workdir=args.dir, pi_class=args.pi_class)
